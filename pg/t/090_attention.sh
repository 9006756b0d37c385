#!/usr/bin/env bash
# The worker's attention mechanism (docs/postgres.md, "The engine in the
# worker"): the engine keeps one value model per mechanism and its selector
# reports every mechanism's held-out error; dag_set_attention (superusers)
# forces a mechanism in the worker's engine and 'auto' returns to the
# selector; without a request the worker follows its own
# ruvector.dag_attention; the value models and the selector survive a
# restart (the learner file holds the engine image).
source "$(dirname "$0")/lib.sh"

db=rvatt
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" \
  -c "DROP ROLE IF EXISTS r080" -c "CREATE ROLE r080 LOGIN" >/dev/null
psql_db "$db" <<'SQL' >/dev/null
CREATE EXTENSION ruvector_dag CASCADE;
CREATE TABLE att_a (id int PRIMARY KEY, k int, v text);
CREATE TABLE att_b (id int PRIMARY KEY, a_id int, w int);
INSERT INTO att_a SELECT g, g % 50, md5(g::text) FROM generate_series(1, 20000) g;
INSERT INTO att_b SELECT g, g % 20000 + 1, g % 7 FROM generate_series(1, 40000) g;
ANALYZE att_a, att_b;
GRANT SELECT ON att_a, att_b TO r080;
SQL
# A few statements of different shapes, each run several times: their
# executed plans reach the worker, which trains every mechanism's model.
workload() {
  psql_db "$db" <<'SQL' >/dev/null
SELECT count(*) FROM att_a WHERE k = 3;
SELECT count(*) FROM att_a a JOIN att_b b ON b.a_id = a.id WHERE a.k < 5;
SELECT a.k, sum(b.w) FROM att_a a JOIN att_b b ON b.a_id = a.id GROUP BY a.k ORDER BY 2 DESC LIMIT 3;
SELECT count(DISTINCT v) FROM att_a WHERE id BETWEEN 100 AND 5000;
SELECT max(b.w) FROM att_b b WHERE b.a_id IN (SELECT id FROM att_a WHERE k = 7);
SELECT a.id FROM att_a a ORDER BY a.v LIMIT 5;
SQL
}
status() { quiet "$db" "SELECT $1 FROM ruvector.dag_status()"; }
runs_in_reason() { status mechanism_reason | sed -n 's/.* over \([0-9]*\) runs$/\1/p'; }

for _ in $(seq 1 6); do workload; learn_now "$db"; done
echo "# auto: $(status "mechanism || ': ' || mechanism_reason")"
case "$(status mechanism_reason)" in
  selecting:*|selected:*) ok "auto: the selector decides, with every mechanism's held-out error" ;;
  *) not_ok "auto: the selector decides (got '$(status mechanism_reason)')" ;;
esac
check "seven mechanisms are evaluated" "$(status mechanism_reason | grep -o '[a-z_]* [0-9]\.[0-9]*' | wc -l)" 7
check "dag_attention_status: seven models, the one in use is dag_status's mechanism" \
  "$(quiet "$db" "SELECT count(*) || ' ' || string_agg(mechanism, ',') FILTER (WHERE in_use)
    FROM ruvector.dag_attention_status()")" "7 $(status mechanism)"
measured=$(runs_in_reason)
if [ "${measured:-0}" -gt 0 ]; then ok "held-out runs were measured ($measured)"; else not_ok "held-out runs were measured"; fi

# Only superusers change the server's learner.
check "a plain role may not call dag_set_attention" \
  "$(sql_error r080 "$db" "SELECT ruvector.dag_set_attention('topological')")" \
  "permission denied for function dag_set_attention"

# Forced: the engine pools with the forced mechanism from its next pass.
for m in topological mincut_gated; do
  quiet "$db" "SELECT ruvector.dag_set_attention('$m')" >/dev/null
  workload
  learn_now "$db"
  check "forced $m: dag_status reports it" "$(status mechanism)" "$m"
  check "forced $m: the reason names the request" \
    "$(status "mechanism_reason LIKE 'forced by dag_set_attention; held-out error:%'")" t
