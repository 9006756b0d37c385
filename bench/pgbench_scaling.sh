#!/usr/bin/env bash
# Throughput of the ruvector_dag extension under pgbench's select-only load:
# `pgbench -S -M prepared` at 1, 2, 4 and 8 clients, with the extension's
# observation on and off, on ONE private cluster (initdb into a temporary
# directory, unix socket only). Built to resolve a few per cent on a shared,
# noisy machine:
#  * many short runs in pairs: every "on" run is paired with an "off" run of
#    the same client count right before or after it (ABBA order), so that the
#    machine's drifting load hits both alike;
#  * the mode is switched without a restart (RUVECTOR_BENCH_TOGGLE=reload, the
#    default): the library stays preloaded and `ruvector.dag_enabled` is set
#    with ALTER SYSTEM and a reload, so both runs of a pair use the same
#    server, shared buffers and caches. "off" then still runs the hooks' entry
#    checks and the idle background worker (priced by
#    `bench/pgbench_instructions.sh`'s "disabled" row); RUVECTOR_BENCH_TOGGLE=restart
#    instead restarts the server with and without the library preloaded;
#  * after every switch of the mode the pgbench tables and indexes are loaded
#    into shared buffers (pg_prewarm, a contrib module of PostgreSQL's own
#    package): a restarted server's first run would otherwise read them;
#  * the result per client count is the median of the paired on/off TPS
#    ratios with a distribution-free confidence interval for it (order
#    statistics of the ratios: the sign test's interval, at least 90 %
#    coverage), the sign test's two-sided p-value of "on" and "off" being
#    equally often faster, and the same for the server's CPU time per
#    transaction -- the load-independent measure: all postgres processes'
#    utime + stime over the run (reaped backends included) divided by the
#    transactions, and of it the extension's background worker.
# Not run by the test suite; record results in docs/benchmarks.md with the
# date, the machine and its load (uptime).
#
# Usage: bench/pgbench_scaling.sh [BUILD_DIR]   (default: build/; must hold a
#        built ruvector_dag_pg)
# Env:   RUVECTOR_BENCH_SECONDS (5)   duration of each pgbench run
#        RUVECTOR_BENCH_REPEATS (12)  on/off pairs per client count
#        RUVECTOR_BENCH_CLIENTS ("1 2 4 8")
#        RUVECTOR_BENCH_SCALE (10)    pgbench scale factor
#        RUVECTOR_BENCH_TOGGLE (reload) reload | restart, see above
#        RUVECTOR_BENCH_PIN=1  the same CPU placement in every run: client i
#          and its backend on CPU i mod nproc (one pgbench per client; the
#          CPUs are taken as 0 .. nproc-1); RUVECTOR_BENCH_PIN=split puts
#          the backend on the next CPU, (i + 1) mod nproc, instead (one
#          client alone on a CPU with its backend runs in one of two modes
#          about 4x apart, from run to run). On a small VM the placement
#          (each backend with its client on one CPU, or split) moves the
#          CPU per transaction by tens of per cent from run to run
#          (docs/benchmarks.md); pinning takes that out of the ratios
#          and measures the pinned placement only.
#        RUVECTOR_BENCH_PRIVATE=1  preload BUILD_DIR's library by its path
#          instead of installing it (the extension's SQL objects are never
#          created here): no install lock needed
#        RUVECTOR_PG_ROOT=DIR  run a private copy of PostgreSQL (scripts/pg_root.sh)
#        RUVECTOR_BENCH_CONF="name = value; ..."  settings added to
#          postgresql.conf for both modes (e.g. "ruvector.dag_enabled = off"
#          with TOGGLE=restart prices the library loaded but disabled)
# Otherwise holds /tmp/ruvector_pg_install.lock (the one installed copy of the
# extension) for the whole run: about 2 x repeats x clients x (seconds + 1) s
# plus ~2.5 s per switch of the mode (~11 minutes with the defaults).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
seconds=${RUVECTOR_BENCH_SECONDS:-5}
repeats=${RUVECTOR_BENCH_REPEATS:-12}
clients=${RUVECTOR_BENCH_CLIENTS:-1 2 4 8}
scale=${RUVECTOR_BENCH_SCALE:-10}
toggle=${RUVECTOR_BENCH_TOGGLE:-reload}
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bindir=$("$pg_config" --bindir)
[ -f "$build/pg/ruvector_dag.so" ] || { echo "no $build/pg/ruvector_dag.so: build ruvector_dag_pg first" >&2; exit 1; }
case "$toggle" in reload|restart) ;; *) echo "RUVECTOR_BENCH_TOGGLE must be reload or restart" >&2; exit 1 ;; esac
pin=${RUVECTOR_BENCH_PIN:-0}
case "$pin" in 0|1|split) ;; *) echo "RUVECTOR_BENCH_PIN must be 0, 1 or split" >&2; exit 1 ;; esac
if [ "$pin" != 0 ] && ! command -v taskset >/dev/null; then
  echo "RUVECTOR_BENCH_PIN=$pin needs taskset (util-linux)" >&2; exit 1
