# Shared by the pgbench scripts in bench/ (sourced; needs $build and $bindir).

# Sets $library to what shared_preload_libraries should name: with
# private=1 the build's library by its path (no install, no lock), else the
# installed copy after installing it, holding /tmp/ruvector_pg_install.lock
# on fd 9 until the script exits.
bench_library() {
  library=ruvector_dag
  if [ "${1:-0}" = 1 ]; then
    library=$(cd "$build/pg" && pwd)/ruvector_dag.so
  else
    exec 9>/tmp/ruvector_pg_install.lock
    flock 9
    cmake --install "$build" --component pg >/dev/null
  fi
}

# Creates the run's directory /tmp/PREFIX.XXXXXX as $work (owned by postgres
# when run as root, with $as_pg the command prefix that runs as that user)
# and names its cluster directory $data.
bench_workdir() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$work"
  as_pg=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$work"
    as_pg=(runuser -u postgres --)
  fi
  data=$work/data
}
