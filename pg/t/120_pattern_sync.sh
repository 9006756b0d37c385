#!/usr/bin/env bash
# Pattern sync between two servers (docs/sync.md, "In the server"): server A
# (the test cluster) learns an arm for a misestimated join and proposes it
# over a private NATS JetStream server; server B (started here, same schema
# and data) receives it as a prior of its own pattern, explores that arm
# first, deploys it only after measuring it itself, and votes. Also: a
# keystore others can read is refused with a clear message, a bad peers
# line keeps sync off with its line number, and qudag_sync_now is for
# superusers only.
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

source "$(dirname "$0")/sync_lib.sh"
sync_start_nats "$RV_WORK/nats"
echo "# NATS: $urls"

bport=$((RV_PORT + 1))
bdata=$RV_WORK/b
blog=$RV_WORK/b.log
psql_b() { "$RV_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RV_HOST" -p "$bport" -U postgres -At "$@"; }
cleanup() {
  "${rv_as_pg[@]}" "$RV_BINDIR/pg_ctl" -D "$bdata" -m immediate stop >/dev/null 2>&1 || true
  "$root/scripts/nats_cluster.sh" destroy "$nats" >/dev/null 2>&1 || true
  psql_db postgres -c "ALTER SYSTEM RESET ruvector.sync_enabled" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
}
trap cleanup EXIT


# --- server B --------------------------------------------------------------------------
sync_start_b

# --- server A: the test cluster ----------------------------------------------------------
sync_configure_a

a_sql() { "$RV_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RV_HOST" -p "$RV_PORT" -U postgres -At "$@"; }
for srv in a_sql psql_b; do
  "$srv" -d postgres -c "CREATE EXTENSION IF NOT EXISTS ruvector_dag CASCADE" >/dev/null
done
if wait_state a_sql "state = 'running' AND public_key IS NOT NULL" &&
   wait_state psql_b "state = 'running' AND public_key IS NOT NULL"; then
  ok "both servers run pattern sync with a new identity"
else
  not_ok "both servers run pattern sync with a new identity"
  a_sql -d postgres -c "SELECT state, last_error FROM ruvector.qudag_status()" | sed 's/^/# A: /'
  psql_b -d postgres -c "SELECT state, last_error FROM ruvector.qudag_status()" | sed 's/^/# B: /'
  done_testing
  exit 1
fi
check "the keystore was created with mode 0600" "$(stat -c %a "$RV_DATA/ruvector_sync.keystore")" 600
key_a=$(a_sql -d postgres -c "SELECT public_key FROM ruvector.qudag_status()")
key_b=$(psql_b -d postgres -c "SELECT public_key FROM ruvector.qudag_status()")

# A bad peers line keeps sync off and names the line.
printf '# peers\n%s\nzz\n' "$key_b" | "${rv_as_pg[@]}" tee "$RV_DATA/ruvector_sync.peers" >/dev/null
if wait_state a_sql "state = 'error' AND last_error LIKE '%peers file line 3%'"; then
  ok "a bad peers line keeps sync off and names the line"
else
  not_ok "a bad peers line keeps sync off and names the line ($(a_sql -d postgres -c "SELECT state || ': ' || coalesce(last_error, '') FROM ruvector.qudag_status()"))"
fi
printf '# B\n%s\n' "$key_b" | "${rv_as_pg[@]}" tee "$RV_DATA/ruvector_sync.peers" >/dev/null
printf '# A\n%s\n' "$key_a" | "${rv_as_pg[@]}" tee "$bdata/ruvector_sync.peers" >/dev/null
if wait_state a_sql "state = 'running' AND peers = 1" && wait_state psql_b "state = 'running' AND peers = 1"; then
  ok "each server took the other from its peers file"
else
  not_ok "each server took the other from its peers file"
fi
a_sql -d postgres -c "DROP ROLE IF EXISTS rv_sync_plain" -c "CREATE ROLE rv_sync_plain LOGIN" >/dev/null
check "qudag_sync_now is for superusers" \
  "$(sql_error rv_sync_plain postgres "SELECT ruvector.qudag_sync_now()")" \
  "permission denied for function qudag_sync_now"
check "a plain role sees the status" \
  "$(psql_as rv_sync_plain postgres -c "SELECT state FROM ruvector.qudag_status()")" running

