#!/usr/bin/env bash
# Planning overhead of learned row-count corrections on a 10-way join
# (docs/postgres.md, "Row-count corrections"; results in docs/benchmarks.md).
#
# A private cluster with the extension; ten tables t1..t10 (2,000 rows, two
# perfectly correlated columns each) joined in a chain (t_i.j = t_(i-1).id, 20 rows through every join)
# with both columns filtered (another constant per table: one constant in all
# filters would put every table into one equivalence class and make every
# pair joinable), so every scan is underestimated 100x. Three sampled executions
# teach the learner its corrections. Then EXPLAIN's "Planning Time" is read
# in blocks, alternating:
#   noop        -- pinned to an arm whose one setting is the default value
#                  (PostgreSQL's planning + one re-planning under an arm)
#   corrections -- pinned to row_corrections (the same + corrections applied)
#   nomatch     -- the same query with other aliases (x1..x10): the same query
#                  id and pattern, so the corrections are looked up and the
#                  hooks run for every relation, but no relation set matches
#                  (relation identities include the alias) and the join
#                  search is PostgreSQL's own
# nomatch - noop is the cost of the lookup and the hooks; corrections - noop
# adds whatever the changed estimates change in the join search. join_collapse_limit / from_collapse_limit are 10, so the join
# search is one 10-relation dynamic program (geqo_threshold is 12).
#
# Usage: bench/row_corrections_overhead.sh [BUILD_DIR]
#   RUVECTOR_BENCH_BLOCKS (10) blocks per condition, RUVECTOR_BENCH_BLOCK (20)
#   EXPLAINs per block. Installs the build's extension holding
#   /tmp/ruvector_pg_install.lock for the whole run.
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
bench_workdir ruvector_rowcorr_bench
bench_initdb 20 128MB ruvector_dag
echo "ruvector.dag_exploration_cpu_budget = 0" >>"$data/postgresql.conf"
"${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w start >/dev/null
sql() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p 5432 -U postgres -d postgres -At "$@"; }

sql -c "CREATE EXTENSION ruvector_dag CASCADE" >/dev/null
from="" where="" joins="" afrom="" awhere="" ajoins=""
for i in $(seq 1 10); do
  sql -c "SET ruvector.dag_enabled = off" -c "CREATE TABLE t$i AS SELECT g AS id, g % 100 AS a, g % 100 AS b, g - 1 AS j
    FROM generate_series(1, 2000) g" -c "ANALYZE t$i" >/dev/null
  from+="${from:+, }t$i"
  where+="${where:+ AND }t$i.a = $i AND t$i.b = $i"
  [ "$i" -gt 1 ] && joins+=" AND t$i.j = t$((i - 1)).id"
  afrom+="${afrom:+, }t$i AS x$i"
  awhere+="${awhere:+ AND }x$i.a = $i AND x$i.b = $i"
  [ "$i" -gt 1 ] && ajoins+=" AND x$i.j = x$((i - 1)).id"
done
q="SELECT count(*) FROM $from WHERE $where$joins"
aliased="SELECT count(*) FROM $afrom WHERE $awhere$ajoins"
sql -c "SELECT ruvector.dag_add_arm('noop', '{\"work_mem\": \"4MB\"}')" >/dev/null
limits="SET join_collapse_limit = 10; SET from_collapse_limit = 10;"
for _ in 1 2 3; do sql -c "SET ruvector.dag_row_sample_rate = 1" -c "$limits $q" >/dev/null; done
sql -c "SELECT ruvector.dag_learn_now()" >/dev/null
query_id=$(sql -c "SELECT query_id FROM ruvector.dag_statistics() ORDER BY executions DESC LIMIT 1")
corrections=$(sql -c "SELECT count(*) FROM ruvector.dag_row_corrections()")

# planning_times ARM [QUERY]: per_block EXPLAINs pinned to ARM, one Planning Time (ms) per line.
planning_times() {
  {
    echo "SET ruvector.dag_enabled = off;"
    echo "SELECT ruvector.dag_pin($query_id, '$1');"
    echo "SET ruvector.dag_enabled = on; $limits"
    for _ in $(seq 1 "$per_block"); do echo "EXPLAIN (SUMMARY) ${2:-$q};"; done
  } | sql -f - | sed -n 's/^Planning Time: \([0-9.]*\) ms$/\1/p'
}
: >"$work/noop.txt"
: >"$work/corrections.txt"
: >"$work/nomatch.txt"
planning_times noop >/dev/null  # warm the caches
for _ in $(seq 1 "$blocks"); do
  planning_times noop >>"$work/noop.txt"
  planning_times row_corrections >>"$work/corrections.txt"
  planning_times row_corrections "$aliased" >>"$work/nomatch.txt"
done
median() { sort -g "$1" | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
applied=$(sql -c "SELECT corrected_plannings, corrected_relations FROM ruvector.dag_row_correction_status()")
explain=$(sql -c "SET ruvector.dag_enabled = on; $limits EXPLAIN $q" | grep -m1 "Row Corrections" || true)
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(date -u +%F)"
echo "corrections learned: $corrections; plannings that applied them / relations corrected: $applied"
echo "EXPLAIN under row_corrections: ${explain# }"
echo "samples: $(wc -l <"$work/noop.txt") per condition (blocks of $per_block, alternating)"
n=$(median "$work/noop.txt")
c=$(median "$work/corrections.txt")
m=$(median "$work/nomatch.txt")
echo "median planning time, no-op arm:                    $n ms"
echo "median planning time, row_corrections arm:          $c ms"
echo "median planning time, row_corrections, no match:    $m ms"
awk -v n="$n" -v c="$c" -v m="$m" 'BEGIN {
  printf "lookup and hooks (nomatch - noop): %.1f us per planning\n", (m - n) * 1000
  printf "with the corrections applied (corrections - noop): %.1f us per planning\n", (c - n) * 1000 }'
