# Shared by the pgbench scripts in bench/ (sourced; needs $build and $bindir).

source "$(dirname "${BASH_SOURCE[0]}")/../scripts/pg_root.sh"
# With RUVECTOR_PG_ROOT the benchmark's server runs from the private copy.
if [ -n "${RUVECTOR_PG_ROOT:-}" ]; then
  bindir=$("$(pg_root_config "${pg_config:-/usr/lib/postgresql/15/bin/pg_config}")" --bindir)
fi

# Sets $library to what shared_preload_libraries should name: with
# private=1 the build's library by its path (no install, no lock), else the
# installed copy after installing it (scripts/pg_root.sh: the machine's
# PostgreSQL under a lock, or RUVECTOR_PG_ROOT's private copy).
bench_library() {
  library=ruvector_dag
  if [ "${1:-0}" = 1 ]; then
    library=$(cd "$build/pg" && pwd)/ruvector_dag.so
  else
    pg_root_install "$build"
  fi
}

# Stops the run's cluster if it runs and removes $work: bench_workdir's EXIT
# trap (a script that needs more at exit sets its own trap).
bench_cleanup() {
  if [ -f "$data/postmaster.pid" ]; then
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -w -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}

# Creates the run's directory /tmp/PREFIX.XXXXXX as $work (owned by postgres
# when run as root, with $as_pg the command prefix that runs as that user),
# names its cluster directory $data, and removes both at exit (bench_cleanup).
bench_workdir() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$work"
  as_pg=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$work"
    as_pg=(runuser -u postgres --)
  fi
  data=$work/data
  trap bench_cleanup EXIT
}

# Creates the cluster $data (initdb as $as_pg, after bench_workdir) for one
# benchmark: unix socket in $work only, no fsync, no autovacuum,
# max_connections $1, shared_buffers $2, shared_preload_libraries '$3'.
bench_initdb() {
  "${as_pg[@]}" "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
  cat >>"$data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$work'
port = 5432
fsync = off
autovacuum = off
max_connections = $1
shared_buffers = $2
shared_preload_libraries = '${3:-}'
EOF
}
