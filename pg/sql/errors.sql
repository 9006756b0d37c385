-- Every bad argument is an ERROR with a SQLSTATE; the backend stays alive.
\set VERBOSITY sqlstate
SELECT * FROM ruvector.dag_analyze_plan(NULL);
SELECT * FROM ruvector.dag_analyze_plan('');
SELECT * FROM ruvector.dag_analyze_plan('   ');
SELECT * FROM ruvector.dag_analyze_plan('DELETE FROM orders');
SELECT * FROM ruvector.dag_analyze_plan('CREATE TABLE x (a int)');
SELECT * FROM ruvector.dag_analyze_plan('SELEC 1');
SELECT * FROM ruvector.dag_analyze_plan('SELECT * FROM no_such_table');
SELECT * FROM ruvector.dag_analyze_plan('SELECT 1; SELECT 2');
SELECT * FROM ruvector.dag_analyze_plan('SELECT 1 INTO TEMP t_into');
SELECT * FROM ruvector.dag_analyze_plan('WITH d AS (DELETE FROM items RETURNING *) SELECT * FROM d');
SELECT * FROM ruvector.dag_analyze_plan('SELECT $1');
SELECT * FROM ruvector.dag_critical_path(NULL);
SELECT * FROM ruvector.dag_critical_path('UPDATE orders SET status = 1');
SELECT * FROM ruvector.dag_bottlenecks('SELECT 1', NULL);
SELECT * FROM ruvector.dag_bottlenecks('SELECT 1', -0.1);
SELECT * FROM ruvector.dag_bottlenecks('SELECT 1', 1.5);
SELECT * FROM ruvector.dag_bottlenecks('SELECT 1', 'NaN');
SELECT * FROM ruvector.dag_mincut_analysis('SELECT 1', 'nope');
SELECT * FROM ruvector.dag_mincut_analysis('SELECT 1', NULL);
SELECT * FROM ruvector.dag_attention_scores('SELECT 1', 'nope');
SELECT * FROM ruvector.dag_attention_scores('SELECT 1', '');
SELECT * FROM ruvector.dag_attention_scores(NULL, 'auto');
SELECT ruvector.dag_attention_matrix('SELECT 1', NULL);
SELECT ruvector.dag_attention_visualize('SELECT 1', 'auto', 'svg');
SELECT ruvector.dag_attention_visualize('SELECT 1', 'auto', NULL);
SELECT ruvector.dag_attention_visualize('SELECT 1', 'bogus', 'dot');
SELECT ruvector.dag_set_enabled(NULL);
SELECT ruvector.dag_set_attention('fastest');
SELECT ruvector.dag_set_attention(NULL);
SELECT * FROM ruvector.dag_trajectory_history(NULL, -1);
SELECT * FROM ruvector.dag_trajectory_history(NULL, NULL);
SELECT * FROM ruvector.dag_import_state(NULL);
SELECT * FROM ruvector.dag_import_state('\x00'::bytea);
SELECT * FROM ruvector.dag_import_state(convert_to(repeat('RVDGSTAT', 20), 'UTF8'));
SET ruvector.dag_attention = 'nope';
SET ruvector.dag_learning_rate = 0;
SET ruvector.dag_max_patterns = 5;
SET ruvector.no_such_setting = 1;
\set VERBOSITY default
-- The messages name what was wrong.
SELECT ruvector.dag_set_attention('fastest');
SELECT * FROM ruvector.dag_analyze_plan('DELETE FROM orders');
SELECT 'backend alive' AS status;
