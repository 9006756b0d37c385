#!/usr/bin/env bash
# Plan advice (docs/postgres.md, "Plan advice"): a deployed decision is shown
# as readable advice in EXPLAIN and dag_decisions(); a DBA pins advice for a
# query with dag_pin(query, advice), which changes the executed plan (and
# never the results), is refused with clear errors when malformed or hostile,
# is refused to plain roles, falls back to the default plan when it cannot be
# applied, survives a restart, and goes with dag_unpin. A steering file of
# the previous version is refused with a message saying so.
source "$(dirname "$0")/lib.sh"

db=rvadvice
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
psql_db "$db" -c "CREATE EXTENSION ruvector_dag CASCADE" >/dev/null
psql_db postgres -c "DROP ROLE IF EXISTS adv_plain" -c "CREATE ROLE adv_plain LOGIN" >/dev/null

# --- 1. a deployed decision's advice ----------------------------------------------------------------
"$RV_CLI" bench --dsn "host=$RV_HOST port=$RV_PORT user=postgres dbname=$db" --workload misestimation --generate \
  --rounds 16 --format json >"$RV_WORK/advice_bench.json" 2>"$RV_WORK/advice_bench.err" || cat "$RV_WORK/advice_bench.err" >&2
learn_now "$db"
q1="SELECT count(*), sum(x.payload + y.payload) FROM rv_events x JOIN rv_events y ON y.k = x.k WHERE x.a = 1 AND x.b = 1 AND x.c = 1 AND y.a = 1 AND y.b = 1 AND y.c = 1"
q2="SELECT sum(i.payload) FROM rv_orders o JOIN rv_items i ON i.k = o.k WHERE o.region = 3 AND o.status = 3 AND o.channel = 3"
q3="SELECT sum(o.amount) FROM rv_customers c JOIN rv_orders_skew o ON o.customer_id = c.id JOIN rv_customers c2 ON c2.tier = c.tier WHERE c.tier = 1 AND c.segment = 1 AND c2.segment = 1 AND c2.id < 400"
deployed=$(quiet "$db" "SELECT pattern_id || ' ' || deployed_arm FROM ruvector.dag_decisions()
  WHERE deployed_arm <> 'default' ORDER BY default_ms DESC LIMIT 1")
if [ -z "$deployed" ]; then
  not_ok "bench deployed an arm for a misplanned query"
else
  read -r pattern arm <<<"$deployed"
  advice=$(quiet "$db" "SELECT advice FROM ruvector.dag_decisions() WHERE pattern_id = $pattern")
  echo "# pattern $pattern deployed $arm: advice '$advice'"
  if [ "$arm" = row_corrections ]; then
    want="^ROWS\("
  else
    want="^SET\($(quiet "$db" "SELECT replace(settings, ', ', ' ') FROM ruvector.dag_arms() WHERE name = '$arm'" |
      sed 's/[.]/[.]/g')\)$"
  fi
  if printf '%s' "$advice" | grep -Eq "$want"; then ok "dag_decisions shows the deployed arm as advice"; else
    not_ok "dag_decisions shows the deployed arm as advice (got '$advice', expected /$want/)"; fi
  # EXPLAIN of the deployed query (the one whose pattern it is) prints the same advice.
  shown=""
  for q in "$q1" "$q2" "$q3"; do
    plan=$(psql_db "$db" -c "EXPLAIN $q")
    if printf '%s\n' "$plan" | grep -q "Pattern: $pattern "; then
      shown=$(printf '%s\n' "$plan" | sed -n 's/^ *Plan Advice: //p')
      printf '%s\n' "$plan" | grep -E "Learned Arm|Plan Advice" | sed 's/^/#   /'
    fi
  done
  if [ "$arm" = row_corrections ]; then
    if printf '%s' "$shown" | grep -Eq '^ROWS\([a-z0-9_ ]+ \*[0-9.e+-]+\)'; then ok "EXPLAIN shows the deployed advice"
    else not_ok "EXPLAIN shows the deployed advice (got '$shown')"; fi
  else
    check "EXPLAIN shows the deployed advice" "$shown" "$advice"
  fi
fi
check "patterns on PostgreSQL's plan have no advice" \
  "$(quiet "$db" "SELECT count(*) FROM ruvector.dag_decisions() WHERE deployed_arm = 'default' AND advice IS NOT NULL")" 0

