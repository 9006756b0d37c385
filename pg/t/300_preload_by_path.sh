#!/usr/bin/env bash
# A library preloaded by its path (shared_preload_libraries =
# '/some/dir/ruvector_dag.so', another file than $libdir/ruvector_dag.so):
# the learner worker names the file the postmaster loaded, so it runs that
# copy -- whose shared memory is set up -- instead of loading
# $libdir/ruvector_dag as a second copy without it (it then logged "shared
# state missing" and exited every 10 s, and nothing was learned: the
# benchmarks' RUVECTOR_BENCH_PRIVATE=1 measured that). docs/postgres.md.
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

cport=$((RV_PORT + 8))
cdata=$RV_WORK/c300
clog=$RV_WORK/c300.log
libcopy=$RV_WORK/lib300/ruvector_dag.so
psql_c() { "$RV_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RV_HOST" -p "$cport" -U postgres -At "$@"; }
cleanup() { "${rv_as_pg[@]}" "$RV_BINDIR/pg_ctl" -D "$cdata" -m immediate stop >/dev/null 2>&1 || true; }
trap cleanup EXIT

# A copy of the installed library: another file (inode) at another path.
mkdir -p "$(dirname "$libcopy")"
cp "$RV_BINDIR/../lib/ruvector_dag.so" "$libcopy"
chmod 755 "$(dirname "$libcopy")"
chmod 644 "$libcopy"
"${rv_as_pg[@]}" mkdir -p "$cdata"
"${rv_as_pg[@]}" "$RV_BINDIR/initdb" -D "$cdata" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
"${rv_as_pg[@]}" tee -a "$cdata/postgresql.conf" >/dev/null <<CONF
listen_addresses = ''
unix_socket_directories = '$RV_HOST'
port = $cport
fsync = off
autovacuum = off
max_connections = 20
shared_preload_libraries = '$libcopy'
CONF
"${rv_as_pg[@]}" "$RV_BINDIR/pg_ctl" -D "$cdata" -l "$clog" -w start >/dev/null

# The worker is up and stays up (it exited at once before, and again 10 s
# later). It has no database connection, so it is found among the
# postmaster's children by its title.
worker_pid() {
  local p
  for p in $(ps -o pid= --ppid "$(head -1 "$cdata/postmaster.pid")"); do
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q 'ruvector_dag state persister'; then echo "$p"; fi
  done
}
pid=""
for _ in $(seq 1 60); do
  pid=$(worker_pid)
  [ -n "$pid" ] && break
  sleep 0.25
done
check "the learner worker of a library preloaded by its path runs" "$([ -n "$pid" ] && echo yes || echo no)" yes
# Statements observed by the hooks meanwhile (the worker drains their records).
psql_c -d postgres -c "CREATE TABLE t300 (i int PRIMARY KEY, v int)" \
  -c "INSERT INTO t300 SELECT g, g % 7 FROM generate_series(1, 1000) g" -c "ANALYZE t300" >/dev/null
for i in $(seq 1 40); do echo "SELECT count(*) FROM t300 WHERE v = $((i % 7));"; done | psql_c -d postgres >/dev/null
sleep 11
check "the same worker process after 11 s (no restart)" "$(worker_pid)" "$pid"
check "the worker started once" "$(grep -c 'ruvector_dag worker started' "$clog")" 1
check "no worker found its shared state missing" "$(grep -c 'shared state missing' "$clog" || true)" 0
check "no error in the server log" "$(grep -E 'ERROR|FATAL|PANIC' "$clog" | grep -c . || true)" 0
done_testing
