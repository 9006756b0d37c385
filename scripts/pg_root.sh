# Sourced by scripts/pg_test.sh and bench/lib.sh: which PostgreSQL 15 the
# extension is installed into.
#
# By default that is the machine's (Debian's /usr/lib/postgresql/15), and the
# install holds /tmp/ruvector_pg_install.lock on fd 9 until the sourcing
# script exits, so concurrent checkouts take turns with the one installed
# copy. With RUVECTOR_PG_ROOT=DIR it is a private copy of that PostgreSQL
# under DIR (made on first use): PostgreSQL finds its share and library
# directories relative to its binaries, so a copy of the two trees is a
# complete installation; the extension is installed there with DESTDIR, no
# lock is taken, and several checkouts can test at the same time.

# pg_root_config PG_CONFIG: prints the pg_config to use.
pg_root_config() {
  local sys=$1 root=${RUVECTOR_PG_ROOT:-} bindir sharedir
  if [ -z "$root" ]; then echo "$sys"; return; fi
  root=$(mkdir -p "$root" && cd "$root" && pwd)
  bindir=$("$sys" --bindir)
  sharedir=$("$sys" --sharedir)
  if [ ! -x "$root$bindir/postgres" ]; then
    mkdir -p "$root$(dirname "$(dirname "$bindir")")" "$root$(dirname "$sharedir")"
    cp -a "$(dirname "$bindir")" "$root$(dirname "$bindir")"
    cp -a "$sharedir" "$root$sharedir"
  fi
  echo "$root$bindir/pg_config"
}

# pg_root_install BUILD: installs BUILD's `pg` component (both extensions)
# into the PostgreSQL chosen above.
pg_root_install() {
  local build=$1 root=${RUVECTOR_PG_ROOT:-}
  if [ -n "$root" ]; then
    DESTDIR=$(cd "$root" && pwd) cmake --install "$build" --component pg >/dev/null
    return
  fi
  exec 9>/tmp/ruvector_pg_install.lock
  flock 9
  if [ "$(id -u)" -eq 0 ] || [ -w "$("${pg_config:-/usr/lib/postgresql/15/bin/pg_config}" --pkglibdir)" ]; then
    cmake --install "$build" --component pg >/dev/null
  else
    sudo cmake --install "$build" --component pg >/dev/null
  fi
}
