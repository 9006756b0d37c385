-- The analysis functions plan the query for real: their nodes and costs are
-- PostgreSQL's own (compared with EXPLAIN (FORMAT JSON)).
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE q AS SELECT $q$
  SELECT c.region, count(*), sum(o.amount)
  FROM customers c JOIN orders o ON o.customer_id = c.id JOIN items i ON i.order_id = o.id
  WHERE c.region < 5 AND i.qty > 0
  GROUP BY c.region ORDER BY c.region
$q$::text AS sql;

-- Same node count, same (type, total cost, rows) multiset as EXPLAIN.
SELECT (SELECT count(*) FROM q, ruvector.dag_analyze_plan(q.sql)) =
       (SELECT count(*) FROM q, jsonb_path_query(explain_json(q.sql), 'strict $.**."Node Type"')) AS same_node_count;
SELECT count(*) AS nodes FROM q, ruvector.dag_analyze_plan(q.sql);
SELECT (SELECT array_agg(round(estimated_cost::numeric, 2) || '/' || estimated_rows
                         ORDER BY round(estimated_cost::numeric, 2), estimated_rows)
        FROM q, ruvector.dag_analyze_plan(q.sql)) =
       (SELECT array_agg(round((x->>'Total Cost')::numeric, 2) || '/' || (x->>'Plan Rows')::float8
                         ORDER BY round((x->>'Total Cost')::numeric, 2), (x->>'Plan Rows')::float8)
        FROM q, jsonb_path_query(explain_json(q.sql), 'strict $.**') x WHERE x ? 'Node Type')
       AS same_costs_and_rows;
-- Top node: total cost equals EXPLAIN's.
SELECT round(a.estimated_cost::numeric, 2) = round((explain_json(q.sql)->0->'Plan'->>'Total Cost')::numeric, 2)
       AS top_cost_matches
FROM q, ruvector.dag_analyze_plan(q.sql) a WHERE a.node_id = 0;
-- Structure: one top node, every other node has exactly one parent, ids dense.
SELECT count(*) FILTER (WHERE parent_ids = '{}') AS tops,
       count(*) FILTER (WHERE cardinality(parent_ids) = 1) AS with_parent,
       max(node_id) + 1 = count(*) AS dense_ids
FROM q, ruvector.dag_analyze_plan(q.sql);
-- parent/child lists are consistent with each other.
SELECT count(*) AS inconsistent FROM q, ruvector.dag_analyze_plan(q.sql) a, unnest(a.child_ids) c
WHERE NOT EXISTS (SELECT 1 FROM ruvector.dag_analyze_plan(q.sql) b WHERE b.node_id = c AND a.node_id = ANY (b.parent_ids));
-- Scores are in range; exactly one node has bottleneck_score 1.
SELECT bool_and(criticality BETWEEN 0 AND 1) AS criticality_in_range,
       bool_and(bottleneck_score BETWEEN 0 AND 1) AS score_in_range,
       count(*) FILTER (WHERE bottleneck_score = 1) >= 1 AS has_top_bottleneck,
       bool_and(self_cost >= 0 AND self_cost <= estimated_cost + 1e-9) AS self_cost_ok
FROM q, ruvector.dag_analyze_plan(q.sql);
-- Scans carry their relation names.
SELECT DISTINCT operator_type, relation FROM q, ruvector.dag_analyze_plan(q.sql)
WHERE relation IS NOT NULL ORDER BY relation;

-- Critical path: from a leaf to the top, cumulative cost non-decreasing,
-- and it is the most expensive leaf-to-top path.
SELECT min(step) = 1 AS starts_at_1,
       bool_and(self_cost >= 0) AS nonnegative,
       (array_agg(node_id ORDER BY step DESC))[1] = 0 AS ends_at_top
FROM q, ruvector.dag_critical_path(q.sql);
SELECT round(max(cumulative_cost)::numeric, 6) =
       round((SELECT sum(self_cost) FROM q, ruvector.dag_analyze_plan(q.sql) WHERE on_critical_path)::numeric, 6)
       AS path_cost_matches
FROM q, ruvector.dag_critical_path(q.sql);