fi

source "$root/bench/lib.sh"
bench_library "${RUVECTOR_BENCH_PRIVATE:-0}"
bench_workdir ruvector_pgbench
bench_initdb 40 256MB
pg() { "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w "$@" >/dev/null; }
sql() { "$bindir/psql" -h "$work" -U postgres -qAtX -v ON_ERROR_STOP=1 -c "$1" postgres; }
if [ -n "${RUVECTOR_BENCH_CONF:-}" ]; then
  tr ';' '\n' <<<"$RUVECTOR_BENCH_CONF" | sed 's/^ *//' >>"$data/postgresql.conf"
fi
pg start
"$bindir/pgbench" -h "$work" -U postgres -i -s "$scale" -q postgres >/dev/null 2>&1
sql "CREATE EXTENSION pg_prewarm" >/dev/null
if [ "$toggle" = reload ]; then
  sed -i "s|^shared_preload_libraries = .*|shared_preload_libraries = '$library'|" "$data/postgresql.conf"
  pg restart -m fast
fi

set_mode() {  # on|off
  if [ "$toggle" = reload ]; then
    sql "ALTER SYSTEM SET ruvector.dag_enabled = $1" >/dev/null
    sql "SELECT pg_reload_conf()" >/dev/null
    # The postmaster rereads the file asynchronously: new sessions must see it.
    local want=on
    [ "$1" = off ] && want=off
    for _ in $(seq 1 100); do
      [ "$(sql 'SHOW ruvector.dag_enabled')" = "$want" ] && break
      sleep 0.05
    done
    [ "$(sql 'SHOW ruvector.dag_enabled')" = "$want" ] || { echo "the reload did not take effect" >&2; exit 1; }
  else
    local value=""
    [ "$1" = on ] && value=$library
    sed -i "s|^shared_preload_libraries = .*|shared_preload_libraries = '$value'|" "$data/postgresql.conf"
    pg restart -m fast
  fi
  # Load the tables and indexes into shared buffers: after a restart they
  # are cold, and a run that reads pages from the OS cache measures that
  # (pg_prewarm, a contrib module of PostgreSQL's own package).
  sql "SELECT sum(pg_prewarm(c)) FROM unnest(ARRAY['pgbench_accounts', 'pgbench_accounts_pkey',
       'pgbench_branches', 'pgbench_branches_pkey', 'pgbench_tellers', 'pgbench_tellers_pkey']::regclass[]) c" >/dev/null
  # Warm the backends' code paths.
  "$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c 2 -j 2 -T 1 -n postgres >/dev/null 2>&1
  sleep 0.5  # its backends are reaped before the next run's CPU is counted
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
# RUVECTOR_BENCH_PIN=1: client i is its own single-connection pgbench on CPU
# i mod ncpu (taskset), and its backend is moved to the same CPU (=split: the
# next one) as soon as it shows in pg_stat_activity (within ~0.1 s of the
# run's start), so that every run has the same placement. Prints the clients'
# pgbench outputs.
pinned_pgbench() {  # clients
  local c=$1 i pinned=0 app p
  local ncpu offset=0
  ncpu=$(nproc)
  [ "$pin" = split ] && offset=1
  for i in $(seq 0 $((c - 1))); do
    PGAPPNAME=rvpin$i taskset -c $((i % ncpu)) "$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c 1 -j 1 \
      -T "$seconds" -n postgres >"$work/pin$i.out" 2>&1 &
  done
  for _ in $(seq 1 100); do
    pinned=0
    while read -r app p; do
      [ -n "$p" ] && taskset -pc $(((${app#rvpin} + offset) % ncpu)) "$p" >/dev/null 2>&1 && pinned=$((pinned + 1))
    done < <(sql "SELECT application_name || ' ' || pid FROM pg_stat_activity WHERE application_name LIKE 'rvpin%'")
    [ "$pinned" -eq "$c" ] && break
    sleep 0.02
  done
  wait
  [ "$pinned" -eq "$c" ] || echo "only $pinned of $c backends pinned" >&2
  for i in $(seq 0 $((c - 1))); do cat "$work/pin$i.out"; done
}
run() {  # clients -> "tps server_cpu_us_per_txn worker_cpu_us_per_txn"
  local c=$1 j=$1 out c0 w0 c1 w1 n
  [ "$j" -gt 2 ] && j=2
  c0=$(cluster_ticks)
  w0=$(worker_ticks)
  if [ "$pin" != 0 ]; then
    out=$(pinned_pgbench "$c")
  else
    out=$("$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c "$c" -j "$j" -T "$seconds" -n postgres 2>&1)
  fi
  sleep 0.5  # the postmaster reaps the run's backends
  c1=$(cluster_ticks)
  w1=$(worker_ticks)
  # (Summed over the clients' pgbench outputs when pinned.)
  n=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
  awk -v t="$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | awk '{s += $1} END {print s + 0}')" -v c=$((c1 - c0)) \
    -v w=$((w1 - w0)) -v n="${n:-1}" -v us="$tick_us" 'BEGIN {if (n == 0) n = 1; printf "%.0f %.2f %.2f\n", t, c * us / n, w * us / n}'
}
declare -A tps cpu wcpu ratio cratio
current=""
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# Each on run is paired with an off run right before or after it (ABBA order:
# on-off, then off-on, ...), so that slow drifts of the machine's load hit
# both; the mode is switched only when it changes.
pair=0
for r in $(seq 1 "$repeats"); do
  for c in $clients; do
    if [ $((pair % 2)) -eq 0 ]; then order="on off"; else order="off on"; fi
    pair=$((pair + 1))
    declare -A this=() thiscpu=()
    for mode in $order; do
      if [ "$mode" != "$current" ]; then set_mode "$mode"; current=$mode; fi
      read -r t u w < <(run "$c")
      this[$mode]=$t
      thiscpu[$mode]=$u
      tps[$mode,$c]="${tps[$mode,$c]:-} $t"
      cpu[$mode,$c]="${cpu[$mode,$c]:-} $u"
      wcpu[$mode,$c]="${wcpu[$mode,$c]:-} $w"
      echo "pair $r clients $c $mode: $t tps, server CPU $u us/txn (extension worker $w)" >&2
    done
    ratio[$c]="${ratio[$c]:-} $(awk -v a="${this[on]}" -v b="${this[off]}" 'BEGIN {printf "%.4f", a / b}')"
    cratio[$c]="${cratio[$c]:-} $(awk -v a="${thiscpu[on]}" -v b="${thiscpu[off]}" 'BEGIN {printf "%.4f", (b > 0 ? a / b : 0)}')"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else printf "%.6g\n", (v[NR/2]+v[NR/2+1])/2}'; }
# Median of the values with the sign test's confidence interval for it (the
# k-th smallest and largest values, k the largest with a two-sided binomial
# tail 2 P(B <= k-1) <= 0.10, B ~ Bin(n, 1/2): coverage >= 90 %), and the
# sign test's two-sided p-value against a median of 1 (values equal to 1
# dropped). Prints "median [low, high] p".
median_ci() {
  tr ' ' '\n' | grep -v '^$' | sort -g | awk '
    function binom_cdf(k, n,   i, p, c) { c = 0; p = 0.5 ^ n; for (i = 0; i <= k; i++) { c += p; p = p * (n - i) / (i + 1) } return c }
    {v[NR] = $1; if ($1 < 1) below++; else if ($1 > 1) above++}
    END {
      n = NR
      med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      k = 0
      while (k + 1 <= n / 2 && 2 * binom_cdf(k, n) <= 0.10) k++
      m = below + above; s = below < above ? below : above
      p = m > 0 ? 2 * binom_cdf(s, m) : 1; if (p > 1) p = 1
      if (k >= 1) printf "%.3f [%.3f, %.3f] %.3f\n", med, v[k], v[n - k + 1], p
      else printf "%.3f [n/a, n/a] %.3f\n", med, p
    }'
}

pin_note=""
[ "$pin" = 1 ] && pin_note=", client i and its backend pinned to CPU i mod $(nproc)"
[ "$pin" = split ] && pin_note=", client i pinned to CPU i mod $(nproc), its backend to the next CPU"
echo "pgbench -S -M prepared, scale $scale, ${seconds}s per run, $repeats on/off pairs per client count, toggle by $toggle$pin_note${RUVECTOR_BENCH_CONF:+, settings: $RUVECTOR_BENCH_CONF}"
echo "($(nproc) CPUs, $started to $(date -u '+%H:%M UTC'), load average $load_before at the start and $load_after at the end)"
echo "tps: median; on/off: median of the paired TPS ratios [>= 90 % confidence interval] and the sign test's p;"
echo "cpu_us: postgres processes' CPU time per transaction (median); cpu on/off: median of the paired ratios [interval] p;"
echo "worker_us: of the CPU per transaction, the extension's worker (on / off)"
printf '%-8s %8s %8s %28s %10s %10s %28s %12s\n' clients "tps on" "tps off" "on/off [90% CI] p" "cpu_us on" "cpu_us off" "cpu on/off [90% CI] p" "worker_us"
for c in $clients; do
  printf '%-8s %8s %8s %28s %10s %10s %28s %12s\n' "$c" "$(echo "${tps[on,$c]}" | median)" "$(echo "${tps[off,$c]}" | median)" \
    "$(echo "${ratio[$c]}" | median_ci)" "$(echo "${cpu[on,$c]}" | median)" "$(echo "${cpu[off,$c]}" | median)" \
    "$(echo "${cratio[$c]}" | median_ci)" "$(echo "${wcpu[on,$c]}" | median) / $(echo "${wcpu[off,$c]}" | median)"
done
echo "paired TPS ratios:"
for c in $clients; do echo "  $c clients:${ratio[$c]}"; done
