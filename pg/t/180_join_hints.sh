#!/usr/bin/env bash
# Join, scan and LEADING hints of plan advice (docs/postgres.md, "Plan
# advice"): dag_pin(query, advice) with HASHJOIN / MERGEJOIN / NESTLOOP /
# NO_... on one join, SEQSCAN / INDEXSCAN / BITMAPSCAN on one relation and
# LEADING(...) makes the executed plan (EXPLAIN ANALYZE) use that method or
# order, never changes the results, composes with SET and ROWS; a hint the
# planner cannot carry out falls back to the default plan (counted, no
# error); malformed hints are refused with their byte offset; plain roles
# are refused; restart keeps the pins.
source "$(dirname "$0")/lib.sh"

db=rvhints
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
psql_db "$db" -c "CREATE EXTENSION ruvector_dag CASCADE" >/dev/null
psql_db postgres -c "DROP ROLE IF EXISTS hint_plain" -c "CREATE ROLE hint_plain LOGIN" >/dev/null
quiet "$db" "
  CREATE TABLE h_a (id int PRIMARY KEY, k int NOT NULL, v int NOT NULL);
  CREATE TABLE h_b (id int PRIMARY KEY, k int NOT NULL, v int NOT NULL);
  CREATE TABLE h_c (id int NOT NULL, v int NOT NULL);
  INSERT INTO h_a SELECT g, g % 100, g % 7 FROM generate_series(1, 20000) g;
  INSERT INTO h_b SELECT g, g % 100, g % 11 FROM generate_series(1, 20000) g;
  INSERT INTO h_c SELECT g, g % 5 FROM generate_series(0, 99) g;
  CREATE INDEX h_b_k ON h_b (k);
  ANALYZE h_a; ANALYZE h_b; ANALYZE h_c;
  GRANT SELECT ON h_a, h_b, h_c TO hint_plain" >/dev/null

