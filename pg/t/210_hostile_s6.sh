#!/usr/bin/env bash
# The newest surface under attack (docs/postgres.md, "Security model"): plan
# advice with join, scan and LEADING hints, the files the extension reads in
# $PGDATA, and what a plain role can do to either. A table owner `s6_alice`,
# a plain login role `s6_mallory`, a role `s6_dba` that a superuser granted
# dag_pin(query, advice) to.
#   - a FIFO, a device or a directory in place of the extension's own files
#     (state, steering, learner) is refused unread: the server starts and the
#     worker learns (the sync files already were: 170_hostile_newer.sh)
#   - a plain role cannot pin, unpin or list advice; a granted role pins
#     only for statements it may run, and hostile advice text is refused
#     with a clear error, never a crash
#   - pinned advice is kept across a restart whatever its quoted names hold
#   - a save never writes through a symlink left at its temporary path
source "$(dirname "$0")/lib.sh"
log_start=$(stat -c %s "$RV_LOG")
new_log() { tail -c +"$((log_start + 1))" "$RV_LOG"; }

db=rvhostile6
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
psql_db postgres <<'SQL' >/dev/null
DROP ROLE IF EXISTS s6_alice;
DROP ROLE IF EXISTS s6_mallory;
DROP ROLE IF EXISTS s6_dba;
CREATE ROLE s6_alice LOGIN;
CREATE ROLE s6_mallory LOGIN;
CREATE ROLE s6_dba LOGIN;
SQL
psql_db postgres -c "CREATE DATABASE $db" >/dev/null
psql_db "$db" <<'SQL' >/dev/null
SET ruvector.dag_enabled = off;
CREATE EXTENSION ruvector_dag CASCADE;
GRANT EXECUTE ON FUNCTION ruvector.dag_pin(text, text) TO s6_dba;
CREATE SCHEMA alice AUTHORIZATION s6_alice;
GRANT USAGE ON SCHEMA alice TO s6_mallory, s6_dba;
SET ROLE s6_alice;
CREATE TABLE alice.orders (id int PRIMARY KEY, cust int, amount int);
CREATE TABLE alice.customers (id int PRIMARY KEY, region int);
CREATE TABLE alice.secret (id int PRIMARY KEY, note text);
CREATE INDEX orders_cust ON alice.orders (cust);
INSERT INTO alice.customers SELECT i, i % 10 FROM generate_series(1, 2000) i;
INSERT INTO alice.orders SELECT i, 1 + i % 2000, i % 100 FROM generate_series(1, 20000) i;
INSERT INTO alice.secret SELECT i, 'n' || i FROM generate_series(1, 100) i;
ANALYZE alice.orders, alice.customers, alice.secret;
GRANT SELECT ON alice.orders, alice.customers TO s6_mallory, s6_dba;
RESET ROLE;
SQL
postmaster_start() { psql_db postgres -c "SELECT pg_postmaster_start_time()"; }
started=$(postmaster_start)
server_alive() {  # the postmaster was not restarted behind the test's back (no backend crashed)
  check "$1: the server did not restart" "$(postmaster_start)" "$started"
}
expect_error() {  # expect_error ROLE "SQL" "expected error message prefix"
  local got
  got=$(sql_error "$1" "$db" "$2")
  if [ -n "$got" ] && [[ $got == "$3"* ]]; then ok "$1: ${2:0:90} -> ERROR"; else
    not_ok "$1: ${2:0:90} (got '$got', expected '$3...')"; fi
}
join_q="SELECT count(*) FROM alice.orders o JOIN alice.customers c ON c.id = o.cust WHERE c.region = 3"

# --- 1. plan advice: who may pin, and hostile advice text -----------------------------------
for f in "dag_pin('$join_q', 'HASHJOIN(o c)')" "dag_unpin(1)" "dag_pins()"; do
  expect_error s6_mallory "SELECT ruvector.$f" "permission denied for function ${f%%(*}"
done
# A granted role pins only for statements it may run; what it may not read
# gives the same error whether an index name is right or not.
for idx in secret_pkey no_such_index; do
  expect_error s6_dba "SELECT ruvector.dag_pin('SELECT note FROM alice.secret s WHERE id = 1', 'INDEXSCAN(s $idx)')" \
    "permission denied for table secret"
done
expect_error s6_dba "SELECT ruvector.dag_pin('$join_q', 'INDEXSCAN(o secret_pkey)')" \
  "ruvector_dag: \"secret_pkey\" is not an index of relation \"o\" of the advice"
expect_error s6_dba "SELECT ruvector.dag_pin('$join_q', 'SET(ruvector.dag_debug_fault=pg_error)')" \
  "permission denied to set parameter \"ruvector.dag_debug_fault\""
expect_error s6_dba "SELECT ruvector.dag_pin('$join_q', 'SET(search_path=alice)')" \
  "ruvector_dag: \"search_path\" cannot be part of plan advice"
