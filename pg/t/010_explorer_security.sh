#!/usr/bin/env bash
# The background explorer's re-execution rule (docs/postgres.md, "What the
# explorer re-executes"): it never runs code that a less-privileged role can
# change after capture, it replays the captured search_path, and a replay
# that no longer means the captured statement is refused for good.
#
# Attacks, each of which made the explorer run the wrong code before:
#   1. a superuser's statement calls a STABLE function owned by mallory, who
#      then makes it call a VOLATILE one writing a file as the superuser;
#   2. a superuser-owned function is replaced by mallory (schema owner) right
#      after the statement was captured;
#   3. a view owned by mallory; a foreign table;
#   4. `SET search_path = s1, public`: the explorer re-ran `t_sp` against
#      public.t_sp; and a table created later earlier in the path must not be
#      read either (the replay no longer matches the captured query id);
#   5. re-execution runs as a security-restricted operation (no SET ROLE);
#   6. (robustness) timeouts under load no longer retire arms for good;
#   7. a built-in that runs SQL of its own (table_to_xml of mallory's view),
#      and another role's domain in a column definition list, in XMLTABLE's
#      COLUMNS or in a column of a trusted composite type;
#   8. statements of DO blocks and (SECURITY DEFINER) procedures were
#      captured as top-level statements;
#   9. a statement that catches its timeout's cancel held the explorer (and
#      every role's budget) until the worker's deadline;
#  10. a type input function called directly (domain_in, array_in with a
#      type given as a value), and a search_path with a schema another role
#      can create in (an inlined SQL function's body resolves names there);
#  11. a multirange over another role's domain; contrib's crosstab; and the
#      capture check's own analysis, which crashed the server when a literal
#      of a domain ran an SQL function.
source "$(dirname "$0")/lib.sh"

db=rvsec
marker=$RV_WORK/pwned
rm -f "$marker"
psql_db postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
psql_db "$db" <<SQL >/dev/null
CREATE EXTENSION ruvector_dag CASCADE;
DROP ROLE IF EXISTS mallory;
CREATE ROLE mallory LOGIN;
CREATE SCHEMA shared AUTHORIZATION mallory;
CREATE TABLE sec_t (id int PRIMARY KEY, g int, v int);
INSERT INTO sec_t SELECT i, i % 100, i % 7 FROM generate_series(1, 200000) i;
CREATE TABLE sec_u (id int PRIMARY KEY, t_id int, w int);
INSERT INTO sec_u SELECT i, 1 + (i * 37) % 200000, i % 11 FROM generate_series(1, 100000) i;
CREATE INDEX sec_u_t ON sec_u (t_id);
ANALYZE sec_t, sec_u;
GRANT SELECT ON sec_t TO mallory;
-- A superuser-owned function in mallory's schema (trusted until replaced).
CREATE FUNCTION shared.fmt2_k(k int) RETURNS text LANGUAGE plpgsql STABLE AS \$\$ BEGIN RETURN 'k' || k; END \$\$;
SET ROLE mallory;
CREATE FUNCTION shared.evil() RETURNS int LANGUAGE plpgsql VOLATILE AS \$\$
BEGIN
  COPY (SELECT current_user) TO PROGRAM 'cat >> $marker';
  RETURN 1;
END \$\$;
CREATE FUNCTION shared.fmt_k(k int) RETURNS text LANGUAGE plpgsql STABLE AS \$\$ BEGIN RETURN 'k' || k; END \$\$;
CREATE VIEW shared.v_sec AS SELECT g, v FROM public.sec_t WHERE id % 10 = 0;
RESET ROLE;
SQL

status() { quiet "$db" "SELECT $1 FROM ruvector.dag_exploration_status()"; }
capture_field() {  # capture_field FIELD LIKE-pattern-of-the-query
  quiet "$db" "SELECT $1 FROM ruvector.dag_captured_statements() WHERE database = '$db' AND query LIKE '$2'
               ORDER BY captured_at DESC LIMIT 1"
}
wait_for() {  # wait_for SQL-condition [seconds]: "yes" once it holds
  local tries=$((${2:-30} * 4))
  for _ in $(seq 1 "$tries"); do
    learn_now "$db"
    if [ "$(quiet "$db" "SELECT ($1)")" = t ]; then echo yes; return; fi
    sleep 0.25
  done
  echo no
}
# run_until_captured SQL LIKE-pattern [SEARCH_PATH [ROLE]]: runs SQL (as ROLE,
# postgres by default, under SEARCH_PATH when given) until the learner wants
# it explored and the executor hook captured it (20 tries).
run_until_captured() {
  for _ in $(seq 1 20); do
    psql_as "${4:-postgres}" "$db" -c "SET search_path = ${3:-\"\$user\", public}" -c "$1" >/dev/null
    learn_now "$db"
    [ -n "$(capture_field pattern_id "$2")" ] && return 0
  done
  return 1
}

