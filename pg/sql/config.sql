-- Configuration functions change the session's settings.
SELECT name, setting FROM ruvector.dag_config() ORDER BY name;
-- ... every setting the extension defines, none left out.
SELECT name FROM pg_settings WHERE name ~ '^ruvector\.(dag|sona|sync)_'
EXCEPT SELECT name FROM ruvector.dag_config();
-- A superuser-only setting is NULL to a role that may not read it (as SHOW).
CREATE ROLE rv_config_reader;
SET ROLE rv_config_reader;
SELECT name, setting IS NULL AS hidden FROM ruvector.dag_config()
WHERE name IN ('ruvector.sync_nats_urls', 'ruvector.dag_enabled') ORDER BY name;
RESET ROLE;
DROP ROLE rv_config_reader;
-- The value model's settings are the background worker's: a session cannot
-- set them (postgresql.conf or ALTER SYSTEM, then a reload; the worker uses
-- them when it next creates its engine).
SET ruvector.dag_learning_rate = 0.25;
SET ruvector.sona_micro_lora_rank = 4;
SHOW ruvector.dag_learning_rate;
SELECT ruvector.dag_set_attention('mincut_gated');
SHOW ruvector.dag_attention;
SELECT ruvector.dag_set_attention('auto');
SELECT ruvector.dag_set_enabled(false);
SHOW ruvector.dag_enabled;
SELECT enabled FROM ruvector.dag_status();
SELECT ruvector.dag_set_enabled(true);
SELECT name, setting FROM ruvector.dag_config() WHERE name LIKE 'ruvector.sona%' ORDER BY name;
RESET ALL;
-- Status reports the real state of learning: nothing is learned yet here.
SELECT patterns_learned, avg_improvement, learning, max_patterns, trajectory_capacity
FROM ruvector.dag_status();
-- learning says how candidate arms are measured: here by the background
-- explorer (ruvector.dag_exploration_cpu_budget = 0.5), and with online
-- exploration also by the session's own executions.
SET ruvector.dag_exploration = online;
SELECT learning FROM ruvector.dag_status();
RESET ruvector.dag_exploration;
-- (Whether the worker drained the ring before it wrapped depends on timing.)
SELECT component, CASE WHEN component = 'trajectory_buffer' AND status IN ('ok', 'warning') THEN 'ok or warning'
                       ELSE status END AS status
FROM ruvector.dag_health_check() ORDER BY component;