# plan_of QUERY: EXPLAIN ANALYZE's plan lines (what was executed) and our section.
plan_of() { psql_db "$db" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $1"; }
default_of() { psql_db "$db" -c "SET ruvector.dag_steering = off" -c "EXPLAIN (COSTS OFF) $1"; }
result_of() { psql_db "$db" -c "SET ruvector.dag_steering = off" -c "$1"; }
# pin QUERY ADVICE: the advice as stored, or the error (never stops the script).
pin() { quiet "$db" "SELECT ruvector.dag_pin(\$q\$$1\$q\$, \$a\$$2\$a\$)" 2>&1 || true; }
failures() { quiet "$db" "SELECT coalesce(sum(failures), 0) FROM ruvector.dag_pins()"; }
# executed PLAN NODE: how many executed plan nodes of that name the plan has.
executed() { printf '%s\n' "$1" | grep -c -- "$2 .*(actual rows=" || true; }
# first_join PLAN: the aliases (sorted) of the relations the innermost join of PLAN reads.
first_join() {
  printf '%s\n' "$1" | awk '{ l[NR] = $0; match($0, /^ */); d[NR] = RLENGTH }
    /(Hash Join|Merge Join|Nested Loop) \(/ { if (d[NR] > best) { best = d[NR]; at = NR } }
    END { for (i = at + 1; i <= NR && d[i] > best; i++)
            if (match(l[i], / on h_[a-z]+ [a-z]+/)) { split(substr(l[i], RSTART, RLENGTH), w, " "); print w[3] } }' |
    sort | tr '\n' ' ' | sed 's/ $//'
}

# --- 1. join methods on one join ----------------------------------------------------------------------
qj="SELECT count(*), sum(a.v + b.v) FROM h_a a JOIN h_b b ON b.id = a.id WHERE a.v = 3"
expected=$(result_of "$qj")
echo "# default plan of the join:"; default_of "$qj" | sed 's/^/#   /'
for hint in HASHJOIN:"Hash Join" MERGEJOIN:"Merge Join" NESTLOOP:"Nested Loop"; do
  kw=${hint%%:*}
  node=${hint#*:}
  stored=$(pin "$qj" "${kw,,}( A b )")
  check "$kw(a b) is pinned in canonical form" "$stored" "$kw(a b)"
  plan=$(plan_of "$qj")
  others=$(printf '%s\n' "$plan" | grep -E "(Hash Join|Merge Join|Nested Loop) .*actual rows=" | grep -vc -- "$node" || true)
  advised=$(printf '%s\n' "$plan" | grep -c "Plan Advice: $kw(a b)$" || true)
  if [ "$(executed "$plan" "$node")" = 1 ] && [ "$others" = 0 ] && [ "$advised" = 1 ]; then
    ok "$kw(a b): the executed join is a $node, EXPLAIN shows the advice"
  else not_ok "$kw(a b): the executed join is a $node, EXPLAIN shows the advice"; printf '%s\n' "$plan" | sed 's/^/#   /'; fi
  check "$kw(a b): results are identical" "$stored $(psql_db "$db" -c "$qj")" "$kw(a b) $expected"
done
# A negative form: whatever the planner picks, it is not a nested loop.
stored=$(pin "$qj" "NO_NESTLOOP(b a)")
plan=$(plan_of "$qj")
check "NO_NESTLOOP(b a) is pinned" "$stored" "NO_NESTLOOP(b a)"
check "NO_NESTLOOP(b a): the executed join is not a nested loop" \
  "$(executed "$plan" "Nested Loop") $(printf '%s\n' "$plan" | grep -cE "(Hash|Merge) Join .*actual rows=|Plan Advice: NO_NESTLOOP\(b a\)$")" "0 2"

# --- 2. scan methods on one relation -----------------------------------------------------------------
qs="SELECT count(*), sum(b.v) FROM h_b b WHERE b.id < 200"
expected=$(result_of "$qs")
default_scan=$(default_of "$qs" | grep -c "Index.* Scan using h_b_pkey on h_b b")
stored=$(pin "$qs" "SEQSCAN(b)")
plan=$(plan_of "$qs")
check "SEQSCAN(b) is pinned" "$stored" "SEQSCAN(b)"
check "SEQSCAN(b): PostgreSQL's index scan becomes a sequential scan" \
  "$default_scan $(executed "$plan" "Seq Scan on h_b b") $(executed "$plan" "Index")" "1 1 0"
check "SEQSCAN(b): results are identical" "$stored $(psql_db "$db" -c "$qs")" "SEQSCAN(b) $expected"
stored=$(pin "$qs" "BITMAPSCAN(b)")
plan=$(plan_of "$qs")
check "BITMAPSCAN(b): the executed scan is a bitmap heap scan" \
  "$(executed "$plan" "Bitmap Heap Scan on h_b b") $(executed "$plan" "Seq Scan")" "1 0"
check "BITMAPSCAN(b): results are identical" "$stored $(psql_db "$db" -c "$qs")" "BITMAPSCAN(b) $expected"

qi="SELECT count(*), sum(a.v) FROM h_a a WHERE a.id > 10"
expected=$(result_of "$qi")
default_scan=$(default_of "$qi" | grep -c "Seq Scan on h_a a")
stored=$(pin "$qi" 'INDEXSCAN(a "h_a_pkey")')
plan=$(plan_of "$qi")
check "INDEXSCAN(a h_a_pkey) is pinned in canonical form" "$stored" "INDEXSCAN(a h_a_pkey)"
check "INDEXSCAN(a h_a_pkey): PostgreSQL's sequential scan becomes a scan of the index" \
  "$default_scan $(executed "$plan" "Index.* Scan using h_a_pkey on h_a a") $(executed "$plan" "Seq Scan")" "1 1 0"
check "INDEXSCAN(a h_a_pkey): results are identical" "$stored $(psql_db "$db" -c "$qi")" "INDEXSCAN(a h_a_pkey) $expected"

# --- 3. join order -------------------------------------------------------------------------------------
ql="SELECT count(*), sum(a.v + b.v + c.v) FROM h_a a JOIN h_b b ON b.id = a.id JOIN h_c c ON c.id = a.k WHERE b.v < 5"
expected=$(result_of "$ql")
echo "# default plan of the 3-way join:"; default_of "$ql" | sed 's/^/#   /'
for order in "b a c" "a c b" "c a b"; do
  read -r first second last <<<"$order"
  stored=$(pin "$ql" "LEADING($order)")
  plan=$(plan_of "$ql")
  if [ "$stored" = "LEADING($order)" ] && [ "$(first_join "$plan")" = "$(printf '%s\n' "$first" "$second" | sort | tr '\n' ' ' | sed 's/ $//')" ]; then
    ok "LEADING($order): $first and $second are joined before $last"
  else
    not_ok "LEADING($order): $first and $second are joined before $last (pinned '$stored')"
    printf '%s\n' "$plan" | sed 's/^/#   /'
  fi
  check "LEADING($order): results are identical" "$stored $(psql_db "$db" -c "$ql")" "LEADING($order) $expected"
done

# Under GEQO the order holds too (LEADING(c a b) is pinned now).
plan=$(psql_db "$db" -c "SET geqo_threshold = 2" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $ql")
check "LEADING(c a b) under GEQO: c and a are joined first, results identical" \
  "$(first_join "$plan") $(psql_db "$db" -c "SET geqo_threshold = 2" -c "$ql")" "a c $expected"

# --- 4. hints compose with SET and ROWS ------------------------------------------------------------------
stored=$(pin "$qj" "nestloop(a b) rows(b *3) set(enable_hashjoin=off) seqscan(a)")
check "SET, ROWS and hints are pinned together, canonically" "$stored" \
  "SET(enable_hashjoin=off) ROWS(b *3) NESTLOOP(a b) SEQSCAN(a)"
plan=$(plan_of "$qj")
check "the composed advice: nested loop, a scanned sequentially, ROWS applied" \
  "$(executed "$plan" "Nested Loop") $(executed "$plan" "Seq Scan on h_a a") \
$(printf '%s\n' "$plan" | grep -c "Plan Advice: SET(enable_hashjoin=off) ROWS(b \*3) NESTLOOP(a b) SEQSCAN(a) (ROWS applied: 1 of 1)")" "1 1 1"

# --- 5. hints the planner cannot carry out fall back, counted, without an error ----------------------------
qr="SELECT count(*) FROM h_c c JOIN h_c d ON d.id < c.id"
expected=$(result_of "$qr")
before=$(failures)
health_failures() {
  quiet "$db" "SELECT coalesce(substring(message from ' re-plan failures \(([0-9]+) under pinned advice\)'), '0')
    FROM ruvector.dag_health_check() WHERE component = 'learning'"
}
health_before=$(health_failures)
stored=$(pin "$qr" "MERGEJOIN(c d)")
check "MERGEJOIN on a join without sortable keys is pinned" "$stored" "MERGEJOIN(c d)"
plan=$(psql_db "$db" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $qr" 2>&1)
check "MERGEJOIN(c d) cannot be carried out: the default plan runs" \
  "$(executed "$plan" "Nested Loop") $(executed "$plan" "Merge Join") $(printf '%s\n' "$plan" | grep -c "re-planning failed")" "1 0 1"
check "MERGEJOIN(c d): results are PostgreSQL's" "$stored $(psql_db "$db" -c "$qr")" "MERGEJOIN(c d) $expected"
check "the fallbacks are counted in dag_pins().failures" "$(quiet "$db" "SELECT failures >= 2 FROM ruvector.dag_pins() WHERE advice = 'MERGEJOIN(c d)'")" t
qn="SELECT count(*), sum(c.v) FROM h_c c WHERE c.id > 10"
expected=$(result_of "$qn")
stored=$(pin "$qn" "INDEXSCAN(c)")
plan=$(psql_db "$db" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $qn" 2>&1)
check "INDEXSCAN on a table without an index: the default plan runs" \
  "$stored $(executed "$plan" "Seq Scan on h_c c") $(printf '%s\n' "$plan" | grep -c "re-planning failed")" "INDEXSCAN(c) 1 1"
check "INDEXSCAN(c): results are PostgreSQL's" "$stored $(psql_db "$db" -c "$qn")" "INDEXSCAN(c) $expected"
after=$(failures)
check "every fallback was counted" "$((after - before >= 4))" 1
check "dag_health_check reports them" "$(( $(health_failures) - health_before >= 4 ))" 1
check "the server log says which item was not carried out" \
  "$("${rv_as_pg[@]}" grep -c "does not carry out its MERGEJOIN item" "$RV_LOG" | awk '{print ($1 > 0)}')" 1

# --- 6. bad hints are refused with the problem and its byte offset ------------------------------------------
pin_error() { sql_error postgres "$db" "SELECT ruvector.dag_pin('$qj', $1)"; }
check "a join hint on one relation" "$(pin_error "'SEQSCAN(a) HASHJOIN(a)'")" \
  "ruvector_dag: invalid plan advice: HASHJOIN needs at least two relations at byte 22"
check "two relations in a scan hint" "$(pin_error "'SEQSCAN(a b)'")" \
  "ruvector_dag: invalid plan advice: expected ')' after the relation (one per scan item) at byte 11"
check "two join methods for one join" "$(pin_error "'HASHJOIN(a b) NESTLOOP(b a)'")" \
  "ruvector_dag: invalid plan advice: join method of the same relations given twice at byte 28"
check "an unknown hint" "$(pin_error "'HASHJION(a b)'")" \
  "ruvector_dag: invalid plan advice: expected SET, ROWS, a join method (HASHJOIN, MERGEJOIN, NESTLOOP, NO_...), a scan method (SEQSCAN, INDEXSCAN, BITMAPSCAN) or LEADING at byte 1"
check "a hint on a relation the query does not read" "$(pin_error "'NESTLOOP(a z)'")" \
  "ruvector_dag: relation \"z\" of the advice is not a table of the query"
check "an index that is not the relation's" "$(pin_error "'INDEXSCAN(a h_b_k)'")" \
  "ruvector_dag: \"h_b_k\" is not an index of relation \"a\" of the advice"

# --- 7. who may pin; restart keeps the pins -------------------------------------------------------------------
pin "$qj" "HASHJOIN(a b) SEQSCAN(b)" >/dev/null
check "a plain role may not pin hints (and the pin stays)" \
  "$(sql_error hint_plain "$db" "SELECT ruvector.dag_pin('$qj', 'NESTLOOP(a b)')") / $(quiet "$db" "SELECT count(*) FROM ruvector.dag_pins() WHERE advice = 'HASHJOIN(a b) SEQSCAN(b)'")" \
  "permission denied for function dag_pin / 1"
plain=$(psql_as hint_plain "$db" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $qj")
check "a plain role running the query gets the hinted plan" \
  "$(executed "$plain" "Hash Join") $(executed "$plain" "Seq Scan on h_b b") $(printf '%s\n' "$plain" | grep -c "Plan Advice: HASHJOIN(a b) SEQSCAN(b)$")" "1 1 1"
pg_ctl_rv restart
wait_ready
check "the steering file keeps the hints' relation sets" \
  "$("${rv_as_pg[@]}" grep -cE "^advice [0-9-]+ [0-9]+ - - HASHJOIN%28a%20b%29%20SEQSCAN%28b%29 [0-9]+,[0-9]+$" "$RV_DATA/ruvector_dag.steering")" 1
check "the hinted pins survive a restart" \
  "$(quiet "$db" "SELECT string_agg(advice, ' | ' ORDER BY advice) FROM ruvector.dag_pins() WHERE advice ~ '^(HASHJOIN|LEADING)'")" \
  "HASHJOIN(a b) SEQSCAN(b) | LEADING(c a b)"
plan=$(plan_of "$qj")
check "after the restart the hinted plan runs" \
  "$(executed "$plan" "Hash Join") $(executed "$plan" "Seq Scan on h_b b") $(printf '%s\n' "$plan" | grep -c "Plan Advice: HASHJOIN(a b) SEQSCAN(b)$")" "1 1 1"
plan=$(plan_of "$ql")
check "after the restart LEADING(c a b) still orders the joins" "$(first_join "$plan")" "a c"

psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP ROLE IF EXISTS hint_plain" >/dev/null
done_testing
