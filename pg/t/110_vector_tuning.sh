#!/usr/bin/env bash
# Learned ef_search (docs/vector.md): a k-nearest-neighbour query on a
# seeded, clustered 20,000 x 32 table with an ruhnsw index is a vector
# pattern; the background explorer measures the recall@20 of every
# ef_search candidate against the exact search on distinct statements, and
# the learner deploys the fastest setting whose recall lower bound reaches
# the target -- never ef_search = 10, which cannot return 20 rows (after 8
# samples that is the exact search: the bound counts statements, and 8
# perfect ones prove only 0.75; faster settings keep being measured). The
# deployed setting overrides the session's ef_search. With a target of 1 no
# ef_search value can prove it: the exact search is deployed and the query
# returns the exact rows.
source "$(dirname "$0")/lib.sh"

db=rvvec
seed=20261206
echo "# data: items i = 1..20000, v = random_vector(32, 1 + i % 40) + 0.15 x random_vector(32, $seed + i); queries random_vector(32, s)"
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
psql_db "$db" <<SQL >/dev/null
SET ruvector.dag_enabled = off;
CREATE EXTENSION ruvector_dag CASCADE;
CREATE TABLE items (id int PRIMARY KEY, v ruvector(32));
INSERT INTO items SELECT i, random_vector(32, 1 + i % 40) + random_vector(32, $seed + i) * 0.15
  FROM generate_series(1, 20000) i;
CREATE INDEX items_v ON items USING ruhnsw (v ruvector_l2_ops) WITH (m = 8, ef_construction = 32);
ANALYZE items;
SQL
query() { echo "SELECT id FROM items ORDER BY v <-> random_vector(32, $1) LIMIT 20"; }
if quiet "$db" "EXPLAIN (COSTS OFF) $(query 1)" | grep -q "Index Scan using items_v"; then
  ok "the query uses the ruhnsw index"
else
  not_ok "the query uses the ruhnsw index"
fi

state() {  # the pattern's vector_search (empty before the learner tracks it)
  quiet "$db" "SELECT vector_search FROM ruvector.dag_decisions() WHERE vector_search IS NOT NULL LIMIT 1"
}
# Users run the query with new query vectors; a capture is refreshed every
# second while the pattern is tuned, and each new statement is a sample.
tune() {  # tune FIRST_SEED: until a setting is decided (at most 150 statements)
  local s=$1
  for _ in $(seq 1 150); do
    psql_db "$db" -c "$(query "$s")" >/dev/null
    s=$((s + 1))
    learn_now "$db"
    st=$(state)
    if [ -n "$st" ] && [ "$st" != tuning ]; then return 0; fi
    sleep 1.05  # the capture refresh interval while tuning
  done
  return 1
}
if tune 1; then ok "a setting was decided ($(state))"; else not_ok "a setting was decided (still '$(state)')"; fi
learn_now "$db"  # the decision reflects every sample taken so far
quiet "$db" "SELECT format('# %s: recall %s (lower %s) over %s samples, %s ms, %s timeouts%s%s', setting,
  round(recall::numeric, 3), round(recall_lower::numeric, 3), samples, round(mean_ms::numeric, 3), timeouts,
  CASE WHEN eligible THEN ', eligible' ELSE '' END, CASE WHEN deployed THEN ', DEPLOYED' ELSE '' END)
  FROM ruvector.dag_vector_tuning() ORDER BY setting = 'exact', samples DESC, setting" || true

deployed=$(quiet "$db" "SELECT setting FROM ruvector.dag_vector_tuning() WHERE deployed")
check "one setting is deployed" "$(quiet "$db" "SELECT count(*) FROM ruvector.dag_vector_tuning() WHERE deployed")" 1
check "the deployed setting's recall lower bound reaches the target (0.95) over >= 8 samples" \
  "$(quiet "$db" "SELECT recall_lower >= 0.95 AND samples >= 8 AND runs >= 8 FROM ruvector.dag_vector_tuning()
    WHERE deployed")" t
