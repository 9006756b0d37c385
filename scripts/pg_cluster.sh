#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for tests, fixture generation and the CLI
# demo: initdb into DIR/data, unix socket in DIR, a random free port, no TCP
# listener, nothing system-wide. When run as root the server runs as the
# `postgres` user (initdb refuses root) and DIR is handed to that user.
#
# Usage: scripts/pg_cluster.sh <command> DIR [args...]
#   start DIR         initdb if needed, start (no-op if running); prints env
#   stop DIR          stop if running (fast shutdown); no-op otherwise
#   status DIR        exit 0 if running, 3 if not
#   env DIR           prints PGHOST=... PGPORT=... PGUSER=... lines
#   psql DIR [args]   runs psql against the cluster (database: $PGDATABASE or postgres)
#   destroy DIR       stop, then remove DIR entirely
#
# Environment: RUVECTOR_PG_BIN (default /usr/lib/postgresql/15/bin).
# Exit codes: 0 ok, 1 failure, 2 usage, 3 not running (status),
# 77 PostgreSQL 15 binaries not found (callers treat it as "skip").
set -euo pipefail

PG_BIN=${RUVECTOR_PG_BIN:-/usr/lib/postgresql/15/bin}

die() { echo "pg_cluster.sh: $*" >&2; exit 1; }
usage() { sed -n '2,20p' "$0" >&2; exit 2; }

[[ $# -ge 2 ]] || usage
cmd=$1
dir=$2
shift 2

for tool in initdb pg_ctl postgres psql; do
  if [[ ! -x $PG_BIN/$tool ]]; then
    echo "pg_cluster.sh: $PG_BIN/$tool not found (PostgreSQL 15 is not installed)" >&2
    exit 77
  fi
done

# The path goes into server options and a config line: keep it plain.
[[ $dir == /* ]] || dir=$PWD/$dir
[[ $dir =~ ^[A-Za-z0-9_./-]+$ ]] || die "directory '$dir' must match [A-Za-z0-9_./-]+"
# Unix socket paths are limited to 107 bytes.
(( ${#dir} <= 80 )) || die "directory '$dir' is too long for a unix socket path"
data=$dir/data

as_server() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

is_running() {
  [[ -f $data/PG_VERSION ]] && as_server "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1
}

port_in_use() {
  local port=$1
  [[ -e $dir/.s.PGSQL.$port ]] && return 0
  if command -v ss >/dev/null 2>&1; then
    [[ -n $(ss -Htan "( sport = :$port )" 2>/dev/null) ]] && return 0
  fi
  # Any process listening on the TCP port on localhost?
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
  return 1
}

pick_port() {
  local port i
  for i in $(seq 1 100); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    if ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  die "no free port found"
}

print_env() {
  [[ -f $dir/port ]] || die "no port recorded in $dir (is the cluster started?)"
  echo "PGHOST=$dir"
  echo "PGPORT=$(cat "$dir/port")"
  echo "PGUSER=postgres"
}

prepare_dir() {
  local created=0
  [[ -d $dir ]] || created=1
  mkdir -p "$dir"
  if [[ $EUID -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user to run the server"
    chown postgres: "$dir"
    chmod 700 "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      [[ $created -eq 0 ]] || rmdir "$dir"
      die "user postgres cannot write $dir (a parent directory is not accessible to it; use a directory under /tmp)"
    fi
  fi
}

init_cluster() {
  [[ -f $data/PG_VERSION ]] && return 0
  rm -rf "$data"
  if ! as_server "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    rm -rf "$data"
    die "initdb failed (log above)"
  fi
  # Settings for a small, fast, private test server. Parallel query uses
  # mmap'd dynamic shared memory so that a small /dev/shm does not matter.
  cat >>"$data/postgresql.conf" <<EOF

# --- pg_cluster.sh (private test cluster) ---
listen_addresses = ''
unix_socket_directories = '$dir'
unix_socket_permissions = 0777
max_connections = 30
shared_buffers = 64MB
fsync = off
synchronous_commit = off
full_page_writes = off
dynamic_shared_memory_type = mmap
jit = off
logging_collector = off
EOF
}

start_cluster() {
  if is_running; then
    print_env
    return 0
  fi
  prepare_dir
  init_cluster
  local attempt port
  for attempt in 1 2 3; do
    port=$(pick_port)
    if as_server "$PG_BIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port" start >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      print_env
      return 0
    fi
    # Another process may have taken the port between the check and start.
    echo "pg_cluster.sh: start on port $port failed (attempt $attempt):" >&2
    tail -n 5 "$dir/server.log" >&2 || true
  done
  die "could not start the cluster in $dir (see $dir/server.log)"
}

stop_cluster() {
  if is_running; then
    as_server "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
  fi
  rm -f "$dir/port"
}

case $cmd in
  start) start_cluster ;;
  stop) [[ -d $dir ]] && stop_cluster; exit 0 ;;
  status) is_running && { echo "running in $dir on port $(cat "$dir/port" 2>/dev/null || echo '?')"; exit 0; }
          echo "not running"; exit 3 ;;
  env) is_running || die "cluster in $dir is not running"; print_env ;;
  psql)
    is_running || die "cluster in $dir is not running"
    exec "$PG_BIN/psql" -X -h "$dir" -p "$(cat "$dir/port")" -U postgres \
      -d "${PGDATABASE:-postgres}" "$@" ;;
  destroy)
    if [[ -d $dir ]]; then
      stop_cluster
      rm -rf "$dir"
    fi ;;
  *) usage ;;
esac
