#!/usr/bin/env bash
# The explorer's budget (docs/postgres.md, "Background exploration"): a
# costly pattern in one database must not starve the exploration of another
# database's misplanned query, nor of a pattern whose learning was reset; and
# the explorer never runs longer than its budget allows (every run's timeout
# fits the budget saved up, instead of a debt charged after the run).
source "$(dirname "$0")/lib.sh"
log_start=$(stat -c %s "$RV_LOG")

budget=0.1                 # the default; the test cluster runs with 0.5
max_credit_ms=3000         # 30 s of budget saved up at most (kMaxCreditSeconds)
start_within_s=15          # a new pattern's first exploration, at the latest
dba=rvbudget_a
dbb=rvbudget_b
now_ms() { date +%s%3N; }
status() { quiet $dbb "SELECT $1 FROM ruvector.dag_exploration_status()"; }
# explored_within DB WHERE AFTER LIMIT [FROM_MS]: "yes" once a capture of DB
# matching WHERE was handed to the explorer after the timestamp AFTER, at most
# LIMIT seconds after FROM_MS (default: now).
explored_within() {
  local db=$1 where=$2 after=$3 limit=$4 deadline
  deadline=$((${5:-$(now_ms)} + limit * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    learn_now "$db"
    if [ "$(quiet "$db" "SELECT count(*) > 0 FROM ruvector.dag_captured_statements()
          WHERE ($where) AND last_explored > '$after'::timestamptz")" = t ]; then
      echo yes
      return
    fi
    sleep 0.25
  done
  echo no
}

for db in $dba $dbb; do
  psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
  psql_db "$db" -c "CREATE EXTENSION ruvector_dag CASCADE" -c "ALTER DATABASE $db SET max_parallel_workers_per_gather = 0" >/dev/null
done
# A: a statement of a few seconds (a hash join of two 3M-row tables).
psql_db $dba >/dev/null <<'SQL'
SET ruvector.dag_enabled = off;
CREATE TABLE big_x AS SELECT i FROM generate_series(1, 3000000) i;
CREATE TABLE big_y AS SELECT i FROM generate_series(1, 3000000) i;
ANALYZE big_x, big_y;
SQL
# B: the misestimation workload's Q1 (a nested loop over a misestimated join).
psql_db $dbb >/dev/null <<'SQL'
SET ruvector.dag_enabled = off;
CREATE TABLE rv_events (id int PRIMARY KEY, a int, b int, c int, k int, payload int);
INSERT INTO rv_events SELECT i, i % 100, i % 100, i % 100, (i * 37) % 5000, i % 997 FROM generate_series(1, 20000) i;
ANALYZE rv_events;
SQL
qa="SELECT count(*) FROM big_x x JOIN big_y y ON y.i = x.i"
q1="SELECT count(*), sum(x.payload + y.payload) FROM rv_events x JOIN rv_events y ON y.k = x.k WHERE x.a = 1 AND x.b = 1 AND x.c = 1 AND y.a = 1 AND y.b = 1 AND y.c = 1"

psql_db postgres -c "ALTER SYSTEM SET ruvector.dag_exploration_cpu_budget = $budget" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
check "budget set" "$(status cpu_budget)" "$budget"
t0=$(now_ms)
busy0=$(status "round(explorer_busy_ms)")

# A's costly statement runs, is captured and (when the budget allows a run
# of it) explored.
a_start=$(quiet postgres "SELECT now()")
for _ in 1 2 3; do
  psql_db $dba -c "$qa" >/dev/null
  learn_now $dba
done
a_explored=$(explored_within $dba "query LIKE '%big_x%'" "$a_start" 10)
echo "# A's costly statement explored: $a_explored; default $(quiet $dba "SELECT round(default_ms) FROM ruvector.dag_decisions() ORDER BY default_ms DESC LIMIT 1") ms"

# B's misplanned query right after: its exploration starts within seconds.
b_start=$(quiet postgres "SELECT now()")
tb=$(now_ms)
for _ in 1 2 3 4; do
  psql_db $dbb -c "$q1" >/dev/null
  learn_now $dbb
done
check "a new database's misplanned query is explored within ${start_within_s} s of its first run" \
  "$(explored_within $dbb "query LIKE '%rv_events%'" "$b_start" $start_within_s "$tb")" yes
echo "# B explored $(( ($(now_ms) - tb) / 1000 )) s after its first run"

# Users' statements occupy every core (one more than there are cores,
# sleeping statements count as executing too): no exploration run completes
# while they run (after the moving average caught up and runs in flight
# ended), and the explorer reports the postponed runs.
cores=$(status cores)
psql_db $dbb -c "$q1" >/dev/null  # work is waiting for the explorer
learn_now $dbb
sleepers=()
for _ in $(seq 0 "$cores"); do
  psql_db $dbb -c "SELECT pg_sleep(7)" >/dev/null &
  sleepers+=($!)
done
sleep 3
from=$(quiet postgres "SELECT now()")
busy_now=$(status "foreground_busy > cores - 0.5")
sleep 3
to=$(quiet postgres "SELECT now()")
wait "${sleepers[@]}"
check "users' statements occupying the cores are seen (foreground_busy)" "$busy_now" t
check "no exploration run completes while users' statements occupy the cores" \
  "$(quiet $dbb "SELECT count(*) FROM ruvector.dag_trajectory_history(NULL, 1000)
     WHERE steering <> 'serve' AND recorded_at BETWEEN '$from' AND '$to'")" 0

# A reset pattern starts again just as fast, once the explorer's overheads
# owed so far are repaid (the debt is owed in full: budget x the wait).
psql_db $dbb -c "SELECT ruvector.dag_reset_learning()" >/dev/null
reset_at=$(quiet postgres "SELECT now()")
owed_s=$(quiet $dbb "SELECT ceil(greatest(0, -credit_ms) / 1000 / $budget) FROM ruvector.dag_exploration_status()")
tr=$(now_ms)
for _ in 1 2 3 4; do
  psql_db $dbb -c "$q1" >/dev/null
  learn_now $dbb
done
echo "# owed at the reset: ${owed_s} s of budget to wait"
check "after dag_reset_learning the pattern is explored again within ${start_within_s} s of the debt's repayment" \
  "$(explored_within $dbb "query LIKE '%rv_events%'" "$reset_at" $((start_within_s + owed_s)) "$tr")" yes

# The explorer ran no longer than its budget: budget x elapsed + what it may
# save up + what it still owes (overheads are owed in full, so the time it
# used minus its debt is what the budget allowed).
elapsed_ms=$(($(now_ms) - t0))
busy=$(( $(status "round(explorer_busy_ms)") - busy0 ))
owed_ms=$(quiet $dbb "SELECT round(greatest(0, -credit_ms)) FROM ruvector.dag_exploration_status()")
allowed=$(awk -v b=$budget -v e="$elapsed_ms" -v c=$max_credit_ms -v o="$owed_ms" 'BEGIN { printf "%d", b * e + c + o }')
echo "# explorer busy ${busy} ms in ${elapsed_ms} ms (budget $budget: at most ${allowed} ms, ${owed_ms} ms of it owed); timeouts $(status timeouts), yields $(status yields)"
check "the explorer stays within its budget (what it owes included)" \
  "$([ "$busy" -le "$allowed" ] && echo yes || echo "no: $busy ms")" yes

# An explorer that waited for a next batch the credit could not fit exits:
# never counted as dying in the middle of a batch (of 0 jobs).
check "no explorer exit is taken for a death in an empty batch" \
  "$(tail -c +"$((log_start + 1))" "$RV_LOG" | grep -c 'before finishing its batch of 0 jobs' || true)" 0
psql_db postgres -c "ALTER SYSTEM RESET ruvector.dag_exploration_cpu_budget" -c "SELECT pg_reload_conf()" >/dev/null
for db in $dba $dbb; do psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null; done
done_testing