# Hostile grammar: huge, deeply nested, many relations, unknown and duplicate
# aliases, unicode, control characters.
many=$(python3 -c 'print("LEADING(" + " ".join("r%d" % i for i in range(10000)) + ")")')
expect_error s6_dba "SELECT ruvector.dag_pin('$join_q', '$many')" "ruvector_dag: advice is"
nested=$(python3 -c 'print("HASHJOIN" + "(" * 2000 + ")" * 2000)')
expect_error s6_dba "SELECT ruvector.dag_pin('$join_q', '$nested')" "ruvector_dag: invalid plan advice"
sixteen=$(python3 -c 'print("LEADING(" + " ".join("r%d" % i for i in range(17)) + ")")')
expect_error s6_dba "SELECT ruvector.dag_pin('$join_q', '$sixteen')" \
  "ruvector_dag: invalid plan advice: more than 16 relations in one item"
expect_error s6_dba "SELECT ruvector.dag_pin('$join_q', 'HASHJOIN(o o)')" \
  "ruvector_dag: invalid plan advice: relation named twice in one item"
expect_error s6_dba "SELECT ruvector.dag_pin('$join_q', 'NESTLOOP(o x)')" \
  "ruvector_dag: relation \"x\" of the advice is not a table of the query"
expect_error s6_dba "SELECT ruvector.dag_pin('$join_q', 'LEADING(o c) LEADING(c o)')" \
  "ruvector_dag: invalid plan advice: LEADING given twice"
expect_error s6_dba "SELECT ruvector.dag_pin('$join_q', 'HASHJOIN(o c) NO_HASHJOIN(c o)')" \
  "ruvector_dag: invalid plan advice: join method of the same relations given twice"
expect_error s6_dba "SELECT ruvector.dag_pin('$join_q', 'SEQSCAN(\"ö\")')" \
  "ruvector_dag: relation \"ö\" of the advice is not a table of the query"
expect_error s6_dba "SELECT ruvector.dag_pin('$join_q', E'SEQSCAN(\"o\\tx\")')" \
  "ruvector_dag: invalid plan advice: control character in a quoted relation name"
expect_error s6_dba "SELECT ruvector.dag_pin('$join_q', 'SET(work_mem=''64MB'')' || repeat(' ', 5000))" \
  "ruvector_dag: advice is 5020 bytes; at most 4096"
server_alive "hostile advice"

# A hint the planner cannot carry out (no bitmap path without a usable index
# condition) never reaches another role's statement as an error.
bad_q="SELECT count(*) FROM alice.customers c WHERE c.region = 5"
psql_db "$db" -c "SELECT ruvector.dag_pin('$bad_q', 'BITMAPSCAN(c)')" >/dev/null
check "an impossible hint: mallory's statement runs with its right result" "$(psql_as s6_mallory "$db" -c "$bad_q" 2>&1)" 200
check "an impossible hint: EXPLAIN says the re-planning failed" \
  "$(psql_as s6_mallory "$db" -c "EXPLAIN $bad_q" | grep -c 're-planning failed' || true)" 1

# Pinned advice with quoted names (unicode, spaces, quotes) and quoted values
# survives a restart and still applies.
uq="SELECT count(*) FROM alice.orders AS \"Ördërs x\" JOIN alice.customers AS \"c \"\"q\"\"\" ON \"c \"\"q\"\"\".id = \"Ördërs x\".cust WHERE \"c \"\"q\"\"\".region = 4"
uq_sql=${uq//\'/\'\'}
pinned=$(psql_as s6_dba "$db" -c "SELECT ruvector.dag_pin('$uq_sql', 'SET(work_mem=''64 MB'') INDEXSCAN(\"Ördërs x\" orders_cust) NESTLOOP(\"c \"\"q\"\"\" \"Ördërs x\") LEADING(\"c \"\"q\"\"\" \"Ördërs x\")')" 2>&1 || true)
check "advice with unicode and quoted names is pinned" "$pinned" \
  "SET(work_mem='64 MB') INDEXSCAN(\"Ördërs x\" orders_cust) NESTLOOP(\"c \"\"q\"\"\" \"Ördërs x\") LEADING(\"c \"\"q\"\"\" \"Ördërs x\")"
explain_has_advice() {
  psql_as s6_mallory "$db" -c "EXPLAIN $uq" | grep -c "Plan Advice: SET(work_mem='64 MB') INDEXSCAN" || true
}
check "the advice applies to another role's run of the query" "$(explain_has_advice)" 1

# --- 2. files in $PGDATA that are not regular files ----------------------------------------
# The state and steering files are read by the postmaster at start, the
# learner file by the worker: a FIFO there would block them for good (opening
# one for reading waits for a writer), a device would be read until the size
# limit. They are refused unread, with a WARNING; the next save replaces them.
psql_db "$db" -c "SELECT ruvector.dag_save_state()" >/dev/null
saved=$RV_DATA/s6_saved  # (the data directory is the server user's)
"${rv_as_pg[@]}" mkdir -p "$saved"
pg_ctl_rv stop
for f in ruvector_dag.state ruvector_dag.steering ruvector_dag.learner; do
  if [ -e "$RV_DATA/$f" ]; then "${rv_as_pg[@]}" mv "$RV_DATA/$f" "$saved/$f"; fi
done
fifos=("$RV_DATA/ruvector_dag.state" "$RV_DATA/ruvector_dag.learner")
release_fifos() {  # a reader still blocked on a FIFO gets end-of-file
  for p in "${fifos[@]}"; do
    if [ -p "$p" ]; then timeout 2 bash -c ": > '$p'" 2>/dev/null || true; fi
  done
}
restore_files() {
  release_fifos
  "${rv_as_pg[@]}" "$RV_BINDIR/pg_ctl" -D "$RV_DATA" -m fast -t 30 stop >/dev/null 2>&1 || true
  release_fifos
  for f in ruvector_dag.state ruvector_dag.steering ruvector_dag.learner; do
    "${rv_as_pg[@]}" rm -rf "${RV_DATA:?}/$f"
    if [ -e "$saved/$f" ]; then "${rv_as_pg[@]}" mv "$saved/$f" "$RV_DATA/$f"; fi
  done
  "${rv_as_pg[@]}" rmdir "$saved" 2>/dev/null || true
  pg_ctl_rv start || true
}
trap restore_files EXIT
for p in "${fifos[@]}"; do "${rv_as_pg[@]}" mkfifo -m 600 "$p"; done
"${rv_as_pg[@]}" ln -s /dev/zero "$RV_DATA/ruvector_dag.steering"
if "${rv_as_pg[@]}" "$RV_BINDIR/pg_ctl" -D "$RV_DATA" -l "$RV_LOG" -w -t 30 start >/dev/null 2>&1 && wait_ready; then
  ok "the server starts with a FIFO as its state file and /dev/zero as its steering file"
  started=$(postmaster_start)
else
  not_ok "the server starts with a FIFO as its state file and /dev/zero as its steering file"
  release_fifos
  wait_ready || true
  started=$(postmaster_start 2>/dev/null || echo "")
fi
for f in ruvector_dag.state ruvector_dag.steering; do
  check "$f that is not a regular file is refused unread" \
    "$(new_log | grep -c "ignoring \"$f\": it is not a regular file" || true)" 1