# --- 1. a function owned by another role: refused at capture ----------------------
q1="SELECT count(*), sum(v), max(shared.fmt_k(g)) FROM sec_t WHERE id % 1000 = 0"
run_until_captured "$q1" '%shared.fmt_k%' || true
check "untrusted function: the statement is captured but not explorable" \
  "$(capture_field explorable '%shared.fmt_k%')" f
check "untrusted function: the refusal names the function and its owner" \
  "$(capture_field "refusal LIKE '%fmt_k%owned by a role%'" '%shared.fmt_k%')" t
# mallory now makes her (still STABLE) function call her VOLATILE one when a
# superuser runs it; the superuser does not run the statement again.
psql_as mallory "$db" <<'SQL' >/dev/null
CREATE OR REPLACE FUNCTION shared.fmt_k(k int) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN PERFORM shared.evil(); END IF;
  RETURN 'k' || k;
END $$;
SQL

# --- 2. a trusted function handed to mallory after capture: refused at re-execution -------
q2="SELECT t.g, count(*), max(shared.fmt2_k(t.g)) FROM sec_t t JOIN sec_u u ON u.t_id = t.id WHERE t.g < 3 GROUP BY t.g"
psql_db "$db" -c "$q2" >/dev/null
learn_now "$db"
runs_before=$(status runs)
# Captured, then handed over and replaced, in one transaction: whatever the
# explorer runs after the commit finds mallory's code (same function, so the
# same query id: only the ownership check can tell). Each try starts from
# the superuser's harmless version, so no user run executes mallory's code.
for _ in $(seq 1 10); do
  psql_db "$db" <<SQL >/dev/null
BEGIN;
CREATE OR REPLACE FUNCTION shared.fmt2_k(k int) RETURNS text LANGUAGE plpgsql STABLE AS \$\$ BEGIN RETURN 'k' || k; END \$\$;
ALTER FUNCTION shared.fmt2_k(int) OWNER TO postgres;
$q2;
ALTER FUNCTION shared.fmt2_k(int) OWNER TO mallory;
SET LOCAL ROLE mallory;
CREATE OR REPLACE FUNCTION shared.fmt2_k(k int) RETURNS text LANGUAGE plpgsql STABLE AS \$\$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN PERFORM shared.evil(); END IF;
  RETURN 'k' || k;
END \$\$;
COMMIT;
SQL
  [ -n "$(capture_field pattern_id '%shared.fmt2_k%')" ] && break
  learn_now "$db"
done
check "replaced function: the explorer refuses it at re-execution" \
  "$(wait_for "EXISTS (SELECT 1 FROM ruvector.dag_captured_statements() WHERE query LIKE '%shared.fmt2_k%'
               AND NOT explorable AND refusal LIKE '%fmt2_k%owned by a role%')")" yes

# --- 3. a view owned by another role; a foreign table ---------------------------------
q3="SELECT g, count(*), sum(v) FROM shared.v_sec WHERE g < 50 GROUP BY g"
run_until_captured "$q3" '%shared.v_sec%' || true
check "untrusted view: refused at capture" \
  "$(capture_field "NOT explorable AND refusal LIKE '%v_sec%owned by a role%'" '%shared.v_sec%')" t
csv=$RV_WORK/ft.csv
seq 1 20000 >"$csv"
chmod 644 "$csv"
psql_db "$db" <<SQL >/dev/null
CREATE EXTENSION IF NOT EXISTS file_fdw;
CREATE SERVER sec_files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE sec_ft (a int) SERVER sec_files OPTIONS (filename '$csv', format 'csv');
SQL
q4="SELECT count(*), sum(a) FROM sec_ft WHERE a % 3 = 0"
run_until_captured "$q4" '%sec_ft%' || true
check "foreign table: refused at capture" \
  "$(capture_field "NOT explorable AND refusal LIKE '%foreign table sec_ft%'" '%sec_ft%')" t

