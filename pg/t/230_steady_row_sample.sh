#!/usr/bin/env bash
# The row-count sample does not end a steady pattern's windows early
# (docs/postgres.md, "Steady patterns"): with ruvector.dag_row_sample_rate =
# 0.5 a session running a settled statement 320 times writes about one
# record per dag_steady_batch (32) runs, not one per sample (every second
# run), and the records that end windows still carry measured row counts.
source "$(dirname "$0")/lib.sh"

steady_setup rv230 t230
script=$RV_WORK/230_pgbench.sql
printf '\\set k random(1, 1000)\nSELECT v FROM t230 WHERE i = :k;\n' >"$script"
chmod a+r "$script"
"$RV_BINDIR/pgbench" -n -h "$RV_HOST" -p "$RV_PORT" -U postgres -M prepared -f "$script" -c 2 -t 150 rv230 \
  >"$RV_WORK/230_pgbench.log" 2>&1 || { cat "$RV_WORK/230_pgbench.log"; not_ok "pgbench ran"; }
qid=$(quiet rv230 "SELECT query_id FROM ruvector.dag_statistics() ORDER BY executions DESC LIMIT 1")
runs() { quiet rv230 "SELECT coalesce(sum(executions), 0) FROM ruvector.dag_statistics() WHERE query_id = $qid"; }
wait_runs() {  # EXPECTED: a session's held runs are written when its backend exits
  for _ in $(seq 1 100); do
    [ "$(runs)" -ge "$1" ] && break
    sleep 0.1
  done
  runs
}
check "300 runs of the statement counted" "$(wait_runs 300)" 300
learn_now rv230
check "the learner serves the statement PostgreSQL's plan" \
  "$(quiet rv230 "SELECT deployed_arm FROM ruvector.dag_decisions() WHERE query_id = $qid")" default

# --- one session, 320 runs, every second one sampled ----------------------------------
seq0=$(quiet rv230 "SELECT coalesce(max(seq), 0) FROM ruvector.dag_trajectory_history(NULL, 5000)")
r0=$(quiet rv230 "SELECT trajectories_recorded FROM ruvector.dag_status()")
psql_db rv230 <<SQL >/dev/null
SET ruvector.dag_row_sample_rate = 0.5;
PREPARE p(int) AS SELECT v FROM t230 WHERE i = \$1;
$(for k in $(seq 1 320); do echo "EXECUTE p($k);"; done)
SQL
check "620 runs counted exactly" "$(wait_runs 620)" 620
r1=$(quiet rv230 "SELECT trajectories_recorded FROM ruvector.dag_status()")
written=$((r1 - r0))
echo "# records written for 320 runs with dag_row_sample_rate = 0.5: $written (one per sample would be 160)"
# 10 windows of 32 runs; a window also ends 100 ms after the last record, so
# a slow machine writes a few more.
if [ "$written" -le 40 ]; then ok "about a record per window, not one per sample ($written for 320 runs)"; else
  not_ok "about a record per window, not one per sample ($written for 320 runs)"; fi
measured=$(quiet rv230 "SELECT count(*) FROM ruvector.dag_trajectory_history(NULL, 5000) h
  JOIN ruvector.dag_statistics() s ON s.pattern_id = h.pattern_id
  WHERE s.query_id = $qid AND h.seq > $seq0 AND h.plan_nodes > 0 AND h.actual_rows[1] IS NOT NULL")
echo "# records of the session with measured row counts: $measured"
if [ "$measured" -ge 3 ]; then ok "the records that end windows carry measured row counts ($measured)"; else
  not_ok "the records that end windows carry measured row counts ($measured)"; fi
learn_now rv230
check "the learner counted every run the records stand for" \
  "$(quiet rv230 "SELECT observed_runs FROM ruvector.dag_decisions() WHERE query_id = $qid")" 620

psql_db postgres -c "ALTER SYSTEM RESET ruvector.dag_exploration_min_ms" -c "SELECT pg_reload_conf()" >/dev/null
psql_db postgres -c "DROP DATABASE rv230 WITH (FORCE)" >/dev/null
done_testing
