#!/usr/bin/env bash
# The newer surface under attack by a plain role (docs/postgres.md, "Security
# model"): pattern sync (qudag_*, ruvector.sync_*, the files in $PGDATA),
# row corrections, attention, vector tuning and the explorer's vector
# samples. A table owner `hn_alice`, a plain login role `hn_mallory`.
#   - a NATS password in ruvector.sync_nats_urls (a superuser-only setting)
#     reaches nobody through qudag_status() (nats_url, last_error) or the log
#   - a peers file that is not a regular file (a FIFO) is refused with a
#     clear error; the worker never blocks on it and keeps learning
#   - every newer function survives NULL, huge, negative and NaN arguments
#     from a plain role, and the server-wide ones stay refused to it
#   - another role's vector tuning and row corrections stay invisible
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

db=rvhostile
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
psql_db postgres <<'SQL' >/dev/null
DROP ROLE IF EXISTS hn_alice;
DROP ROLE IF EXISTS hn_mallory;
CREATE ROLE hn_alice LOGIN;
CREATE ROLE hn_mallory LOGIN;
SQL
psql_db postgres -c "CREATE DATABASE $db" >/dev/null
psql_db "$db" <<'SQL' >/dev/null
SET ruvector.dag_enabled = off;
CREATE EXTENSION ruvector_dag CASCADE;
GRANT CREATE ON SCHEMA public TO hn_mallory;
CREATE SCHEMA alice AUTHORIZATION hn_alice;
GRANT USAGE ON SCHEMA alice TO hn_mallory;
SET ROLE hn_alice;
CREATE TABLE alice.items (id int PRIMARY KEY, grp int, v ruvector(8));
INSERT INTO alice.items SELECT i, i % 50, random_vector(8, i) FROM generate_series(1, 5000) i;
CREATE INDEX items_v ON alice.items USING ruhnsw (v ruvector_l2_ops) WITH (m = 8, ef_construction = 32);
ANALYZE alice.items;
RESET ROLE;
SQL
postmaster_start=$(psql_db postgres -c "SELECT pg_postmaster_start_time()")
server_alive() {  # the postmaster was never restarted (no backend crashed)
  check "$1: the server did not restart" "$(psql_db postgres -c "SELECT pg_postmaster_start_time()")" "$postmaster_start"
}

# --- 1. pattern sync: a NATS password stays with those who may read the setting --------------
password=Hn7Secret42
reset_sync() {
  psql_db postgres -c "ALTER SYSTEM RESET ruvector.sync_enabled" -c "ALTER SYSTEM RESET ruvector.sync_nats_urls" \
    -c "ALTER SYSTEM RESET ruvector.sync_min_interval" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
}
nats_pid=""
fifo=""
cleanup() {
  # A worker blocked opening the FIFO is released by a writer.
  if [ -n "$fifo" ] && [ -p "$fifo" ]; then timeout 2 bash -c ": > '$fifo'" 2>/dev/null || true; rm -f "$fifo"; fi
  if [ -n "$nats_pid" ]; then kill "$nats_pid" 2>/dev/null || true; fi
  reset_sync
}
trap cleanup EXIT
sync_state() { psql_db "$db" -c "SELECT $1 FROM ruvector.qudag_status()" 2>/dev/null || true; }
wait_sync() {  # EXPR: until EXPR over qudag_status() is true, at most 60 s
  for _ in $(seq 1 120); do
    [ "$(sync_state "$1")" = t ] && return 0
    sleep 0.5
  done
  return 1
}
set_urls() {
  psql_db postgres -c "ALTER SYSTEM SET ruvector.sync_nats_urls = '$1'" -c "ALTER SYSTEM SET ruvector.sync_enabled = on" \
    -c "ALTER SYSTEM SET ruvector.sync_min_interval = 1" -c "SELECT pg_reload_conf()" >/dev/null
}
wait_check() {  # wait_check "description" EXPR: EXPR over qudag_status() becomes true within 60 s
  if wait_sync "$2"; then ok "$1"; else not_ok "$1 ($(sync_state "state || ': ' || coalesce(last_error, '')"))"; fi
}
hides_password() {  # hides_password COLUMN: what a plain role reads of the sync status holds no password
  local seen
  seen=$(psql_as hn_mallory "$db" -c "SELECT coalesce(nats_url, '') || ' ' || coalesce(last_error, '') FROM ruvector.qudag_status()")
  if [[ $seen == *"$password"* ]]; then not_ok "$1 hides the NATS password from a plain role ($seen)"; else
    ok "$1 hides the NATS password from a plain role"; fi
}