# --- 5. re-execution is a security-restricted operation ----------------------------------
# A trusted (superuser-owned) function that changes the role: fine for the
# user, refused inside the explorer's security-restricted operation (as in
# REFRESH MATERIALIZED VIEW), which marks the statement not explorable. The
# statement joins, so that candidate arms change its plan (an arm whose plan
# is the default plan is planned only, never executed).
psql_db "$db" <<'SQL' >/dev/null
CREATE FUNCTION public.sro_probe(k int) RETURNS int LANGUAGE plpgsql STABLE AS $$
BEGIN
  PERFORM set_config('role', 'postgres', true);
  RETURN k;
END $$;
SQL
q7="SELECT count(*), sum(public.sro_probe(t.g)) FROM sec_t t JOIN sec_u u ON u.t_id = t.id WHERE t.id % 500 = 0"
run_until_captured "$q7" '%sro_probe%' || true
check "security-restricted: the statement was trusted at capture" \
  "$(capture_field "refusal IS NULL OR refusal LIKE '%security-restricted%'" '%sro_probe%')" t
check "security-restricted: the explorer cannot change its role" \
  "$(wait_for "EXISTS (SELECT 1 FROM ruvector.dag_captured_statements() WHERE query LIKE '%sro_probe%'
               AND NOT explorable AND refusal LIKE '%within security-restricted operation%')")" yes

# --- 4. the session's search_path --------------------------------------------------
psql_db "$db" <<'SQL' >/dev/null
CREATE SCHEMA s1;
CREATE SCHEMA s2;
CREATE TABLE s1.t_sp (id int PRIMARY KEY, g int, v int);
INSERT INTO s1.t_sp SELECT i, i % 50, i FROM generate_series(1, 100000) i;
CREATE TABLE public.t_sp (id int PRIMARY KEY, g int, v int);
INSERT INTO public.t_sp SELECT i, i % 5, -i FROM generate_series(1, 3000) i;
CREATE TABLE public.t_sp_dim (g int PRIMARY KEY, label text);
INSERT INTO public.t_sp_dim SELECT i, 'g' || i FROM generate_series(0, 49) i;
ANALYZE s1.t_sp, public.t_sp, public.t_sp_dim;
SQL
q5="SELECT d.label, count(*), sum(t.v) FROM t_sp t JOIN t_sp_dim d ON d.g = t.g WHERE t.id % 4 = 0 GROUP BY d.label"
public_qid=$(psql_db "$db" -c "SET ruvector.dag_enabled = off" -c "SET search_path = public, s1" \
  -c "EXPLAIN (VERBOSE, COSTS OFF) $q5" | sed -n 's/^Query Identifier: //p')
run_until_captured "$q5" '%t_sp_dim%' 's1, public' || true
check "search_path: the capture keeps the session's resolved path" \
  "$(capture_field search_path '%t_sp_dim%')" "s1, public"
s1_qid=$(capture_field query_id '%t_sp_dim%')
check "search_path: the explorer re-executes the statement" \
  "$(wait_for "(SELECT count(*) FROM ruvector.dag_trajectory_history(NULL, 4096)
               WHERE query_id = ${s1_qid:-0} AND steering <> 'serve') > 0")" yes
check "search_path: the explorer never ran the statement against public.t_sp" \
  "$(quiet "$db" "SELECT count(*) FROM ruvector.dag_trajectory_history(NULL, 4096) WHERE query_id = ${public_qid:-0}")" 0
check "search_path: the statement stays explorable" "$(capture_field explorable '%t_sp_dim%')" t

# A table created earlier in the captured path after capture: the replay
# would read it, so it no longer matches the captured statement.
q6="SELECT max(t.v), count(*) FROM t_sp t WHERE t.g IN (SELECT g FROM t_sp_dim WHERE label LIKE 'g1%')"
psql_db "$db" -c "SET search_path = s2, s1, public" -c "$q6" >/dev/null
learn_now "$db"
for _ in $(seq 1 10); do
  psql_db "$db" <<SQL >/dev/null
