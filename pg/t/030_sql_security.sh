#!/usr/bin/env bash
# The SQL API and the learner under attack by a plain role (docs/postgres.md,
# "Security model"): a table owner `sec_alice`, a plain login role
# `sec_mallory`, a pg_read_all_stats member `sec_auditor`.
#   - functions that plan a query text check privileges as EXPLAIN does
#   - one call's memory is bounded before allocating (plan size limits)
#   - other roles' and databases' rows are invisible; dag_export_state is
#     not for PUBLIC
#   - no-op or unrelated DDL of a plain role causes no drift, and does not
#     make the learner forget a deployed arm; ANALYZE of a relation does
#   - dag_unpin(0) is false and writes nothing
#   - a state file the server cannot open is replaced; a save that cannot
#     replace the file is reported (WARNING, dag_health_check)
source "$(dirname "$0")/lib.sh"

db=rvsec
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP DATABASE IF EXISTS ${db}2 WITH (FORCE)" >/dev/null
psql_db postgres <<'SQL' >/dev/null
DROP ROLE IF EXISTS sec_alice;
DROP ROLE IF EXISTS sec_mallory;
DROP ROLE IF EXISTS sec_auditor;
CREATE ROLE sec_alice LOGIN;
CREATE ROLE sec_mallory LOGIN;
CREATE ROLE sec_auditor LOGIN IN ROLE pg_read_all_stats;
SQL
psql_db postgres -c "CREATE DATABASE $db" -c "CREATE DATABASE ${db}2" >/dev/null
psql_db "$db" <<'SQL' >/dev/null
CREATE EXTENSION ruvector_dag CASCADE;
-- mallory's own tables go to her own schema ("$user" in the default path);
-- CREATE on public would make the explorer refuse every statement here.
CREATE SCHEMA sec_mallory AUTHORIZATION sec_mallory;
CREATE SCHEMA alice_secret AUTHORIZATION sec_alice;
GRANT USAGE ON SCHEMA alice_secret TO sec_mallory;
SET ROLE sec_alice;
CREATE TABLE alice_secret.salary (id int PRIMARY KEY, dept int, salary int);
INSERT INTO alice_secret.salary SELECT i, i % 10, CASE WHEN i % 100 = 0 THEN 250000 ELSE 40000 + i % 7 END
  FROM generate_series(1, 20000) i;
ANALYZE alice_secret.salary;
GRANT SELECT (id, dept) ON alice_secret.salary TO sec_mallory;
RESET ROLE;
SQL
psql_db "${db}2" -c "CREATE EXTENSION ruvector_dag CASCADE" >/dev/null

# --- 1. privileges as EXPLAIN checks them ------------------------------------------------
secret="SELECT * FROM alice_secret.salary WHERE salary > 100000"
explain_error=$(sql_error sec_mallory "$db" "EXPLAIN $secret")
check "EXPLAIN is refused to a role without SELECT" "$explain_error" "permission denied for table salary"
for f in "dag_analyze_plan(\$q\$$secret\$q\$)" "dag_critical_path(\$q\$$secret\$q\$)" \
    "dag_bottlenecks(\$q\$$secret\$q\$)" "dag_mincut_analysis(\$q\$$secret\$q\$)" \
    "dag_suggest_optimizations(\$q\$$secret\$q\$)" "dag_attention_scores(\$q\$$secret\$q\$)" \
    "dag_attention_matrix(\$q\$$secret\$q\$)" "dag_attention_visualize(\$q\$$secret\$q\$, 'auto', 'json')" \
    "dag_estimate(\$q\$$secret\$q\$)"; do
  check "ruvector.${f%%(*}: same error as EXPLAIN" \
    "$(sql_error sec_mallory "$db" "SELECT * FROM ruvector.$f")" "$explain_error"
done
# Column privileges count too: the granted columns can be analyzed.
check "a query on granted columns only is analyzed" \
  "$(psql_as sec_mallory "$db" -c "SELECT count(*) > 0 FROM ruvector.dag_analyze_plan('SELECT dept FROM alice_secret.salary WHERE id < 100')")" t
check "a hidden column in WHERE is refused" \
  "$(sql_error sec_mallory "$db" "SELECT * FROM ruvector.dag_critical_path('SELECT dept FROM alice_secret.salary WHERE salary > 100000')")" \
  "$explain_error"

