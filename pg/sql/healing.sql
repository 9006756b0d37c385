-- Healing: the worker's cycle publishes a health report; dag_auto_repair()
-- asks for a cycle now and ANALYZEs stale tables the caller owns, recording
-- each repair.
SELECT healing_enabled, health_score BETWEEN 0 AND 1 AS score_in_range, cycles >= 0 AS has_cycles
FROM ruvector.dag_health_report();
-- The cycle runs in the worker, which reads postgresql.conf: a session cannot
-- turn it off (healing_enabled would then describe the session, not the worker).
SET ruvector.dag_healing_enabled = off;
SELECT healing_enabled FROM ruvector.dag_health_report();

-- Everything analyzed: nothing is stale.
ANALYZE;
SELECT pg_stat_force_next_flush();
SELECT count(*) AS stale_tables FROM ruvector.dag_auto_repair() WHERE origin = 'auto_repair';

-- A table loaded but never analyzed is stale; auto repair analyzes it once.
CREATE TABLE heal_t (id int, v int);
INSERT INTO heal_t SELECT i, i % 7 FROM generate_series(1, 5000) i;
SELECT pg_stat_force_next_flush();
SELECT reltuples < 0 AS never_analyzed FROM pg_class WHERE relname = 'heal_t';
SELECT origin, strategy, target, outcome FROM ruvector.dag_auto_repair() WHERE origin = 'auto_repair';
SELECT reltuples AS planner_rows FROM pg_class WHERE relname = 'heal_t';
SELECT origin, strategy, action, outcome FROM ruvector.dag_repair_history(1);
SELECT pg_stat_force_next_flush();
SELECT count(*) AS stale_after_repair FROM ruvector.dag_auto_repair() WHERE origin = 'auto_repair';

-- The worker ran a cycle for the request.
SELECT cycles > 0 AS cycled FROM ruvector.dag_health_report();
SELECT count(*) >= 0 AS anomalies_readable FROM ruvector.dag_anomalies(10);

-- Bad arguments.
SELECT * FROM ruvector.dag_anomalies(-1);
SELECT * FROM ruvector.dag_repair_history(-5);
SELECT count(*) >= 0 AS all_rows FROM ruvector.dag_anomalies(NULL);

-- Trajectory history with an improvement filter: no run is 100 % faster.
SELECT count(*) AS impossible FROM ruvector.dag_trajectory_history(1.0, 10);
SELECT count(*) <= 3 AS limited FROM ruvector.dag_trajectory_history(NULL, 3);
DROP TABLE heal_t;

-- The worker's ReasoningBank clusters the tracked patterns by their plans.
SELECT ruvector.dag_learn_now() >= 0 AS learned;
SELECT count(*) > 0 AS has_clusters, sum(patterns) > 1 AS several_patterns,
       bool_and(patterns > 0) AS no_empty_cluster
FROM ruvector.dag_pattern_clusters();