if ! command -v nats-server >/dev/null; then
  echo "# nats-server is not installed (scripts/setup.sh installs it): pattern sync checks skipped"
else
  check "a plain role cannot read ruvector.sync_nats_urls" \
    "$(sql_error hn_mallory postgres "SHOW ruvector.sync_nats_urls")" \
    'must be superuser or have privileges of pg_read_all_settings to examine "ruvector.sync_nats_urls"'
  # No server listens on port 1: the connection error names the URL.
  log_from=$(($(stat -c %s "$RV_LOG") + 1))
  set_urls "nats://ruv:$password@127.0.0.1:1"
  wait_check "a connection error is reported" "last_error LIKE '%127.0.0.1:1%'"
  hides_password last_error

  # A NATS server with a user and password.
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$RV_WORK/nats_auth"
  nice -n 19 nats-server -a 127.0.0.1 -p "$port" -js -sd "$RV_WORK/nats_auth" --user ruv --pass "$password" \
    >"$RV_WORK/nats_auth/log" 2>&1 &
  nats_pid=$!
  for _ in $(seq 1 100); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
  set_urls "nats://ruv:$password@127.0.0.1:$port"
  wait_check "sync connects with the password" "connected AND nats_url LIKE '%:$port'"
  hides_password nats_url
  check "nats_url shows that credentials are used" "$(sync_state nats_url)" "nats://***@127.0.0.1:$port"
  # (PostgreSQL itself logs a reloaded setting's new value; the extension's lines must not.)
  check "the extension's log lines hold no NATS password" "$(tail -c +"$log_from" "$RV_LOG" | grep "ruvector_dag" | grep -c "$password" || true)" 0

  # --- 2. a peers file that is a FIFO: refused, the worker does not block -------------------
  peers=$RV_DATA/ruvector_sync.peers
  if [ -e "$peers" ]; then "${rv_as_pg[@]}" mv "$peers" "$RV_WORK/peers.saved"; fi
  wait_sync "state = 'running'" || true
  fifo=$peers
  "${rv_as_pg[@]}" mkfifo -m 600 "$fifo"
  wait_check "a peers file that is a FIFO is refused" "state = 'error' AND last_error LIKE '%peers%not a regular file%'"
  # dag_learn_now warns when the worker did not run a pass within 10 s.
  learned=$(timeout 30 "$RV_BINDIR/psql" -X -q -h "$RV_HOST" -p "$RV_PORT" -U postgres -d "$db" -At \
    -c "SELECT ruvector.dag_learn_now()" 2>&1 || true)
  if [[ $learned == *WARNING* || -z $learned ]]; then
    not_ok "the worker keeps learning beside a FIFO peers file ($learned)"
  else
    ok "the worker keeps learning beside a FIFO peers file"
  fi
  timeout 2 bash -c ": > '$fifo'" 2>/dev/null || true
  rm -f "$fifo"
  fifo=""
  if [ -e "$RV_WORK/peers.saved" ]; then "${rv_as_pg[@]}" mv "$RV_WORK/peers.saved" "$peers"; fi
  reset_sync
  wait_sync "state = 'disabled'" || true
  kill "$nats_pid" 2>/dev/null || true
  wait "$nats_pid" 2>/dev/null || true
  nats_pid=""
  server_alive "pattern sync"
fi

