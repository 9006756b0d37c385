-- RuVector DAG 0.1.0: SQL API in schema ruvector (docs/postgres.md).
\echo Use "CREATE EXTENSION ruvector_dag" to load this file. \quit

-- Fails with a clear message (and so makes CREATE EXTENSION fail) when the
-- library was not loaded through shared_preload_libraries.
CREATE FUNCTION @extschema@.dag_config()
RETURNS TABLE(name text, setting text)
AS 'MODULE_PATHNAME', 'ruvector_dag_config' LANGUAGE C VOLATILE;
SELECT count(*) FROM @extschema@.dag_config();

-- Configuration (session settings; use ALTER SYSTEM / postgresql.conf for defaults).
CREATE FUNCTION @extschema@.dag_set_enabled(enabled bool)
RETURNS void AS 'MODULE_PATHNAME', 'ruvector_dag_set_enabled' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_set_attention(mechanism text)
RETURNS void AS 'MODULE_PATHNAME', 'ruvector_dag_set_attention' LANGUAGE C VOLATILE;

-- Status.
CREATE FUNCTION @extschema@.dag_status()
RETURNS TABLE(enabled bool, patterns bigint, max_patterns int, trajectories_recorded bigint,
              trajectories_buffered bigint, trajectory_capacity int, trajectories_dropped bigint,
              plans_observed bigint, executions_observed bigint, internal_errors bigint,
              patterns_learned bigint, avg_improvement float8, learning text, state_file text,
              last_save timestamptz, started_at timestamptz, mechanism text, mechanism_reason text,
              model_prediction_error float8, model_runs_learned bigint)
AS 'MODULE_PATHNAME', 'ruvector_dag_status' LANGUAGE C VOLATILE;
-- The worker's value model per attention mechanism: held-out error, runs
-- scored, whether its mechanism is the one in use (docs/postgres.md).
CREATE FUNCTION @extschema@.dag_attention_status()
RETURNS TABLE(mechanism text, held_out_error float8, scored_runs bigint, in_use bool)
AS 'MODULE_PATHNAME', 'ruvector_dag_attention_status' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_statistics()
RETURNS TABLE(pattern_id bigint, query_id bigint, param_bucket int, plan_shape bigint, plan_nodes int,
              executions bigint, mean_ms float8, stddev_ms float8, min_ms float8, max_ms float8,
              last_ms float8, shape_changes bigint, first_seen timestamptz, last_seen timestamptz,
              database_oid oid, role_oid oid)
AS 'MODULE_PATHNAME', 'ruvector_dag_statistics' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@._dag_trajectory_history(max_rows int)
RETURNS TABLE(seq bigint, pattern_id bigint, query_id bigint, param_bucket int, plan_shape bigint,
              latency_ms float8, plan_nodes int, nested bool, parallel bool, truncated bool,
              operator_types text[], estimated_rows float8[], actual_rows float8[], recorded_at timestamptz,
              arm int, steering text)
AS 'MODULE_PATHNAME', 'ruvector_dag_trajectory_history' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_health_check()
RETURNS TABLE(component text, status text, last_check timestamptz, message text)
AS 'MODULE_PATHNAME', 'ruvector_dag_health_check' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_reset_stats()
RETURNS void AS 'MODULE_PATHNAME', 'ruvector_dag_reset_stats' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_export_state()
RETURNS bytea AS 'MODULE_PATHNAME', 'ruvector_dag_export_state' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_import_state(state bytea)
RETURNS TABLE(patterns_loaded bigint, trajectories_loaded bigint)
AS 'MODULE_PATHNAME', 'ruvector_dag_import_state' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_save_state()
RETURNS bool AS 'MODULE_PATHNAME', 'ruvector_dag_save_state' LANGUAGE C VOLATILE;

-- Analysis of a query text: planned for real, never executed.
CREATE FUNCTION @extschema@.dag_analyze_plan(query text)
RETURNS TABLE(node_id int, operator_type text, criticality float8, bottleneck_score float8,
              estimated_cost float8, estimated_rows float8, parent_ids int[], child_ids int[],
              recommendations text[], relation text, index_name text, startup_cost float8,
              self_cost float8, on_critical_path bool, in_min_cut bool, detail text, parameter bigint)
AS 'MODULE_PATHNAME', 'ruvector_dag_analyze_plan' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_critical_path(query text)
RETURNS TABLE(step int, node_id int, operator_type text, relation text, self_cost float8, cumulative_cost float8)
AS 'MODULE_PATHNAME', 'ruvector_dag_critical_path' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_bottlenecks(query text, threshold float8 DEFAULT 0.7)
RETURNS TABLE(node_id int, operator_type text, relation text, bottleneck_score float8, work_share float8,
              criticality float8, in_min_cut bool, suggested_action text, reason text)