# --- the same schema and data on both ------------------------------------------------------
db=rvsync
schema="DROP TABLE IF EXISTS rv_events;
CREATE TABLE rv_events (id int PRIMARY KEY, a int, b int, c int, k int, payload int);
INSERT INTO rv_events SELECT i, i % 100, i % 100, i % 100, (i * 37) % 5000, i % 997 FROM generate_series(1, 20000) i;
ANALYZE rv_events;"
q1="SELECT count(*), sum(x.payload + y.payload) FROM rv_events x JOIN rv_events y ON y.k = x.k WHERE x.a = 1 AND x.b = 1 AND x.c = 1 AND y.a = 1 AND y.b = 1 AND y.c = 1"
for srv in a_sql psql_b; do
  "$srv" -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
  "$srv" -d "$db" -c "CREATE EXTENSION ruvector_dag CASCADE" -c "SET ruvector.dag_enabled = off" -c "$schema" >/dev/null
done
# A measures no row counts, so it learns no row corrections or hints: its
# deployed arm is a settings arm, proposed as is. (Next to a deployed
# row_corrections, the arm that stands in for it needs 100 explorer runs in
# the validation share first -- minutes on a loaded machine; that path is
# tested in pg_state_test, SyncHostNatsTest.AnArmStandingInForALocalArm...)
a_sql -d postgres -c "ALTER DATABASE $db SET ruvector.dag_row_sample_rate = 0" >/dev/null

# runs SRV N: N executions of Q1 (observed; the explorer measures candidates meanwhile).
runs() { for _ in $(seq 1 "$2"); do echo "$q1;"; done | "$1" -d "$db" -f - >/dev/null; }
decision() {  # SRV EXPR: over the decision of Q1's pattern (the slowest)
  "$1" -d "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT $2 FROM ruvector.dag_decisions() ORDER BY default_ms DESC LIMIT 1"
}
learn() { "$1" -d "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT ruvector.dag_learn_now()" >/dev/null; }

# A learns Q1 until an arm is deployed with at least 100 runs; sync_until_a_proposed then runs Q1
# until the arm has the 100 executions of its own a proposal needs.
a_start=$(date +%s)
for _ in $(seq 1 40); do
  runs a_sql 10
  learn a_sql
  [ "$(decision a_sql "deployed_arm <> 'default' AND observed_runs >= 100")" = t ] && break
done
arm=$(decision a_sql "deployed_arm")
a_explorations=$(decision a_sql "observed_runs")
echo "# A: $(decision a_sql "format('deployed %s after %s runs, default %s ms, deployed %s ms', deployed_arm, observed_runs, round(default_ms::numeric, 1), round(deployed_ms::numeric, 1))") in $(( $(date +%s) - a_start )) s"
if [ "$arm" != default ] && [ -n "$arm" ]; then ok "A deployed an arm for Q1 ($arm)"; else
  not_ok "A deployed an arm for Q1"; done_testing; exit 1; fi
a_explored=$(a_sql -d "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT count(DISTINCT arm) FROM ruvector.dag_trajectory_history(NULL, 100000) WHERE arm IS NOT NULL AND arm <> 0")

# B runs Q1 a few times: its pattern and default plan exist, nothing learned
# yet (its explorer is off until A's proposal is matched, so that the checks
# below see what the prior changed: sync_lib.sh).
sync_b_explorer 0
runs psql_b 3
learn psql_b
# The schedule (1 s) may have proposed it already; qudag_sync_now makes sure a
# round ran (sync_lib.sh).
sync_until_a_proposed || true
check "A proposed Q1's pattern" "$(a_sql -d postgres -c "SELECT proposals_made >= 1 FROM ruvector.qudag_status()")" t
proposed=$(a_sql -d postgres -c "SELECT arm FROM ruvector.qudag_proposals() WHERE own ORDER BY created LIMIT 1")
# (A's learner may have replaced its arm by a measurably faster one meanwhile:
# the proposal carries the arm deployed when it was made.)
arm_now=$(decision a_sql "deployed_arm")
check "A proposed its deployed arm, or another measured faster when the deployed one is learned per server" \
  "$([ "$proposed" = "$arm" ] || [ "$proposed" = "$arm_now" ] ||
     { { [ "$arm" = row_corrections ] || [ "$arm" = fix_worst_join ]; } &&
     [ -n "$proposed" ] && [ "$proposed" != row_corrections ] && [ "$proposed" != fix_worst_join ]; } && echo yes)" yes
echo "# A deployed $arm ($arm_now when checked), proposed $proposed"
arm=$proposed
check "A's proposal carries noise within the declared range and charged the budget" \
  "$(a_sql -d postgres -c "SELECT bool_and(noisy_gain BETWEEN -1 AND 1) AND (SELECT epsilon_spent > 0 FROM ruvector.qudag_privacy_budget()) FROM ruvector.qudag_proposals() WHERE own")" t
