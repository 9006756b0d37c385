#!/usr/bin/env bash
# How much CPU the extension's module itself takes per select-only
# statement, by sampling: `pgbench -S -M prepared -c CLIENTS -j 2` on a fresh
# private cluster (initdb into a temporary directory, unix socket only, the
# pgbench tables loaded into shared buffers with pg_prewarm) with a
# ruvector_dag library preloaded, and `perf record -a` over part of the run.
# Reports the share of all samples that fall into the module and, with the
# run's TPS, the module's CPU per transaction (share x CPUs / TPS). With two
# libraries it runs them in turn (ABBA order) on fresh clusters, so that a
# before/after pair of builds is measured in one session under the same load.
# The share is far steadier than the TPS on a shared machine, and unlike an
# instruction count (bench/pgbench_instructions.sh) it includes what cache
# and TLB misses cost the module's code. Not run by the test suite; record
# results in docs/benchmarks.md with the date and the machine.
#
# Usage: bench/pgbench_module_share.sh [LIBRARY.so [LIBRARY2.so]]
#        (default: build/pg/ruvector_dag.so; each is preloaded by its path)
# Env:   RUVECTOR_BENCH_SECONDS (6)   sampled seconds per run (pgbench runs 2 s longer)
#        RUVECTOR_BENCH_REPEATS (4)   runs per library
#        RUVECTOR_BENCH_CLIENTS (8)   pgbench clients
#        RUVECTOR_BENCH_SCALE (10)    pgbench scale factor
#        RUVECTOR_PG_ROOT=DIR         run a private copy of PostgreSQL (scripts/pg_root.sh)
# Needs perf (Debian: linux-perf), run as root or with perf_event_paranoid <= 0.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${RUVECTOR_BENCH_SECONDS:-6}
repeats=${RUVECTOR_BENCH_REPEATS:-4}
clients=${RUVECTOR_BENCH_CLIENTS:-8}
scale=${RUVECTOR_BENCH_SCALE:-10}
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bindir=$("$pg_config" --bindir)
libraries=("$@")
[ ${#libraries[@]} -eq 0 ] && libraries=("$root/build/pg/ruvector_dag.so")
for lib in "${libraries[@]}"; do
  [ -f "$lib" ] || { echo "no library $lib" >&2; exit 1; }
done
command -v perf >/dev/null || { echo "needs perf (Debian: linux-perf)" >&2; exit 1; }
build=$root/build
source "$root/bench/lib.sh"
cpus=$(nproc)

# One run: prints "tps share".
run() {  # library
  local library perf_data out tps share
  library=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
  bench_workdir ruvector_module_share
  bench_initdb 40 256MB "$library"
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w start >/dev/null
  local sql=("$bindir/psql" -h "$work" -U postgres -qAtX -v ON_ERROR_STOP=1 -c)
  "$bindir/pgbench" -h "$work" -U postgres -i -s "$scale" -q postgres >/dev/null 2>&1
  "${sql[@]}" "CREATE EXTENSION pg_prewarm" postgres >/dev/null
  "${sql[@]}" "SELECT sum(pg_prewarm(c)) FROM unnest(ARRAY['pgbench_accounts', 'pgbench_accounts_pkey',
       'pgbench_branches', 'pgbench_branches_pkey', 'pgbench_tellers', 'pgbench_tellers_pkey']::regclass[]) c" \
    postgres >/dev/null
  # Warm the backends' code paths and the learner's pattern.
  "$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c 2 -j 2 -T 1 -n postgres >/dev/null 2>&1
  perf_data=$work/perf.data
  "$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c "$clients" -j 2 -T $((seconds + 2)) -n postgres \
    >"$work/pgbench.out" 2>&1 &
  sleep 1
  perf record -a -F 1999 -o "$perf_data" -- sleep "$seconds" >/dev/null 2>&1
  wait
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/pgbench.out")
  # perf names a module by its file name.
  share=$(perf report -i "$perf_data" --no-children --sort dso -q 2>/dev/null |
          awk -v so="$(basename "$library")" '$2 == so {gsub("%", "", $1); print $1}')
  echo "${tps:-0} ${share:-0}"
  bench_cleanup
  trap - EXIT
}

echo "pgbench -S -M prepared -c $clients -j 2, scale $scale, perf record -a over $seconds s of each run, $cpus CPUs,"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$repeats"); do
  order=("${libraries[@]}")
  if [ $((r % 2)) -eq 0 ] && [ ${#libraries[@]} -eq 2 ]; then order=("${libraries[1]}" "${libraries[0]}"); fi
  for lib in "${order[@]}"; do
    read -r tps share < <(run "$lib")
    awk -v r="$r" -v l="$lib" -v t="$tps" -v s="$share" -v c="$cpus" 'BEGIN {
      printf "run %d %s: %.0f tps, module %.2f %% of samples, %.3f us per transaction\n",
             r, l, t, s, (t > 0 ? s / 100 * c * 1e6 / t : 0) }'
  done
done