done
check "dag_status() reports the state file as corrupt" \
  "$(psql_db "$db" -c "SELECT state_file FROM ruvector.dag_status()" 2>/dev/null || true)" corrupt
# dag_learn_now warns when the worker did not run a pass within 10 s.
learned=$(timeout 30 "$RV_BINDIR/psql" -X -q -h "$RV_HOST" -p "$RV_PORT" -U postgres -d "$db" -At \
  -c "SELECT ruvector.dag_learn_now()" 2>&1 || true)
if [[ $learned == *WARNING* || -z $learned ]]; then
  not_ok "the worker learns beside a FIFO learner file ($learned)"
else
  ok "the worker learns beside a FIFO learner file"
fi
check "the learner file that is a FIFO is refused unread" \
  "$(new_log | grep -c "ignoring \"ruvector_dag.learner\": it is not a regular file" || true)" 1
check "dag_save_state() replaces the FIFO by a state file" \
  "$(psql_db "$db" -c "SELECT ruvector.dag_save_state()" 2>/dev/null || true)|$([ -f "$RV_DATA/ruvector_dag.state" ] && [ ! -p "$RV_DATA/ruvector_dag.state" ] && echo regular)" \
  "t|regular"
server_alive "files that are not regular files"
trap - EXIT
restore_files
wait_ready || true

# The pinned advice was saved in the steering file before: it is back.
check "the pinned advice is back after the restart" \
  "$(psql_db "$db" -c "SELECT advice FROM ruvector.dag_pins() WHERE advice LIKE 'SET%'")" "$pinned"
check "and still applies" "$(explain_has_advice)" 1
check "no steering line was refused" "$(new_log | grep -c 'ignoring "ruvector_dag.steering": bad' || true)" 0

# --- 3. a symlink at the temporary path of a save ------------------------------------------
# The postmaster saves the state at a clean shutdown through
# ruvector_dag.state.tmp.<its pid>: a symlink there to another file must be
# replaced, never written through (it would overwrite that file and leave the
# state file a symlink to it).
victim=$RV_DATA/s6_victim
printf precious | "${rv_as_pg[@]}" tee "$victim" >/dev/null
postmaster_pid=$(head -1 "$RV_DATA/postmaster.pid")
"${rv_as_pg[@]}" ln -s "$victim" "$RV_DATA/ruvector_dag.state.tmp.$postmaster_pid"
pg_ctl_rv restart
wait_ready || true
check "a save through a symlinked temporary path leaves the other file alone" "$(cat "$victim")" precious
check "and writes a regular state file" \
  "$([ -f "$RV_DATA/ruvector_dag.state" ] && [ ! -L "$RV_DATA/ruvector_dag.state" ] && echo regular)" regular
check "which the restart loaded" "$(psql_db "$db" -c "SELECT state_file FROM ruvector.dag_status()")" loaded
"${rv_as_pg[@]}" rm -f "$victim" "$RV_DATA/ruvector_dag.state.tmp.$postmaster_pid"

done_testing