AS 'MODULE_PATHNAME', 'ruvector_dag_bottlenecks' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_mincut_analysis(query text, capacity_mode text DEFAULT 'bottleneck')
RETURNS TABLE(cut_nodes int[], cut_operators text[], cut_capacity float8, tension float8,
              misestimation float8, concentration float8, cut_work_share float8, capacity_mode text)
AS 'MODULE_PATHNAME', 'ruvector_dag_mincut_analysis' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_suggest_optimizations(query text)
RETURNS TABLE(node_id int, operator_type text, action text, reason text, work_share float8,
              criticality float8, in_cut bool)
AS 'MODULE_PATHNAME', 'ruvector_dag_suggest_optimizations' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_attention_scores(query text, mechanism text DEFAULT 'auto')
RETURNS TABLE(node_id int, operator_type text, attention_weight float8, mechanism text)
AS 'MODULE_PATHNAME', 'ruvector_dag_attention_scores' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_attention_matrix(query text, mechanism text DEFAULT 'auto')
RETURNS float8[] AS 'MODULE_PATHNAME', 'ruvector_dag_attention_matrix' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_attention_visualize(query text, mechanism text DEFAULT 'auto',
                                                    format text DEFAULT 'ascii')
RETURNS text AS 'MODULE_PATHNAME', 'ruvector_dag_attention_visualize' LANGUAGE C VOLATILE;

-- Plan steering: arms (named sets of planner settings), pins, the learner's
-- decisions and events.
CREATE FUNCTION @extschema@.dag_arms()
RETURNS TABLE(arm_id int, name text, settings text, builtin bool)
AS 'MODULE_PATHNAME', 'ruvector_dag_arms' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@._dag_add_arm(name text, gucs text[], vals text[])
RETURNS int AS 'MODULE_PATHNAME', 'ruvector_dag_add_arm' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_add_arm(name text, settings jsonb)
RETURNS int LANGUAGE sql VOLATILE
BEGIN ATOMIC
  SELECT @extschema@._dag_add_arm(name,
    CASE WHEN jsonb_typeof(settings) = 'object'
         THEN ARRAY(SELECT e.key FROM jsonb_each_text(settings) AS e ORDER BY e.key) END,
    CASE WHEN jsonb_typeof(settings) = 'object'
         THEN ARRAY(SELECT e.value FROM jsonb_each_text(settings) AS e ORDER BY e.key) END);
END;
CREATE FUNCTION @extschema@.dag_remove_arm(name text)
RETURNS bool AS 'MODULE_PATHNAME', 'ruvector_dag_remove_arm' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_pin(queryid bigint, arm text)
RETURNS void AS 'MODULE_PATHNAME', 'ruvector_dag_pin' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_unpin(queryid bigint)
RETURNS bool AS 'MODULE_PATHNAME', 'ruvector_dag_unpin' LANGUAGE C VOLATILE;
-- Plan advice (docs/postgres.md, "Plan advice"): pin SET(...) / ROWS(...) / hint
-- items for the query id of a query text; returns the advice as stored.
CREATE FUNCTION @extschema@.dag_pin(query text, advice text)
RETURNS text AS 'MODULE_PATHNAME', 'ruvector_dag_pin_advice' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_pins()
RETURNS TABLE(query_id bigint, kind text, arm text, advice text, plans bigint, failures bigint)
AS 'MODULE_PATHNAME', 'ruvector_dag_pins' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_decisions()
RETURNS TABLE(pattern_id bigint, query_id bigint, deployed_arm text, confidence float8, default_ms float8,
              deployed_ms float8, best_candidate text, best_candidate_ms float8, exploring text,
              observed_runs bigint, plans bigint, explorations bigint, deployments bigint, reverts bigint,
              updated_at timestamptz, cluster int, prior text, predicted_explore_ms float8,
              predicted_default_ms float8, tension float8, priority float8, predicted_deployed_ms float8,
              vector_search text, vector_recall float8, vector_recall_lower float8, vector_samples int,
              vector_ms float8, advice text, split_by_constants bool)
AS 'MODULE_PATHNAME', 'ruvector_dag_decisions' LANGUAGE C VOLATILE;
-- Vector search tuning (docs/vector.md, "Learned ef_search"): per vector pattern and setting.
CREATE FUNCTION @extschema@.dag_vector_tuning()
RETURNS TABLE(pattern_id bigint, query_id bigint, setting text, samples int, recall float8, recall_lower float8,
              runs int, mean_ms float8, timeouts int, eligible bool, deployed bool, measuring bool,
              target float8, k int)
