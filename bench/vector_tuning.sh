#!/usr/bin/env bash
# Learned ef_search benchmark for filtered k-nearest-neighbour queries (run
# by hand, numbers go to docs/benchmarks.md, "Learned ef_search"): on a
# private cluster with ruvector_dag preloaded, one seeded set of vectors with
# a filter column `cat` (btree) and an ruhnsw index, and three patterns
#   SELECT id FROM items WHERE cat < x ORDER BY v <-> q LIMIT 10
# keeping 1 %, 10 % and 50 % of the rows. Users' statements (a new query
# vector per second and pattern, drawn like the data) let the learner tune
# each pattern to the recall target; then, on Q unseen query vectors drawn
# the same way, every strategy is measured -- recall@10 against the exact
# result and client latency (psql \timing: parse + plan + execute), two
# alternating rounds:
#   learned       steering on: the setting the learner deployed
#   index ef E    the ruhnsw index scan at ruvector.hnsw_ef_search = E, the
#                 filter applied to the at most E rows it returns (sort,
#                 sequential and bitmap scans off so no other plan is taken)
#   exact (seq)   exact scan after the filter: sequential scan, filter,
#                 top-N sort (index and bitmap scans off)
#   filter-first  bitmap scan of the btree on cat, then a top-N sort of the
#                 rows it keeps (index and sequential scans off)
# The tuning statements and the unseen ones come from the same
# distribution, with disjoint seeds.
#
# Usage: bench/vector_tuning.sh [BUILD_DIR]
# Env:   RV_BENCH_SET: small (default: 20,000 x 32 in 40 clusters, m = 8,
#          ef_construction = 32, cat = i % 100; queries near the cluster
#          centres), uniform or clustered (100,000 x 128, m = 16,
#          ef_construction = 64, the sets of bench/vector_hnsw.sh, cat =
#          (i * 7919) % 100)
#        RV_BENCH_QUERIES (50) RV_BENCH_TARGET (0.95) RV_BENCH_EFS ("40 320 1000")
#        RV_BENCH_TUNE_SECONDS (900): longest tuning phase.
# Installs the extension (into RUVECTOR_PG_ROOT's private PostgreSQL when
# set) and starts a private cluster. Run as root (the server runs as
# `postgres`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
set_name=${RV_BENCH_SET:-small}
queries=${RV_BENCH_QUERIES:-50}
target=${RV_BENCH_TARGET:-0.95}
efs=${RV_BENCH_EFS:-40 320 1000}
tune_seconds=${RV_BENCH_TUNE_SECONDS:-900}
bindir=$(/usr/lib/postgresql/15/bin/pg_config --bindir)
source "$root/bench/lib.sh"
bench_library 0
bench_workdir ruvector_vtune_bench
"${as_pg[@]}" "$bindir/initdb" -D "$data" -U postgres -A trust --no-sync >/dev/null
cat >>"$data/postgresql.conf" <<EOC
listen_addresses = ''
unix_socket_directories = '$work'
port = 5432
shared_preload_libraries = '$library'
shared_buffers = '512MB'
maintenance_work_mem = '1GB'
max_parallel_workers_per_gather = 0
fsync = off
ruvector.dag_exploration_cpu_budget = 0.5
ruvector.dag_exploration_min_ms = 0
ruvector.dag_vector_recall_target = $target
EOC
"${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$work/log" -w start >/dev/null
psql() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p 5432 -U postgres -d postgres -At "$@"; }

