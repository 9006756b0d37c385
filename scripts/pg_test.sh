#!/usr/bin/env bash
# Builds the ruvector_dag PostgreSQL extension, installs it into Debian's
# PostgreSQL 15 and tests it on a private temporary cluster (initdb into a
# temp dir, unix socket in that dir, no TCP, shared_preload_libraries set):
#   1. pg_regress suite (pg/sql + pg/expected), then the vector extension's
#      (vector/sql + vector/expected)
#   2. script tests (TAP-style "ok N - ..."):
#      periodic save by the worker; restart keeps state; corrupt, truncated,
#      empty and foreign state files are survived; kill -9 of a backend
#      leaves the server usable and the state consistent; pgbench with 8
#      clients for 30 s has zero failed transactions; results are identical
#      with the extension on, off, and not loaded; without preload the
#      extension refuses to be created, with a clear message.
#   3. overhead benchmark (numbers only, never asserted): pgbench select-only
#      TPS and planning time of a 10-way join, with and without the library
#      preloaded, on the same cluster.
# Usage: scripts/pg_test.sh [BUILD_DIR]     (default: build/)
# Env:   RUVECTOR_PGBENCH_SECONDS (30)  load test duration
#        RUVECTOR_PG_BENCH_SECONDS (10) duration of each overhead pgbench run
#        RUVECTOR_PG_KEEP=1             keep the temporary cluster directory
#        RUVECTOR_JOBS (2)              build parallelism
#        RUVECTOR_PG_TOPICS ('*')       glob of the topic scripts to run (e.g. '01*'; the
#                                       ruvector extension's vector/t scripts are named vector_NNN_*)
#        RUVECTOR_PG_MAIN (1)           0 = only the topic scripts (quick iteration)
#        RUVECTOR_PG_ROOT (unset)       a directory for a private copy of Debian's PostgreSQL 15
#                                       (made on first use): the extension is installed into
#                                       that copy instead of the machine's, so no lock is taken
#                                       and several checkouts can test at the same time
# Runs as root (the server runs as the `postgres` user) or as a user that can
# write PostgreSQL's extension directories (install step).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
jobs=${RUVECTOR_JOBS:-2}
load_seconds=${RUVECTOR_PGBENCH_SECONDS:-30}
bench_seconds=${RUVECTOR_PG_BENCH_SECONDS:-10}
topics=${RUVECTOR_PG_TOPICS:-*}
main_tests=${RUVECTOR_PG_MAIN:-1}
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
source "$root/scripts/pg_root.sh"
pg_config=$(pg_root_config "$pg_config")
bindir=$("$pg_config" --bindir)
pg_regress=$(dirname "$("$pg_config" --pgxs)")/../test/regress/pg_regress
started=$(date +%s)
step() { printf '\n==== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

# --- build and install ---------------------------------------------------------
step "build and install the extension"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# Everything this script runs is built before the install lock is taken, so a
# slow build never holds up another checkout's run.
cmake --build "$build" --target ruvector_dag_pg ruvector_pg ruvector-dag -j "$jobs"
# A shared module links with symbols left undefined (the server's); one of
# our own left undefined (a definition in the wrong namespace) would only
# show as a server that cannot start.
for so in "$build/pg/ruvector_dag.so" "$build/vector/ruvector.so"; do
  own=$(nm -D --undefined-only "$so" | grep -E ' _ZN[0-9]+ruvector_(pg|dag)' || true)
  if [ -n "$own" ]; then
    echo "pg_test: $so leaves the project's own symbols undefined:" >&2
    printf '%s\n' "$own" | c++filt >&2
    exit 1
  fi
done
# The sync attacker of pg/t/280 (a test tool) exists in builds with the tests
# and the NATS transport; without it that topic skips itself.
attacker=$build/tests/sync_attacker
if grep -q '^RUVECTOR_SYNC_HAS_NATS:INTERNAL=1' "$build/CMakeCache.txt" &&
   grep -q '^RUVECTOR_BUILD_TESTS:BOOL=ON' "$build/CMakeCache.txt"; then
  cmake --build "$build" --target sync_attacker -j "$jobs"
else
  attacker=
fi
# One installed copy of the extension per machine (unless RUVECTOR_PG_ROOT
# names a private one): concurrent runs (several checkouts) wait here until
# the running one finished with it.
pg_root_install "$build"
# The CLI's private clusters use the same PostgreSQL.
export RUVECTOR_PG_BIN=$bindir

# --- private cluster -------------------------------------------------------------
work=$(mktemp -d /tmp/ruvector_pg_test.XXXXXX)
chmod 755 "$work"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres:postgres "$work"
  as_pg=(runuser -u postgres --)
fi
data=$work/data
log=$work/server.log
port=$((20000 + RANDOM % 20000))  # only names the socket file in $work
cleanup() {
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  if [ "${RUVECTOR_PG_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

"${as_pg[@]}" "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
cat >>"$data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$work'
port = $port
fsync = off
autovacuum = off
max_connections = 40
shared_preload_libraries = 'ruvector_dag'
ruvector.dag_persist_interval = 60
ruvector.dag_exploration_cpu_budget = 0.5
ruvector.dag_exploration_min_ms = 0
EOF
pg_ctl() { "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$log" -w "$@" >/dev/null; }
psql_db() { local db=$1; shift; "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres -d "$db" -At "$@"; }
pg_ctl start

tests=(setup analysis errors suggest config explain observe state faults steering healing)
vector_tests=()
[ "$main_tests" = 1 ] || tests=()
n=0
failures=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n - $1"; }
check() {  # check "description" actual expected
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', expected '$3')"; fi
}
wait_ready() {  # until a query succeeds, at most 60 s
  for _ in $(seq 1 120); do
    if psql_db postgres -c "SET ruvector.dag_enabled = off" -c "SELECT 1" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  return 1
}
cli=$build/cli/ruvector-dag

if [ "$main_tests" = 1 ]; then
# --- 1. pg_regress -----------------------------------------------------------------
step "pg_regress"
regress_out=$work/regress
mkdir -p "$regress_out"
if ! "$pg_regress" --inputdir="$root/pg" --outputdir="$regress_out" --bindir="$bindir" --host="$work" \
    --port="$port" --user=postgres --dbname=ruvector_regress "${tests[@]}"; then
  cat "$regress_out/regression.diffs" 2>/dev/null || true
  echo "pg_regress failed" >&2
  exit 1
fi
# The ruvector extension's suite (vector/sql + vector/expected).
vector_tests=(vector_type)
if ! "$pg_regress" --inputdir="$root/vector" --outputdir="$regress_out" --bindir="$bindir" --host="$work" \
    --port="$port" --user=postgres --dbname=ruvector_vector_regress "${vector_tests[@]}"; then
  cat "$regress_out/regression.diffs" 2>/dev/null || true
  echo "pg_regress (vector) failed" >&2
  exit 1
fi

# --- 2. script tests -----------------------------------------------------------------
step "script tests"
# Observation off in the checking session, so checks do not change the state.
stats_digest() {
  psql_db rvtest -c "SET ruvector.dag_enabled = off" \
    -c "SELECT coalesce(md5(string_agg(pattern_id || ':' || executions || ':' || mean_ms, ',' ORDER BY pattern_id)), 'empty')
        FROM ruvector.dag_statistics()"
}
status_field() { psql_db rvtest -c "SET ruvector.dag_enabled = off" -c "SELECT $1 FROM ruvector.dag_status()"; }
quiet() { local db=$1; shift; psql_db "$db" -c "SET ruvector.dag_enabled = off" -c "$@"; }

psql_db postgres -c "CREATE DATABASE rvtest"
psql_db rvtest <<'SQL'
CREATE EXTENSION ruvector_dag CASCADE;
CREATE TABLE t (id int PRIMARY KEY, g int, v numeric);
INSERT INTO t SELECT i, i % 97, i * 0.5 FROM generate_series(1, 50000) i;
CREATE TABLE u (id int PRIMARY KEY, t_id int, w int);
INSERT INTO u SELECT i, 1 + (i * 31) % 50000, i % 13 FROM generate_series(1, 80000) i;
CREATE INDEX u_t ON u (t_id);
ANALYZE t, u;
SQL
workload() {
  psql_db rvtest <<'SQL' >/dev/null
SELECT count(*) FROM t WHERE g = 5;
SELECT count(*) FROM t WHERE g < 50;
SELECT t.g, sum(u.w) FROM t JOIN u ON u.t_id = t.id WHERE t.g < 10 GROUP BY t.g;
SELECT * FROM t WHERE id = 42;
SELECT count(*) FROM u WHERE w = 3 AND t_id IN (SELECT id FROM t WHERE g = 7);
SQL
}
workload
workload

# Periodic save by the worker.
psql_db rvtest -c "ALTER SYSTEM SET ruvector.dag_persist_interval = 1" -c "SELECT pg_reload_conf()" >/dev/null
saved=no
for _ in $(seq 1 40); do
  if [ "$(status_field "last_save IS NOT NULL")" = t ]; then saved=yes; break; fi
  sleep 0.5
done
check "the background worker saves the state periodically" "$saved" yes
check "state file exists in PGDATA" "$("${as_pg[@]}" test -s "$data/ruvector_dag.state" && echo yes || echo no)" yes
psql_db rvtest -c "ALTER SYSTEM RESET ruvector.dag_persist_interval" -c "SELECT pg_reload_conf()" >/dev/null

# Restart keeps state (and the custom arms and pins).
quiet rvtest "SELECT ruvector.dag_add_arm('persist_me', '{\"work_mem\": \"32MB\"}')" >/dev/null
quiet rvtest "SELECT ruvector.dag_pin(4242, 'persist_me')" >/dev/null
before=$(stats_digest)
patterns_before=$(status_field patterns)
pg_ctl restart -m fast
wait_ready
check "restart: custom arm kept" "$(quiet rvtest "SELECT name || ' ' || settings FROM ruvector.dag_arms() WHERE NOT builtin")" \
  "persist_me work_mem=32MB"
check "restart: pin kept" "$(quiet rvtest "SELECT ruvector.dag_unpin(4242)")" t
quiet rvtest "SELECT ruvector.dag_remove_arm('persist_me')" >/dev/null
check "restart: state file loaded" "$(status_field state_file)" loaded
check "restart: same patterns" "$(status_field patterns)" "$patterns_before"
check "restart: identical pattern statistics" "$(stats_digest)" "$before"
workload
after_workload=$(status_field "executions_observed")
[ "$after_workload" -gt 0 ] && ok "restart: observation continues ($after_workload executions)" || not_ok "restart: observation continues"

# Corrupt, truncated, empty and foreign state files: WARNING + fresh start.
before_stop=$(stats_digest)
pg_ctl stop -m fast
good=$work/good.state
cp "$data/ruvector_dag.state" "$good"
size=$(stat -c %s "$good")
corrupt_case() {  # name, command producing the bad file from $good into $data/ruvector_dag.state
  local name=$1
  shift
  "$@"
  chown --reference="$data" "$data/ruvector_dag.state" 2>/dev/null || true
  pg_ctl start
  wait_ready
  check "$name state file: server starts, state_file = corrupt" "$(status_field state_file)" corrupt
  check "$name state file: fresh start (0 patterns)" "$(status_field patterns)" 0
  if grep -q "WARNING:  ruvector_dag: ignoring state file" "$log"; then ok "$name state file: WARNING logged"; else
    not_ok "$name state file: WARNING logged"; fi
  check "$name state file: queries work" "$(psql_db rvtest -c 'SELECT count(*) FROM t WHERE g = 1')" 516
  pg_ctl stop -m fast
  : >"$log"
}
corrupt_case "flipped byte" bash -c "cp '$good' '$data/ruvector_dag.state' && printf '\xff\xfe' | dd of='$data/ruvector_dag.state' bs=1 seek=$((size / 2)) conv=notrunc status=none"
corrupt_case "truncated" bash -c "head -c $((size / 2)) '$good' > '$data/ruvector_dag.state'"
corrupt_case "empty" bash -c ": > '$data/ruvector_dag.state'"
corrupt_case "foreign" bash -c "head -c 5000 /dev/urandom > '$data/ruvector_dag.state'"
cp "$good" "$data/ruvector_dag.state"
chown --reference="$data" "$data/ruvector_dag.state" 2>/dev/null || true
pg_ctl start
wait_ready
check "a valid file loads again after the corrupt ones" "$(stats_digest)" "$before_stop"
# A damaged steering file (custom arms, pins): WARNING, built-in arms only.
quiet rvtest "SELECT ruvector.dag_add_arm('damaged', '{\"work_mem\": \"16MB\"}')" >/dev/null
pg_ctl stop -m fast
"${as_pg[@]}" bash -c "head -c 30 '$data/ruvector_dag.steering' > '$data/steering.tmp' && mv '$data/steering.tmp' '$data/ruvector_dag.steering'"
pg_ctl start
wait_ready
check "damaged steering file: server starts with the built-in arms" \
  "$(quiet rvtest "SELECT count(*) FILTER (WHERE NOT builtin) || '/' || count(*) FROM ruvector.dag_arms()")" "0/10"
check "damaged steering file: WARNING logged" "$(grep -c 'ignoring "ruvector_dag.steering"' "$log")" 1

# kill -9 of a backend: crash restart, usable server, state = last save.
quiet rvtest "SELECT ruvector.dag_save_state()" >/dev/null
saved_digest=$(stats_digest)
"$bindir/psql" -X -h "$work" -p "$port" -U postgres -d rvtest -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
sleeper=$!
victim=""
for _ in $(seq 1 40); do
  victim=$(quiet rvtest "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(120)%' AND pid <> pg_backend_pid() LIMIT 1")
  [ -n "$victim" ] && break
  sleep 0.25
done
if [ -n "$victim" ]; then
  kill -9 "$victim"
  wait "$sleeper" 2>/dev/null || true
  for _ in $(seq 1 120); do
    grep -q "all server processes terminated; reinitializing" "$log" && break
    sleep 0.25
  done
  wait_ready
  # The crash restart reinitializes shared memory and reloads the file.
  for _ in $(seq 1 40); do
    quiet rvtest "SELECT 1 FROM ruvector.dag_status()" >/dev/null 2>&1 && break
    sleep 0.5
  done
  if grep -q "terminated by signal 9" "$log"; then ok "kill -9: postmaster noticed the crash"; else not_ok "kill -9: postmaster noticed the crash"; fi
  check "kill -9: state reloaded from the last save" "$(stats_digest)" "$saved_digest"
  check "kill -9: server usable" "$(psql_db rvtest -c 'SELECT count(*) FROM t WHERE g = 2')" 516
  check "kill -9: statistics consistent" "$(psql_db rvtest -c "SET ruvector.dag_enabled = off" -c \
    "SELECT count(*) FROM ruvector.dag_statistics() WHERE executions < 1 OR min_ms > mean_ms + 1e-9 OR mean_ms > max_ms + 1e-9")" 0
  # dag_status counts every database's patterns, dag_statistics shows this one's.
  check "kill -9: pattern count covers the table" "$(psql_db rvtest -c "SET ruvector.dag_enabled = off" -c \
    "SELECT patterns >= (SELECT count(*) FROM ruvector.dag_statistics()) AND patterns > 0 FROM ruvector.dag_status()")" t
else
  not_ok "kill -9: could not find the backend to kill"
fi

# Identical results with observation on and off (same server).
queries=(
  "SELECT g, count(*), sum(v) FROM t GROUP BY g ORDER BY g"
  "SELECT t.g, sum(u.w), count(DISTINCT u.id) FROM t JOIN u ON u.t_id = t.id GROUP BY t.g ORDER BY 1"
  "SELECT id, v, rank() OVER (PARTITION BY g ORDER BY v DESC) FROM t WHERE g < 3 ORDER BY id"
  "WITH x AS (SELECT t_id, max(w) m FROM u GROUP BY t_id) SELECT count(*), sum(m) FROM x JOIN t ON t.id = x.t_id"
  "SELECT id FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.t_id = t.id) ORDER BY id LIMIT 50"
  "SELECT g, (SELECT count(*) FROM u WHERE u.w = t.g % 13) FROM t WHERE id < 30 ORDER BY id"
)
result_digest() {  # on|off, query, [extra settings]
  psql_db rvtest -c "SET ruvector.dag_enabled = $1" -c "SET max_parallel_workers_per_gather = 2" \
    -c "SET parallel_setup_cost = 0" -c "SET parallel_tuple_cost = 0" -c "$2" | md5sum | cut -d' ' -f1
}
digests_on=()
for q in "${queries[@]}"; do
  on=$(result_digest on "$q")
  off=$(result_digest off "$q")
  digests_on+=("$on")
  check "identical results on/off: ${q:0:60}" "$on" "$off"
done

# pgbench: 8 clients for $load_seconds s, zero failures, no internal errors.
psql_db postgres -c "CREATE DATABASE bench"
"$bindir/pgbench" -h "$work" -p "$port" -U postgres -i -s 5 -q bench >/dev/null 2>&1
errors_before=$(status_field internal_errors)
set +e
bench_out=$("$bindir/pgbench" -h "$work" -p "$port" -U postgres -c 8 -j 2 -T "$load_seconds" -n bench 2>&1)
rc=$?
set -e
echo "$bench_out" | grep -E "number of transactions actually processed|failed|tps" | sed 's/^/    /'
check "pgbench 8 clients ${load_seconds}s: exit status" "$rc" 0
check "pgbench 8 clients ${load_seconds}s: zero failed transactions" \
  "$(echo "$bench_out" | grep -c 'number of failed transactions: 0 ')" 1
check "pgbench: no internal errors in the extension" "$(status_field internal_errors)" "$errors_before"
check "pgbench: server log has no PANIC/FATAL from the extension" \
  "$(grep -cE 'PANIC|ruvector_dag.*(FATAL|failed, statement continues)' "$log" || true)" 0

# Plan steering end to end: `ruvector-dag bench` on the bundled misestimation
# workload (PostgreSQL alone, then learning with online exploration) must
# return identical results and deploy an arm for a misplanned query; ANALYZE
# is seen as drift; `ruvector-dag demo` runs on its own private cluster.
step "steering: bench and demo smoke runs"
psql_db postgres -c "CREATE DATABASE rvsteer"
set +e
steer_json=$("$cli" bench --dsn "host=$work port=$port user=postgres dbname=rvsteer" --workload misestimation \
  --generate --rounds 16 --planning-samples 40 --format json 2>"$work/bench.err")
rc=$?
set -e
check "bench --workload misestimation: exit status" "$rc" 0
[ "$rc" = 0 ] || cat "$work/bench.err"
echo "$steer_json" | grep -E '"(speedup_total|speedup_converged|regressed_over_1_2x|patterns_deployed|planning_overhead_us)"' \
  | sed 's/^/    /'
check "bench: results identical with the learner" "$(echo "$steer_json" | grep -c '^  "results_identical": true')" 1
deployed=$(echo "$steer_json" | sed -n 's/.*"patterns_deployed": \([0-9]*\).*/\1/p')
check "bench: an arm is deployed for a misplanned query" "$([ "${deployed:-0}" -ge 1 ] && echo yes || echo no)" yes
drift_before=$(psql_db rvsteer -c "SET ruvector.dag_enabled = off" \
  -c "SELECT count(*) FROM ruvector.dag_learning_events(256) WHERE event = 'drift'")
psql_db rvsteer -c "ANALYZE rv_events" -c "SELECT ruvector.dag_learn_now()" >/dev/null
drift_after=$(psql_db rvsteer -c "SET ruvector.dag_enabled = off" \
  -c "SELECT count(*) FROM ruvector.dag_learning_events(256) WHERE event = 'drift'")
check "ANALYZE is reported to the learner as drift" "$((drift_after - drift_before))" 1
set +e
"$cli" demo --rounds 6 --dir "$work/demo" --plot "$work/demo.svg" --format json >"$work/demo.json" 2>"$work/demo.err"
rc=$?
set -e
check "demo --rounds 6: exit status" "$rc" 0
[ "$rc" = 0 ] || cat "$work/demo.err"
check "demo: JSON summary and plot written" \
  "$(grep -c '"results_identical": true' "$work/demo.json" 2>/dev/null | tr -d ' ')/$(test -s "$work/demo.svg" && echo svg)" \
  "7/svg"

# Background exploration: the explorer re-executes captured read-only
# statements as the role that ran them (parameters included: pgbench's
# extended protocol), and refuses statements it must not re-run (volatile
# functions, temporary tables).
step "background exploration"
psql_db rvsteer <<'SQL' >/dev/null
DROP ROLE IF EXISTS rv_reader;
CREATE ROLE rv_reader LOGIN;
GRANT SELECT ON rv_items, rv_orders TO rv_reader;
SQL
capture_matches() {  # capture_matches WHERE-clause -> "yes" once a capture matches it (30 s max)
  for _ in $(seq 1 60); do
    psql_db rvsteer -c "SET ruvector.dag_enabled = off" -c "SELECT ruvector.dag_learn_now()" >/dev/null
    if [ "$(psql_db rvsteer -c "SET ruvector.dag_enabled = off" -c \
        "SELECT count(*) > 0 FROM ruvector.dag_captured_statements() WHERE $1")" = t ]; then
      echo yes; return
    fi
    sleep 0.5
  done
  echo no
}
# A matching capture was handed to the explorer.
explored() { capture_matches "($1) AND last_explored IS NOT NULL"; }
# A matching capture was refused and never explored.
refused_at_capture() { capture_matches "($1) AND NOT explorable AND last_explored IS NULL"; }
errors_before=$(psql_db rvsteer -c "SET ruvector.dag_enabled = off" -c "SELECT errors FROM ruvector.dag_exploration_status()")
cat >"$work/param.sql" <<'SQL'
\set k random(1, 50)
SELECT count(*), sum(i.payload) FROM rv_orders o JOIN rv_items i ON i.k = o.k WHERE o.region = :k % 50 AND o.status = :k % 50;
SQL
for _ in 1 2 3; do
  "$bindir/pgbench" -h "$work" -p "$port" -U postgres -n -M extended -f "$work/param.sql" -t 4 rvsteer >/dev/null 2>&1
  sleep 0.2
done
check "explorer: a parameterized statement (extended protocol) is captured and re-executed" \
  "$(explored "query LIKE '%o.region = \$1%' AND parameters = 2")" yes
for _ in 1 2 3 4 5 6; do
  psql_db rvsteer -c "SELECT count(*) FROM rv_items WHERE k < 300 AND random() < 2" >/dev/null
  sleep 0.1
done
# Refused when captured (docs/postgres.md, "What the explorer re-executes"): never handed to the explorer.
check "explorer: a statement calling a volatile function is not re-executed" \
  "$(refused_at_capture "query LIKE '%random()%' AND refusal = 'calls a volatile function'")" yes
psql_db rvsteer <<'SQL' >/dev/null
CREATE TEMP TABLE rv_tmp AS SELECT i AS k FROM generate_series(1, 300) i;
SELECT count(*) FROM rv_tmp JOIN rv_items i USING (k);
SELECT pg_sleep(0.1);
SELECT count(*) FROM rv_tmp JOIN rv_items i USING (k);
SELECT pg_sleep(0.1);
SELECT count(*) FROM rv_tmp JOIN rv_items i USING (k);
SELECT pg_sleep(0.1);
SELECT count(*) FROM rv_tmp JOIN rv_items i USING (k);
SQL
check "explorer: a statement on a temporary table is refused, not retried" \
  "$(explored "query LIKE '%rv_tmp%' AND NOT explorable")" yes
# (A misplanned join worth a trial: a 0.1 ms scan run six times is, rightly,
# not worth exploring -- docs/engine.md, "What a trial is worth".)
for _ in 1 2 3 4 5 6; do
  "$bindir/psql" -X -q -h "$work" -p "$port" -U rv_reader -d rvsteer -c "SELECT sum(i.payload) FROM rv_orders o
    JOIN rv_items i ON i.k = o.k WHERE o.region = 4 AND o.status = 4 AND o.channel = 4" >/dev/null
  sleep 0.1
done
check "explorer: re-executes as the role that ran the statement" \
  "$(explored "query LIKE '%o.region = 4 AND o.status = 4%' AND role = 'rv_reader'")" yes
check "explorer: bad candidates were cancelled at their timeout (censored runs)" \
  "$(psql_db rvsteer -c "SET ruvector.dag_enabled = off" -c "SELECT timeouts > 0 AND runs > timeouts FROM ruvector.dag_exploration_status()")" t
check "explorer: no failed re-executions" \
  "$(psql_db rvsteer -c "SET ruvector.dag_enabled = off" -c "SELECT errors FROM ruvector.dag_exploration_status()")" "$errors_before"
# The learner's bandits survive a restart (ruvector_dag.learner).
deployed_before=$(quiet rvsteer "SELECT count(*) FROM ruvector.dag_decisions() WHERE deployed_arm <> 'default'")
loaded_re='loaded [0-9]+ learned patterns (and [0-9]+ value models \([a-z_]+ in use\) )?from "ruvector_dag.learner"'
loads_before=$(grep -cE "$loaded_re" "$log" || true)
pg_ctl restart -m fast
wait_ready
quiet rvsteer "SELECT ruvector.dag_learn_now()" >/dev/null
check "restart: the worker loads its learned patterns" \
  "$(grep -cE "$loaded_re" "$log")" "$((loads_before + 1))"
check "restart: deployed arms kept without new runs" \
  "$(quiet rvsteer "SELECT count(*) FROM ruvector.dag_decisions() WHERE deployed_arm <> 'default'")" "$deployed_before"
check "explorer: server log has no crash" "$(grep -c 'terminated by signal' "$log" || true)" "$(grep -c 'terminated by signal 9' "$log" || true)"

fi  # main_tests

# --- 2b. topic scripts (pg/t/NNN_topic.sh, helpers in pg/t/lib.sh) ---------------------
for script in "$root"/pg/t/[0-9][0-9][0-9]_*.sh "$root"/vector/t/[0-9][0-9][0-9]_*.sh; do
  [ -e "$script" ] || continue
  name=$(basename "$script" .sh)
  [ "$(basename "$(dirname "$(dirname "$script")")")" = vector ] && name=vector_$name
  # shellcheck disable=SC2053
  [[ $name == $topics ]] || continue
  step "topic $name"
  mkdir -p "$work/$name"
  chmod 777 "$work/$name"
  if RV_BINDIR=$bindir RV_HOST=$work RV_PORT=$port RV_DATA=$data RV_LOG=$log RV_WORK=$work/$name \
      RV_AS_PG="${as_pg[*]}" RV_CLI=$cli RV_SYNC_ATTACKER=$attacker bash "$script"; then
    ok "topic $name"
  else
    not_ok "topic $name"
  fi
  wait_ready || true
done

if [ "$main_tests" = 1 ]; then
# --- 3. overhead benchmark -----------------------------------------------------------
step "overhead benchmark (numbers only)"
psql_db bench <<'SQL' >/dev/null
DO $$
BEGIN
  FOR i IN 1..10 LOOP
    EXECUTE format('CREATE TABLE j%s (id int PRIMARY KEY, next int, pad int)', i);
    EXECUTE format('INSERT INTO j%s SELECT g, 1 + (g * 7) %% 1000, g %% 10 FROM generate_series(1, 1000) g', i);
    EXECUTE format('ANALYZE j%s', i);
  END LOOP;
END $$;
CREATE FUNCTION planning_ms(runs int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE line text; times float8[] := '{}';
BEGIN
  FOR r IN 1..runs LOOP
    FOR line IN EXECUTE 'EXPLAIN (SUMMARY) SELECT count(*) FROM j1 JOIN j2 ON j2.id = j1.next JOIN j3 ON j3.id = j2.next
      JOIN j4 ON j4.id = j3.next JOIN j5 ON j5.id = j4.next JOIN j6 ON j6.id = j5.next JOIN j7 ON j7.id = j6.next
      JOIN j8 ON j8.id = j7.next JOIN j9 ON j9.id = j8.next JOIN j10 ON j10.id = j9.next WHERE j1.pad = 3' LOOP
      IF line LIKE 'Planning Time:%' THEN
        times := times || substring(line FROM 'Planning Time: ([0-9.]+)')::float8;
      END IF;
    END LOOP;
  END LOOP;
  RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(times) x);
END $$;
SQL
measure() {  # prints "tps planning_ms"
  local tps plan
  tps=$("$bindir/pgbench" -h "$work" -p "$port" -U postgres -S -c 8 -j 2 -T "$bench_seconds" -n bench 2>&1 |
    sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
  # The EXPLAIN section is off: this measures the planner hook, not EXPLAIN.
  plan=$(psql_db bench -c "SET ruvector.dag_explain = off" -c "SELECT round(planning_ms(200)::numeric, 3)")
  echo "$tps $plan"
}
preload() {  # on|off: restart with or without the library preloaded
  local value=""
  [ "$1" = on ] && value=ruvector_dag
  sed -i "s/^shared_preload_libraries = .*/shared_preload_libraries = '$value'/" "$data/postgresql.conf"
  pg_ctl restart -m fast
  wait_ready
}
# Two alternating rounds: the machine is shared, so single runs are noisy.
read -r tps_on plan_on < <(measure)
preload off
read -r tps_off plan_off < <(measure)
preload on
read -r tps_on2 plan_on2 < <(measure)
preload off
read -r tps_off2 plan_off2 < <(measure)

# Without preload: clear errors instead of half-working, identical results.
set +e
err=$(psql_db postgres -c "CREATE DATABASE nopreload" -c "\\c nopreload" -c "CREATE EXTENSION ruvector_dag CASCADE" 2>&1)
set -e
if echo "$err" | grep -q "must be loaded via shared_preload_libraries"; then ok "without preload: CREATE EXTENSION fails with a clear message"; else
  not_ok "without preload: CREATE EXTENSION fails with a clear message ($err)"; fi
set +e
err=$(psql_db rvtest -c "SELECT * FROM ruvector.dag_status()" 2>&1)
set -e
if echo "$err" | grep -q "must be loaded via shared_preload_libraries"; then ok "without preload: functions raise a clear error"; else
  not_ok "without preload: functions raise a clear error ($err)"; fi
i=0
for q in "${queries[@]}"; do
  plain=$(psql_db rvtest -c "SET max_parallel_workers_per_gather = 2" -c "SET parallel_setup_cost = 0" \
    -c "SET parallel_tuple_cost = 0" -c "$q" | md5sum | cut -d' ' -f1)
  check "identical results with and without the library: ${q:0:50}" "${digests_on[$i]}" "$plain"
  i=$((i + 1))
done

echo
echo "overhead (same cluster, 8 clients, ${bench_seconds}s select-only pgbench; median planning time of 200 EXPLAINs of a 10-way join):"
printf '  %-28s %12s %14s\n' "" "tps" "planning_ms"
printf '  %-28s %12s %14s\n' "ruvector_dag preloaded (1)" "$tps_on" "$plan_on"
printf '  %-28s %12s %14s\n' "not loaded (1)" "$tps_off" "$plan_off"
printf '  %-28s %12s %14s\n' "ruvector_dag preloaded (2)" "$tps_on2" "$plan_on2"
printf '  %-28s %12s %14s\n' "not loaded (2)" "$tps_off2" "$plan_off2"
fi  # main_tests

echo
echo "1..$n"
elapsed=$(($(date +%s) - started))
if [ "$failures" -ne 0 ]; then
  echo "pg_test: $failures of $n script tests failed (${elapsed}s); server log: $log" >&2
  RUVECTOR_PG_KEEP=1
  exit 1
fi
echo "pg_test: pg_regress (${#tests[@]} + ${#vector_tests[@]} tests) and $n script tests passed in ${elapsed}s"