# --- 3. dag_auto_repair: an operator planted in a schema of the caller's search_path ---------
# mallory (CREATE on public, which is in everyone's default search_path) adds
# "<"(real, integer): an exact match beats pg_catalog's real < float8, so an
# unqualified "reltuples < 0" in a statement the extension runs for its
# caller would call it -- as alice, or as a superuser.
psql_as hn_mallory "$db" <<'SQL' >/dev/null
CREATE FUNCTION public.hn_lt(real, integer) RETURNS bool LANGUAGE plpgsql AS $$
BEGIN
  IF current_user <> 'hn_mallory' THEN
    RAISE WARNING 'hn_hijack ran as %', current_user;
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
      EXECUTE 'ALTER ROLE hn_mallory SUPERUSER';
    END IF;
  END IF;
  RETURN $1::float8 < $2::float8;
END $$;
CREATE OPERATOR public.< (LEFTARG = real, RIGHTARG = integer, FUNCTION = public.hn_lt);
SQL
psql_as hn_alice "$db" -c "CREATE TABLE alice.fresh AS SELECT i FROM generate_series(1, 500) i" >/dev/null
psql_db "$db" -c "SELECT pg_stat_force_next_flush()" >/dev/null
for role in hn_alice postgres; do
  out=$(psql_as "$role" "$db" -c "SELECT target FROM ruvector.dag_auto_repair() WHERE origin = 'auto_repair' ORDER BY 1" 2>&1 || true)
  if [[ $out == *hn_hijack* ]]; then not_ok "dag_auto_repair as $role runs no operator of another role ($(echo "$out" | grep -m1 hn_hijack))"; else
    ok "dag_auto_repair as $role runs no operator of another role"; fi
done
check "mallory did not become a superuser" "$(psql_db "$db" -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'hn_mallory'")" f
check "dag_auto_repair analyzed alice's stale table (schema-qualified)" \
  "$(psql_db "$db" -c "SELECT count(*) FROM ruvector.dag_repair_history(100) WHERE action = 'ANALYZE alice.fresh' AND outcome = 'succeeded'")" 1
check "the caller's search_path is back after dag_auto_repair" \
  "$(psql_as hn_alice "$db" -c "SET search_path = alice, public" -c "SELECT count(*) >= 0 FROM ruvector.dag_auto_repair()" -c "SHOW search_path")" \
  "$(printf 't\nalice, public')"
psql_db "$db" -c "ALTER ROLE hn_mallory NOSUPERUSER" -c "DROP OPERATOR public.< (real, integer)" -c "DROP FUNCTION public.hn_lt(real, integer)" >/dev/null
# From here on mallory creates in a schema of her own: the explorer explores
# no statement whose search_path has a schema she may create in (public so far).
psql_db "$db" -c "REVOKE CREATE ON SCHEMA public FROM hn_mallory" -c "CREATE SCHEMA hn_m AUTHORIZATION hn_mallory" >/dev/null
server_alive "dag_auto_repair"

# --- 4. vector tuning: whose statements, as whom, seen by whom ----------------------------------
knn() { echo "SELECT id FROM alice.items ORDER BY v <-> random_vector(8, $1) LIMIT 10"; }
for i in $(seq 1 12); do psql_as hn_alice "$db" -c "$(knn "$i")" >/dev/null; done
# A superuser's vector search through a function mallory owns (and could replace later).
psql_as hn_mallory "$db" -c "CREATE FUNCTION hn_m.hn_vec(int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS 'SELECT random_vector(8, \$1)'" >/dev/null
for i in $(seq 1 8); do psql_db "$db" -c "SELECT id FROM alice.items ORDER BY v <-> hn_m.hn_vec($i) LIMIT 10" >/dev/null; sleep 0.2; done
learn_now "$db"
check "alice's vector pattern is tuned (dag_vector_tuning shows it to her)" \
  "$(psql_as hn_alice "$db" -c "SELECT count(DISTINCT pattern_id) >= 1 FROM ruvector.dag_vector_tuning()")" t