BEGIN;
SET LOCAL search_path = s2, s1, public;
$q6;
CREATE TABLE IF NOT EXISTS s2.t_sp (id int PRIMARY KEY, g int, v int);
COMMIT;
SQL
  [ -n "$(capture_field pattern_id '%label LIKE%')" ] && break
  psql_db "$db" -c "DROP TABLE IF EXISTS s2.t_sp" >/dev/null
  learn_now "$db"
done
check "search_path: a statement that now resolves elsewhere is refused (replay no longer matches)" \
  "$(wait_for "EXISTS (SELECT 1 FROM ruvector.dag_captured_statements() WHERE query LIKE '%label LIKE%'
               AND NOT explorable AND refusal LIKE 'replay no longer matches%')")" yes
s2_qid=$(psql_db "$db" -c "SET ruvector.dag_enabled = off" -c "SET search_path = s2, s1, public" \
  -c "EXPLAIN (VERBOSE, COSTS OFF) $q6" | sed -n 's/^Query Identifier: //p')
check "search_path: the table created later was never read" \
  "$(quiet "$db" "SELECT count(*) FROM ruvector.dag_trajectory_history(NULL, 4096) WHERE query_id = ${s2_qid:-0}")" 0
q6_qid=$(capture_field query_id '%label LIKE%')
explore_runs() {
  quiet "$db" "SELECT count(*) FROM ruvector.dag_trajectory_history(NULL, 4096)
               WHERE query_id = ${q6_qid:-0} AND steering <> 'serve'"
}
before=$(explore_runs)
sleep 2
learn_now "$db"
check "search_path: the refused statement is not re-run" "$(explore_runs)" "$before"

# --- 6. timeouts under load are lower bounds, and exploration resumes after the load ------
# The "load": the table is locked while the explorer explores, so its runs
# wait until their timeouts (which cover analysis and planning) cancel them:
# censored runs. The arms they retire are retried once users ran the
# statement 64 more times, and then complete.
psql_db "$db" <<'SQL' >/dev/null
CREATE TABLE ld_t (id int PRIMARY KEY, g int, v int);
INSERT INTO ld_t SELECT i, i % 40, i % 9 FROM generate_series(1, 60000) i;
CREATE TABLE ld_u (id int PRIMARY KEY, t_id int, w int);
INSERT INTO ld_u SELECT i, 1 + (i * 13) % 60000, i % 5 FROM generate_series(1, 30000) i;
ANALYZE ld_t, ld_u;
SQL
q8="SELECT t.g, count(*), sum(u.w) FROM ld_t t JOIN ld_u u ON u.t_id = t.id WHERE t.v < 4 GROUP BY t.g"
run_until_captured "$q8" '%ld_u u ON%' || true
q8_qid=$(capture_field query_id '%ld_u u ON%')
timeouts_before=$(status timeouts)
lock_start=$(quiet "$db" "SELECT clock_timestamp()")
psql_db "$db" -c "BEGIN" -c "LOCK TABLE ld_t IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(5)" -c "COMMIT" >/dev/null
lock_end=$(quiet "$db" "SELECT clock_timestamp()")
check "load: runs blocked by the lock were cancelled at their timeouts" \
  "$([ "$(status timeouts)" -gt "$timeouts_before" ] && echo yes || echo no)" yes
for _ in $(seq 1 200); do echo "$q8;"; done >"$RV_WORK/q8.sql"
psql_db "$db" -f "$RV_WORK/q8.sql" >/dev/null
resumed="EXISTS (SELECT 1 FROM ruvector.dag_trajectory_history(NULL, 4096) during
                 JOIN ruvector.dag_trajectory_history(NULL, 4096) later USING (query_id, arm)
                 WHERE query_id = ${q8_qid:-0} AND during.steering LIKE 'explore%' AND later.steering LIKE 'explore%'
                   AND during.recorded_at BETWEEN '$lock_start' AND '$lock_end'
                   AND later.recorded_at > '$lock_end'::timestamptz + interval '1 second'
                   AND arm > 0)"
check "load: an arm whose runs timed out under the lock is explored again afterwards" \
  "$(wait_for "$resumed" 40)" yes
check "load: the statement stays explorable" "$(capture_field explorable '%ld_u u ON%')" t

