#!/usr/bin/env bash
# `ruvector-dag cluster-demo`, CI-sized (docs/sync.md, "Cluster demo"): three
# private servers and a 3-node NATS JetStream cluster (R3 stream) on this
# machine. Server A learns Q1 and proposes it after one NATS node was killed;
# B and C deploy only after measuring on their own runs, measuring only the
# proposed arm and with no more candidate runs than A needed (the proposal
# narrows their exploration), and vote; the proposal is confirmed while the
# node is down; the restarted node catches up. Also: a clear error without
# nats-server, and a clean shutdown on SIGINT.
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${RV_CLI:?}"

if ! command -v nats-server >/dev/null 2>&1; then
  echo "# nats-server is not installed (scripts/setup.sh installs it): skipped"
  echo "1..0 # SKIP nats-server missing"
  exit 0
fi
script=$root/scripts/nats_cluster.sh
dir=$RV_WORK/cdemo
json=$RV_WORK/cdemo.json
err=$RV_WORK/cdemo.err

# Processes whose command line names DIR (servers and NATS nodes left behind).
leftovers() { pgrep -f -- "$1/" | grep -vx "$$" | wc -l | tr -d ' '; }

# --- without nats-server: a clear error, nothing left behind -------------------------------
set +e
RUVECTOR_NATS_SERVER=/nonexistent/nats-server "$RV_CLI" cluster-demo --dir "$dir" --nats-script "$script" \
  --queries Q1 >/dev/null 2>"$err"
rc=$?
set -e
check "without nats-server: exit status 2" "$rc" 2
check "without nats-server: the error names the Debian package" \
  "$(grep -c 'nats-server not found: install the Debian package nats-server' "$err" | tr -d ' ')" 1
check "without nats-server: no directory or process left" "$(test -e "$dir" && echo left)$(leftovers "$dir")" 0

# --- SIGINT while the servers start: every process stopped, directory removed -----------
"$RV_CLI" cluster-demo --dir "$dir" --nats-script "$script" --queries Q1 >"$RV_WORK/int.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q "server a started" "$RV_WORK/int.out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -INT "$pid" 2>/dev/null || true
set +e
wait "$pid"
rc=$?
set -e
check "SIGINT: exit status 130" "$rc" 130
check "SIGINT: every server and NATS node stopped, directory removed" \
  "$(test -e "$dir" && echo left)$(leftovers "$dir")" 0
[ "$rc" = 130 ] || sed 's/^/# /' "$RV_WORK/int.out"

# --- the demo ------------------------------------------------------------------------
start=$(date +%s)
set +e
timeout -s INT 300 "$RV_CLI" cluster-demo --dir "$dir" --nats-script "$script" --queries Q1 --runs-per-round 5 \
  --max-rounds 100 --timeout 90 --format json >"$json" 2>"$err"
rc=$?
set -e
echo "# cluster-demo took $(( $(date +%s) - start )) s"
check "cluster-demo: exit status 0" "$rc" 0
if [ "$rc" != 0 ]; then
  sed 's/^/# /' "$err" | tail -40
  done_testing
  exit 1
fi
grep -E '^ruvector-dag cluster-demo: \[' "$err" | sed 's/^/# /'
check "every server and NATS node stopped, directory removed" "$(test -e "$dir" && echo left)$(leftovers "$dir")" 0

# j PATH: a value of the JSON report (parsed by PostgreSQL's jsonb).
report=$(cat "$json")
j() { printf "SELECT :'r'::jsonb #>> '{%s}';\n" "$1" | "$RV_BINDIR/psql" -X -q -At -h "$RV_HOST" -p "$RV_PORT" \
  -U postgres -d postgres -v r="$report" -f -; }