# qvec S: the SQL expression of query vector S (tuning: S = 1, 2, ...;
# unseen: S = 1000000 + q).
case $set_name in
  small)
    n=20000 dims=32 m=8 efc=32 seed=20261206
    fill="SELECT i, i % 100, random_vector(32, 1 + i % 40) + random_vector(32, $seed + i) * 0.15
            FROM generate_series(1, $n) i"
    qvec() { echo "random_vector(32, $((1 + $1 % 40))) + random_vector(32, $((30000000 + $1))) * 0.15"; }
    describe="20,000 x 32 in 40 clusters (row i: random_vector(32, 1 + i % 40) + 0.15 x random_vector(32, $seed + i)), cat = i % 100; queries: a centre + the same noise, seeds 30000000 + s" ;;
  uniform)
    n=100000 dims=128 m=16 efc=64
    fill="SELECT i, (i * 7919) % 100, random_vector(128, i) FROM generate_series(1, $n) i"
    qvec() { echo "random_vector(128, $((1000000000 + $1)))"; }
    describe="100,000 x 128 uniform in [0, 1) (row i: random_vector(128, i)), cat = (i * 7919) % 100; queries random_vector(128, 1000000000 + s)" ;;
  clustered)
    n=100000 dims=128 m=16 efc=64
    fill="SELECT i, (i * 7919) % 100,
            random_vector(128, 50000000 + floor(100 * power(((i * 2654435761::bigint) % 1000003) / 1000003.0, 2))::int)
            + (random_vector(128, 70000000 + i) - random_vector(128, 90000000 + i)) * 0.1
          FROM generate_series(1, $n) i"
    qvec() {
      echo "random_vector(128, $((50000000 + $1 % 100))) + (random_vector(128, $((80000000 + $1))) - random_vector(128, $((85000000 + $1)))) * 0.1"
    }
    describe="100,000 x 128 in 100 clusters of unequal size (bench/vector_hnsw.sh), cat = (i * 7919) % 100; queries: a centre (s % 100) + the same noise, seeds 80000000 + s" ;;
  *) echo "RV_BENCH_SET must be small, uniform or clustered" >&2; exit 2 ;;
esac
start=$(date +%s)
psql <<SQL >/dev/null
SET ruvector.dag_enabled = off;
CREATE EXTENSION ruvector_dag CASCADE;
CREATE TABLE items (id int PRIMARY KEY, cat int, v ruvector($dims));
INSERT INTO items $fill;
CREATE INDEX items_cat ON items (cat);
CREATE INDEX items_v ON items USING ruhnsw (v ruvector_l2_ops) WITH (m = $m, ef_construction = $efc);
VACUUM ANALYZE items;
SQL
pcts=(1 10 50)
query() { echo "SELECT id FROM items WHERE cat < ${pcts[$1]} ORDER BY v <-> $(qvec "$2") LIMIT 10"; }
echo "# learned ef_search, set $set_name: $describe; m=$m ef_construction=$efc target=$target queries=$queries"
echo "# $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); data and index: $(( $(date +%s) - start )) s"
for f in 0 1 2; do
  echo "# ${pcts[$f]} % default plan: $(psql -c "SET ruvector.dag_enabled = off" -c "EXPLAIN (COSTS OFF) $(query $f 1)" | tr '\n' ' ' | sed "s/  */ /g; s/'\\[[^]]*\\]'::ruvector/q/g")"
done

quiet() { psql -c "SET ruvector.dag_enabled = off" -c "$1"; }
# Tuning: each second, every pattern runs once with a new query vector,
# until every pattern is decided and no setting is still proving itself.
start=$(date +%s)
s=1
while :; do
  for f in 0 1 2; do psql -c "$(query $f $s)" >/dev/null; done
  quiet "SELECT ruvector.dag_learn_now()" >/dev/null
  s=$((s + 1))
  tuning=$(quiet "SELECT count(*) FROM ruvector.dag_decisions() WHERE vector_search = 'tuning'")
  known=$(quiet "SELECT count(*) FROM ruvector.dag_decisions() WHERE vector_search IS NOT NULL")
  proving=$(quiet "SELECT count(*) FROM ruvector.dag_vector_tuning() WHERE measuring AND NOT deployed")
  if [ "$known" -ge 3 ] && [ "$tuning" -eq 0 ] && [ "$proving" -eq 0 ] && [ "$s" -gt 3 ]; then break; fi
  if [ $(( $(date +%s) - start )) -gt "$tune_seconds" ]; then
    echo "# tuning not finished after ${tune_seconds} s ($known patterns, $tuning tuning, $proving settings proving)"
    break
  fi
  sleep 1.05
done
echo "# tuning: $(( $(date +%s) - start )) s, $((s - 1)) statements per pattern, load $(cut -d' ' -f1-3 /proc/loadavg)"
quiet "SELECT format('# pattern %s: %s; %s', pattern_id, max(setting) FILTER (WHERE deployed),
  string_agg(format('%s %s/%s n=%s %sms', setting, round(recall::numeric, 3), round(recall_lower::numeric, 3), samples,
                    round(mean_ms::numeric, 2)), ', ' ORDER BY setting = 'exact', setting))
  FROM ruvector.dag_vector_tuning() GROUP BY pattern_id ORDER BY pattern_id"

