#!/usr/bin/env bash
# The M4 acceptance script of the milestone plan, run verbatim
# (pg/t/100_m4_acceptance.sql, docs/postgres.md "M4 acceptance") in a
# database that already holds the two tables it reads -- the script creates
# neither -- and whose earlier queries the worker has learned from.
# Every statement passes as written.
source "$(dirname "$0")/lib.sh"

db=rv100
ctl=rv100ctl  # dag_learn_now before the script has created ruvector_dag in $db
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP DATABASE IF EXISTS $ctl WITH (FORCE)" \
  -c "CREATE DATABASE $db" -c "CREATE DATABASE $ctl" >/dev/null
psql_db "$ctl" -c "CREATE EXTENSION ruvector_dag CASCADE" >/dev/null
# The tables the script reads: vectors (3 dimensions, like its literal) and
# test_vectors (128, like random_vector(128)) with a ruhnsw index.
psql_db "$db" <<'SQL' >/dev/null
CREATE EXTENSION ruvector;
CREATE TABLE vectors (id int PRIMARY KEY, embedding ruvector(3));
INSERT INTO vectors SELECT i, random_vector(3, i) FROM generate_series(1, 2000) i;
CREATE TABLE test_vectors (id int, embedding ruvector(128));
CREATE INDEX test_vectors_embedding ON test_vectors USING ruhnsw (embedding ruvector_l2_ops);
ANALYZE;
SQL
# Earlier use of the database (observed by the preloaded library): a few
# query shapes over both tables, learned by the worker.
for i in $(seq 1 6); do
  psql_db "$db" -c "SELECT count(*) FROM vectors WHERE id < $((i * 300))" \
    -c "SELECT id FROM vectors ORDER BY embedding <-> random_vector(3, $i) LIMIT 5" \
    -c "SELECT count(*) FROM vectors a JOIN vectors b ON b.id = a.id + 1 WHERE a.id < $((i * 300))" \
    -c "SELECT max(id) FROM vectors WHERE embedding <-> random_vector(3, $i) < 0.3" \
    -c "SELECT count(*) FROM test_vectors" >/dev/null
done
learn_now "$ctl"

# --- the script, verbatim, in one session (errors do not stop it) -----------------------
out=$("$RV_BINDIR/psql" -X -At -h "$RV_HOST" -p "$RV_PORT" -U postgres -d "$db" \
  -f "$(dirname "$0")/100_m4_acceptance.sql" 2>&1) || true
printf '%s\n' "$out" | sed 's/^/# /'
errors=$(printf '%s\n' "$out" | sed -n 's/^.*ERROR:  //p')
check "the script runs without an error" "$errors" ""
before_loop=$(printf '%s\n' "$out" | grep -c 'NOTICE:  Improvement ratio: ')
check "its DO block reads avg_improvement from dag_status() and reports the ratio" "$before_loop" 1
check "CREATE EXTENSION ruvector_dag CASCADE created the extension" \
  "$(quiet "$db" "SELECT count(*) FROM pg_extension WHERE extname IN ('ruvector', 'ruvector_dag')")" 2
analysis=$(quiet "$db" "SELECT string_agg(operator_type, ',' ORDER BY node_id) FROM ruvector.dag_analyze_plan(\$\$
SELECT * FROM vectors
WHERE embedding <-> '[0.1,0.2,0.3]' < 0.5
LIMIT 10
\$\$)")
check "dag_analyze_plan of the script's query: Limit over a Seq Scan with the distance filter" "$analysis" \
  "Limit,Seq Scan"
check "the script printed the analysis' rows" \
  "$(printf '%s\n' "$out" | grep -c -E '^[0-9]+\|(Limit|Seq Scan)\|')" 2
check "the INSERT added 1000 rows" "$(quiet "$db" "SELECT count(*) FROM test_vectors")" 1000
# The COUNT(*) of dag_pattern_clusters() is the script's only bare number.
clusters=$(printf '%s\n' "$out" | grep -E '^[0-9]+$' | head -1)
if [ -n "$clusters" ] && [ "$clusters" -gt 0 ]; then ok "dag_pattern_clusters() has $clusters clusters"; else
  not_ok "dag_pattern_clusters() has clusters (got '$clusters')"; fi

check "the loop's query is Limit <- VectorDistance <- Seq Scan (a volatile query vector cannot use the index)" \
  "$(quiet "$db" "SELECT string_agg(operator_type || coalesce('/' || detail, ''), ',' ORDER BY node_id)
     FROM ruvector.dag_analyze_plan('SELECT * FROM test_vectors ORDER BY embedding <-> random_vector(128) LIMIT 10')")" \
  "Limit,VectorDistance/l2,Seq Scan"

# --- the DO block's 100 queries were observed ------------------------------------------
block=$(sed -n '/^DO \$\$/,/^END \$\$;/p' "$(dirname "$0")/100_m4_acceptance.sql")
before=$(quiet "$db" "SELECT executions_observed FROM ruvector.dag_status()")
again=$(printf '%s\n' "$block" |
  "$RV_BINDIR/psql" -X -At -v ON_ERROR_STOP=1 -h "$RV_HOST" -p "$RV_PORT" -U postgres -d "$db" -f - 2>&1) || true
echo "# the block again: $again"
after=$(quiet "$db" "SELECT executions_observed FROM ruvector.dag_status()")
learn_now "$db"
echo "# executions observed during the block: $((after - before))"
if [ $((after - before)) -ge 100 ]; then ok "the block's 100 queries were observed"; else
  not_ok "the block's 100 queries were observed ($((after - before)))"; fi
echo "# $(quiet "$db" "SELECT format('dag_status: patterns %s, patterns_learned %s, avg_improvement %s',
  patterns, patterns_learned, coalesce(avg_improvement::text, 'NULL')) FROM ruvector.dag_status()")"
echo "# $(quiet "$db" "SELECT string_agg(format('%s runs, %s ms, arm %s', executions, round(mean_ms::numeric, 2),
  deployed_arm), '; ') FROM ruvector.dag_query_patterns() WHERE executions >= 100")"

psql_db postgres -c "DROP DATABASE $db WITH (FORCE)" -c "DROP DATABASE $ctl WITH (FORCE)" >/dev/null
done_testing
