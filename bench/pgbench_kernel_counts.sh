#!/usr/bin/env bash
# What the server asks of the kernel per select-only transaction, with the
# ruvector_dag library preloaded ("on") and not loaded ("off", a restart
# without it): `pgbench -S -M prepared -c C -t N` on one private cluster,
# counted by `perf stat` on the postmaster and every process it forks
# (backends, the extension's worker) and by /proc/interrupts:
#  * syscalls per transaction, in total and of the kinds a per-statement cost
#    would show as: futex (an LWLock or spinlock wait that sleeps), kill (a
#    latch set on another process), setitimer (a statement timer), and the
#    client protocol's recvfrom / sendto / epoll_wait; clock reads through
#    the vDSO are no syscalls and are not counted;
#  * context switches, CPU migrations, wake-ups and page faults per
#    transaction;
#  * rescheduling interrupts (RES) per transaction, machine-wide: a wake-up
#    of a task on another CPU, mostly one that sleeps idle. On a small VM
#    this decides much of the CPU a transaction costs (a remote wake-up of
#    an idle vCPU costs microseconds of kernel time), and it depends on how
#    the scheduler happened to place the clients and backends, not on the
#    work: record it next to TPS and CPU time so that runs of the same
#    placement are compared;
#  * the server's CPU time per transaction (perf's task-clock) and TPS.
# The counts do not depend on the machine's load (except RES and CPU time);
# TPS does. Not run by the test suite; record results in docs/benchmarks.md.
#
# Usage: bench/pgbench_kernel_counts.sh [BUILD_DIR]   (default: build/)
# Env:   RUVECTOR_BENCH_CLIENTS (2)     pgbench clients (-j min(clients, 2))
#        RUVECTOR_BENCH_TXNS (30000)    transactions per client and run
#        RUVECTOR_BENCH_REPEATS (3)     on/off pairs (ABBA order)
#        RUVECTOR_BENCH_SCALE (10)      pgbench scale factor
#        RUVECTOR_BENCH_PRIVATE, RUVECTOR_PG_ROOT as in bench/pgbench_scaling.sh
# Needs perf (Debian: linux-perf) with the syscalls and sched tracepoints
# (run as root or with perf_event_paranoid <= 1 and tracefs readable).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
clients=${RUVECTOR_BENCH_CLIENTS:-2}
txns=${RUVECTOR_BENCH_TXNS:-30000}
repeats=${RUVECTOR_BENCH_REPEATS:-3}
scale=${RUVECTOR_BENCH_SCALE:-10}
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bindir=$("$pg_config" --bindir)
[ -f "$build/pg/ruvector_dag.so" ] || { echo "no $build/pg/ruvector_dag.so: build ruvector_dag_pg first" >&2; exit 1; }
command -v perf >/dev/null || { echo "perf is needed (apt-get install linux-perf)" >&2; exit 1; }
tracing=/sys/kernel/tracing/events
[ -d "$tracing/syscalls" ] || tracing=/sys/kernel/debug/tracing/events
[ -d "$tracing/syscalls" ] || { echo "no syscall tracepoints readable (tracefs)" >&2; exit 1; }

source "$root/bench/lib.sh"
bench_library "${RUVECTOR_BENCH_PRIVATE:-0}"
bench_workdir ruvector_pgbench_kernel
bench_initdb 40 256MB
pg() { "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w "$@" >/dev/null; }
pg start
"$bindir/pgbench" -h "$work" -U postgres -i -s "$scale" -q postgres >/dev/null 2>&1

kinds="futex kill setitimer recvfrom sendto epoll_wait"
events="task-clock,context-switches,cpu-migrations,page-faults,sched:sched_wakeup,raw_syscalls:sys_enter"
for k in $kinds; do
  [ -d "$tracing/syscalls/sys_enter_$k" ] && events="$events,syscalls:sys_enter_$k"
done
set_mode() {  # on|off: restart with or without the library, then warm up
  local value=""
  [ "$1" = on ] && value=$library
  sed -i "s|^shared_preload_libraries = .*|shared_preload_libraries = '$value'|" "$data/postgresql.conf"
  pg restart -m fast
  # Warm the cache and let the learner settle the statement's pattern.
  "$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c 2 -j 2 -t 3000 -n postgres >/dev/null 2>&1
  sleep 0.5
}
res_count() { awk '$1 == "RES:" {for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i} END {print s + 0}' /proc/interrupts; }
jobs=$clients
[ "$jobs" -gt 2 ] && jobs=2
total=$((clients * txns))
header="mode tps cpu_us syscalls"
for k in $kinds; do header="$header $k"; done
header="$header ctx_switches migrations wakeups page_faults RES"
echo "pgbench -S -M prepared, scale $scale, $clients clients x $txns transactions, $repeats on/off pairs (ABBA)"
echo "($(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)); per transaction:"
echo "$header"
declare -A rows
for r in $(seq 1 "$repeats"); do
  if [ $((r % 2)) -eq 1 ]; then order="on off"; else order="off on"; fi
  for mode in $order; do
    set_mode "$mode"
    perf stat -x, -e "$events" -p "$(head -1 "$data/postmaster.pid")" -o "$work/perf.txt" &
    perf_pid=$!
    sleep 0.3
    res0=$(res_count)
    out=$("$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c "$clients" -j "$jobs" -t "$txns" -n postgres 2>&1)
    res1=$(res_count)
    sleep 0.3  # the backends exit and their counts join the postmaster's
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
    line=$(awk -F, -v T="$total" -v mode="$mode" -v tps="$tps" -v res=$((res1 - res0)) -v kinds="$kinds" '
      /^[0-9]/ { v[$3] = $1 }
      END {
        n = split(kinds, k, " ")
        printf "%s %.0f %.2f %.3f", mode, tps, v["task-clock"] * 1000 / T, v["raw_syscalls:sys_enter"] / T
        for (i = 1; i <= n; i++) printf " %.4f", v["syscalls:sys_enter_" k[i]] / T
        printf " %.4f %.5f %.4f %.4f %.4f\n", v["context-switches"] / T, v["cpu-migrations"] / T,
               v["sched:sched_wakeup"] / T, v["page-faults"] / T, res / T
      }' "$work/perf.txt")
    echo "$line"
    rows[$mode]="${rows[$mode]:-}$line"$'\n'
  done
done
echo "medians:"
for mode in on off; do
  printf '%s' "${rows[$mode]}" | awk -v mode="$mode" '
    NF > 1 { for (i = 2; i <= NF; i++) v[i, NR] = $i; cols = NF; n = NR }
    END {
      printf "%s", mode
      for (i = 2; i <= cols; i++) {
        m = 0; for (j = 1; j <= n; j++) a[j] = v[i, j]
        for (j = 2; j <= n; j++) { x = a[j]; for (l = j - 1; l >= 1 && a[l] > x; l--) a[l + 1] = a[l]; a[l + 1] = x }
        m = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        printf " %s", m
      }
      printf "\n"
    }'
done