# run MODE F: ids and client latency of the unseen queries under MODE.
run() {
  local mode=$1 f=$2 q
  {
    case $mode in
      learned) ;;
      ef*) echo "SET ruvector.dag_steering = off; SET ruvector.hnsw_ef_search = ${mode#ef};"
           echo "SET enable_sort = off; SET enable_seqscan = off; SET enable_bitmapscan = off;" ;;
      seq) echo "SET ruvector.dag_steering = off; SET enable_indexscan = off; SET enable_bitmapscan = off;" ;;
      bitmap) echo "SET ruvector.dag_steering = off; SET enable_indexscan = off; SET enable_seqscan = off;" ;;
    esac
    echo "\\timing on"
    for q in $(seq 1 "$queries"); do
      echo "\\echo Q $q"
      echo "$(query "$f" $((1000000 + q)));"
    done
  } | psql -f - | awk '/^Q /{q=$2; next} /^Time: /{print q, "T", $2; next} /^[0-9]+$/{print q, "R", $1}'
}
# plan MODE F: the scan and sort nodes MODE runs (a check that it runs the plan it names).
plan() {
  local mode=$1 f=$2
  {
    case $mode in
      ef*) echo "SET ruvector.dag_steering = off; SET enable_sort = off; SET enable_seqscan = off; SET enable_bitmapscan = off;" ;;
      seq) echo "SET ruvector.dag_steering = off; SET enable_indexscan = off; SET enable_bitmapscan = off;" ;;
      bitmap) echo "SET ruvector.dag_steering = off; SET enable_indexscan = off; SET enable_seqscan = off;" ;;
    esac
    echo "EXPLAIN (COSTS OFF) $(query "$f" 1000001);"
  } | psql -f - | sed '/RuVector DAG/,$d' | grep -E "Scan|Sort" | grep -v "Key:" | sed -E 's/^[ >-]*//; s/ on items.*//; s/ using / /' | paste -sd'>' | sed 's/>/ > /g'
}
# recall FILE EXACT: recall@10 of FILE's rows against EXACT's (FILE may hold
# several rounds: hits / (exact rows x rounds)).
recall() {
  awk 'NR==FNR { if ($2 == "R") { e[$1 " " $3] = 1; k++ } else if ($2 == "T") et++; next }
       $2 == "R" && ($1 " " $3) in e { h++ }
       $2 == "T" { t++ }
       END { printf "%.3f", h / (k * t / et) }' "$2" "$1"
}
mean_ms() { awk '$2 == "T" { s += $3; c++ } END { printf "%.2f", s / c }' "$@"; }
modes=(learned seq bitmap)
for ef in $efs; do modes+=("ef$ef"); done
printf '%-6s %-14s %-44s %9s %9s\n' "filter" "strategy" "plan" "recall@10" "ms"
for f in 0 1 2; do
  run seq "$f" >"$work/exact"
  for mode in "${modes[@]}"; do : >"$work/$mode"; done
  for round in 1 2; do
    for mode in "${modes[@]}"; do run "$mode" "$f" >>"$work/$mode"; done
  done
  for mode in "${modes[@]}"; do
    case $mode in
      learned) name="learned"
        p=$(psql -c "EXPLAIN $(query "$f" 1000001)" | sed -n 's/^ *Vector Search: \([^ ]*\).*/\1/p' | head -1)
        p="${p:-not tuned}: $(psql -c "EXPLAIN (COSTS OFF) $(query "$f" 1000001)" | sed '/RuVector DAG/,$d' | grep -E "Scan|Sort" |
          grep -v "Key:" | sed -E 's/^[ >-]*//; s/ on items.*//; s/ using / /' | paste -sd'>' | sed 's/>/ > /g')" ;;
      seq) name="exact (seq)"; p=$(plan seq "$f") ;;
      bitmap) name="filter-first"; p=$(plan bitmap "$f") ;;
      *) name="index ef ${mode#ef}"; p=$(plan "$mode" "$f") ;;
    esac
    printf '%-6s %-14s %-44s %9s %9s\n' "${pcts[$f]} %" "$name" "$p" "$(recall "$work/$mode" "$work/exact")" \
      "$(mean_ms "$work/$mode")"
  done
done
echo "# done $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
