#!/usr/bin/env bash
# Learned row-count corrections (docs/postgres.md, "Row-count corrections"):
# on tables with perfectly correlated columns PostgreSQL multiplies the two
# filters' selectivities and underestimates each scan by 100x. After a few
# sampled executions the learner publishes corrections for those relation
# sets; planned under the arm row_corrections, EXPLAIN shows the corrected
# estimates, the results stay the same, and the background explorer
# measures the arm like any other (deployed only when measured faster).
source "$(dirname "$0")/lib.sh"

db=rvrowcorr
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
psql_db "$db" -c "CREATE EXTENSION ruvector_dag CASCADE" >/dev/null
# Serial plans: estimates and counts per scan, not per parallel worker.
quiet "$db" "ALTER DATABASE $db SET max_parallel_workers_per_gather = 0" >/dev/null
quiet "$db" "CREATE TABLE rc_fact AS SELECT i AS id, i % 100 AS a, i % 100 AS b, i % 1000 AS k, repeat('x', 40) AS pad
  FROM generate_series(1, 200000) i" >/dev/null
quiet "$db" "CREATE TABLE rc_dim AS SELECT i AS k, i % 100 AS a, i % 100 AS b FROM generate_series(1, 20000) i" >/dev/null
quiet "$db" "ANALYZE rc_fact" >/dev/null
quiet "$db" "ANALYZE rc_dim" >/dev/null
q="SELECT count(*), sum(f.id) FROM rc_fact f JOIN rc_dim d ON d.k = f.k WHERE f.a = 7 AND f.b = 7 AND d.a = 7 AND d.b = 7"
# rows=N of the first plan line naming RELATION.
est_rows() {  # est_rows "EXPLAIN text" relation
  printf '%s\n' "$1" | grep -m1 "on $2 " | sed -n 's/.*rows=\([0-9]*\).*/\1/p'
}
default_plan=$(quiet "$db" "EXPLAIN $q")
fact_default=$(est_rows "$default_plan" rc_fact)
echo "# PostgreSQL estimates $fact_default rows of rc_fact (2000 match)"
if [ -n "$fact_default" ] && [ "$fact_default" -le 40 ]; then ok "PostgreSQL underestimates the correlated filter 50x or more";
else not_ok "PostgreSQL underestimates the correlated filter 50x or more (estimated ${fact_default:-?})"; fi
expected=$(quiet "$db" "$q")

# Every execution samples row counts; three executions teach the learner.
for _ in 1 2 3; do psql_db "$db" -c "SET ruvector.dag_row_sample_rate = 1" -c "$q" >/dev/null; done
learn_now "$db"
pattern=$(quiet "$db" "SELECT pattern_id FROM ruvector.dag_statistics() WHERE executions >= 3 ORDER BY executions DESC LIMIT 1")
query_id=$(quiet "$db" "SELECT query_id FROM ruvector.dag_statistics() WHERE pattern_id = ${pattern:-0}")
echo "# corrections: $(quiet "$db" "SELECT string_agg(format('%s rel(s): %s -> %s rows (x%s, %s obs)', relations,
  round(estimated_rows::numeric), round(actual_rows::numeric), round(factor::numeric, 1), observations), '; ')
  FROM ruvector.dag_row_corrections() WHERE pattern_id = ${pattern:-0}")"
check "both scans' relation sets are corrected by about 100x" \
  "$(quiet "$db" "SELECT count(*) FROM ruvector.dag_row_corrections() WHERE pattern_id = ${pattern:-0}
    AND relations = 1 AND factor BETWEEN 50 AND 200 AND observations >= 2")" 2
check "the join's relation set is corrected upwards" \
  "$(quiet "$db" "SELECT count(*) FROM ruvector.dag_row_corrections() WHERE pattern_id = ${pattern:-0}
    AND relations = 2 AND factor > 4")" 1

# Pinned to row_corrections, the planner uses the learned row counts.
quiet "$db" "SELECT ruvector.dag_pin(${query_id:-0}, 'row_corrections')" >/dev/null
corrected_plan=$(psql_db "$db" -c "EXPLAIN $q")
fact_corrected=$(est_rows "$corrected_plan" rc_fact)
dim_corrected=$(est_rows "$corrected_plan" rc_dim)
echo "# corrected estimates: rc_fact $fact_corrected rows, rc_dim $dim_corrected rows"
printf '%s\n' "$corrected_plan" | sed 's/^/#   /'
if [ -n "$fact_corrected" ] && [ "$fact_corrected" -ge 1000 ] && [ "$fact_corrected" -le 4000 ]; then
  ok "EXPLAIN shows the corrected estimate of rc_fact"
else not_ok "EXPLAIN shows the corrected estimate of rc_fact (got ${fact_corrected:-?})"; fi
if [ -n "$dim_corrected" ] && [ "$dim_corrected" -ge 100 ] && [ "$dim_corrected" -le 400 ]; then
  ok "EXPLAIN shows the corrected estimate of rc_dim"
else not_ok "EXPLAIN shows the corrected estimate of rc_dim (got ${dim_corrected:-?})"; fi
check "EXPLAIN names the arm and the corrected relations" \
  "$(printf '%s\n' "$corrected_plan" | grep -c "Learned Arm: row_corrections (pinned\|Row Corrections: 3 relations")" 2
# The plan advice names the corrected sets by their aliases (docs/postgres.md, "Plan advice").
advice_line=$(printf '%s\n' "$corrected_plan" | sed -n 's/^ *Plan Advice: //p')
check "EXPLAIN's plan advice has a ROWS item per corrected set, by alias" \
  "$(printf '%s\n' "$advice_line" | grep -oE 'ROWS\((f d|f|d) \*[0-9.e+]+\)' | sed 's/ \*.*//' | sort | tr '\n' ' ')" \
  "ROWS(d ROWS(f ROWS(f d "
check "dag_decisions shows the same advice" \
  "$(quiet "$db" "SELECT advice FROM ruvector.dag_decisions() WHERE pattern_id = ${pattern:-0}")" "$advice_line"
check "results are identical under the corrections" "$(psql_db "$db" -c "$q")" "$expected"
check "the corrected plannings are counted" \
  "$(quiet "$db" "SELECT corrected_plannings > 0 AND corrected_relations >= 3 AND patterns >= 1
    FROM ruvector.dag_row_correction_status()")" t
quiet "$db" "SELECT ruvector.dag_unpin(${query_id:-0})" >/dev/null
check "unpinned, PostgreSQL's estimate is back" "$(est_rows "$(psql_db "$db" -c "EXPLAIN $q")" rc_fact)" "$fact_default"

# New statistics make the estimates right: ANALYZE forgets the corrections
# of the patterns that read the table.
quiet "$db" "CREATE STATISTICS rc_fact_ab (dependencies) ON a, b FROM rc_fact" >/dev/null
psql_db "$db" -c "ANALYZE rc_fact" >/dev/null
learn_now "$db"
check "ANALYZE of a table forgets the corrections of the patterns reading it" \
  "$(quiet "$db" "SELECT count(*) FROM ruvector.dag_row_corrections() WHERE pattern_id = ${pattern:-0}")" 0
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
done_testing
