#!/usr/bin/env bash
# Learned ef_search benchmark (run by hand, numbers go to docs/benchmarks.md):
# on a private cluster with ruvector_dag preloaded, a seeded clustered table
# (N x 32, a category column `cat` = i % 100 with a btree index, an ruhnsw
# index) and four k-nearest-neighbour patterns -- no filter, and WHERE
# cat < 1 / 10 / 50 (1 %, 10 %, 50 % of the rows). Users' statements (new
# query vectors, one per second and pattern) let the learner tune each
# pattern to the recall target; then, on Q unseen query vectors, the learned
# setting is compared with a fixed ruvector.hnsw_ef_search = 100 (steering
# off): recall@10 against the exact result and client-side latency (psql
# \timing: parse + plan + execute), two alternating rounds.
# Usage: bench/vector_tuning.sh [BUILD_DIR]
# Env:   RV_BENCH_N (20000) RV_BENCH_QUERIES (50) RV_BENCH_TARGET (0.95)
#        RV_BENCH_TUNE_SECONDS (240): longest tuning phase.
# Installs the extension and starts a private cluster, holding
# /tmp/ruvector_pg_install.lock meanwhile. Run as root (the server runs as
# `postgres`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
n=${RV_BENCH_N:-20000}
queries=${RV_BENCH_QUERIES:-50}
target=${RV_BENCH_TARGET:-0.95}
tune_seconds=${RV_BENCH_TUNE_SECONDS:-240}
seed=20261206
bindir=$(/usr/lib/postgresql/15/bin/pg_config --bindir)
source "$root/bench/lib.sh"
bench_library 0
bench_workdir ruvector_vtune_bench
cleanup() { "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
"${as_pg[@]}" "$bindir/initdb" -D "$data" -U postgres -A trust --no-sync >/dev/null
cat >>"$data/postgresql.conf" <<EOC
listen_addresses = ''
unix_socket_directories = '$work'
port = 5432
shared_preload_libraries = '$library'
shared_buffers = '256MB'
max_parallel_workers_per_gather = 0
fsync = off
ruvector.dag_exploration_cpu_budget = 0.5
ruvector.dag_exploration_min_ms = 0
ruvector.dag_vector_recall_target = $target
EOC
"${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$work/log" -w start >/dev/null
psql() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p 5432 -U postgres -d postgres -At "$@"; }
psql <<SQL >/dev/null
SET ruvector.dag_enabled = off;
CREATE EXTENSION ruvector_dag CASCADE;
CREATE TABLE items (id int PRIMARY KEY, cat int, v ruvector(32));
INSERT INTO items SELECT i, i % 100, random_vector(32, 1 + i % 40) + random_vector(32, $seed + i) * 0.15
  FROM generate_series(1, $n) i;
CREATE INDEX items_cat ON items (cat);
CREATE INDEX items_v ON items USING ruhnsw (v ruvector_l2_ops) WITH (m = 8, ef_construction = 32);
VACUUM ANALYZE items;
SQL
filters=("" "WHERE cat < 1 " "WHERE cat < 10 " "WHERE cat < 50 ")
labels=("no filter" "1 %" "10 %" "50 %")
query() { echo "SELECT id FROM items ${filters[$1]}ORDER BY v <-> random_vector(32, $2) LIMIT 10"; }
echo "# learned ef_search: n=$n dims=32 (40 clusters, seed $seed) target=$target queries=$queries ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
for f in 0 1 2 3; do
  echo "# ${labels[$f]} default plan: $(psql -c "SET ruvector.dag_enabled = off" -c "EXPLAIN (COSTS OFF) $(query $f 1)" | tr '\n' ' ' | sed 's/  */ /g')"
done

