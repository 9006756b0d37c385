#!/usr/bin/env bash
# Steady patterns: a session records one run of a settled pattern per window
# and the record carries the window's other runs; run counts stay exact, in
# the pattern table and in what the learner counts, and fewer records are
# written. docs/postgres.md, "Steady patterns".
source "$(dirname "$0")/lib.sh"

steady_setup rv220 t200
stmt="SELECT v FROM t200 WHERE i = \$1"
script=$RV_WORK/200_pgbench.sql
printf '\\set k random(1, 1000)\nSELECT v FROM t200 WHERE i = :k;\n' >"$script"
chmod a+r "$script"
bench() {  # CLIENTS TRANSACTIONS_PER_CLIENT
  "$RV_BINDIR/pgbench" -n -h "$RV_HOST" -p "$RV_PORT" -U postgres -M prepared -f "$script" -c "$1" -t "$2" rv220 \
    >"$RV_WORK/200_pgbench.log" 2>&1 || { cat "$RV_WORK/200_pgbench.log"; not_ok "pgbench ran"; }
}
runs() { quiet rv220 "SELECT coalesce(sum(executions), 0) FROM ruvector.dag_statistics() WHERE query_id = $qid"; }
records() { quiet rv220 "SELECT trajectories_recorded FROM ruvector.dag_status()"; }
learned() { quiet rv220 "SELECT coalesce(sum(observed_runs), 0) FROM ruvector.dag_decisions() WHERE query_id = $qid"; }
# A session's held runs are written when it exits: after pgbench has
# disconnected, wait (at most 10 s) for its backends' exit.
wait_runs() {  # EXPECTED
  for _ in $(seq 1 100); do
    [ "$(runs)" -ge "$1" ] && break
    sleep 0.1
  done
  runs
}

# --- the pattern becomes known to the learner ----------------------------------------
bench 2 150
# (The statement's query id: the one pattern of this database with runs.)
qid=$(quiet rv220 "SELECT query_id FROM ruvector.dag_statistics() ORDER BY executions DESC LIMIT 1")
learn_now rv220
before_runs=$(wait_runs 300)
check "300 runs of the statement counted" "$before_runs" 300
learn_now rv220
echo "# $(quiet rv220 "SELECT format('decision: arm %s, exploring %s, default %s ms, %s runs', deployed_arm,
  coalesce(exploring, '-'), round(default_ms::numeric, 4), observed_runs) FROM ruvector.dag_decisions() WHERE query_id = $qid")"
check "the learner counted the 300 runs" "$(learned)" 300

# --- steady: 1,000 more runs, exact counts, far fewer records ------------------------
r0=$(records)
bench 2 500
after_runs=$(wait_runs 1300)
r1=$(records)
check "1,300 runs counted exactly (windows included)" "$after_runs" 1300
written=$((r1 - r0))
echo "# records written for 1,000 runs: $written"
if [ "$written" -lt 500 ]; then ok "fewer records than runs ($written for 1,000)"; else
  not_ok "fewer records than runs ($written for 1,000)"; fi
learn_now rv220
check "the learner counted every run the records stand for" "$(learned)" 1300
carried=$(quiet rv220 "SELECT count(*) FROM ruvector.dag_trajectory_history(NULL, 5000) h
  JOIN ruvector.dag_statistics() s ON s.pattern_id = h.pattern_id WHERE s.query_id = $qid AND h.plan_nodes > 0")
if [ "$carried" -gt 0 ]; then ok "records of the pattern carry its plan ($carried)"; else not_ok "records of the pattern carry its plan"; fi

# --- a window of a session that goes on with other statements ------------------------
# 40 runs in one session, then a statement that takes longer than a window
# (100 ms): the next observed execution writes the held runs, and the same
# session sees them all before it ends.
seen=$(psql_db rv220 <<SQL | tail -1
PREPARE p(int) AS SELECT v FROM t200 WHERE i = \$1;
$(for k in $(seq 1 40); do echo "EXECUTE p($k);"; done)
SELECT pg_sleep(0.15);
SELECT 1;
SET ruvector.dag_enabled = off;
SELECT sum(executions) FROM ruvector.dag_statistics() WHERE query_id = $qid;
SQL
)
check "held runs are written at the session's next observed execution after a window" "$seen" 1340

# --- ruvector.dag_steady_batch = 1: a record per run ---------------------------------
psql_db postgres -c "ALTER SYSTEM SET ruvector.dag_steady_batch = 1" -c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 50); do [ "$(quiet rv220 'SHOW ruvector.dag_steady_batch')" = 1 ] && break; sleep 0.1; done
r2=$(records)
bench 1 200
after_one=$(wait_runs 1540)
r3=$(records)
check "with dag_steady_batch = 1, 200 runs counted" "$after_one" 1540
check "with dag_steady_batch = 1, a record per run" "$((r3 - r2))" 200
psql_db postgres -c "ALTER SYSTEM RESET ruvector.dag_steady_batch" -c "ALTER SYSTEM RESET ruvector.dag_exploration_min_ms" \
  -c "SELECT pg_reload_conf()" >/dev/null

psql_db postgres -c "DROP DATABASE rv220 WITH (FORCE)" >/dev/null
done_testing