# Functions count too: no EXECUTE privilege, the same error as EXPLAIN's.
psql_db "$db" <<'SQL' >/dev/null
SET ROLE sec_alice;
CREATE FUNCTION alice_secret.secret_rows() RETURNS SETOF int LANGUAGE sql STABLE AS 'SELECT 4242';
REVOKE EXECUTE ON FUNCTION alice_secret.secret_rows() FROM PUBLIC;
RESET ROLE;
SQL
fn_error=$(sql_error sec_mallory "$db" "EXPLAIN SELECT * FROM alice_secret.secret_rows()")
check "EXPLAIN is refused without EXECUTE on a function" "$fn_error" "permission denied for function secret_rows"
check "dag_analyze_plan: the same error for the function" \
  "$(sql_error sec_mallory "$db" "SELECT * FROM ruvector.dag_analyze_plan('SELECT * FROM alice_secret.secret_rows()')")" \
  "$fn_error"
# Arms hold planner settings only: never who runs the statement or how names resolve.
for setting in role session_authorization search_path; do
  check "an arm cannot hold $setting" \
    "$(sql_error postgres "$db" "SELECT ruvector.dag_add_arm('arm_$setting', '{\"$setting\": \"postgres\"}')" | cut -d' ' -f1-2)" \
    "ruvector_dag: \"$setting\""
done

# --- 2. bounded memory ------------------------------------------------------------------------
union() {  # union N: one SELECT of N UNION ALL branches, nested as a balanced tree (the
  # parser's recursion depth stays logarithmic; the planner flattens it into one Append)
  awk -v n="$1" 'function u(lo, hi,   mid) {
      if (lo == hi) return "SELECT " lo " AS x"
      mid = int((lo + hi) / 2)
      return "(" u(lo, mid) ") UNION ALL (" u(mid + 1, hi) ")"
    }
    BEGIN { print u(1, n) }'
}
q1001=$(union 1001)
check "attention matrix of a 1,002-node plan is refused before allocating" \
  "$(sql_error sec_mallory "$db" "SELECT ruvector.dag_attention_matrix(\$q\$$q1001\$q\$, 'topological') IS NULL")" \
  "ruvector_dag: the plan has more than 1000 nodes; the attention matrix is limited to 1000"
check "attention scores of the same plan are computed" \
  "$(psql_as sec_mallory "$db" -c "SELECT count(*) FROM ruvector.dag_attention_scores(\$q\$$q1001\$q\$, 'topological')")" 1002
q10001=$(union 10001)
check "EXPLAIN of a 10,002-node plan skips the extension's section" \
  "$(printf '%s\n' "EXPLAIN (COSTS OFF) $q10001" | psql_as sec_mallory "$db" -f - | grep -c '^RuVector DAG: not analyzed (more than 10000 plan nodes)')" 1
check "analysis of a 10,002-node plan is refused" \
  "$(sql_error sec_mallory "$db" "SELECT count(*) FROM ruvector.dag_analyze_plan(\$q\$$q10001\$q\$)")" \
  "ruvector_dag: the plan has more than 10000 nodes; plan analysis is limited to 10000"

# --- 3. visibility ------------------------------------------------------------------------------
alice_q="SELECT dept, count(*) FROM alice_secret.salary WHERE salary > 45000 GROUP BY dept"
for _ in 1 2 3 4; do psql_as sec_alice "$db" -c "$alice_q" >/dev/null; done
for _ in 1 2; do psql_as sec_mallory "$db" -c "SELECT count(*) FROM alice_secret.salary WHERE id < 10" >/dev/null; done
learn_now "$db"
alice_qid=$(psql_as sec_alice "$db" -c "SET ruvector.dag_enabled = off" \
  -c "SELECT query_id FROM ruvector.dag_statistics() WHERE executions >= 4 ORDER BY executions DESC LIMIT 1")
[ -n "$alice_qid" ] && ok "the owner sees her own pattern" || not_ok "the owner sees her own pattern"
seen_by() {  # seen_by ROLE DB SQL-with-:qid -> count
  psql_as "$1" "$2" -c "SET ruvector.dag_enabled = off" -c "${3//:qid/${alice_qid:-0}}"
}
for role_expect in "sec_mallory 0" "sec_auditor 1" "postgres 1"; do
  read -r role expect <<<"$role_expect"
  check "dag_statistics: $role sees another role's pattern: $expect" \
    "$(seen_by "$role" "$db" "SELECT count(*) > 0 FROM ruvector.dag_statistics() WHERE query_id = :qid" | tr tf 10)" "$expect"
  check "dag_trajectory_history: $role sees another role's runs: $expect" \
    "$(seen_by "$role" "$db" "SELECT count(*) > 0 FROM ruvector.dag_trajectory_history(NULL, 100000) WHERE query_id = :qid" | tr tf 10)" "$expect"
  check "dag_query_patterns: $role sees another role's pattern: $expect" \
    "$(seen_by "$role" "$db" "SELECT count(*) > 0 FROM ruvector.dag_query_patterns() WHERE query_id = :qid" | tr tf 10)" "$expect"
