-- Failures inside the extension never fail or change the user's statement:
-- they are logged, counted in internal_errors, and the statement runs on.
SET max_parallel_workers_per_gather = 0;
SELECT internal_errors AS errors_before FROM ruvector.dag_status() \gset
-- An exception thrown in the C++ zone (planner and executor hooks).
SET ruvector.dag_debug_fault = 'cpp_exception';
SELECT count(*) FROM orders WHERE status = 1;
SELECT o.status, count(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.region < 3
GROUP BY 1 ORDER BY 1;
PREPARE pf(int) AS SELECT count(*) FROM orders WHERE status = $1;
EXECUTE pf(2);
SELECT count_status(3);
-- A PostgreSQL ERROR raised in the PG zone of the hooks.
SET ruvector.dag_debug_fault = 'pg_error';
SELECT count(*) FROM orders WHERE status = 1;
EXECUTE pf(4);
BEGIN;
DECLARE fc CURSOR FOR SELECT id FROM customers ORDER BY id;
FETCH 2 FROM fc;
CLOSE fc;
COMMIT;
-- The transaction is healthy after swallowed errors.
SELECT count(*) FROM customers;
-- In an analysis function the failure is the function's ERROR (XX000).
SET ruvector.dag_debug_fault = 'cpp_exception';
\set VERBOSITY sqlstate
SELECT * FROM ruvector.dag_analyze_plan('SELECT 1');
\set VERBOSITY default
SELECT * FROM ruvector.dag_analyze_plan('SELECT 1');
RESET ruvector.dag_debug_fault;
DEALLOCATE pf;
SELECT internal_errors - :errors_before AS faults_counted FROM ruvector.dag_status();
SELECT count(*) FROM orders WHERE status = 1;
-- Only superusers may inject faults.
CREATE ROLE rv_fault;
SET ROLE rv_fault;
\set VERBOSITY sqlstate
SET ruvector.dag_debug_fault = 'pg_error';
\set VERBOSITY default
RESET ROLE;
DROP ROLE rv_fault;
RESET max_parallel_workers_per_gather;
