-- Export / import of the shared state (versioned, checksummed image).
SELECT ruvector.dag_reset_stats();
SELECT count(*) FROM orders WHERE status = 1;
SELECT count(*) FROM customers WHERE region = 2;
SELECT count(*) FROM customers WHERE region = 2;
CREATE TEMP TABLE before_stats AS SELECT pattern_id, executions FROM ruvector.dag_statistics();
CREATE TEMP TABLE saved AS SELECT ruvector.dag_export_state() AS img;
SELECT substring(img FROM 1 FOR 8) AS magic FROM saved;
SELECT ruvector.dag_reset_stats();
SELECT patterns FROM ruvector.dag_status();
SELECT patterns_loaded >= 3 AS patterns_back, trajectories_loaded >= 3 AS trajectories_back
FROM saved, ruvector.dag_import_state(saved.img);
SELECT count(*) AS missing FROM before_stats b
WHERE NOT EXISTS (SELECT 1 FROM ruvector.dag_statistics() s WHERE s.pattern_id = b.pattern_id AND s.executions >= b.executions);

-- Bad images are rejected and nothing changes (observation paused so that
-- the checks themselves do not change the state).
SELECT ruvector.dag_set_enabled(false);
CREATE TEMP TABLE stats_before AS SELECT * FROM ruvector.dag_statistics();
\set VERBOSITY sqlstate
-- flipped payload byte
SELECT * FROM saved, ruvector.dag_import_state(overlay(img PLACING '\xff'::bytea FROM 200 FOR 1));
-- truncated
SELECT * FROM saved, ruvector.dag_import_state(substring(img FROM 1 FOR length(img) - 10));
-- trailing garbage
SELECT * FROM saved, ruvector.dag_import_state(img || '\x00'::bytea);
-- header only
SELECT * FROM saved, ruvector.dag_import_state(substring(img FROM 1 FOR 80));
\set VERBOSITY default
SELECT * FROM saved, ruvector.dag_import_state(overlay(img PLACING '\x00'::bytea FROM 1 FOR 1));
SELECT count(*) AS changed_rows FROM (
  (SELECT * FROM stats_before EXCEPT SELECT * FROM ruvector.dag_statistics())
  UNION ALL
  (SELECT * FROM ruvector.dag_statistics() EXCEPT SELECT * FROM stats_before)) d;
SELECT ruvector.dag_set_enabled(true);

-- The state file can be written on demand (superuser only).
SELECT ruvector.dag_save_state();
SELECT last_save IS NOT NULL AS saved FROM ruvector.dag_status();
CREATE ROLE rv_plain;
SET ROLE rv_plain;
\set VERBOSITY sqlstate
SELECT ruvector.dag_reset_stats();
SELECT * FROM ruvector.dag_import_state('\x00');
\set VERBOSITY default
SELECT count(*) >= 0 AS readable FROM ruvector.dag_status();
RESET ROLE;
DROP ROLE rv_plain;