AS 'MODULE_PATHNAME', 'ruvector_dag_vector_tuning' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_learning_events(max_rows int DEFAULT 100)
RETURNS TABLE(seq bigint, at timestamptz, event text, pattern_id bigint, query_id bigint, arm text,
              confidence float8, default_ms float8, arm_ms float8)
AS 'MODULE_PATHNAME', 'ruvector_dag_learning_events' LANGUAGE C VOLATILE;
-- Learned row-count corrections (applied by the arm row_corrections).
CREATE FUNCTION @extschema@.dag_row_corrections()
RETURNS TABLE(pattern_id bigint, relation_set bigint, relations int, estimated_rows float8, actual_rows float8,
              factor float8, observations int)
AS 'MODULE_PATHNAME', 'ruvector_dag_row_corrections' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_row_correction_status()
RETURNS TABLE(patterns bigint, corrections bigint, corrected_plannings bigint, corrected_relations bigint)
AS 'MODULE_PATHNAME', 'ruvector_dag_row_correction_status' LANGUAGE C VOLATILE;
-- The hint arms' content per pattern (fix_worst_join), and their counters.
CREATE FUNCTION @extschema@.dag_hint_arms()
RETURNS TABLE(pattern_id bigint, arm text, advice text, version bigint, q_error float8, observations int,
              bottleneck bool)
AS 'MODULE_PATHNAME', 'ruvector_dag_hint_arms' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_hint_arm_status()
RETURNS TABLE(patterns bigint, hinted_plannings bigint, refused_plannings bigint)
AS 'MODULE_PATHNAME', 'ruvector_dag_hint_arm_status' LANGUAGE C VOLATILE;
-- Background exploration: budget, counters and the captured statements.
CREATE FUNCTION @extschema@.dag_exploration_status()
RETURNS TABLE(cpu_budget float8, captures bigint, explorer_launches bigint, runs bigint, timeouts bigint,
              errors bigint, not_explorable bigint, explorer_busy_ms float8, explorer_running bool,
              bank_priors bigint, yields bigint, foreground_busy float8, cores int, credit_ms float8,
              same_plan_skips bigint)
AS 'MODULE_PATHNAME', 'ruvector_dag_exploration_status' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_captured_statements()
RETURNS TABLE(pattern_id bigint, query_id bigint, database name, role name, query text, parameters int,
              captured_at timestamptz, last_explored timestamptz, failures int, explorable bool,
              search_path text, refusal text)
AS 'MODULE_PATHNAME', 'ruvector_dag_captured_statements' LANGUAGE C VOLATILE;
-- Healing (docs/postgres.md, "Healing").
CREATE FUNCTION @extschema@.dag_health_report()
RETURNS TABLE(healing_enabled bool, health_score float8, anomaly_component float8, repair_component float8,
              index_component float8, tension_component float8, patterns_monitored bigint, detectors bigint,
              detectors_flagged bigint, findings bigint, repairs_succeeded bigint, repairs_failed bigint,
              unrepaired_issues bigint, cycles bigint, last_cycle timestamptz)
AS 'MODULE_PATHNAME', 'ruvector_dag_health_report' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_anomalies(max_rows int DEFAULT 100)
RETURNS TABLE(seq bigint, detected_at timestamptz, pattern_id bigint, query_id bigint, kind text, source text,
              value float8, expected float8, score float8)
AS 'MODULE_PATHNAME', 'ruvector_dag_anomalies' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_repair_history(max_rows int DEFAULT 100)
RETURNS TABLE(seq bigint, at timestamptz, origin text, pattern_id bigint, strategy text, action text,
              outcome text, rollback text, detail text, duration_ms float8)
AS 'MODULE_PATHNAME', 'ruvector_dag_repair_history' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_auto_repair()
RETURNS TABLE(origin text, strategy text, target text, outcome text, detail text)
AS 'MODULE_PATHNAME', 'ruvector_dag_auto_repair' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_learn_now()
RETURNS bigint AS 'MODULE_PATHNAME', 'ruvector_dag_learn_now' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.dag_reset_learning(preserve_patterns bool DEFAULT true)
RETURNS void AS 'MODULE_PATHNAME', 'ruvector_dag_reset_learning' LANGUAGE C VOLATILE;