check "mallory sees no vector tuning of others" "$(psql_as hn_mallory "$db" -c "SELECT count(*) FROM ruvector.dag_vector_tuning()")" 0
check "mallory sees no vector decision of others" \
  "$(psql_as hn_mallory "$db" -c "SELECT count(*) FROM ruvector.dag_decisions() WHERE vector_search IS NOT NULL")" 0
check "mallory sees no row corrections of others" "$(psql_as hn_mallory "$db" -c "SELECT count(*) FROM ruvector.dag_row_corrections()")" 0
check "mallory sees no captured statement of others" \
  "$(psql_as hn_mallory "$db" -c "SELECT count(*) FROM ruvector.dag_captured_statements() WHERE role <> 'hn_mallory'")" 0
check "a superuser's vector search through mallory's function is never re-executed (exact search included)" \
  "$(psql_db "$db" -c "SELECT bool_and(NOT explorable AND refusal LIKE '%hn_vec%') FROM ruvector.dag_captured_statements() WHERE query LIKE '%hn_vec%'")" t

# --- 5. hostile arguments from a plain role ------------------------------------------------------
expect_error() {  # expect_error ROLE "SQL" "expected error message prefix"
  local got
  got=$(sql_error "$1" "$db" "$2")
  if [ -n "$got" ] && [[ $got == "$3"* ]]; then ok "$1: $2 -> ERROR"; else not_ok "$1: $2 (got '$got', expected '$3...')"; fi
}
for f in "dag_set_attention('topological')" "qudag_sync_now()" "dag_reset_learning()" "dag_pin(0, 'default')"; do
  expect_error hn_mallory "SELECT ruvector.$f" "permission denied for function ${f%%(*}"
done
for g in dag_vector_recall_target sync_enabled sync_epsilon sync_max_patterns sync_node_name dag_pattern_share \
         dag_learning_rate sona_micro_lora_rank sona_ewc_lambda sona_pattern_clusters; do
  expect_error hn_mallory "SET ruvector.$g = 1" "parameter \"ruvector.$g\" cannot be changed now"
done
expect_error hn_mallory "ALTER SYSTEM SET ruvector.sync_enabled = on" "permission denied to set parameter \"ruvector.sync_enabled\""
expect_error hn_mallory "SELECT count(*) FROM ruvector.dag_learning_events(-1)" "ruvector_dag: max_rows must be >= 0"
expect_error hn_mallory "SELECT count(*) FROM ruvector._dag_trajectory_history(2147483647)" "ruvector_dag: max_rows 2147483647 is outside"
expect_error hn_mallory "SET ruvector.dag_row_sample_rate = 'NaN'" "invalid value for parameter \"ruvector.dag_row_sample_rate\""
# The ruvector aggregates' support functions take any float8[] state: a count
# that no aggregate produces (negative, fractional, NaN) is refused.
expect_error hn_mallory "SELECT ruvector_avg('{-1,1}')" "ruvector aggregate: malformed state array (count -1)"
expect_error hn_mallory "SELECT ruvector_accum('{1.5,1}', '[1]')" "ruvector aggregate: malformed state array (count 1.5)"
expect_error hn_mallory "SELECT ruvector_combine('{NaN,1}', '{1,2}')" "ruvector aggregate: malformed state array (count NaN)"
check "a state with a whole count still finishes" "$(psql_as hn_mallory "$db" -c "SELECT ruvector_avg('{2,4,6}')")" "[2,3]"
for q in "dag_attention_status()" "dag_vector_tuning()" "dag_row_corrections()" "dag_row_correction_status()" \
    "dag_learning_events(2147483647)" "dag_anomalies(2147483647)" "qudag_status()" "qudag_peers()" "qudag_proposals()" \
    "qudag_votes()" "qudag_reputation()" "qudag_privacy_budget()"; do
  check "mallory: $q answers" "$(psql_as hn_mallory "$db" -c "SELECT count(*) >= 0 FROM ruvector.$q")" t
done
server_alive "hostile arguments"

done_testing
