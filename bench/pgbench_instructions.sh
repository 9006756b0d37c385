#!/usr/bin/env bash
# Instructions per select-only transaction of one PostgreSQL backend, with the
# ruvector_dag library preloaded ("on"), preloaded with ruvector.dag_enabled
# off ("disabled": what bench/pgbench_scaling.sh's reload toggle leaves) and
# not loaded ("off"): a
# deterministic companion to bench/pgbench_scaling.sh, whose wall-clock TPS
# a shared machine blurs. The server runs under valgrind's callgrind (every
# forked process writes its own profile); one client runs
# `pgbench -S -M prepared -t N` twice, with N = RUVECTOR_BENCH_TXNS_SHORT and
# RUVECTOR_BENCH_TXNS, each on its own connection, and the difference of the
# two backends' instruction counts divided by the difference of the
# transaction counts is the cost of one transaction (connection start,
# planning and the first executions cancel out). With the library on, the
# extension's background worker is profiled too: its instructions per
# transaction are its whole-run total divided by the transactions of the
# run (an upper bound: it includes its start and its idle ticks).
# Not run by the test suite; record results in docs/benchmarks.md.
#
# Usage: bench/pgbench_instructions.sh [BUILD_DIR]   (default: build/)
# Before the two measured runs a warm-up run of RUVECTOR_BENCH_WARMUP
# transactions (on its own connection) lets the learner see the statement's
# pattern, so that both measured runs find it in the same state (with the
# library on: a steady pattern, docs/postgres.md "Steady patterns"; 0 skips it).
# Env:   RUVECTOR_BENCH_TXNS (4000), RUVECTOR_BENCH_TXNS_SHORT (1000),
#        RUVECTOR_BENCH_WARMUP (2000)
#        RUVECTOR_BENCH_MODES ("off disabled on")
#        RUVECTOR_BENCH_SAMPLE_RATE (unset: the GUC's default)
#          ruvector.dag_row_sample_rate for the "on" run
#        RUVECTOR_BENCH_ON_SETTING=name=value  a server setting for the "on"
#          run only, e.g. ruvector.dag_steady_batch=1 (a record per run)
#        RUVECTOR_BENCH_OFF_SETTING=name=value  a server setting for the
#          "off" run only, e.g. compute_query_id=on (the library enables
#          query ids; this prices that part of the overhead separately)
#        RUVECTOR_BENCH_KEEP=dir  copy the callgrind profiles there
#          (callgrind_annotate reads them)
#        RUVECTOR_BENCH_PRIVATE=1  preload BUILD_DIR's library by its path
#          instead of installing it, and do not CREATE EXTENSION (the SQL
#          objects would load the installed copy): no install lock needed;
#          steering and statement capture are off, observation and the
#          learner run as usual
# Otherwise holds /tmp/ruvector_pg_install.lock for the whole run (~3 minutes).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
long=${RUVECTOR_BENCH_TXNS:-4000}
short=${RUVECTOR_BENCH_TXNS_SHORT:-1000}
warmup=${RUVECTOR_BENCH_WARMUP:-2000}
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bindir=$("$pg_config" --bindir)
[ -f "$build/pg/ruvector_dag.so" ] || { echo "no $build/pg/ruvector_dag.so: build ruvector_dag_pg first" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
[ "$long" -gt "$short" ] || { echo "RUVECTOR_BENCH_TXNS must exceed RUVECTOR_BENCH_TXNS_SHORT" >&2; exit 1; }

private=${RUVECTOR_BENCH_PRIVATE:-0}
source "$root/bench/lib.sh"
bench_library "$private"
bench_workdir ruvector_pgbench_ir
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    # Fast shutdown of the postmaster (runuser does not forward signals):
    # every process exits normally and writes its profile.
    [ -f "$data/postmaster.pid" ] && kill -INT "$(head -1 "$data/postmaster.pid")" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
bench_initdb 20 128MB
"${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w start >/dev/null
"$bindir/pgbench" -h "$work" -U postgres -i -s 1 -q postgres >/dev/null 2>&1
"${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -w stop >/dev/null

total_ir() { sed -n 's/^totals: \([0-9]*\).*/\1/p' "$1" | head -1; }
new_profiles() {  # files in $work/cg that are not in the list $1
  comm -13 <(echo "$1" | tr ' ' '\n' | sort) <(ls "$work/cg" | sort)
}
# The profile of the backend that ran the last pgbench: the new file with the
# most instructions (pgbench's own short connections are tiny).
backend_profile() {
  local before=$1 f best="" best_ir=0 ir
  for _ in $(seq 1 100); do
    [ -n "$(new_profiles "$before")" ] && break
    sleep 0.2
  done
  sleep 1  # a second short connection may still be exiting
  for f in $(new_profiles "$before"); do
    ir=$(total_ir "$work/cg/$f")
    [ -n "$ir" ] || continue
    if [ "$ir" -gt "$best_ir" ]; then best=$f; best_ir=$ir; fi
  done
  echo "$best"
}

modes=${RUVECTOR_BENCH_MODES:-off disabled on}
declare -A per_txn worker
for mode in $modes; do
  rm -rf "$work/cg"
  mkdir "$work/cg"
  chown postgres:postgres "$work/cg" 2>/dev/null || true
  preload=""
  [ "$mode" != off ] && preload=$library
  sed -i "s|^shared_preload_libraries = .*|shared_preload_libraries = '$preload'|" "$data/postgresql.conf"
  extra=()
  if [ "$mode" = on ] && [ -n "${RUVECTOR_BENCH_SAMPLE_RATE:-}" ]; then
    extra+=(-c "ruvector.dag_row_sample_rate=$RUVECTOR_BENCH_SAMPLE_RATE")
  fi
  if [ "$mode" = on ] && [ -n "${RUVECTOR_BENCH_ON_SETTING:-}" ]; then
    extra+=(-c "$RUVECTOR_BENCH_ON_SETTING")
  fi
  [ "$mode" = disabled ] && extra+=(-c ruvector.dag_enabled=off)
  if [ "$mode" = off ] && [ -n "${RUVECTOR_BENCH_OFF_SETTING:-}" ]; then
    extra=(-c "$RUVECTOR_BENCH_OFF_SETTING")
  fi
  "${as_pg[@]}" valgrind --tool=callgrind --callgrind-out-file="$work/cg/cg.%p" \
    "$bindir/postgres" -D "$data" "${extra[@]}" >"$work/valgrind_$mode.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do
    "$bindir/pg_isready" -q -h "$work" -p 5432 && break
    sleep 0.5
  done
  "$bindir/pg_isready" -q -h "$work" -p 5432 || { echo "server did not start under valgrind" >&2; cat "$work/valgrind_$mode.log" >&2; exit 1; }
  if [ "$mode" != off ] && [ "$private" != 1 ]; then
    "$bindir/psql" -h "$work" -U postgres -qAt -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION IF NOT EXISTS ruvector_dag CASCADE' postgres >/dev/null
  fi
  if [ "$warmup" -gt 0 ]; then
    "$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c 1 -t "$warmup" -n postgres >"$work/pgbench_${mode}_warmup.log" 2>&1
    # The worker's next learning passes (50 ms apart natively, slower under
    # callgrind) publish what it learned from the warm-up.
    sleep 3
  fi
  declare -A ir=()
  for n in "$short" "$long"; do
    before=$(ls "$work/cg" | tr '\n' ' ')
    "$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c 1 -t "$n" -n postgres >"$work/pgbench_${mode}_$n.log" 2>&1
    f=$(backend_profile "$before")
    [ -n "$f" ] || { echo "no profile for the $mode run of $n transactions" >&2; exit 1; }
    ir[$n]=$(total_ir "$work/cg/$f")
    [ -n "${RUVECTOR_BENCH_KEEP:-}" ] && mkdir -p "$RUVECTOR_BENCH_KEEP" && cp "$work/cg/$f" "$RUVECTOR_BENCH_KEEP/backend_${mode}_$n.cg"
    echo "$mode, $n transactions: backend ${ir[$n]} instructions" >&2
  done
  per_txn[$mode]=$(awk -v a="${ir[$long]}" -v b="${ir[$short]}" -v n=$((long - short)) 'BEGIN {printf "%.0f", (a - b) / n}')
  before=$(ls "$work/cg" | tr '\n' ' ')
  stop_server
  if [ "$mode" = on ]; then
    w=""
    for f in $(new_profiles "$before"); do
      if grep -q 'ruvector_dag_worker_main' "$work/cg/$f" 2>/dev/null; then
        w=$f
      fi
    done
    if [ -n "$w" ]; then
      worker[on]=$(awk -v a="$(total_ir "$work/cg/$w")" -v n=$((long + short)) 'BEGIN {printf "%.0f", a / n}')
      [ -n "${RUVECTOR_BENCH_KEEP:-}" ] && cp "$work/cg/$w" "$RUVECTOR_BENCH_KEEP/worker_on.cg"
    else
      worker[on]="?"
    fi
  fi
done

echo "pgbench -S -M prepared, 1 client, scale 1, $short and $long transactions after $warmup of warm-up under callgrind ($(date -u '+%Y-%m-%d %H:%M UTC'))"
printf '%-28s %12s\n' "" "instr/txn"
printf '%-28s %12s\n' "backend, library not loaded" "${per_txn[off]}${RUVECTOR_BENCH_OFF_SETTING:+ ($RUVECTOR_BENCH_OFF_SETTING)}"
for mode in disabled on; do
  [ -n "${per_txn[$mode]:-}" ] || continue
  label="backend, library loaded"
  [ "$mode" = disabled ] && label="backend, dag_enabled off"
  printf '%-28s %12s\n' "$label" "${per_txn[$mode]}${RUVECTOR_BENCH_ON_SETTING:+$([ "$mode" = on ] && echo " ($RUVECTOR_BENCH_ON_SETTING)")}"
  printf '%-28s %12s\n' "  overhead vs not loaded" "$((per_txn[$mode] - per_txn[off])) ($(awk -v a="${per_txn[$mode]}" -v b="${per_txn[off]}" 'BEGIN {printf "%+.1f %%", 100 * (a - b) / b}'))"
done
printf '%-28s %12s\n' "extension worker (bound)" "${worker[on]:-?}"