# Tuning: each second, every pattern runs once with a new query vector.
start=$(date +%s)
s=1
while :; do
  for f in 0 1 2 3; do psql -c "$(query $f $s)" >/dev/null; done
  psql -c "SET ruvector.dag_enabled = off" -c "SELECT ruvector.dag_learn_now()" >/dev/null
  s=$((s + 1))
  tuning=$(psql -c "SET ruvector.dag_enabled = off" -c "SELECT count(*) FROM ruvector.dag_decisions() WHERE vector_search = 'tuning'")
  known=$(psql -c "SET ruvector.dag_enabled = off" -c "SELECT count(*) FROM ruvector.dag_decisions() WHERE vector_search IS NOT NULL")
  if [ "$known" -gt 0 ] && [ "$tuning" -eq 0 ] && [ "$s" -gt 3 ]; then break; fi
  if [ $(( $(date +%s) - start )) -gt "$tune_seconds" ]; then echo "# tuning not finished after ${tune_seconds} s"; break; fi
  sleep 1.05
done
echo "# tuning: $(( $(date +%s) - start )) s, $((s - 1)) statements per pattern"
psql -c "SET ruvector.dag_enabled = off" -c "SELECT format('# pattern %s: %s, recall %s (lower %s) over %s samples, %s ms', pattern_id,
  vector_search, round(vector_recall::numeric, 3), round(vector_recall_lower::numeric, 3), vector_samples,
  round(vector_ms::numeric, 3)) FROM ruvector.dag_decisions() WHERE vector_search IS NOT NULL ORDER BY pattern_id"

# run MODE F: ids and client latency of the unseen queries; MODE = learned
# (steering on), ef100 (steering off, ef_search 100), exact (index scans off).
run() {
  local mode=$1 f=$2 q
  {
    case $mode in
      ef100) echo "SET ruvector.dag_steering = off; SET ruvector.hnsw_ef_search = 100;" ;;
      exact) echo "SET ruvector.dag_steering = off; SET enable_indexscan = off;" ;;
    esac
    echo "\\timing on"
    for q in $(seq 1 "$queries"); do
      echo "\\echo Q $q"
      echo "$(query "$f" $((900000 + q)));"
    done
  } | psql -f - | awk '/^Q /{q=$2; next} /^Time: /{print q, "T", $2; next} /^[0-9]+$/{print q, "R", $1}'
}
# recall FILE EXACT: recall@10 of FILE's rows against EXACT's (FILE may hold
# several rounds: hits / (exact rows x rounds)).
recall() {
  awk 'NR==FNR { if ($2 == "R") { e[$1 " " $3] = 1; k++ } else if ($2 == "T") et++; next }
       $2 == "R" && ($1 " " $3) in e { h++ }
       $2 == "T" { t++ }
       END { printf "%.3f", h / (k * t / et) }' "$2" "$1"
}
mean_ms() { awk '$2 == "T" { s += $3; c++ } END { printf "%.3f", s / c }' "$@"; }
printf '%-10s %-14s %9s %9s %9s %9s %6s\n' "filter" "learned" "recall" "ms" "ef100 rec" "ef100 ms" "ratio"
for f in 0 1 2 3; do
  run exact "$f" >"$work/exact"
  : >"$work/learned"
  : >"$work/ef100"
  for round in 1 2; do
    run learned "$f" >>"$work/learned"
    run ef100 "$f" >>"$work/ef100"
  done
  learned_setting=$(psql -c "EXPLAIN $(query "$f" 1)" |
    sed -n 's/^ *Vector Search: \([^ ]*\).*/\1/p')
  lr=$(recall "$work/learned" "$work/exact")
  lm=$(mean_ms "$work/learned")
  er=$(recall "$work/ef100" "$work/exact")
  em=$(mean_ms "$work/ef100")
  printf '%-10s %-14s %9s %9s %9s %9s %6s\n' "${labels[$f]}" "${learned_setting:-not tuned}" "$lr" "$lm" "$er" "$em" \
    "$(awk -v a="$lm" -v b="$em" 'BEGIN { printf "%.2f", a / b }')"
done