-- Newest first; improvement = 1 - latency / the pattern's measured default
-- latency (NULL while unmeasured); min_improvement keeps only runs at least
-- that much faster than PostgreSQL's plan.
CREATE FUNCTION @extschema@.dag_trajectory_history(min_improvement float8 DEFAULT NULL, "limit" int DEFAULT 100)
RETURNS TABLE(seq bigint, pattern_id bigint, query_id bigint, param_bucket int, plan_shape bigint,
              latency_ms float8, plan_nodes int, nested bool, parallel bool, truncated bool,
              operator_types text[], estimated_rows float8[], actual_rows float8[], recorded_at timestamptz,
              arm int, steering text, improvement float8)
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  SELECT h.seq, h.pattern_id, h.query_id, h.param_bucket, h.plan_shape, h.latency_ms, h.plan_nodes, h.nested,
         h.parallel, h.truncated, h.operator_types, h.estimated_rows, h.actual_rows, h.recorded_at, h.arm,
         h.steering, CASE WHEN d.default_ms > 0 THEN 1 - h.latency_ms / d.default_ms END
  FROM @extschema@._dag_trajectory_history(
         CASE WHEN dag_trajectory_history.min_improvement IS NULL THEN dag_trajectory_history."limit"
              ELSE 1000000 END) AS h
  LEFT JOIN @extschema@.dag_decisions() AS d ON d.pattern_id = h.pattern_id
  WHERE dag_trajectory_history.min_improvement IS NULL
     OR (d.default_ms > 0 AND 1 - h.latency_ms / d.default_ms >= dag_trajectory_history.min_improvement)
  ORDER BY h.seq DESC
  LIMIT dag_trajectory_history."limit";
END;
-- ReasoningBank clusters of the tracked patterns (k-means over the plans'
-- embeddings), with what the learner decided inside each.
CREATE FUNCTION @extschema@.dag_pattern_clusters()
RETURNS TABLE(cluster int, patterns bigint, observed_runs bigint, mean_default_ms float8, deployed_patterns bigint,
              most_deployed_arm text, mean_improvement float8)
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  SELECT d.cluster, count(*), sum(d.observed_runs)::bigint, avg(d.default_ms),
         count(*) FILTER (WHERE d.deployed_arm <> 'default'),
         mode() WITHIN GROUP (ORDER BY d.deployed_arm) FILTER (WHERE d.deployed_arm <> 'default'),
         avg(1 - d.deployed_ms / d.default_ms) FILTER (WHERE d.deployed_arm <> 'default' AND d.default_ms > 0)
  FROM @extschema@.dag_decisions() AS d
  WHERE d.cluster IS NOT NULL
  GROUP BY d.cluster
  ORDER BY d.cluster;
END;
CREATE FUNCTION @extschema@.dag_query_patterns(min_executions bigint DEFAULT 1)
RETURNS TABLE(pattern_id bigint, query_id bigint, param_bucket int, executions bigint, mean_ms float8,
              deployed_arm text, confidence float8, default_ms float8, deployed_ms float8, improvement float8)
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  SELECT s.pattern_id, s.query_id, s.param_bucket, s.executions, s.mean_ms,
         coalesce(d.deployed_arm, 'default'), d.confidence, d.default_ms, d.deployed_ms,
         CASE WHEN d.deployed_arm <> 'default' AND d.default_ms > 0 AND d.deployed_ms > 0
              THEN 1 - d.deployed_ms / d.default_ms END
  FROM @extschema@.dag_statistics() AS s
  LEFT JOIN @extschema@.dag_decisions() AS d ON d.pattern_id = s.pattern_id
  WHERE s.executions >= coalesce(dag_query_patterns.min_executions, 1)
  ORDER BY s.executions DESC, s.pattern_id;
END;
-- PostgreSQL's estimate for a query (planned, never executed) next to what
-- the learner measured for its pattern.
CREATE FUNCTION @extschema@.dag_estimate(query text)
RETURNS TABLE(pattern_id bigint, postgres_total_cost float8, postgres_rows float8, learned_arm text,
              measured_default_ms float8, predicted_ms float8, confidence float8, executions bigint)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  line text;
  first_line text;
  pid bigint;
