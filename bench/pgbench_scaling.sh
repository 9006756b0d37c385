#!/usr/bin/env bash
# Throughput of the ruvector_dag extension under pgbench's select-only load:
# `pgbench -S -M prepared` at 1, 2, 4 and 8 clients, with the library
# preloaded ("on") and not loaded ("off"), on ONE private cluster (initdb into
# a temporary directory, unix socket only). On and off alternate (the order
# flips every repeat) because the machine is shared and noisy; the table
# reports the median TPS of the repeats and the on/off ratio of the medians.
# Not run by the test suite; record results in docs/benchmarks.md.
#
# Usage: bench/pgbench_scaling.sh [BUILD_DIR]   (default: build/; must hold a
#        built ruvector_dag_pg; it is installed into PostgreSQL 15)
# Env:   RUVECTOR_BENCH_SECONDS (15)  duration of each pgbench run
#        RUVECTOR_BENCH_REPEATS (3)   on/off pairs per client count
#        RUVECTOR_BENCH_CLIENTS ("1 2 4 8")
#        RUVECTOR_BENCH_SCALE (10)    pgbench scale factor
# Holds /tmp/ruvector_pg_install.lock (the one installed copy of the
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

exec 9>/tmp/ruvector_pg_install.lock
flock 9
cmake --install "$build" --component pg >/dev/null

work=$(mktemp -d /tmp/ruvector_pgbench.XXXXXX)
chmod 755 "$work"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres:postgres "$work"
  as_pg=(runuser -u postgres --)
fi
data=$work/data
cleanup() {
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"${as_pg[@]}" "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
cat >>"$data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$work'
port = 5432
fsync = off
autovacuum = off
max_connections = 40
shared_buffers = 256MB
shared_preload_libraries = ''
EOF
pg() { "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w "$@" >/dev/null; }
pg start
"$bindir/pgbench" -h "$work" -U postgres -i -s "$scale" -q postgres >/dev/null 2>&1

preload() {  # on|off
  local value=""
  [ "$1" = on ] && value=ruvector_dag
  sed -i "s/^shared_preload_libraries = .*/shared_preload_libraries = '$value'/" "$data/postgresql.conf"
  pg restart -m fast
  # Warm the cache and the backends' code paths.
  "$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c 2 -j 2 -T 3 -n postgres >/dev/null 2>&1
}
run() {  # clients -> tps
  local c=$1 j=$1
  [ "$j" -gt 2 ] && j=2
  "$bindir/pgbench" -h "$work" -U postgres -S -M prepared -c "$c" -j "$j" -T "$seconds" -n postgres 2>&1 |
    sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1
}
declare -A tps
for r in $(seq 1 "$repeats"); do
  if [ $((r % 2)) -eq 1 ]; then order="on off"; else order="off on"; fi
  for mode in $order; do
    preload "$mode"
    for c in $clients; do
      t=$(run "$c")
      tps[$mode,$c]="${tps[$mode,$c]:-} $t"
      echo "repeat $r $mode clients $c: $t tps" >&2
    done
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}'; }

echo "pgbench -S -M prepared, scale $scale, ${seconds}s per run, $repeats alternating on/off repeats ($(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC'))"
printf '%-8s %14s %14s %8s   %s\n' clients "on (median)" "off (median)" "on/off" "runs on | off"
for c in $clients; do
  on=$(echo "${tps[on,$c]}" | median)
  off=$(echo "${tps[off,$c]}" | median)
  ratio=$(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.3f", a / b}')
  printf '%-8s %14s %14s %8s   %s |%s\n' "$c" "$on" "$off" "$ratio" "${tps[on,$c]}" "${tps[off,$c]}"
done
