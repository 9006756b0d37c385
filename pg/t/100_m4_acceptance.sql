-- The M4 acceptance criteria of the milestone plan (docs/postgres.md, "M4 acceptance"),
-- copied verbatim from the line below on; run by pg/t/100_m4_acceptance.sh. Do not edit.
-- Extension loads successfully
CREATE EXTENSION ruvector_dag CASCADE;
-- Configuration works
SELECT ruvector.dag_set_enabled(true);
SELECT ruvector.dag_set_attention('auto');
-- Query analysis works
SELECT * FROM ruvector.dag_analyze_plan($$
SELECT * FROM vectors
WHERE embedding <-> '[0.1,0.2,0.3]' < 0.5
LIMIT 10
$$);
-- Patterns are stored
INSERT INTO test_vectors SELECT generate_series(1,1000), random_vector(128);
SELECT COUNT(*) FROM ruvector.dag_pattern_clusters(); -- Should have clusters
-- Learning improves over time
DO $$
DECLARE
initial_time FLOAT8;
final_time FLOAT8;
BEGIN
-- Run workload
FOR i IN 1..100 LOOP
PERFORM * FROM test_vectors ORDER BY embedding <-> random_vector(128) LIMIT 10;
END LOOP;
-- Check improvement
SELECT avg_improvement INTO final_time FROM ruvector.dag_status();
RAISE NOTICE 'Improvement ratio: %', final_time;
END $$;
