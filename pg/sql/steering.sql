-- Plan steering: arms, validation, pins, EXPLAIN shows the arm used.
CREATE TABLE steer_t (id int PRIMARY KEY, g int, pad text);
INSERT INTO steer_t SELECT i, i % 10, repeat('x', 20) FROM generate_series(1, 2000) i;
ANALYZE steer_t;
CREATE FUNCTION steer_qid(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE j json;
BEGIN
  EXECUTE 'EXPLAIN (VERBOSE, FORMAT JSON) ' || q INTO j;
  RETURN (j->0->>'Query Identifier')::bigint;
END $$;
CREATE FUNCTION steer_explain(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    IF line !~ '^ *(Pattern|Plan Nodes|Tension|Attention|Bottleneck|RuVector)' THEN
      RETURN NEXT line;
    END IF;
  END LOOP;
END $$;
SET max_parallel_workers_per_gather = 0;
-- The built-in arms.
SELECT arm_id, name, settings, builtin FROM ruvector.dag_arms() ORDER BY arm_id;
-- Custom arms are validated when added.
SELECT ruvector.dag_add_arm('cheap_random_io', '{"random_page_cost": "1.1", "enable_bitmapscan": "off"}');
SELECT name, settings, builtin FROM ruvector.dag_arms() WHERE NOT builtin;
SELECT ruvector.dag_add_arm('cheap_random_io', '{"random_page_cost": "1.5"}');
SELECT ruvector.dag_add_arm('bad', '{"no_such_setting": "1"}');
SELECT ruvector.dag_add_arm('bad', '{"random_page_cost": "-3"}');
SELECT ruvector.dag_add_arm('bad', '{"enable_hashjoin": "maybe"}');
SELECT ruvector.dag_add_arm('bad', '{"shared_buffers": "1GB"}');
SELECT ruvector.dag_add_arm('bad', '[1, 2]');
SELECT ruvector.dag_add_arm('bad', '{}');
SELECT ruvector.dag_add_arm('bad name', '{"work_mem": "64MB"}');
SELECT ruvector.dag_add_arm(NULL, '{"work_mem": "64MB"}');
SELECT ruvector.dag_remove_arm('no_seqscan');
SELECT ruvector.dag_remove_arm('nonexistent');
SELECT ruvector.dag_remove_arm('cheap_random_io');
SELECT count(*) AS arms FROM ruvector.dag_arms();
-- PostgreSQL's plan, then pinned to an arm, then unpinned.
SELECT * FROM steer_explain('SELECT count(*) FROM steer_t WHERE id < 1500');
SELECT ruvector.dag_pin(steer_qid('SELECT count(*) FROM steer_t WHERE id < 1500'), 'no_seqscan');
SELECT * FROM steer_explain('SELECT count(*) FROM steer_t WHERE id < 1500');
SELECT count(*) FROM steer_t WHERE id < 1500;
-- Other constants of the same query are the same query id: pinned too.
SELECT * FROM steer_explain('SELECT count(*) FROM steer_t WHERE id < 1900');
-- The pinned arm is used only while steering is on.
SET ruvector.dag_steering = off;
SELECT * FROM steer_explain('SELECT count(*) FROM steer_t WHERE id < 1500');
RESET ruvector.dag_steering;
SELECT ruvector.dag_pin(steer_qid('SELECT count(*) FROM steer_t WHERE id < 1500'), 'no_such_arm');
SELECT ruvector.dag_pin(NULL::bigint, 'default');
SELECT ruvector.dag_unpin(steer_qid('SELECT count(*) FROM steer_t WHERE id < 1500'));
SELECT ruvector.dag_unpin(steer_qid('SELECT count(*) FROM steer_t WHERE id < 1500'));
SELECT * FROM steer_explain('SELECT count(*) FROM steer_t WHERE id < 1500');
-- GUCs set by an arm do not leak into the session, also after an error.
SELECT ruvector.dag_pin(steer_qid('SELECT count(*) FROM steer_t WHERE id < 1500'), 'no_seqscan');
SELECT count(*) FROM steer_t WHERE id < 1500;
SHOW enable_seqscan;
SELECT count(*) / 0 FROM steer_t WHERE id < 1500;
SHOW enable_seqscan;
SELECT ruvector.dag_unpin(steer_qid('SELECT count(*) FROM steer_t WHERE id < 1500'));
-- Data-modifying statements and row locks are never steered.
SELECT ruvector.dag_pin(steer_qid('SELECT id FROM steer_t WHERE id < 1500 FOR UPDATE'), 'no_seqscan');
SELECT * FROM steer_explain('SELECT id FROM steer_t WHERE id < 1500 FOR UPDATE');
SELECT ruvector.dag_unpin(steer_qid('SELECT id FROM steer_t WHERE id < 1500 FOR UPDATE'));
-- Patterns with their learned decision; PostgreSQL's estimate vs the learner's.
SELECT count(*) FILTER (WHERE executions >= 1) = count(*) AS all_executed FROM ruvector.dag_query_patterns();
SELECT (SELECT count(*) FROM ruvector.dag_query_patterns(NULL)) = (SELECT count(*) FROM ruvector.dag_query_patterns())
  AS null_is_the_default;
SELECT count(*) > 0 AS steer_t_pattern_listed FROM ruvector.dag_query_patterns(1) p
WHERE p.query_id = steer_qid('SELECT count(*) FROM steer_t WHERE id < 1500');
SELECT pattern_id IS NOT NULL AS has_pattern, postgres_total_cost > 0 AS has_cost, postgres_rows, learned_arm,
       executions > 0 AS measured, predicted_ms > 0 AS has_prediction
FROM ruvector.dag_estimate('SELECT count(*) FROM steer_t WHERE id < 1500');
SELECT * FROM ruvector.dag_estimate('DELETE FROM steer_t');
SELECT * FROM ruvector.dag_estimate(NULL);
-- Learning settings.
SHOW ruvector.dag_exploration;
SET ruvector.dag_exploration = 'sometimes';
SET ruvector.dag_exploration_budget = 1.5;
SELECT ruvector.dag_learning_events(-1);
RESET max_parallel_workers_per_gather;
DROP FUNCTION steer_qid(text);
DROP FUNCTION steer_explain(text);
DROP TABLE steer_t;