# --- 7. code the statement's tree does not show ------------------------------------------
# A built-in that runs SQL of its own on a relation named by a constant
# (table_to_xml of mallory's view), and types that no expression of the
# statement mentions: a column definition list, XMLTABLE's COLUMNS, and the
# columns of a (trusted) composite type a value is converted into. Each
# would run mallory's code once she changes her view or adds a domain check.
psql_as mallory "$db" <<'SQL' >/dev/null
CREATE DOMAIN shared.dom AS int;
CREATE VIEW shared.v_xml AS SELECT 1 AS x;
SQL
psql_db "$db" -c "CREATE TYPE public.rec_dom AS (a shared.dom)" >/dev/null
join7="FROM sec_t t JOIN sec_u u ON u.t_id = t.id"
q9="SELECT count(*), sum(u.w), (SELECT length(table_to_xml('shared.v_xml'::regclass, true, false, '')::text)) $join7 WHERE t.id % 300 = 0 AND t.g < 50"
q10="SELECT count(*), sum(u.w) $join7, jsonb_to_record('{\"a\": 1}') AS x(a shared.dom) WHERE t.id % 310 = 0 AND t.g < 50"
q11="SELECT count(*), sum(u.w) $join7, XMLTABLE('/r' PASSING ('<r><a>1</a></r>'::xml) COLUMNS a shared.dom PATH 'a') AS x WHERE t.id % 320 = 0 AND t.g < 50"
q12="SELECT count(*), sum(u.w), json_populate_record(NULL::public.rec_dom, '{\"a\": 1}') IS NULL $join7 WHERE t.id % 330 = 0 AND t.g < 50"
# refused_at_capture DESCRIPTION SQL QUERY-LIKE REFUSAL-LIKE [SEARCH_PATH]:
# runs SQL (as postgres) until it is captured, and checks that it was
# refused so.
refused_at_capture() {
  run_until_captured "$2" "$3" "${5:-}" || true
  check "$1" "$(capture_field "NOT explorable AND refusal LIKE '$4'" "$3")" t
}
refused_at_capture "table_to_xml: refused at capture (it runs SQL the statement does not show)" \
  "$q9" '%table_to_xml%' '%table_to_xml%runs SQL%'
refused_at_capture "a column definition list's domain of another role: refused at capture" \
  "$q10" '%jsonb_to_record%' '%type dom%owned by a role%'
refused_at_capture "an XMLTABLE column's domain of another role: refused at capture" \
  "$q11" '%XMLTABLE%' '%type dom%owned by a role%'
refused_at_capture "a trusted composite type with a column of another role's domain: refused at capture" \
  "$q12" '%json_populate_record%' '%type dom%owned by a role%'
# mallory's payload, should anything above be re-executed after all.
psql_as mallory "$db" <<'SQL' >/dev/null
CREATE OR REPLACE VIEW shared.v_xml AS SELECT shared.evil() AS x;
ALTER DOMAIN shared.dom ADD CONSTRAINT dom_payload CHECK (shared.evil() = 1);
SQL

# --- 8. statements of DO blocks and procedures are nested: never captured ----------------
# (They used to be recorded as top-level statements and captured; a
# SECURITY DEFINER procedure's statements as its owner's.)
q13="SELECT count(*), sum(u.w) $join7 WHERE t.id % 700 = 0 AND t.g < 40"
psql_db "$db" -c "CREATE PROCEDURE public.report13() LANGUAGE plpgsql SECURITY DEFINER AS \$\$ BEGIN PERFORM count(*), sum(u.w) $join7 WHERE t.id % 700 = 0 AND t.g < 40; END \$\$" \
  -c "GRANT EXECUTE ON PROCEDURE public.report13() TO mallory" >/dev/null
for _ in $(seq 1 8); do
  psql_db "$db" -c "DO \$\$ BEGIN PERFORM count(*), sum(u.w) $join7 WHERE t.id % 700 = 0 AND t.g < 40; END \$\$" >/dev/null
  psql_as mallory "$db" -c "CALL public.report13()" >/dev/null
  learn_now "$db"
done
q13_qid=$(psql_db "$db" -c "SET ruvector.dag_enabled = off" -c "EXPLAIN (VERBOSE, COSTS OFF) $q13" | sed -n 's/^Query Identifier: //p')
check "DO block and procedure: their statement's executions are recorded, flagged nested" \
  "$(quiet "$db" "SELECT count(*) > 0 AND bool_and(nested) FROM ruvector.dag_trajectory_history(NULL, 4096)
                  WHERE query_id = ${q13_qid:-0}")" t
