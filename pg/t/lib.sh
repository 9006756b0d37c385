# Shared helpers for the topic test scripts pg/t/NNN_topic.sh, run by
# scripts/pg_test.sh on its private cluster (each script in its own bash,
# after the main script tests). Every script prints TAP lines ("ok N - ...",
# "not ok N - ...") and exits non-zero when a check failed.
#
# Environment set by pg_test.sh:
#   RV_BINDIR  PostgreSQL's bin directory     RV_HOST  socket directory
#   RV_PORT    port                           RV_DATA  data directory
#   RV_LOG     server log                     RV_WORK  scratch directory (per run)
#   RV_AS_PG   "runuser -u postgres --" when run as root, else empty
#   RV_CLI     the ruvector-dag executable
#   RV_SYNC_ATTACKER  tests/sync_attacker (pg/t/280), empty in builds without it
set -euo pipefail
: "${RV_BINDIR:?} ${RV_HOST:?} ${RV_PORT:?} ${RV_DATA:?} ${RV_LOG:?} ${RV_WORK:?}"
read -r -a rv_as_pg <<<"${RV_AS_PG:-}"
t_n=0
t_failures=0
ok() { t_n=$((t_n + 1)); echo "ok $t_n - $1"; }
not_ok() { t_n=$((t_n + 1)); t_failures=$((t_failures + 1)); echo "not ok $t_n - $1"; }
check() {  # check "description" actual expected
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', expected '$3')"; fi
}
# psql_as ROLE DB [psql args...]: -At output, stops on the first error.
psql_as() {
  local role=$1 db=$2
  shift 2
  "$RV_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RV_HOST" -p "$RV_PORT" -U "$role" -d "$db" -At "$@"
}
psql_db() { local db=$1; shift; psql_as postgres "$db" "$@"; }
# quiet DB SQL: one statement with observation off (checks do not change state).
quiet() { local db=$1; shift; psql_db "$db" -c "SET ruvector.dag_enabled = off" -c "$@"; }
# sql_error ROLE DB SQL: the error message of a statement expected to fail ("" when it succeeded).
sql_error() {  # (the statement goes through stdin: it may be longer than one argument may be)
  local out
  if out=$(printf '%s\n' "$3" | psql_as "$1" "$2" -f - 2>&1); then echo ""; else
    echo "$out" | sed -n 's/^.*ERROR:  //p' | head -1
  fi
}
pg_ctl_rv() { "${rv_as_pg[@]}" "$RV_BINDIR/pg_ctl" -D "$RV_DATA" -l "$RV_LOG" -w "$@" >/dev/null; }
wait_ready() {  # until a query succeeds, at most 60 s
  for _ in $(seq 1 120); do
    if psql_db postgres -c "SELECT 1" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  return 1
}
# learn_now DB: the worker has learned every trajectory recorded so far.
learn_now() { quiet "$1" "SELECT ruvector.dag_learn_now()" >/dev/null; }
# steady_setup DB TABLE: a new database DB with the extension and TABLE (i int
# PRIMARY KEY, v int) of 1,000 analyzed rows, for a statement of far less
# than 1 ms; sets ruvector.dag_exploration_min_ms to its default 1 so that
# the learner does not explore it in the background (the test server's 0
# would) and the statement's pattern becomes steady (docs/postgres.md,
# "Steady patterns"). The caller resets the setting when done.
steady_setup() {
  psql_db postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" \
    -c "ALTER SYSTEM SET ruvector.dag_exploration_min_ms = 1" -c "SELECT pg_reload_conf()" >/dev/null
  psql_db "$1" -c "CREATE EXTENSION ruvector_dag CASCADE" -c "CREATE TABLE $2 (i int PRIMARY KEY, v int)" \
    -c "INSERT INTO $2 SELECT g, g % 7 FROM generate_series(1, 1000) g" -c "ANALYZE $2" >/dev/null
}
# done_testing: prints the plan and exits with the script's verdict.
done_testing() {
  echo "1..$t_n"
  [ "$t_failures" -eq 0 ]
}