done
# The model keeps learning on the forced mechanism's embeddings.
before=$(status model_runs_learned)
workload
learn_now "$db"
if [ "$(status model_runs_learned)" -gt "$before" ]; then ok "the forced engine keeps learning"; else
  not_ok "the forced engine keeps learning"; fi

# 'auto' returns to the selector.
quiet "$db" "SELECT ruvector.dag_set_attention('auto')" >/dev/null
workload
learn_now "$db"
case "$(status mechanism_reason)" in
  selecting:*|selected:*) ok "'auto' returns to the selector" ;;
  *) not_ok "'auto' returns to the selector (got '$(status mechanism_reason)')" ;;
esac
runs_before=$(runs_in_reason)
learned_before=$(status model_runs_learned)

# A reload reaches the running value models: their learning rate and EWC++
# strength change without a restart (a rank change waits for the next engine).
quiet postgres "ALTER SYSTEM SET ruvector.dag_learning_rate = 0.05" >/dev/null
quiet postgres "ALTER SYSTEM SET ruvector.sona_micro_lora_rank = 4" >/dev/null
quiet postgres "SELECT pg_reload_conf()" >/dev/null
reloaded=no
for _ in $(seq 1 50); do
  grep -q "value models now learn at rate 0.05 (adapters 0.1) with EWC++ lambda 5000" "$RV_LOG" &&
    grep -q "the running one keeps rank 2" "$RV_LOG" && { reloaded=yes; break; }
  sleep 0.2
done
check "a reload changes the running value models' learning rate and says the rank waits" "$reloaded" yes
quiet postgres "ALTER SYSTEM RESET ruvector.dag_learning_rate" >/dev/null
quiet postgres "ALTER SYSTEM RESET ruvector.sona_micro_lora_rank" >/dev/null
quiet postgres "SELECT pg_reload_conf()" >/dev/null

# Restart with ruvector.dag_attention set for the server: no request was
# made since the start, so the worker follows its setting; the engine
# image (value models, selector) comes back from the learner file.
quiet postgres "ALTER SYSTEM SET ruvector.dag_attention = 'causal_cone'" >/dev/null
pg_ctl_rv restart -m fast
wait_ready
psql_db "$db" -c "SELECT 1" >/dev/null
learn_now "$db"
check "after a restart the worker follows its ruvector.dag_attention" "$(status mechanism)" causal_cone
check "... and says so" "$(status "mechanism_reason LIKE 'forced by ruvector.dag_attention;%'")" t
runs_after=$(runs_in_reason)
if [ "${runs_after:-0}" -ge "${runs_before:-1}" ] && [ "$(status model_runs_learned)" -ge "$learned_before" ]; then
  ok "the value models and the selector's errors survived the restart ($runs_before -> $runs_after held-out runs)"
else
  not_ok "the value models survived the restart (held-out runs $runs_before -> $runs_after, runs learned $learned_before -> $(status model_runs_learned))"
fi
if grep -q "loaded .* learned patterns and 7 value models" "$RV_LOG"; then ok "the worker logged what it loaded"; else
  not_ok "the worker logged what it loaded"; fi

# A damaged learner file is refused with a LOG line; learning restarts.
pg_ctl_rv stop -m fast
"${rv_as_pg[@]}" sh -c "printf 'RVSE garbage' >'$RV_DATA/ruvector_dag.learner'"
pg_ctl_rv start
wait_ready
psql_db "$db" -c "SELECT 1" >/dev/null
learn_now "$db"
if grep -q 'not using "ruvector_dag.learner"' "$RV_LOG"; then ok "a damaged learner file is refused with a LOG line"; else
  not_ok "a damaged learner file is refused with a LOG line"; fi
workload
learn_now "$db"
check "learning restarted: the worker learns and reports again" "$(status "mechanism IS NOT NULL AND model_runs_learned > 0")" t

quiet postgres "ALTER SYSTEM RESET ruvector.dag_attention" >/dev/null
pg_ctl_rv restart -m fast
wait_ready
psql_db postgres -c "DROP DATABASE $db" -c "DROP ROLE r080" >/dev/null
done_testing