check "DO block and procedure: their statement is never captured" "$(capture_field pattern_id '%t.id % 700%')" ""

# --- 9. a statement that catches its timeout's cancel is ended and refused ------------------
# mallory's own function (trusted for her own statement) ignores the cancel
# when the explorer runs it; it used to hold the explorer, and the budget of
# every role, until the worker's deadline (30 s more).
psql_db "$db" <<'SQL' >/dev/null
CREATE TABLE shared.mt AS SELECT * FROM public.sec_t;
CREATE TABLE shared.mu AS SELECT * FROM public.sec_u;
ALTER TABLE shared.mt ADD PRIMARY KEY (id);
CREATE INDEX ON shared.mu (t_id);
ANALYZE shared.mt, shared.mu;
ALTER TABLE shared.mt OWNER TO mallory;
ALTER TABLE shared.mu OWNER TO mallory;
SQL
psql_as mallory "$db" <<'SQL' >/dev/null
CREATE FUNCTION shared.stubborn() RETURNS int LANGUAGE plpgsql STABLE AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  IF current_setting('application_name') <> 'ruvector_dag explorer' THEN RETURN 1; END IF;
  WHILE clock_timestamp() < t0 + interval '60 s' LOOP
    BEGIN PERFORM pg_sleep(0.05); EXCEPTION WHEN query_canceled THEN NULL; END;
  END LOOP;
  RETURN 1;
END $$;
SQL
overruns_before=$(grep -c 'overran its deadline' "$RV_LOG" || true)
q14="SELECT count(*), sum(u.w), (SELECT shared.stubborn()) FROM shared.mt t JOIN shared.mu u ON u.t_id = t.id WHERE t.id % 300 = 0 AND t.g < 50"
run_until_captured "$q14" '%shared.stubborn%' '' mallory || true
check "a statement that catches its cancel: ended and refused for good" \
  "$(wait_for "EXISTS (SELECT 1 FROM ruvector.dag_captured_statements() WHERE query LIKE '%shared.stubborn%'
               AND NOT explorable AND refusal LIKE 'kept running after the cancel%')" 60)" yes
check "... before the worker's deadline had to end the explorer" \
  "$(grep -c 'overran its deadline' "$RV_LOG" || true)" "$overruns_before"

# --- 10. types named by a value; names resolved at run time ------------------------------
# A type input function called directly converts into a type given as a
# value (domain_in('1', 'shared.dom'::regtype, -1)); and a superuser's SQL
# function, inlined by the planner, resolves the names of its body under the
# captured search_path, where mallory's schema could add a better-matching
# overload after capture.
q15="SELECT count(*), sum(u.w), (SELECT domain_in('1'::cstring, 'shared.dom'::regtype, -1) IS NULL) $join7 WHERE t.id % 340 = 0 AND t.g < 50"
q16="SELECT count(*), sum(u.w), (SELECT array_in('{1}'::cstring, 'shared.dom'::regtype, -1) IS NULL) $join7 WHERE t.id % 350 = 0 AND t.g < 50"
psql_as mallory "$db" -c "ALTER DOMAIN shared.dom DROP CONSTRAINT dom_payload" >/dev/null
refused_at_capture "domain_in of a type named by a value: refused at capture" \
  "$q15" '%domain_in%' '%type input function domain_in%'
refused_at_capture "array_in of a type named by a value: refused at capture" \
  "$q16" '%array_in%' '%type input function array_in%'
psql_db "$db" -c "CREATE FUNCTION public.norm(x varchar) RETURNS text LANGUAGE sql STABLE AS 'SELECT lower(x)'" >/dev/null
q17="SELECT count(*), sum(u.w), max(norm(('K' || t.g)::varchar)) $join7 WHERE t.id % 360 = 0 AND t.g < 50"
refused_at_capture "a search_path with a schema another role can create in: refused at capture" \
  "$q17" '%norm((%' '%search_path has schema shared%' 'shared, public'
psql_db "$db" -c "CREATE FUNCTION public.norm2(x varchar) RETURNS text LANGUAGE sql STABLE SET search_path = shared, pg_catalog AS 'SELECT lower(x)'" >/dev/null
q19="SELECT count(*), sum(u.w), max(norm2(('K' || t.g)::varchar)) $join7 WHERE t.id % 380 = 0 AND t.g < 50"
refused_at_capture "a function whose own search_path has a schema another role can create in: refused" \
  "$q19" '%norm2((%' '%norm2, whose own search_path has schema shared%'
