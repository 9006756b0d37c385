-- dag_suggest_optimizations: the min-cut engine's bottleneck actions and
-- redundancy suggestions for a really planned (never executed) query.
SET max_parallel_workers_per_gather = 0;
SET enable_nestloop = off;
CREATE TEMP TABLE sq AS SELECT $q$
  SELECT c.region, count(*), sum(o.amount)
  FROM customers c JOIN orders o ON o.customer_id = c.id JOIN items i ON i.order_id = o.id
  WHERE c.region < 5 AND i.qty > 0
  GROUP BY c.region ORDER BY c.region
$q$::text AS sql;

-- Planning only: a query calling nextval() is analyzed without advancing the sequence.
CREATE TEMP SEQUENCE suggest_seq;
SELECT count(*) >= 1 AS analyzed
FROM ruvector.dag_suggest_optimizations('SELECT nextval(''suggest_seq''), o.id FROM orders o JOIN items i ON i.order_id = o.id');
SELECT last_value, is_called FROM suggest_seq;
-- At least one suggestion; every row names an existing plan node, with that
-- node's own operator type and numbers from dag_analyze_plan.
SELECT count(*) >= 1 AS has_suggestions FROM sq, ruvector.dag_suggest_optimizations(sq.sql);
SELECT count(*) AS mismatched
FROM sq, ruvector.dag_suggest_optimizations(sq.sql) s
LEFT JOIN ruvector.dag_analyze_plan((SELECT sql FROM sq)) a ON a.node_id = s.node_id
WHERE a.node_id IS NULL OR a.operator_type <> s.operator_type OR a.criticality <> s.criticality
   OR a.in_min_cut <> s.in_cut;
-- Actions come from the engine's fixed vocabulary; reasons are non-empty.
SELECT bool_and(action IN ('add_index', 'run_analyze', 'use_hash_join', 'raise_work_mem', 'raise_ef_search',
                           'raise_nprobe', 'add_parallelism', 'review_operator', 'materialize', 'prefetch',
                           'replicate', 'alternative_path')) AS known_actions,
       bool_and(length(reason) > 0) AS has_reasons,
       bool_and(work_share BETWEEN 0 AND 1) AS share_in_range,
       bool_and(criticality BETWEEN 0 AND 1) AS criticality_in_range
FROM sq, ruvector.dag_suggest_optimizations(sq.sql);
-- The bottleneck rows agree with dag_bottlenecks' suggested actions.
SELECT count(*) AS disagreeing
FROM sq, ruvector.dag_bottlenecks(sq.sql, 0.0) b
WHERE b.suggested_action IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ruvector.dag_suggest_optimizations((SELECT sql FROM sq)) s
                  WHERE s.node_id = b.node_id AND s.action = b.suggested_action AND s.reason = b.reason);
-- The rows for this plan (node, operator, action), deterministic for the fixtures.
SELECT node_id, operator_type, action, in_cut, round(work_share::numeric, 3) AS work_share
FROM sq, ruvector.dag_suggest_optimizations(sq.sql);
-- A one-node plan: its only operator is all of the work and the whole cut.
SELECT node_id, operator_type, action, in_cut, work_share FROM ruvector.dag_suggest_optimizations('SELECT 1');
RESET enable_nestloop;
RESET max_parallel_workers_per_gather;

-- Bad inputs are ERRORs with a SQLSTATE.
\set VERBOSITY sqlstate
SELECT * FROM ruvector.dag_suggest_optimizations(NULL);
SELECT * FROM ruvector.dag_suggest_optimizations('');
SELECT * FROM ruvector.dag_suggest_optimizations('  ');
SELECT * FROM ruvector.dag_suggest_optimizations('DELETE FROM orders');
SELECT * FROM ruvector.dag_suggest_optimizations('SELEC 1');
SELECT * FROM ruvector.dag_suggest_optimizations('SELECT * FROM no_such_table');
SELECT * FROM ruvector.dag_suggest_optimizations('SELECT 1; SELECT 2');
\set VERBOSITY default
SELECT 1 AS still_alive;