-- Bottlenecks: the threshold filters, results ordered by score.
SELECT count(*) >= 1 AS some_at_default FROM q, ruvector.dag_bottlenecks(q.sql);
SELECT bool_and(bottleneck_score >= 0.7) AS all_above FROM q, ruvector.dag_bottlenecks(q.sql);
SELECT (SELECT count(*) FROM q, ruvector.dag_bottlenecks(q.sql, 0.0)) =
       (SELECT count(*) FROM q, ruvector.dag_analyze_plan(q.sql)) AS zero_threshold_returns_all;

-- Min cut: a non-empty cut of existing nodes, tension in [0,1].
SELECT cardinality(cut_nodes) >= 1 AS has_cut, cut_capacity > 0 AS positive_capacity,
       tension BETWEEN 0 AND 1 AS tension_in_range, misestimation = 0 AS no_actuals_no_misestimation,
       capacity_mode
FROM q, ruvector.dag_mincut_analysis(q.sql);
SELECT capacity_mode, cardinality(cut_nodes) >= 1 AS has_cut
FROM q, unnest(ARRAY['bottleneck','cost','rows','time','unit']) m, ruvector.dag_mincut_analysis(q.sql, m)
ORDER BY 1;
-- unit capacities: a single operator (the top) already cuts every path.
SELECT cut_capacity FROM q, ruvector.dag_mincut_analysis(q.sql, 'unit');

-- Attention: every mechanism gives one weight per node summing to 1.
SELECT m, count(*) AS nodes, round(sum(attention_weight)::numeric, 9) AS total,
       bool_and(attention_weight BETWEEN 0 AND 1) AS in_range
FROM q, unnest(ARRAY['topological','causal_cone','critical_path','mincut_gated','hierarchical_lorentz',
                     'parallel_branch','temporal_btsp']) m, ruvector.dag_attention_scores(q.sql, m)
GROUP BY m ORDER BY m;
SELECT DISTINCT mechanism IS NOT NULL AS auto_chose FROM q, ruvector.dag_attention_scores(q.sql);
-- CamelCase names are accepted too.
SELECT DISTINCT mechanism FROM q, ruvector.dag_attention_scores(q.sql, 'CriticalPath');
-- Matrix: n x n, each consumer's row sums to 1 over its inputs, leaves' rows are 0.
SELECT array_dims(ruvector.dag_attention_matrix(q.sql, 'topological')) FROM q;
WITH m AS (SELECT ruvector.dag_attention_matrix(q.sql, 'causal_cone') AS a FROM q),
a AS (SELECT * FROM q, ruvector.dag_analyze_plan(q.sql)),
rows AS (SELECT a.node_id, cardinality(a.child_ids) AS inputs,
                (SELECT sum(m.a[a.node_id][j]) FROM generate_series(0, array_upper(m.a, 2)) j) AS s
         FROM a, m)
SELECT bool_and(CASE WHEN inputs > 0 THEN round(s::numeric, 9) = 1 ELSE s = 0 END) AS rows_ok FROM rows;
-- Visualizations.
SELECT ruvector.dag_attention_visualize('SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id',
                                        'topological', 'mermaid');
SELECT ruvector.dag_attention_visualize('SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id',
                                        'topological', 'ascii') LIKE 'attention: topological (requested)%' AS ascii_ok;
SELECT ruvector.dag_attention_visualize(q.sql, 'auto', 'dot') LIKE 'digraph plan {%' AS dot_ok FROM q;
SELECT jsonb_array_length(ruvector.dag_attention_visualize(q.sql, 'parallel_branch', 'json')::jsonb->'nodes') =
       (SELECT count(*) FROM ruvector.dag_analyze_plan(q.sql)) AS json_ok FROM q;

-- Sub-plans and CTEs become nodes, as in EXPLAIN.
SELECT (SELECT count(*) FROM ruvector.dag_analyze_plan(s)) =
       (SELECT count(*) FROM jsonb_path_query(explain_json(s), 'strict $.**."Node Type"')) AS same_node_count
FROM (VALUES
  ('SELECT id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.amount > 99)'),
  ('SELECT id, (SELECT max(amount) FROM orders o WHERE o.customer_id = c.id) FROM customers c WHERE id < 10'),
  ('WITH big AS MATERIALIZED (SELECT * FROM orders WHERE amount > 90) SELECT count(*) FROM big b1 JOIN big b2 USING (id)'),
  ('SELECT region FROM customers UNION SELECT status FROM orders'),
  ('SELECT * FROM orders WHERE amount > (SELECT avg(amount) FROM orders) ORDER BY id LIMIT 5')) v(s);
RESET max_parallel_workers_per_gather;