# Built-ins only, under the same path: refused too -- parse analysis itself
# resolves names there and converts literals into the types they name.
q20="SELECT count(*), sum(u.w), max(lower(('K' || t.g)::varchar)) $join7 WHERE t.id % 390 = 0 AND t.g < 50"
refused_at_capture "built-ins only, under the same search_path: refused too" \
  "$q20" '%max(lower((%' '%search_path has schema shared%' 'shared, public'
# The same statement under a search_path of trusted schemas only stays explorable.
q18="SELECT count(*), sum(u.w), max(norm(('K' || t.g)::varchar)) $join7 WHERE t.id % 370 = 0 AND t.g < 40 AND u.w >= 0"
run_until_captured "$q18" '%t.id % 370%' || true
check "... and under trusted schemas only, the statement stays explorable" \
  "$(capture_field explorable '%t.id % 370%')" t
psql_as mallory "$db" <<'SQL' >/dev/null
ALTER DOMAIN shared.dom ADD CONSTRAINT dom_payload CHECK (shared.evil() = 1);
CREATE FUNCTION shared.lower(x varchar) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN PERFORM shared.evil(); END IF;
  RETURN pg_catalog.lower(x::text);
END $$;
SQL

# --- 11. a multirange, contrib functions that run SQL, code run by the capture check -------
psql_as mallory "$db" -c "CREATE DOMAIN shared.dom_r AS int" >/dev/null
psql_db "$db" -c "CREATE TYPE public.pr AS RANGE (subtype = shared.dom_r, multirange_type_name = public.pr_multirange)" \
  -c "CREATE EXTENSION IF NOT EXISTS tablefunc" >/dev/null
q22="SELECT count(*), sum(u.w), '{[1,3)}'::public.pr_multirange IS NULL $join7 WHERE t.id % 420 = 0 AND t.g < 50"
refused_at_capture "a multirange over another role's domain: refused at capture" \
  "$q22" '%pr_multirange%' '%dom_r%owned by a role%'
q23="SELECT count(*), sum(u.w), (SELECT count(*) FROM crosstab('SELECT 1::text, 1::text, 1::text') AS ct(r text, c1 text)) $join7 WHERE t.id % 430 = 0 AND t.g < 50"
refused_at_capture "crosstab (contrib tablefunc): refused at capture (it runs SQL the statement does not show)" \
  "$q23" '%crosstab%' '%crosstab%runs SQL%'
# Checking a statement at capture analyzes it again, which can run code: a
# literal converted into mallory's domain runs its CHECK, here an SQL
# function. That check ran at ExecutorEnd without a snapshot and crashed the
# server; now it runs after ExecutorEnd in a subtransaction of its own.
psql_as mallory "$db" <<'SQL' >/dev/null
CREATE FUNCTION shared.positive(x int) RETURNS bool LANGUAGE sql STABLE AS 'SELECT x > 0 AND (SELECT true)';
CREATE DOMAIN shared.d2 AS int CHECK (shared.positive(VALUE));
SQL
q24="SELECT count(*), sum(u.w), ('{1}'::shared.d2[])[1] FROM shared.mt t JOIN shared.mu u ON u.t_id = t.id WHERE t.id % 440 = 0 AND t.g < 50"
run_until_captured "$q24" '%shared.d2%' '' mallory || true
check "a literal of a domain whose check runs SQL: captured, and the server is up" \
  "$(capture_field "pattern_id IS NOT NULL" '%shared.d2%')" t

# --- the attacks' payload never ran ---------------------------------------------------
check "the explorer ran during this test" "$([ "$(status runs)" -gt "$runs_before" ] && echo yes || echo no)" yes
check "mallory's code never ran as the superuser (no $marker)" "$([ -e "$marker" ] && echo present || echo absent)" absent
check "server log has no crash" "$(grep -c 'terminated by signal' "$RV_LOG" || true)" \
  "$(grep -c 'terminated by signal 9' "$RV_LOG" || true)"

# The explorer may still be connected (it idles 1 s between batches).
psql_db postgres -c "DROP DATABASE $db WITH (FORCE)" >/dev/null || true
psql_db postgres -c "DROP ROLE IF EXISTS mallory" >/dev/null 2>&1 || true
done_testing
