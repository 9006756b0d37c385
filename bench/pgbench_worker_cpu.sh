#!/usr/bin/env bash
# CPU time of the extension's background worker under pgbench's select-only
# load: `pgbench -S -M prepared -c CLIENTS -j 2 -T SECONDS` on one private
# cluster (initdb into a temporary directory, unix socket only) with the
# library preloaded; the worker's utime + stime from /proc/PID/stat before and
# after each run. The worker learns from every trajectory the backends write,
# so on a 2-core machine its CPU comes out of pgbench's throughput; its CPU
# seconds per run depend far less on the machine's load than the TPS does.
# Not run by the test suite; record results in docs/benchmarks.md.
#
# Usage: bench/pgbench_worker_cpu.sh [BUILD_DIR]   (default: build/; must hold
#        a built ruvector_dag_pg)
# Env:   RUVECTOR_BENCH_SECONDS (10)  duration of each pgbench run
#        RUVECTOR_BENCH_REPEATS (3)   runs
#        RUVECTOR_BENCH_CLIENTS (8)   pgbench clients (-j 2)
#        RUVECTOR_BENCH_SCALE (1)     pgbench scale factor
#        RUVECTOR_BENCH_PERF=FILE     also `perf record -g` the worker during
#          the last run and write `perf report --no-children` to FILE
#        RUVECTOR_BENCH_PRIVATE=1     preload BUILD_DIR's library by its path
#          instead of installing it (the extension's SQL objects are never
#          created here)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
seconds=${RUVECTOR_BENCH_SECONDS:-10}
repeats=${RUVECTOR_BENCH_REPEATS:-3}
clients=${RUVECTOR_BENCH_CLIENTS:-8}
scale=${RUVECTOR_BENCH_SCALE:-1}
perf_out=${RUVECTOR_BENCH_PERF:-}
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bindir=$("$pg_config" --bindir)
[ -f "$build/pg/ruvector_dag.so" ] || { echo "no $build/pg/ruvector_dag.so: build ruvector_dag_pg first" >&2; exit 1; }

source "$root/bench/lib.sh"
bench_library "${RUVECTOR_BENCH_PRIVATE:-0}"
bench_workdir ruvector_worker_cpu
bench_initdb 40 256MB "$library"
"${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w start >/dev/null
"$bindir/pgbench" -h "$work" -U postgres -i -s "$scale" -q postgres >/dev/null 2>&1
# Warm the cache, the backends' code paths and the learner's patterns.
"$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c 2 -j 2 -T 3 -n postgres >/dev/null 2>&1

# The extension's processes: the learner ("ruvector_dag state persister")
# and, when it runs, the explorer.
worker_pids() {  # [pattern]
  local pm p
  pm=$(head -1 "$data/postmaster.pid")
  for p in $(ps -o pid= --ppid "$pm"); do
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "${1:-ruvector_dag}"; then echo "$p"; fi
  done
}
pid=$(worker_pids 'ruvector_dag state persister' | head -1)
[ -n "$pid" ] || { echo "no ruvector_dag learner process" >&2; exit 1; }
ticks() {
  local p total=0
  for p in $(worker_pids); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
tick_s=$(awk -v hz="$(getconf CLK_TCK)" 'BEGIN {print 1 / hz}')
j=2
[ "$clients" -lt 2 ] && j=1

echo "pgbench -S -M prepared -c $clients -j $j, scale $scale, ${seconds}s per run ($(nproc) CPUs, load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')), learner pid $pid;"
echo "worker_cpu_s: utime + stime of the extension's processes (learner and explorer) during the run"
printf '%-6s %10s %14s %14s\n' run tps worker_cpu_s worker_us/txn
for r in $(seq 1 "$repeats"); do
  perf_pid=""
  if [ -n "$perf_out" ] && [ "$r" -eq "$repeats" ]; then
    perf record -g -o "$work/perf.data" -p "$pid" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  t0=$(ticks)
  out=$("$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c "$clients" -j "$j" -T "$seconds" -n postgres 2>&1)
  t1=$(ticks)
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    perf report -i "$work/perf.data" --no-children --percent-limit 0.5 --stdio >"$perf_out" 2>/dev/null || true
  fi
  n=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
  awk -v r="$r" -v t="$tps" -v d=$((t1 - t0)) -v s="$tick_s" -v n="${n:-1}" \
    'BEGIN {printf "%-6s %10.0f %14.2f %14.2f\n", r, t, d * s, d * s * 1e6 / n}'
done
