#!/usr/bin/env bash
# Throughput of the ruvector_dag extension under pgbench's select-only load:
# `pgbench -S -M prepared` at 1, 2, 4 and 8 clients, with the library
# preloaded ("on") and not loaded ("off"), on ONE private cluster (initdb into
# a temporary directory, unix socket only). Every "on" run is paired with an
# "off" run of the same client count right before or after it (ABBA order),
# because the machine is shared and its load drifts; the table reports the
# median TPS of the repeats, the median of the paired on/off ratios, and the
# CPU time the
# server's processes spent per transaction (and how much of it was the
# extension's background worker, which learns from every trajectory).
# Not run by the test suite; record results in docs/benchmarks.md.
#
# Usage: bench/pgbench_scaling.sh [BUILD_DIR]   (default: build/; must hold a
#        built ruvector_dag_pg; it is installed into PostgreSQL 15)
# Env:   RUVECTOR_BENCH_SECONDS (15)  duration of each pgbench run
#        RUVECTOR_BENCH_REPEATS (3)   on/off pairs per client count
#        RUVECTOR_BENCH_CLIENTS ("1 2 4 8")
#        RUVECTOR_BENCH_SCALE (10)    pgbench scale factor
#        RUVECTOR_BENCH_PRIVATE=1  preload BUILD_DIR's library by its path
#          instead of installing it (the extension's SQL objects are never
#          created here): no install lock needed
# Otherwise holds /tmp/ruvector_pg_install.lock (the one installed copy of the
# extension) for the whole run: ~ 2 x repeats x clients x seconds + restarts
# (about 7 minutes with the defaults).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
seconds=${RUVECTOR_BENCH_SECONDS:-15}
repeats=${RUVECTOR_BENCH_REPEATS:-3}
clients=${RUVECTOR_BENCH_CLIENTS:-1 2 4 8}
scale=${RUVECTOR_BENCH_SCALE:-10}
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bindir=$("$pg_config" --bindir)
[ -f "$build/pg/ruvector_dag.so" ] || { echo "no $build/pg/ruvector_dag.so: build ruvector_dag_pg first" >&2; exit 1; }

source "$root/bench/lib.sh"
bench_library "${RUVECTOR_BENCH_PRIVATE:-0}"
bench_workdir ruvector_pgbench
bench_initdb 40 256MB
pg() { "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w "$@" >/dev/null; }
pg start
"$bindir/pgbench" -h "$work" -U postgres -i -s "$scale" -q postgres >/dev/null 2>&1

preload() {  # on|off
  local value=""
  [ "$1" = on ] && value=$library
  sed -i "s|^shared_preload_libraries = .*|shared_preload_libraries = '$value'|" "$data/postgresql.conf"
  pg restart -m fast
  # Warm the cache and the backends' code paths.
  "$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c 2 -j 2 -T 3 -n postgres >/dev/null 2>&1
  sleep 1  # its backends are reaped before the next run's CPU is counted
}
tick_us=$((1000000 / $(getconf CLK_TCK)))
# CPU ticks of the cluster: the postmaster, its reaped children (backends of
# finished runs) and its live children; and of the extension's worker alone.
cluster_ticks() {
  local pm total p
  pm=$(head -1 "$data/postmaster.pid")
  total=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat")
  for p in $(ps -o pid= --ppid "$pm"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
worker_ticks() {
  local pm p total=0
  pm=$(head -1 "$data/postmaster.pid")
  for p in $(ps -o pid= --ppid "$pm"); do
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q 'ruvector_dag'; then
      total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    fi
  done
  echo "$total"
}
run() {  # clients -> "tps server_cpu_us_per_txn worker_cpu_us_per_txn"
  local c=$1 j=$1 out c0 w0 c1 w1 n
  [ "$j" -gt 2 ] && j=2
  c0=$(cluster_ticks)
  w0=$(worker_ticks)
  out=$("$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c "$c" -j "$j" -T "$seconds" -n postgres 2>&1)
  sleep 0.5  # the postmaster reaps the run's backends
  c1=$(cluster_ticks)
  w1=$(worker_ticks)
  n=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
  awk -v t="$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)" -v c=$((c1 - c0)) -v w=$((w1 - w0)) \
    -v n="${n:-1}" -v us="$tick_us" 'BEGIN {printf "%.0f %.1f %.1f\n", t, c * us / n, w * us / n}'
}
declare -A tps cpu wcpu ratio
current=""
# Each on run is paired with an off run right before or after it (ABBA order:
# on-off, then off-on, ...), so that slow drifts of the machine's load hit
# both; the library is toggled by a restart only when the mode changes.
pair=0
for r in $(seq 1 "$repeats"); do
  for c in $clients; do
    if [ $((pair % 2)) -eq 0 ]; then order="on off"; else order="off on"; fi
    pair=$((pair + 1))
    declare -A this=()
    for mode in $order; do
      if [ "$mode" != "$current" ]; then preload "$mode"; current=$mode; fi
      read -r t u w < <(run "$c")
      this[$mode]=$t
      tps[$mode,$c]="${tps[$mode,$c]:-} $t"
      cpu[$mode,$c]="${cpu[$mode,$c]:-} $u"
      wcpu[$mode,$c]="${wcpu[$mode,$c]:-} $w"
      echo "repeat $r clients $c $mode: $t tps, server CPU $u us/txn (extension worker $w)" >&2
    done
    ratio[$c]="${ratio[$c]:-} $(awk -v a="${this[on]}" -v b="${this[off]}" 'BEGIN {printf "%.3f", a / b}')"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}'; }

echo "pgbench -S -M prepared, scale $scale, ${seconds}s per run, $repeats alternating on/off repeats ($(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC'))"
echo "tps: median of the runs; on/off: median of the paired runs' ratios (ratio of the medians in parentheses);"
echo "cpu_us: postgres processes' CPU time per transaction (median), worker_us: of it, the extension's worker"
printf '%-8s %8s %8s %16s %10s %10s %10s   %s\n' clients "tps on" "tps off" "on/off" "cpu_us on" "cpu_us off" "worker_us" "paired ratios"
for c in $clients; do
  on=$(echo "${tps[on,$c]}" | median)
  off=$(echo "${tps[off,$c]}" | median)
  of_medians=$(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.3f", a / b}')
  printf '%-8s %8s %8s %16s %10s %10s %10s  %s\n' "$c" "$on" "$off" "$(echo "${ratio[$c]}" | median) ($of_medians)" \
    "$(echo "${cpu[on,$c]}" | median)" "$(echo "${cpu[off,$c]}" | median)" "$(echo "${wcpu[on,$c]}" | median)" "${ratio[$c]}"
done