done
check "mallory still sees her own pattern" \
  "$(seen_by sec_mallory "$db" "SELECT count(*) > 0 FROM ruvector.dag_statistics()")" t
check "mallory sees no decision, event or finding of others" \
  "$(seen_by sec_mallory "$db" "SELECT (SELECT count(*) FROM ruvector.dag_decisions() WHERE query_id = :qid)
     + (SELECT count(*) FROM ruvector.dag_learning_events(256) WHERE query_id = :qid)
     + (SELECT count(*) FROM ruvector.dag_anomalies(128) WHERE query_id = :qid)")" 0
check "the superuser sees the other role's decision" \
  "$(seen_by postgres "$db" "SELECT count(*) > 0 FROM ruvector.dag_decisions() WHERE query_id = :qid")" t
check "another database does not see the first one's patterns (superuser)" \
  "$(seen_by postgres "${db}2" "SELECT count(*) FROM ruvector.dag_statistics() WHERE query_id = :qid")" 0
check "dag_export_state is not for PUBLIC" \
  "$(sql_error sec_mallory "$db" "SELECT length(ruvector.dag_export_state())")" \
  "permission denied for function dag_export_state"

# --- 4. drift comes only from changes to relations -----------------------------------------------
drift_events() { quiet "$db" "SELECT count(*) FROM ruvector.dag_learning_events(256) WHERE event = 'drift'"; }
learn_now "$db"
before=$(drift_events)
psql_as sec_mallory "$db" <<'SQL' >/dev/null 2>&1 || true
DROP TABLE IF EXISTS no_such_table;
CREATE TEMP TABLE m_tmp (k int);
DROP TABLE m_tmp;
SET work_mem = '64MB';
SET random_page_cost = 1.1;
ANALYZE alice_secret.salary;
VACUUM ANALYZE alice_secret.salary;
SQL
learn_now "$db"
check "no drift from a plain role's no-ops, temp tables, SETs or refused ANALYZE" "$(drift_events)" "$before"
psql_as sec_alice "$db" -c "ANALYZE alice_secret.salary" >/dev/null
learn_now "$db"
check "the owner's ANALYZE is drift (one notice)" "$(drift_events)" "$((before + 1))"
# A change is drift once committed: rolled back (whole or to a savepoint), none.
psql_as sec_alice "$db" -c "BEGIN" -c "ANALYZE alice_secret.salary" -c "TRUNCATE alice_secret.salary" \
  -c "ROLLBACK" >/dev/null
psql_as sec_alice "$db" -c "BEGIN" -c "SAVEPOINT s" -c "ANALYZE alice_secret.salary" -c "ROLLBACK TO s" \
  -c "COMMIT" >/dev/null
learn_now "$db"
check "an ANALYZE or TRUNCATE that is rolled back is no drift" "$(drift_events)" "$((before + 1))"
psql_as sec_alice "$db" -c "BEGIN" -c "ANALYZE alice_secret.salary" -c "COMMIT" >/dev/null
learn_now "$db"
check "... and one committed in a transaction block is (at the commit)" "$(drift_events)" "$((before + 2))"
before=$((before + 1))

# A deployed arm survives a plain role's ANALYZE of its own table and DDL.
"$RV_CLI" bench --dsn "host=$RV_HOST port=$RV_PORT user=postgres dbname=$db" --workload misestimation --generate \
  --rounds 16 --format json >"$RV_WORK/bench.json" 2>"$RV_WORK/bench.err" || cat "$RV_WORK/bench.err" >&2
deployed() { quiet "$db" "SELECT count(*) FROM ruvector.dag_decisions() WHERE deployed_arm <> 'default'"; }
learn_now "$db"
n_deployed=$(deployed)
if [ "${n_deployed:-0}" -ge 1 ]; then
  ok "bench deployed $n_deployed arm(s)"
  psql_as sec_mallory "$db" <<'SQL' >/dev/null 2>&1 || true
CREATE TABLE mallory_t AS SELECT g AS k FROM generate_series(1, 1000) g;
ANALYZE mallory_t;
CREATE INDEX ON mallory_t (k);
ALTER TABLE mallory_t ADD COLUMN v int;
DROP TABLE mallory_t;
DROP TABLE IF EXISTS rv_orders;
SQL
  learn_now "$db"
  check "deployed arms survive a plain role's DDL on its own tables" "$(deployed)" "$n_deployed"
  before=$(drift_events)
  psql_db "$db" -c "ANALYZE" >/dev/null
  learn_now "$db"
  check "a database-wide ANALYZE by the owner is one drift notice" "$(drift_events)" "$((before + 1))"
else
  not_ok "bench deployed an arm (got '${n_deployed}')"