# --- 2. dag_pin(query, advice) changes the executed plan, never the results ---------------------------
default_plan=$(psql_db "$db" -c "SET ruvector.dag_steering = off" -c "EXPLAIN (COSTS OFF) $q1")
expected=$(psql_db "$db" -c "SET ruvector.dag_steering = off" -c "$q1")
if printf '%s\n' "$default_plan" | grep -q "Nested Loop"; then ok "PostgreSQL plans Q1 with a nested loop"; else
  not_ok "PostgreSQL plans Q1 with a nested loop"; printf '%s\n' "$default_plan" | sed 's/^/#   /'; fi
stored=$(quiet "$db" "SELECT ruvector.dag_pin('$q1', ' set( Enable_NestLoop = off enable_mergejoin=off ) rows(X *200) ROWS(y * 200.0)')")
check "dag_pin returns the advice in canonical form" "$stored" \
  "SET(enable_nestloop=off enable_mergejoin=off) ROWS(x *200) ROWS(y *200)"
analyzed=$(psql_db "$db" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $q1")
estimated=$(psql_db "$db" -c "EXPLAIN $q1")
printf '%s\n' "$analyzed" | sed 's/^/#   /'
if printf '%s\n' "$analyzed" | grep -q "Hash Join" && ! printf '%s\n' "$analyzed" | grep -q "Nested Loop"; then
  ok "the executed plan follows the advice (hash join, no nested loop)"
else not_ok "the executed plan follows the advice (hash join, no nested loop)"; fi
check "EXPLAIN names the pinned advice" \
  "$(printf '%s\n' "$analyzed" | grep -c "Learned Arm: advice (pinned\|Plan Advice: SET(enable_nestloop=off enable_mergejoin=off) ROWS(x \*200) ROWS(y \*200) (ROWS applied: 2 of 2)")" 2
check "ROWS corrects both scans' estimates (1 -> 200)" \
  "$(printf '%s\n' "$estimated" | grep -c "Seq Scan on rv_events [xy] .*rows=200 ")" 2
check "results are identical under the advice" "$(psql_db "$db" -c "$q1")" "$expected"
check "dag_pins counts the plannings" \
  "$(quiet "$db" "SELECT kind || ' ' || (plans >= 3) || ' ' || failures FROM ruvector.dag_pins()")" "advice true 0"
check "the pattern's decision shows the pinned advice" \
  "$(quiet "$db" "SELECT count(*) FROM ruvector.dag_decisions() WHERE advice = '$stored'")" 1
check "executions under pinned advice measure no arm" \
  "$(quiet "$db" "SELECT count(*) > 0 AND bool_and(arm IS NULL) FROM ruvector.dag_trajectory_history(NULL, 1000)
    WHERE steering = 'pinned advice'")" t
# Editing: a second dag_pin of the query replaces its advice.
quiet "$db" "SELECT ruvector.dag_pin('$q1', 'SET(enable_nestloop=off)')" >/dev/null
check "pinning again replaces the advice" "$(quiet "$db" "SELECT advice FROM ruvector.dag_pins()")" "SET(enable_nestloop=off)"

# --- 3. bad advice ----------------------------------------------------------------------------------
pin_error() { sql_error postgres "$db" "SELECT ruvector.dag_pin('$q1', $1)"; }
check "NULL advice" "$(pin_error NULL)" "ruvector_dag: advice must not be NULL"
check "empty advice" "$(pin_error "'  '")" "ruvector_dag: invalid plan advice: advice is empty: give SET(...), ROWS(...) or a hint"
check "huge advice" "$(pin_error "repeat('SET(a=b) ', 1000)")" "ruvector_dag: advice is 9000 bytes; at most 4096"
check "syntax error with its position" "$(pin_error "'SET(enable_nestloop off)'")" \
  "ruvector_dag: invalid plan advice: expected '=' after the setting name at byte 21"
check "hostile text in ROWS" "$(pin_error "'ROWS(x; DROP TABLE rv_events; *2)'")" \
  "ruvector_dag: invalid plan advice: expected a relation name, '#' or '*' at byte 7"
check "a factor out of range" "$(pin_error "'ROWS(x *1e9)'")" \
  "ruvector_dag: invalid plan advice: factor outside 1e-06 .. 1e+06 at byte 12"
check "an unknown setting" "$(pin_error "'SET(no_such_setting=1)'")" \
  "ruvector_dag: unknown configuration parameter \"no_such_setting\" in plan advice"
check "a bad value" "$(pin_error "'SET(enable_nestloop=maybe)'")" \
  "parameter \"enable_nestloop\" requires a Boolean value"
check "a setting that changes who runs the statement" "$(pin_error "'SET(search_path=evil)'")" \
  "ruvector_dag: \"search_path\" cannot be part of plan advice"
check "a relation the query does not read" "$(pin_error "'ROWS(z *2)'")" \
  "ruvector_dag: relation \"z\" of the advice is not a table of the query"
check "a statement that is not a SELECT" \
  "$(sql_error postgres "$db" "SELECT ruvector.dag_pin('DELETE FROM rv_events', 'SET(enable_nestloop=off)')")" \
  "ruvector_dag: only SELECT statements can be analyzed"
check "bad advice changed nothing" "$(quiet "$db" "SELECT advice FROM ruvector.dag_pins()")" "SET(enable_nestloop=off)"

# --- 4. who may pin ---------------------------------------------------------------------------------
quiet "$db" "GRANT SELECT ON rv_events TO adv_plain" >/dev/null
check "a plain role may not pin advice" \
  "$(sql_error adv_plain "$db" "SELECT ruvector.dag_pin('$q1', 'SET(enable_nestloop=off)')")" \
  "permission denied for function dag_pin"
check "a plain role may not list pins" "$(sql_error adv_plain "$db" "SELECT * FROM ruvector.dag_pins()")" \
  "permission denied for function dag_pins"
# Granted the function, a role still pins only statements it may run (EXPLAIN's checks).
quiet "$db" "CREATE TABLE adv_secret (k int)" >/dev/null
quiet "$db" "GRANT EXECUTE ON FUNCTION ruvector.dag_pin(text, text) TO adv_plain" >/dev/null
check "granted dag_pin, a role cannot pin advice for a table it may not read" \
  "$(sql_error adv_plain "$db" "SELECT ruvector.dag_pin('SELECT * FROM adv_secret', 'SET(enable_nestloop=off)')")" \
  "permission denied for table adv_secret"
quiet "$db" "REVOKE EXECUTE ON FUNCTION ruvector.dag_pin(text, text) FROM adv_plain" >/dev/null

# --- 5. advice that cannot be applied falls back to the default plan ----------------------------------
# A superuser-only setting (valid when a superuser pins it) cannot be set while
# a plain role plans: the default plan is used, counted, and the role gets its rows.
quiet "$db" "SELECT ruvector.dag_pin('$q1', 'SET(ruvector.dag_debug_fault=none enable_nestloop=off)')" >/dev/null
plain_plan=$(psql_as adv_plain "$db" -c "EXPLAIN (COSTS OFF) $q1")
check "the plain role is served PostgreSQL's plan" \
  "$(printf '%s\n' "$plain_plan" | grep -c "Nested Loop\|re-planning failed")" 2
check "the plain role's results are PostgreSQL's" "$(psql_as adv_plain "$db" -c "$q1")" "$expected"
check "the failures are counted" "$(quiet "$db" "SELECT failures >= 2 FROM ruvector.dag_pins()")" t
check "dag_health_check reports them" "$(quiet "$db" "SELECT status || ' ' || (message ~ ' re-plan failures \(([2-9]|[0-9]{2,}) under pinned advice\)')::text
  FROM ruvector.dag_health_check() WHERE component = 'learning'")" "warning true"

# --- 6. restart keeps pins; dag_unpin removes them ------------------------------------------------------
quiet "$db" "SELECT ruvector.dag_pin('$q1', 'SET(enable_nestloop=off enable_mergejoin=off) ROWS(x *200)')" >/dev/null
qid=$(quiet "$db" "SELECT query_id FROM ruvector.dag_pins()")
pg_ctl_rv restart
wait_ready
check "the steering file is version 2 with the advice" \
  "$("${rv_as_pg[@]}" head -1 "$RV_DATA/ruvector_dag.steering") $("${rv_as_pg[@]}" grep -c "^advice $qid " "$RV_DATA/ruvector_dag.steering")" \
  "ruvector_dag steering 2 1"
check "the pin survives a restart" "$(quiet "$db" "SELECT advice FROM ruvector.dag_pins()")" \
  "SET(enable_nestloop=off enable_mergejoin=off) ROWS(x *200)"
check "EXPLAIN shows it after the restart" \
  "$(psql_db "$db" -c "EXPLAIN $q1" | grep -c "Plan Advice: SET(enable_nestloop=off enable_mergejoin=off) ROWS(x \*200) (ROWS applied: 1 of 1)")" 1
check "dag_unpin removes the advice" "$(quiet "$db" "SELECT ruvector.dag_unpin($qid)")" t
check "no pins left" "$(quiet "$db" "SELECT count(*) FROM ruvector.dag_pins()")" 0
check "unpinned, EXPLAIN shows no pinned advice" "$(psql_db "$db" -c "EXPLAIN $q1" | grep -c "advice (pinned")" 0

psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP ROLE IF EXISTS adv_plain" >/dev/null
done_testing