prior_ok=f
for _ in $(seq 1 60); do
  runs psql_b 1
  learn psql_b
  prior_ok=$(psql_b -d postgres -c "SELECT count(*) > 0 FROM ruvector.qudag_proposals() WHERE NOT own AND local_status IN ('prior', 'measuring', 'confirmed') AND arm = '$arm'")
  [ "$prior_ok" = t ] && break
  sleep 0.5
done
check "B matched the proposal to its own Q1 pattern (a prior)" "$prior_ok" t
sync_b_explorer 0.5
# The decision shows the prior once a learning pass planned the pattern's
# exploration with the explorer on.
b_prior=
for _ in $(seq 1 20); do
  runs psql_b 1
  learn psql_b
  b_prior=$(decision psql_b prior)
  [ "$b_prior" = "$arm" ] && break
  sleep 0.3
done
check "B's Q1 decision names the proposed arm as its prior" "$b_prior" "$arm"
b_start=$(date +%s)
for _ in $(seq 1 40); do
  runs psql_b 4
  learn psql_b
  [ "$(decision psql_b "deployed_arm <> 'default'")" = t ] && break
done
b_arm=$(decision psql_b deployed_arm)
echo "# B: $(decision psql_b "format('deployed %s after %s runs (prior %s)', deployed_arm, observed_runs, prior)") in $(( $(date +%s) - b_start )) s"
# B's own measurements decide: the proposed arm is measured first (its
# prior), but the arm B deploys is the one its runs prove (the no-regression
# rule, not the proposal, has the last word; another fast arm may win).
check "B deployed an arm for Q1 on its own runs" "$([ "$b_arm" != default ] && [ -n "$b_arm" ] && echo yes)" yes
check "B measured the proposed arm on its own runs" \
  "$(psql_b -d "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT count(*) > 0 FROM ruvector.dag_trajectory_history(NULL, 100000) t JOIN ruvector.dag_arms() a ON a.arm_id = t.arm WHERE a.name = '$arm'")" t
check "B's deployment was measured on B (a deploy event with its own latencies)" \
  "$(psql_b -d "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT count(*) > 0 FROM ruvector.dag_learning_events(256) WHERE event = 'deploy' AND arm = '$b_arm' AND arm_ms > 0 AND default_ms > arm_ms")" t
b_explored=$(psql_b -d "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT count(DISTINCT arm) FROM ruvector.dag_trajectory_history(NULL, 100000) WHERE arm IS NOT NULL AND arm <> 0")
echo "# candidate arms run before and after deploying: A $a_explored, B $b_explored"
if [ "$b_explored" -le "$a_explored" ]; then ok "B ran no more candidate arms than A"; else
  not_ok "B ran no more candidate arms than A ($b_explored > $a_explored)"; fi
voted=f
for _ in $(seq 1 60); do
  runs psql_b 2
  learn psql_b
  voted=$(a_sql -d postgres -c "SELECT count(*) > 0 FROM ruvector.qudag_votes() WHERE validator = 'b' AND verdict = 'confirm'")
  [ "$voted" = t ] && break
  sleep 0.5
done
check "B's confirming vote reached A" "$voted" t
echo "# A: $(a_sql -d postgres -c "SELECT format('%s published (%s bytes), %s received, %s accepted, rejected %s', messages_published, bytes_published, messages_received, messages_accepted, rejected_by_reason) FROM ruvector.qudag_status()")"
echo "# B: $(psql_b -d postgres -c "SELECT format('%s published (%s bytes), %s received, %s accepted, rejected %s', messages_published, bytes_published, messages_received, messages_accepted, rejected_by_reason) FROM ruvector.qudag_status()")"

# A keystore that others can read is refused.
psql_b -d postgres -c "ALTER SYSTEM SET ruvector.sync_enabled = off" -c "SELECT pg_reload_conf()" >/dev/null
wait_state psql_b "state = 'disabled'" || true
"${rv_as_pg[@]}" chmod 644 "$bdata/ruvector_sync.keystore"
psql_b -d postgres -c "ALTER SYSTEM SET ruvector.sync_enabled = on" -c "SELECT pg_reload_conf()" >/dev/null
if wait_state psql_b "state = 'error' AND last_error LIKE '%chmod 600%'"; then
  ok "a keystore others can read is refused (chmod 600)"
else
  not_ok "a keystore others can read is refused ($(psql_b -d postgres -c "SELECT state || ': ' || coalesce(last_error, '') FROM ruvector.qudag_status()"))"
fi
check "the refusal is in B's log" "$(grep -c 'pattern sync not started' "$blog" | awk '{print ($1 > 0) ? "t" : "f"}')" t
check "B's server log has no crash" "$(grep -c 'terminated by signal' "$blog" || true)" 0
psql_db postgres -c "DROP ROLE IF EXISTS rv_sync_plain" >/dev/null 2>&1 || true
done_testing
