-- Every executed statement is recorded: prepared statements (generic and
-- custom plans), PL/pgSQL (SPI), cursors, parallel query and utility
-- statements keep working and are observed.
SELECT ruvector.dag_reset_stats();
SELECT patterns, trajectories_recorded, trajectories_dropped FROM ruvector.dag_status();
SET max_parallel_workers_per_gather = 0;
-- Per-node row counts on every execution (the default samples 1 in 10).
SET ruvector.dag_row_sample_rate = 1;

-- The same statement with different constants is one pattern (same query
-- id and parameter bucket); per-node actual rows are recorded.
SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.region = 3;
SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.region = 4;
SELECT operator_types, estimated_rows, actual_rows, nested, parallel, truncated
FROM ruvector.dag_trajectory_history(NULL, 10) WHERE operator_types[2] = 'Hash Join' ORDER BY seq;
SELECT executions, plan_nodes, min_ms <= mean_ms AND mean_ms <= max_ms AS stats_ok
FROM ruvector.dag_statistics() WHERE plan_nodes = 5;

-- Prepared statements: generic and custom plans.
PREPARE p(int) AS SELECT count(*) FROM orders WHERE status = $1;
SET plan_cache_mode = force_generic_plan;
EXECUTE p(1);
EXECUTE p(2);
SET plan_cache_mode = force_custom_plan;
EXECUTE p(3);
RESET plan_cache_mode;
DEALLOCATE p;
SELECT count(*) AS prepared_runs FROM ruvector.dag_trajectory_history(NULL, 100)
WHERE operator_types = '{Aggregate,"Seq Scan"}' AND estimated_rows[2] IN (2000, 2000.0);

-- PL/pgSQL: statements run through SPI are recorded as nested.
CREATE FUNCTION count_status(s int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE r bigint;
BEGIN
  SELECT count(*) INTO r FROM orders WHERE status = s;
  RETURN r;
END $$;
SELECT count_status(1), count_status(2);
SELECT count(*) AS nested_runs FROM ruvector.dag_trajectory_history(NULL, 100) WHERE nested;

-- Cursors: rows fetched so far are what the executor produced.
BEGIN;
DECLARE cur CURSOR FOR SELECT id FROM items ORDER BY id;
FETCH 3 FROM cur;
CLOSE cur;
COMMIT;
SELECT operator_types, actual_rows FROM ruvector.dag_trajectory_history(NULL, 1);

-- Parallel query: the leader records it once, with the workers' rows.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT count(*) FROM items;
SELECT operator_types, parallel, actual_rows[1] AS result_rows FROM ruvector.dag_trajectory_history(NULL, 1);
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SET max_parallel_workers_per_gather = 0;

-- Utility statements and DML work; DML is observed like queries.
CREATE TABLE scratch (a int);
INSERT INTO scratch SELECT generate_series(1, 10);
UPDATE scratch SET a = a + 1 WHERE a > 5;
DELETE FROM scratch WHERE a > 8;
SELECT count(*) FROM scratch;
DROP TABLE scratch;
SELECT count(*) >= 3 AS dml_observed FROM ruvector.dag_trajectory_history(NULL, 20) WHERE 'ModifyTable' = ANY (operator_types);

-- Row counts are sampled: with rate 0.5 every other execution has them
-- (latency is still recorded for each).
SET ruvector.dag_row_sample_rate = 0.5;
SELECT count(*) FROM orders WHERE id < 10;
SELECT count(*) FROM orders WHERE id < 10;
SELECT count(*) FROM orders WHERE id < 10;
SELECT count(*) FROM orders WHERE id < 10;
SELECT count(*) FILTER (WHERE actual_rows[1] IS NOT NULL) AS with_rows, count(*) AS executions
FROM ruvector.dag_trajectory_history(NULL, 4);
SET ruvector.dag_row_sample_rate = 1;

-- Switched off, nothing is recorded.
SELECT ruvector.dag_set_enabled(false);
SELECT trajectories_recorded AS before FROM ruvector.dag_status() \gset
SELECT count(*) FROM orders;
SELECT count(*) FROM orders;
SELECT ruvector.dag_set_enabled(true);
SELECT trajectories_recorded - :before AS recorded_while_off FROM ruvector.dag_status();

-- Counters are consistent.
SELECT patterns = (SELECT count(*) FROM ruvector.dag_statistics()) AS patterns_match,
       trajectories_recorded = executions_observed AS all_executions_recorded,
       internal_errors
FROM ruvector.dag_status();
RESET max_parallel_workers_per_gather;