check "A deployed an arm for Q1" "$(j servers,0,queries,0,deployed)" true
a_arm=$(j servers,0,queries,0,deployed_arm)
a_cand=$(j servers,0,queries,0,candidate_runs_to_deploy)
echo "# A: $a_arm after $(j servers,0,queries,0,executions_to_deploy) executions, $a_cand candidate runs"
check "A proposed while a NATS node was down" "$(j sync,proposals_while_node_down)" 1
for k in 1 2; do
  n=$(j servers,$k,name)
  q="servers,$k,queries,0"
  echo "# $n: $(j $q,deployed_arm) (A proposed $(j $q,proposed_arm)) after $(j $q,executions_to_deploy) executions," \
    "$(j $q,candidate_runs_to_deploy) candidate runs, $(j $q,seconds_after_a_deployed) s after A; vote" \
    "$(j $q,proposal_local_status), local gain $(j $q,local_gain) over $(j $q,local_samples) runs"
  check "$n received A's proposal with NATS node $(j nats,killed_node) down" \
    "$(j sync,seconds_sync_to_$n | awk '{print ($1 > 0) ? "t" : "f"}')" t
  check "$n matched A's proposal to its own Q1 pattern as a prior" "$(j $q,prior_applied)" true
  check "$n deployed an arm for Q1" "$(j $q,deployed)" true
  check "$n's deployment was measured on $n (its own runs of the arm, faster than its default)" \
    "$(printf "SELECT (:'r'::jsonb #>> '{$q,deployed_arm_runs_before_deploy}')::int > 0 AND
       (:'r'::jsonb #>> '{$q,deploy_arm_ms}')::float8 > 0 AND
       (:'r'::jsonb #>> '{$q,deploy_arm_ms}')::float8 < (:'r'::jsonb #>> '{$q,deploy_default_ms}')::float8;\n" |
       "$RV_BINDIR/psql" -X -q -At -h "$RV_HOST" -p "$RV_PORT" -U postgres -d postgres -v r="$report" -f -)" t
  # The received prior narrows the exploration: the proposed arm is measured
  # first and alone, and nothing else is explored once it is deployed.
  # When A found the arm with its first candidate (4 runs of one arm since
  # the explorer's changes of 2026-12-07; 7-42 runs before), there is
  # nothing left to narrow: no more runs than A is what the prior can give.
  check "$n measured only one candidate arm (the proposal's) before deploying" \
    "$(j $q,candidate_arms_to_deploy)" 1
  check "$n needed no more candidate runs than A ($(j $q,candidate_runs_to_deploy) <= $a_cand)" \
    "$(j $q,candidate_runs_to_deploy | awk -v a="$a_cand" '{print ($1 <= a) ? "no more" : "more"}')" "no more"
  check "$n deployed the arm A proposed" "$(j $q,same_arm_as_a)" true
  check "$n voted on its own measurements (confirmed, >= 20 local runs)" \
    "$(j $q,proposal_local_status)/$(j $q,local_samples | awk '{print ($1 >= 20) ? "enough" : $1}')" confirmed/enough
done
check "A's proposal was confirmed by B's and C's votes while the node was down" \
  "$(j sync,a_proposals_confirmed_while_node_down)" true
check "the restarted NATS node caught up (holds every message of the stream)" \
  "$(printf "SELECT (:'r'::jsonb #>> '{nats,restarted_node_messages}')::bigint >= (:'r'::jsonb #>> '{nats,cluster_messages}')::bigint
     AND (:'r'::jsonb #>> '{nats,restarted_node_messages}')::bigint > (:'r'::jsonb #>> '{nats,killed_node_messages}')::bigint;\n" |
     "$RV_BINDIR/psql" -X -q -At -h "$RV_HOST" -p "$RV_PORT" -U postgres -d postgres -v r="$report" -f -)" t
echo "# wire: $(j sync,bytes_per_pattern) bytes per pattern, $(j sync,bytes_per_message) per message;" \
  "catch-up $(j nats,catch_up_seconds) s"
check "no message was rejected on any server" \
  "$(j servers,0,sync,messages_rejected)/$(j servers,1,sync,messages_rejected)/$(j servers,2,sync,messages_rejected)" 0/0/0
done_testing