BEGIN
  -- Validates the query like the analysis functions (one SELECT, plannable).
  PERFORM 1 FROM @extschema@.dag_critical_path(query) LIMIT 1;
  PERFORM set_config('ruvector.dag_explain', 'on', true);
  FOR line IN EXECUTE 'EXPLAIN ' || query LOOP
    IF first_line IS NULL THEN first_line := line; END IF;
    IF line ~ '^ *Pattern: ' THEN pid := substring(line FROM 'Pattern: (-?[0-9]+)')::bigint; END IF;
  END LOOP;
  RETURN QUERY
  SELECT pid,
         substring(first_line FROM 'cost=[0-9.]+\.\.([0-9.]+)')::float8,
         substring(first_line FROM 'rows=([0-9]+)')::float8,
         coalesce(d.deployed_arm, 'default'),
         coalesce(d.default_ms, s.mean_ms),
         CASE WHEN d.deployed_arm IS NOT NULL AND d.deployed_arm <> 'default' THEN d.deployed_ms
              ELSE coalesce(d.default_ms, s.mean_ms) END,
         d.confidence,
         coalesce(s.executions, 0)
  FROM (SELECT 1) AS one
  LEFT JOIN @extschema@.dag_decisions() AS d ON d.pattern_id = pid
  LEFT JOIN @extschema@.dag_statistics() AS s ON s.pattern_id = pid;
END
$fn$;

-- Pattern sync between servers (docs/sync.md, "In the server").
CREATE FUNCTION @extschema@.qudag_status(
  OUT enabled bool, OUT state text, OUT node_name text, OUT node_id text, OUT public_key text,
  OUT connected bool, OUT nats_url text, OUT peers int, OUT last_sync timestamptz, OUT next_sync timestamptz,
  OUT sync_interval_s float8, OUT syncs bigint, OUT proposals_made bigint, OUT proposals_refused bigint,
  OUT votes_cast bigint, OUT messages_published bigint, OUT publish_failures bigint, OUT bytes_published bigint,
  OUT messages_received bigint, OUT messages_accepted bigint, OUT messages_rejected bigint,
  OUT rejected_by_reason jsonb, OUT priors_applied bigint, OUT unmatched_proposals bigint,
  OUT unknown_arm_proposals bigint, OUT messages_dropped bigint, OUT connection_problems bigint,
  OUT errors bigint, OUT last_error text, OUT live_peers int, OUT validation_quotas bigint)
AS 'MODULE_PATHNAME', 'ruvector_qudag_status' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.qudag_peers()
RETURNS TABLE(name text, node_id text, self bool, messages_accepted bigint, messages_rejected bigint,
              last_seen timestamptz, live bool)
AS 'MODULE_PATHNAME', 'ruvector_qudag_peers' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.qudag_reputation()
RETURNS TABLE(name text, node_id text, stake float8, ignored bool, proposals bigint, confirmed bigint,
              refuted bigint, votes bigint)
AS 'MODULE_PATHNAME', 'ruvector_qudag_reputation' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.qudag_proposals()
RETURNS TABLE(proposal_id text, proposer text, own bool, fingerprint bigint, arm text, noisy_gain float8,
              noisy_samples float8, state text, confirm_stake float8, refute_stake float8,
              eligible_stake float8, votes int, created timestamptz, local_status text,
              local_pattern_id bigint, local_gain float8, local_samples bigint)
AS 'MODULE_PATHNAME', 'ruvector_qudag_proposals' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.qudag_votes()
RETURNS TABLE(proposal_id text, proposer text, validator text, own bool, verdict text)
AS 'MODULE_PATHNAME', 'ruvector_qudag_votes' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.qudag_privacy_budget(
  OUT mechanism text, OUT epsilon_per_release float8, OUT epsilon_spent float8, OUT epsilon_budget float8,
  OUT delta_spent float8, OUT delta_budget float8, OUT releases bigint, OUT releases_left bigint)
AS 'MODULE_PATHNAME', 'ruvector_qudag_privacy_budget' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@.qudag_sync_now()
RETURNS bigint AS 'MODULE_PATHNAME', 'ruvector_qudag_sync_now' LANGUAGE C VOLATILE;

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

-- State-changing functions are for superusers (and roles granted them).
REVOKE ALL ON FUNCTION @extschema@.dag_reset_stats() FROM PUBLIC;
-- The whole image: every role's and database's patterns and trajectories.
REVOKE ALL ON FUNCTION @extschema@.dag_export_state() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.dag_import_state(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.dag_save_state() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._dag_add_arm(text, text[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.dag_add_arm(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.dag_remove_arm(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.dag_pin(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.dag_unpin(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.dag_pin(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.dag_pins() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.dag_reset_learning(bool) FROM PUBLIC;
-- Changes the mechanism of the server's learner, not only the session's.
REVOKE ALL ON FUNCTION @extschema@.dag_set_attention(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.qudag_sync_now() FROM PUBLIC;