fi

# --- 5. pins ---------------------------------------------------------------------------------------
steering_file="$RV_DATA/ruvector_dag.steering"
before_mtime=$(stat -c %Y.%s "$steering_file" 2>/dev/null || echo none)
check "dag_unpin(0) is false" "$(quiet "$db" "SELECT ruvector.dag_unpin(0)")" f
check "dag_unpin(0) writes no steering file" "$(stat -c %Y.%s "$steering_file" 2>/dev/null || echo none)" "$before_mtime"
check "dag_unpin is not for PUBLIC" "$(sql_error sec_mallory "$db" "SELECT ruvector.dag_unpin(1)")" \
  "permission denied for function dag_unpin"

# --- 6. state files the server cannot replace ---------------------------------------------------------
state="$RV_DATA/ruvector_dag.state"
if [ "$(id -u)" -eq 0 ]; then
  quiet "$db" "SELECT ruvector.dag_save_state()" >/dev/null
  chown root:root "$state"
  chmod 000 "$state"
  check "a root-owned mode-000 state file is replaced by the save" "$(quiet "$db" "SELECT ruvector.dag_save_state()")" t
  check "the new state file belongs to the server" "$(stat -c %U "$state")" postgres
  rm -f "$state"
  mkdir -p "$state/blocker"
  out=$(psql_db "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT ruvector.dag_save_state()" 2>&1 || true)
  if echo "$out" | grep -q "WARNING:  ruvector_dag: could not save"; then ok "an impossible save is a WARNING"; else
    not_ok "an impossible save is a WARNING ($out)"; fi
  check "dag_health_check reports the failing save" \
    "$(quiet "$db" "SELECT status || ':' || (message LIKE 'saving fails%') FROM ruvector.dag_health_check() WHERE component = 'persistence'")" \
    "error:true"
  rm -rf "$state"
  check "saving works again" "$(quiet "$db" "SELECT ruvector.dag_save_state()")" t
  check "dag_health_check is ok again" \
    "$(quiet "$db" "SELECT status FROM ruvector.dag_health_check() WHERE component = 'persistence'")" ok
else
  ok "# skip state-file ownership tests (not root)"
fi

# --- 7. DROP EXTENSION stops steering in its database -------------------------------------------------
psql_db "${db}2" <<'SQL' >/dev/null
CREATE TABLE pinned (id int PRIMARY KEY, v int);
INSERT INTO pinned SELECT g, g % 10 FROM generate_series(1, 5000) g;
ANALYZE pinned;
SQL
pinned_q="SELECT count(*) FROM pinned WHERE id < 4500"
steered() {  # steered DB: "default" (a sequential scan) or "steered" (no_seqscan's plan)
  if psql_db "$1" -c "EXPLAIN (COSTS OFF) $pinned_q" | grep -q 'Seq Scan'; then echo default; else echo steered; fi
}
plan_of() { steered "${db}2"; }
qid=$(psql_db "${db}2" -c "SET compute_query_id = on" -c "EXPLAIN (VERBOSE, COSTS OFF) $pinned_q" |
  sed -n 's/^ *Query Identifier: \(-\?[0-9]*\)$/\1/p')
check "the default plan scans the table" "$(plan_of)" default
psql_db "${db}2" -c "SELECT ruvector.dag_pin($qid, 'no_seqscan')" >/dev/null
check "a pin steers the query in its database" "$(plan_of)" steered
# A copy of the database has the same relation OIDs, so the same query id.
psql_db postgres -c "DROP DATABASE IF EXISTS ${db}3 WITH (FORCE)" -c "CREATE DATABASE ${db}3 TEMPLATE ${db}2" >/dev/null
check "the copy's query has the same query id" \
  "$(psql_db "${db}3" -c "SET compute_query_id = on" -c "EXPLAIN (VERBOSE, COSTS OFF) $pinned_q" |
     sed -n 's/^ *Query Identifier: \(-\?[0-9]*\)$/\1/p')" "$qid"
check "the pin does not steer another database" "$(steered "${db}3")" default
psql_db postgres -c "DROP DATABASE ${db}3 WITH (FORCE)" >/dev/null
psql_db "${db}2" -c "DROP EXTENSION ruvector_dag" >/dev/null
check "after DROP EXTENSION the database is not steered" "$(plan_of)" default
psql_db "${db}2" -c "CREATE EXTENSION ruvector_dag CASCADE" >/dev/null
check "CREATE EXTENSION steers again" "$(plan_of)" steered
psql_db "${db}2" -c "SELECT ruvector.dag_unpin($qid)" >/dev/null

psql_db postgres -c "DROP DATABASE IF EXISTS ${db}2 WITH (FORCE)" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
done_testing
