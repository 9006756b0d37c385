#!/usr/bin/env bash
# Observation: pattern identity per database and role, and admission to the
# pattern table (a flood of cheap statements by one role neither evicts
# another role's slow pattern nor takes more than its share of the table).
# docs/postgres.md, "Pattern identity" and "The pattern table".
source "$(dirname "$0")/lib.sh"

psql_db postgres <<'SQL' >/dev/null
DROP DATABASE IF EXISTS rv020a;
DROP DATABASE IF EXISTS rv020b;
CREATE DATABASE rv020a;
CREATE DATABASE rv020b;
DROP ROLE IF EXISTS r020a;
DROP ROLE IF EXISTS r020b;
DROP ROLE IF EXISTS r020flood;
CREATE ROLE r020a LOGIN;
CREATE ROLE r020b LOGIN;
CREATE ROLE r020flood LOGIN;
SQL
psql_db rv020a -c "CREATE EXTENSION ruvector_dag CASCADE" >/dev/null
psql_db rv020b -c "CREATE EXTENSION ruvector_dag CASCADE" >/dev/null

# --- (a) the same statement by two roles and in two databases: three patterns ---------
stmt="SELECT count(*) FROM pg_class WHERE relname LIKE 'rv020%'"
run_times() {  # ROLE DB N
  for _ in $(seq 1 "$3"); do psql_as "$1" "$2" -c "$stmt" >/dev/null; done
}
run_times r020a rv020a 2
run_times r020b rv020a 3
run_times r020a rv020b 4
qid=$(quiet rv020a "EXPLAIN (VERBOSE, FORMAT JSON) $stmt" | sed -n 's/.*"Query Identifier": \(-\?[0-9]*\).*/\1/p' | head -1)
if [ -n "$qid" ]; then ok "query identifier of the statement: $qid"; else not_ok "query identifier of the statement"; fi
# Each database shows its own patterns (docs/postgres.md, "Security model").
per_db() {  # per_db SELECT-expression -> one line per database, rv020a first
  for d in rv020a rv020b; do quiet "$d" "$1"; done
}
rows=$(per_db "SELECT string_agg(format('%s/%s:%s', d.datname, r.rolname, s.executions), ' ' ORDER BY d.datname, r.rolname)
  FROM ruvector.dag_statistics() s JOIN pg_database d ON d.oid = s.database_oid JOIN pg_roles r ON r.oid = s.role_oid
  WHERE s.query_id = $qid" | paste -sd' ')
check "one pattern per (database, role), each with its own executions" "$rows" \
  "rv020a/r020a:2 rv020a/r020b:3 rv020b/r020a:4"
distinct=$(per_db "SELECT string_agg(pattern_id::text, ' ') FROM ruvector.dag_statistics() WHERE query_id = $qid" |
  tr ' ' '\n' | sort -u | grep -c .)
check "three distinct pattern ids for one query id" "$distinct" 3
# The trajectories carry the same identity.
traj=$(per_db "SELECT count(DISTINCT t.pattern_id) FROM ruvector.dag_trajectory_history(NULL, 1000) t
  JOIN ruvector.dag_statistics() s ON s.pattern_id = t.pattern_id WHERE s.query_id = $qid" | awk '{ n += $1 } END { print n }')
check "trajectories of the statement belong to the three patterns" "$traj" 3

# --- (c) the statement timer: executor time only, every open execution timed ----------
# (docs/postgres.md, "What happens inside the server": ExecutorStart)
qid_of() { quiet rv020a "EXPLAIN (VERBOSE, FORMAT JSON) $1" | sed -n 's/.*"Query Identifier": \(-\?[0-9]*\).*/\1/p' | head -1; }
stat_of() {  # QUERY_ID -> "executions max_ms"
  quiet rv020a "SELECT executions || ' ' || round(max_ms) FROM ruvector.dag_statistics() WHERE query_id = $1"
}
# A cursor fetched twice with 0.3 s between the fetches: one execution, timed
# while the executor runs (not while the function sleeps). (PL/pgSQL cursors:
# the query inside a DECLARE CURSOR statement gets no query id.)
psql_db rv020a <<'SQL' >/dev/null
DO $$
DECLARE c refcursor; r record;
BEGIN
  OPEN c FOR SELECT g, 'rv020 cursor' FROM generate_series(1, 10) g;
  FETCH c INTO r;
  PERFORM pg_sleep(0.3);
  FETCH c INTO r;
  CLOSE c;
END $$;
SQL
read -r n ms < <(stat_of "$(qid_of "SELECT g, 'rv020 cursor' FROM generate_series(1, 10) g")")
if [ "${n:-0}" = 1 ] && [ -n "$ms" ] && [ "$ms" -lt 250 ]; then ok "cursor: one execution, executor time only ($ms ms)"; else
  not_ok "cursor: one execution, executor time only (got '${n:-} ${ms:-}')"; fi
# 20 cursors open at once (more executions than the backend's statement
# timers): each is recorded when the commit closes it.
psql_db rv020a <<'SQL' >/dev/null
DO $$
DECLARE c refcursor; r record;
BEGIN
  FOR i IN 1..20 LOOP
    c := NULL;  -- a new portal each time; all stay open until the commit
    OPEN c FOR SELECT g, g + 1, 'rv020 many' FROM generate_series(1, 3) g;
    FETCH c INTO r;
  END LOOP;
END $$;
SQL
read -r n ms < <(stat_of "$(qid_of "SELECT g, g + 1, 'rv020 many' FROM generate_series(1, 3) g")")
check "20 cursors open at once: 20 executions recorded" "${n:-}" 20
# Statements that fail inside subtransactions, then a timed one in the same
# transaction: the failed executions leave nothing behind.
psql_db rv020a <<'SQL' >/dev/null
DO $$
BEGIN
  FOR i IN 1..40 LOOP
    BEGIN
      PERFORM 1 / (x - x) FROM (VALUES (i)) v(x);
    EXCEPTION WHEN division_by_zero THEN NULL;
    END;
  END LOOP;
  PERFORM pg_sleep(0.05), 'rv020 after errors';
END $$;
SQL
read -r n ms < <(stat_of "$(qid_of "SELECT pg_sleep(0.05), 'rv020 after errors'")")
if [ "${n:-0}" = 1 ] && [ -n "$ms" ] && [ "$ms" -ge 45 ] && [ "$ms" -lt 1000 ]; then
  ok "after 40 failed executions in subtransactions, a statement is timed ($ms ms)"; else
  not_ok "after 40 failed executions in subtransactions, a statement is timed (got '${n:-} ${ms:-}')"; fi

# --- (b) a flood of cheap statements by one plain role ---------------------------------
# A small table (1,000 patterns, share 0.5) so that the flood overflows it.
quiet postgres "ALTER SYSTEM SET ruvector.dag_max_patterns = 1000" >/dev/null
pg_ctl_rv restart -m fast
wait_ready
check "pattern table bound" "$(quiet rv020a "SELECT max_patterns FROM ruvector.dag_status()")" 1000
# A slow statement run three times by another role.
for _ in 1 2 3; do psql_as r020a rv020b -c "SELECT pg_sleep(0.05), 'rv020 slow'" >/dev/null; done
slow=$(quiet rv020b "SELECT pattern_id FROM ruvector.dag_statistics()
  WHERE role_oid = 'r020a'::regrole AND mean_ms >= 45 AND executions = 3")
if [ -n "$slow" ]; then ok "slow pattern recorded ($slow)"; else not_ok "slow pattern recorded"; fi
started=$(date +%s)
# 6,000 distinct statements (distinct query ids: 100 target-list lengths x 60
# IN-list lengths), each run once, by a plain role.
psql_as r020flood rv020b <<'SQL' >/dev/null
DO $$
DECLARE cols text; vals text;
BEGIN
  FOR c IN 1..100 LOOP
    cols := (SELECT string_agg(g::text, ',') FROM generate_series(1, c) g);
    FOR k IN 1..60 LOOP
      vals := (SELECT string_agg(g::text, ',') FROM generate_series(1, k) g);
      EXECUTE format('SELECT %s FROM (VALUES (1)) v(x) WHERE x IN (%s)', cols, vals);
    END LOOP;
  END LOOP;
END $$;
SQL
echo "# flood of 6,000 statements took $(($(date +%s) - started)) s"
flood=$(quiet rv020b "SELECT count(*) FROM ruvector.dag_statistics() WHERE role_oid = 'r020flood'::regrole")
if [ "$flood" -ge 100 ] && [ "$flood" -le 500 ]; then ok "flooding role holds at most its share (holds $flood of 1000, share 0.5)"; else
  not_ok "flooding role holds at most its share (holds $flood of 1000, share 0.5)"; fi
check "the slow pattern of the other role survived the flood, statistics intact" \
  "$(quiet rv020b "SELECT executions FROM ruvector.dag_statistics() WHERE pattern_id = ${slow:-0}")" 3
total=$(quiet rv020a "SELECT patterns <= max_patterns FROM ruvector.dag_status()")
check "table stays within its bound" "$total" t
# Another role still gets new patterns in.
for i in 1 2 3; do psql_as r020b rv020b -c "SELECT $i AS a, 2 AS b FROM (VALUES (1), (2)) v(x) WHERE x = 1 LIMIT $i" >/dev/null; done
check "another role's new pattern is admitted after the flood" \
  "$(quiet rv020b "SELECT count(*) > 0 FROM ruvector.dag_statistics() WHERE role_oid = 'r020b'::regrole")" t

quiet postgres "ALTER SYSTEM RESET ruvector.dag_max_patterns" >/dev/null
pg_ctl_rv restart -m fast
wait_ready
psql_db postgres <<'SQL' >/dev/null
DROP DATABASE rv020a;
DROP DATABASE rv020b;
DROP ROLE r020a;
DROP ROLE r020b;
DROP ROLE r020flood;
SQL
done_testing
