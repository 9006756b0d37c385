-- EXPLAIN gets a "RuVector DAG" section (text format); numbers that depend
-- on OIDs (pattern and query ids) are masked.
CREATE FUNCTION explain_lines(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE q LOOP
    RETURN NEXT regexp_replace(line, 'Pattern: -?\d+ \(query id -?\d+', 'Pattern: N (query id N');
  END LOOP;
END $$;
SET max_parallel_workers_per_gather = 0;
SELECT * FROM explain_lines('EXPLAIN (COSTS OFF) SELECT c.region, count(*) FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.region < 5 GROUP BY c.region');
-- With ANALYZE the tension uses measured rows.
SELECT * FROM explain_lines('EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM orders WHERE status = 1')
WHERE explain_lines ~ '^ *(RuVector|Tension|Plan Nodes)';
-- The section can be switched off; other formats are untouched.
SET ruvector.dag_explain = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM orders;
RESET ruvector.dag_explain;
SELECT count(*) AS json_documents FROM (SELECT explain_json('SELECT count(*) FROM orders')) s;
-- EXPLAIN of utility statements and of a prepared statement still works.
SELECT * FROM explain_lines('EXPLAIN (COSTS OFF) CREATE TABLE explained AS SELECT 1 AS x');
PREPARE pe(int) AS SELECT count(*) FROM orders WHERE status = $1;
EXPLAIN (COSTS OFF) EXECUTE pe(2);
DEALLOCATE pe;
-- The pattern id shown is the one the executor records for the statement.
SELECT ruvector.dag_reset_stats();
SELECT count(*) FROM orders WHERE status = 3;
DO $$
DECLARE line text; pid bigint;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN SELECT count(*) FROM orders WHERE status = 4' LOOP
    IF line ~ 'Pattern: ' THEN pid := substring(line FROM 'Pattern: (-?\d+)')::bigint; END IF;
  END LOOP;
  PERFORM 1 FROM ruvector.dag_statistics() s WHERE s.pattern_id = pid;
  RAISE NOTICE 'explained pattern recorded by the executor: %', FOUND;
END $$;
RESET max_parallel_workers_per_gather;
