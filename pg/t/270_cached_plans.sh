#!/usr/bin/env bash
# Cached plans follow the decisions (docs/postgres.md, "Cached plans"): a
# prepared statement's plan is cached by PostgreSQL and not planned again on
# its own, so a decision made after it was planned -- a pin here; a
# deployment or a revert by the learner alike -- would never reach it. When
# what plannings serve changes, each backend invalidates its cached plans at
# its next statement: SQL EXECUTE re-plans at once, and a protocol-level
# prepared statement (pgbench -M prepared) at its next execution.
source "$(dirname "$0")/lib.sh"

db=rvcached
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
psql_db "$db" -c "CREATE EXTENSION ruvector_dag CASCADE" >/dev/null
quiet "$db" "CREATE TABLE cp_a AS SELECT i AS id, i % 10000 AS x FROM generate_series(1, 20000) i" >/dev/null
quiet "$db" "CREATE TABLE cp_b AS SELECT i AS id, i AS v FROM generate_series(1, 20000) i" >/dev/null
quiet "$db" "CREATE INDEX ON cp_b (id)" >/dev/null
quiet "$db" "ANALYZE cp_a" >/dev/null
quiet "$db" "ANALYZE cp_b" >/dev/null
q="SELECT count(*), sum(b.v) FROM cp_a a JOIN cp_b b ON b.id = a.id WHERE a.x = 7"
psql_db "$db" -c "$q" >/dev/null
# Its query id, as EXPLAIN's RuVector DAG section names it (the statistics
# also hold the setup statements' patterns).
qid=$(psql_db "$db" -c "EXPLAIN $q" | sed -n 's/^ *Pattern: .*(query id \([-0-9]*\),.*/\1/p')
joins() { grep -o "Nested Loop\|Hash Join\|Merge Join" | tr '\n' ' ' | sed 's/ $//'; }
check "PostgreSQL's plan is a nested loop" "$(quiet "$db" "EXPLAIN (COSTS OFF) $q" | joins)" "Nested Loop"
expected=$(psql_db "$db" -c "$q")

# One session: the statement is prepared and run (its plan cached), the arm
# pinned in the same session, then the cached statement run again.
out=$(psql_db "$db" -c "PREPARE cq AS $q" -c "EXECUTE cq" -c "EXPLAIN (COSTS OFF) EXECUTE cq" \
  -c "SELECT ruvector.dag_pin($qid, 'no_nestloop')" -c "EXPLAIN (COSTS OFF) EXECUTE cq" -c "EXECUTE cq" \
  -c "SELECT ruvector.dag_unpin($qid)" -c "EXPLAIN (COSTS OFF) EXECUTE cq" -c "EXECUTE cq")
printf '%s\n' "$out" | sed 's/^/#   /'
plans=$(printf '%s\n' "$out" | joins)
check "the cached plan follows the pin and the unpin" "$plans" "Nested Loop Hash Join Nested Loop"
check "results are identical under each plan" \
  "$(printf '%s\n' "$out" | grep -c "^$(printf '%s' "$expected" | sed 's/[|]/[|]/g')\$")" 3

# A plain role's prepared statement in another session is re-planned when a
# superuser pins the arm meanwhile (the decision is the cluster's, the cached
# plan the backend's).
quiet "$db" "CREATE ROLE cp_plain LOGIN" >/dev/null
quiet "$db" "GRANT SELECT ON cp_a, cp_b TO cp_plain" >/dev/null
pin() {
  printf '%s\n' "\\! $RV_BINDIR/psql -X -q -h $RV_HOST -p $RV_PORT -U postgres -d $db -Atc \"SELECT ruvector.dag_${1}pin($qid${2:-})\" >/dev/null"
}
out=$(printf '%s\n' "PREPARE cq AS $q;" "EXPLAIN (COSTS OFF) EXECUTE cq;" "$(pin "" ", 'no_nestloop'")" \
  "EXPLAIN (COSTS OFF) EXECUTE cq;" "$(pin un)" "EXPLAIN (COSTS OFF) EXECUTE cq;" | psql_as cp_plain "$db" -f - 2>&1)
printf '%s\n' "$out" | sed 's/^/#   /'
check "another session's cached plan follows the pin and the unpin" "$(printf '%s\n' "$out" | joins)" \
  "Nested Loop Hash Join Nested Loop"
quiet "$db" "DROP OWNED BY cp_plain" >/dev/null
quiet "$db" "DROP ROLE cp_plain" >/dev/null
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
done_testing
