#!/usr/bin/env bash
# Planning overhead of the hints of pinned plan advice on a 10-way join
# (docs/postgres.md, "Plan advice"; results in docs/benchmarks.md).
#
# A private cluster with the extension; ten tables t1..t10 (2,000 rows, no
# index) joined in a chain (t_i.j = t_(i-1).id), join_collapse_limit and
# from_collapse_limit 10: one 10-relation dynamic-programming join search.
# EXPLAIN's "Planning Time" is read in blocks, alternating:
#   none   -- no pin: PostgreSQL's planning with the hooks installed and idle
#   set    -- pinned advice SET(work_mem=4MB) (the default value): PostgreSQL's
#             planning + one re-planning under the advice, no hint
#   hinted -- the same SET with ROWS(t5 *2) SEQSCAN(t3) NO_NESTLOOP(t1 .. t10):
#             a correction applied, t3's scan rebuilt, the paths of every
#             input pair of the final join rebuilt (the largest join relation:
#             the most pairs), and the plan check
#   leading -- the same SET with LEADING(t1 t2) HASHJOIN(t1 t2): the first join
#             built before the search (which then has 9 inputs, so it is
#             cheaper), its pair rebuilt, and the plan check
# hinted - set is what corrections and hints add to a re-planning (with the
# join hint on the join relation with the most input pairs: its worst case).
#
# Usage: bench/plan_hints_overhead.sh [BUILD_DIR]
#   RUVECTOR_BENCH_BLOCKS (10) blocks per condition, RUVECTOR_BENCH_BLOCK (20)
#   EXPLAINs per block. Installs the build's extension (RUVECTOR_PG_ROOT: into
#   that private PostgreSQL copy).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
blocks=${RUVECTOR_BENCH_BLOCKS:-10}
per_block=${RUVECTOR_BENCH_BLOCK:-20}
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bindir=$("$pg_config" --bindir)
[ -f "$build/pg/ruvector_dag.so" ] || { echo "no $build/pg/ruvector_dag.so: build ruvector_dag_pg first" >&2; exit 1; }

source "$root/bench/lib.sh"
bench_library 0
bench_workdir ruvector_hints_bench
bench_initdb 20 128MB ruvector_dag
echo "ruvector.dag_exploration_cpu_budget = 0" >>"$data/postgresql.conf"
"${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w start >/dev/null
sql() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p 5432 -U postgres -d postgres -At "$@"; }

sql -c "CREATE EXTENSION ruvector_dag CASCADE" >/dev/null
from="" where=""
for i in $(seq 1 10); do
  sql -c "SET ruvector.dag_enabled = off" -c "CREATE TABLE t$i AS SELECT g AS id, g % 100 AS a, g - 1 AS j
    FROM generate_series(1, 2000) g" -c "ANALYZE t$i" >/dev/null
  from+="${from:+, }t$i"
  where+="${where:+ AND }t$i.a = $i"
  [ "$i" -gt 1 ] && where+=" AND t$i.j = t$((i - 1)).id"
done
q="SELECT count(*) FROM $from WHERE $where"
limits="SET join_collapse_limit = 10; SET from_collapse_limit = 10;"
set_advice="SET(work_mem=4MB)"
hinted_advice="SET(work_mem=4MB) ROWS(t5 *2) SEQSCAN(t3) NO_NESTLOOP($(echo t{1..10}))"
leading_advice="SET(work_mem=4MB) LEADING(t1 t2) HASHJOIN(t1 t2)"
sql -c "SELECT ruvector.dag_pin('$q', '$set_advice')" >/dev/null
query_id=$(sql -c "SELECT query_id FROM ruvector.dag_pins()")

# planning_times ADVICE: per_block EXPLAINs (pinned to ADVICE, or unpinned
# for ""), one Planning Time (ms) per line.
planning_times() {
  {
    echo "SET ruvector.dag_enabled = off;"
    if [ -n "$1" ]; then echo "SELECT ruvector.dag_pin('$q', '$1');"; else echo "SELECT ruvector.dag_unpin($query_id);"; fi
    echo "SET ruvector.dag_enabled = on; $limits"
    for _ in $(seq 1 "$per_block"); do echo "EXPLAIN (SUMMARY) $q;"; done
  } | sql -f - | sed -n 's/^Planning Time: \([0-9.]*\) ms$/\1/p'
}
: >"$work/none.txt"
: >"$work/set.txt"
: >"$work/hinted.txt"
: >"$work/leading.txt"
planning_times "" >/dev/null  # warm the caches
for _ in $(seq 1 "$blocks"); do
  planning_times "" >>"$work/none.txt"
  planning_times "$set_advice" >>"$work/set.txt"
  planning_times "$hinted_advice" >>"$work/hinted.txt"
  planning_times "$leading_advice" >>"$work/leading.txt"
done
median() { sort -g "$1" | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(date -u +%F)"
for advice in "$hinted_advice" "$leading_advice"; do
  sql -c "SELECT ruvector.dag_pin('$q', '$advice')" >/dev/null
  explain=$(sql -c "SET ruvector.dag_enabled = on; $limits EXPLAIN (COSTS OFF) $q" | grep -E "Learned Arm|Plan Advice" | sed 's/^ *//')
  echo "EXPLAIN: $(echo "$explain" | tr '\n' ';') (a hint not carried out would say 're-planning failed')"
done
echo "samples: $(wc -l <"$work/none.txt") per condition (blocks of $per_block, alternating)"
n=$(median "$work/none.txt")
s=$(median "$work/set.txt")
h=$(median "$work/hinted.txt")
l=$(median "$work/leading.txt")
echo "median planning time, no advice:                  $n ms"
echo "median planning time, SET advice:                 $s ms"
echo "median planning time, SET + ROWS + scan + top:    $h ms"
echo "median planning time, SET + LEADING + join:       $l ms"
awk -v n="$n" -v s="$s" -v h="$h" -v l="$l" 'BEGIN {
  printf "re-planning under advice (set - none): %.1f us per planning\n", (s - n) * 1000
  printf "ROWS, scan and a join hint on the top join applied (hinted - set): %.1f us per planning\n", (h - s) * 1000
  printf "LEADING and a join hint applied (leading - set): %.1f us per planning\n", (l - s) * 1000 }'