check "no deployed setting has a recall bound below the target" \
  "$(quiet "$db" "SELECT count(*) FROM ruvector.dag_vector_tuning() WHERE deployed AND recall_lower < target")" 0
check "ef_search=10 (fewer rows than the LIMIT) was measured below the target and not deployed" \
  "$(quiet "$db" "SELECT samples >= 8 AND recall <= 0.5 AND NOT eligible AND NOT deployed
    FROM ruvector.dag_vector_tuning() WHERE setting = 'ef_search=10'")" t
check "the deployed setting is the fastest eligible one" \
  "$(quiet "$db" "SELECT (SELECT setting FROM ruvector.dag_vector_tuning() WHERE eligible ORDER BY mean_ms LIMIT 1)
    = '$deployed'")" t
check "dag_decisions shows the setting with its measured recall, samples and latency" \
  "$(quiet "$db" "SELECT vector_search = '$deployed' AND vector_recall_lower >= 0.95 AND vector_samples >= 8
    AND vector_ms > 0 FROM ruvector.dag_decisions() WHERE vector_search IS NOT NULL")" t
explain=$(psql_db "$db" -c "EXPLAIN $(query 999)")
if echo "$explain" | grep -q "Vector Search: $deployed ("; then ok "EXPLAIN shows the chosen setting"; else
  not_ok "EXPLAIN shows the chosen setting ($(echo "$explain" | grep -i "vector\|learned"))"; fi
# Served: the session's ef_search (10) caps an index scan at 10 rows; the
# deployed setting (>= 20, or exact) returns all 20.
# (The statement itself: wrapped in another query it would be another pattern.)
rows_steered=$(psql_db "$db" -c "SET ruvector.hnsw_ef_search = 10" -c "$(query 4242)" | wc -l)
rows_plain=$(psql_db "$db" -c "SET ruvector.hnsw_ef_search = 10" -c "SET ruvector.dag_steering = off" \
  -c "$(query 4242)" | wc -l)
check "the deployed setting overrides the session's ef_search (rows steered / not steered)" \
  "$rows_steered/$rows_plain" "20/10"
check "a query that is not a vector search is not a vector pattern" \
  "$(psql_db "$db" -c "SELECT count(*) FROM items WHERE id < 100" >/dev/null; learn_now "$db"
     quiet "$db" "SELECT count(*) FROM ruvector.dag_vector_tuning() GROUP BY pattern_id" | wc -l)" 1

# Bad targets are refused.
for bad in 0 -0.5 1.5; do
  err=$(sql_error postgres "$db" "ALTER SYSTEM SET ruvector.dag_vector_recall_target = $bad")
  if [ -n "$err" ]; then ok "recall target $bad is refused ($err)"; else not_ok "recall target $bad is refused"; fi
done
# A target of 1: no ef_search value can prove it; the exact search can.
psql_db "$db" -c "ALTER SYSTEM SET ruvector.dag_vector_recall_target = 1" -c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 40); do
  learn_now "$db"
  [ "$(state)" = exact ] && break
  sleep 0.25
done
check "with target 1 the exact search is deployed, never a lower-recall setting" "$(state)" exact
exact_ids=$(psql_db "$db" -c "SET ruvector.dag_steering = off" -c "SET enable_indexscan = off" \
  -c "$(query 777)" | paste -sd,)
steered_ids=$(psql_db "$db" -c "SET ruvector.hnsw_ef_search = 10" -c "$(query 777)" | paste -sd,)
check "the steered query returns the exact result" "$steered_ids" "$exact_ids"
psql_db "$db" -c "ALTER SYSTEM RESET ruvector.dag_vector_recall_target" -c "SELECT pg_reload_conf()" >/dev/null
learn_now "$db"
check "back at 0.95 the measured setting returns" "$(state)" "$deployed"
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
done_testing
