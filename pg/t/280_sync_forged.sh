#!/usr/bin/env bash
# Forged, tampered and replayed sync messages against two PostgreSQL servers
# (docs/sync.md, "Threat model"; "Forged, tampered and replayed messages,
# server level"). A (the test cluster) and B sync over a private NATS
# JetStream server; the transport is not trusted. A learns Q1 and proposes
# it, B takes it as a prior, measures it and votes. Then an attacker that can
# read and publish on the NATS server (tests/sync_attacker) replays the
# captured proposal and vote byte for byte, publishes copies with one bit
# flipped in the signature, in the sealed payload and in the sequence, sends
# A's proposal to A itself, seals well-formed proposals and votes with keys of its own (a node
# in no peers file, one named like A), and signs messages that name A or B as
# their sender with its own key. Each server rejects every one with the
# expected reason (qudag_status().rejected_by_reason, qudag_peers()), accepts
# none, and no ledger, vote, stake, prior or deployment changes. Then A's
# next genuine proposal (Q2) is accepted by B as usual.
source "$(dirname "$0")/lib.sh"
# The shared server's log already holds earlier topics' intended kills: only
# what this topic adds to it counts.
log_start=$(stat -c %s "$RV_LOG")
root=$(cd "$(dirname "$0")/../.." && pwd)
t_start=$(date +%s)
attacker=${RV_SYNC_ATTACKER:-}
if [ -z "$attacker" ] || [ ! -x "$attacker" ]; then
  echo "# tests/sync_attacker is not built (a build without the tests or libnats): skipped"
  echo "1..0 # SKIP sync_attacker missing"
  exit 0
fi

source "$(dirname "$0")/sync_lib.sh"
sync_start_nats "$RV_WORK/nats280"
url=${urls%%,*}

bport=$((RV_PORT + 7))
bdata=$RV_WORK/b280
blog=$RV_WORK/b280.log
db=rvsync280
a_sql() { "$RV_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RV_HOST" -p "$RV_PORT" -U postgres -At "$@"; }
psql_b() { "$RV_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RV_HOST" -p "$bport" -U postgres -At "$@"; }
cleanup() {
  "${rv_as_pg[@]}" "$RV_BINDIR/pg_ctl" -D "$bdata" -m immediate stop >/dev/null 2>&1 || true
  "$root/scripts/nats_cluster.sh" destroy "$nats" >/dev/null 2>&1 || true
  psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  sync_reset_a ruvector.dag_exploration_cpu_budget
}
trap cleanup EXIT

# --- two servers that sync ----------------------------------------------------------------
sync_start_b
# B only validates here (never proposes: a maturity of a day).
psql_b -d postgres -c "ALTER SYSTEM SET ruvector.sync_pattern_maturity = 86400" -c "SELECT pg_reload_conf()" >/dev/null
# A's peers file and state from an earlier script name other servers: start from none.
rm -f "$RV_DATA/ruvector_sync.peers" "$RV_DATA/ruvector_sync.state"
sync_configure_a
# A proposes when this script calls qudag_sync_now() (votes never wait for the schedule).
a_sql -d postgres -c "ALTER SYSTEM SET ruvector.sync_min_interval = 3600" -c "SELECT pg_reload_conf()" >/dev/null
for srv in a_sql psql_b; do "$srv" -d postgres -c "CREATE EXTENSION IF NOT EXISTS ruvector_dag CASCADE" >/dev/null; done
for srv in a_sql psql_b; do
  if ! wait_state "$srv" "state = 'running' AND public_key IS NOT NULL"; then
    not_ok "$srv runs pattern sync ($("$srv" -d postgres -c "SELECT state || ': ' || coalesce(last_error, '') FROM ruvector.qudag_status()"))"
    done_testing
    exit 1
  fi
done
key_a=$(a_sql -d postgres -c "SELECT public_key FROM ruvector.qudag_status()")
key_b=$(psql_b -d postgres -c "SELECT public_key FROM ruvector.qudag_status()")
printf '# B\n%s\n' "$key_b" | "${rv_as_pg[@]}" tee "$RV_DATA/ruvector_sync.peers" >/dev/null
printf '# A\n%s\n' "$key_a" | "${rv_as_pg[@]}" tee "$bdata/ruvector_sync.peers" >/dev/null
if wait_state a_sql "state = 'running' AND peers = 1" && wait_state psql_b "state = 'running' AND peers = 1"; then
  ok "A and B run pattern sync with each other as their only peer"
else
  not_ok "A and B run pattern sync with each other as their only peer"
  done_testing
  exit 1
fi

# --- the same schema and data on both; two misestimated statements ----------------------------
schema="CREATE TABLE rv_events (id int PRIMARY KEY, a int, b int, c int, k int, payload int);
INSERT INTO rv_events SELECT i, i % 100, i % 100, i % 100, (i * 37) % 5000, i % 997 FROM generate_series(1, 20000) i;
ANALYZE rv_events;"
join="FROM rv_events x JOIN rv_events y ON y.k = x.k WHERE x.a = 1 AND x.b = 1 AND x.c = 1 AND y.a = 1 AND y.b = 1 AND y.c = 1"
q[1]="SELECT count(*), sum(x.payload + y.payload) $join"
q[2]="SELECT x.id, y.id $join ORDER BY x.id, y.id"
for srv in a_sql psql_b; do
  "$srv" -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
  "$srv" -d "$db" -c "CREATE EXTENSION ruvector_dag CASCADE" -c "SET ruvector.dag_enabled = off" -c "$schema" >/dev/null
done
# A measures no row counts, so it learns no row corrections or hints: its
# deployed arms are settings arms, proposed as they are (next to a deployed
# row_corrections the stand-in arm first needs 100 explorer runs in the
# validation share, minutes on a loaded machine: docs/sync.md; tested in
# pg_state_test).
a_sql -d postgres -c "ALTER DATABASE $db SET ruvector.dag_row_sample_rate = 0" >/dev/null
# runs SRV N I: N executions of statement I (observed; the explorer measures candidates meanwhile).
runs() { for _ in $(seq 1 "$2"); do echo "${q[$3]};"; done | "$1" -d "$db" -f - >/dev/null; }
learn() { "$1" -d "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT ruvector.dag_learn_now()" >/dev/null; }
qid() {  # SRV I: statement I's query id on SRV
  "$1" -d "$db" -c "SET ruvector.dag_enabled = off" -c "SET compute_query_id = on" \
    -c "EXPLAIN (VERBOSE, COSTS OFF) ${q[$2]}" | sed -n 's/^ *Query Identifier: //p'
}
decision() {  # SRV I EXPR: EXPR over the decision of statement I's pattern
  "$1" -d "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT $3 FROM ruvector.dag_decisions() WHERE query_id = $(qid "$1" "$2")"
}
learned_on_a() { [ "$(decision a_sql "$1" "deployed_arm <> 'default' AND observed_runs >= 100")" = t ]; }
explorer() {  # SRV BUDGET: the background explorer's CPU budget (ALTER SYSTEM, reload)
  "$1" -d postgres -c "ALTER SYSTEM SET ruvector.dag_exploration_cpu_budget = $2" -c "SELECT pg_reload_conf()" >/dev/null
}
made() { a_sql -d postgres -c "SELECT proposals_made FROM ruvector.qudag_status()"; }
# a_proposes I N: A syncs until it made N proposals in all, running statement
# I between rounds (a row_corrections or fix_worst_join deployment is proposed
# with another arm measured faster with confidence: sync_lib.sh).
a_proposes() {
  for _ in $(seq 1 20); do
    a_sql -d postgres -c "SELECT ruvector.qudag_sync_now()" >/dev/null
    [ "$(made)" -ge "$2" ] && return 0
    runs a_sql 10 "$1"
    learn a_sql
  done
  return 1
}

# B's patterns exist before the proposal (its explorer waits for it: sync_lib.sh).
explorer psql_b 0
runs psql_b 3 1
learn psql_b
for _ in $(seq 1 40); do
  runs a_sql 10 1
  learn a_sql
  learned_on_a 1 && break
done
echo "# A, Q1: $(decision a_sql 1 "format('deployed %s after %s runs', deployed_arm, observed_runs)")"
a_proposes 1 1 || true
check "A proposed Q1's pattern" "$(made)" 1
fp=$(a_sql -d postgres -c "SELECT fingerprint FROM ruvector.qudag_proposals() WHERE own")
arm=$(a_sql -d postgres -c "SELECT arm FROM ruvector.qudag_proposals() WHERE own")
pid=$(a_sql -d postgres -c "SELECT proposal_id FROM ruvector.qudag_proposals() WHERE own")
echo "# A proposed $arm (fingerprint $fp, id ${pid:0:16})"
matched=f
for _ in $(seq 1 60); do
  matched=$(psql_b -d postgres -c "SELECT count(*) = 1 FROM ruvector.qudag_proposals() WHERE proposal_id = '$pid' AND local_status NOT IN ('no_match', 'unknown_arm')")
  [ "$matched" = t ] && break
  runs psql_b 1 1
  learn psql_b
  sleep 0.3
done
check "B matched A's proposal to its own pattern (a prior)" "$matched" t
# B measures it and votes; meanwhile A learns Q2 (proposed at the end).
explorer psql_b 0.5
voted=f
for _ in $(seq 1 60); do
  runs psql_b 3 1
  learn psql_b
  learned_on_a 2 || { runs a_sql 10 2; learn a_sql; }
  voted=$(a_sql -d postgres -c "SELECT count(*) = 1 FROM ruvector.qudag_votes() WHERE proposal_id = '$pid' AND validator = 'b'")
  [ "$voted" = t ] && break
done
check "B's vote on A's proposal reached A" "$voted" t
for _ in $(seq 1 40); do
  learned_on_a 2 && break
  runs a_sql 10 2
  learn a_sql
done
check "A learned Q2 (proposed after the attack)" "$(learned_on_a 2 && echo t)" t
echo "# A, Q2: $(decision a_sql 2 "format('deployed %s after %s runs', deployed_arm, observed_runs)")"
echo "# setup took $(( $(date +%s) - t_start )) s"

# --- the attack -----------------------------------------------------------------------------
# Nothing else moves while it runs: no explorer, no statements.
explorer a_sql 0
explorer psql_b 0
# state SRV: every ledger entry, vote, stake, prior and deployment of SRV.
state() {
  "$1" -d postgres -c "SELECT concat_ws(' | ',
      (SELECT string_agg(concat_ws(' ', left(proposal_id, 12), proposer, state, votes, confirm_stake, refute_stake, eligible_stake, local_status), '; ' ORDER BY proposal_id) FROM ruvector.qudag_proposals()),
      (SELECT string_agg(concat_ws(' ', left(proposal_id, 12), validator, verdict), '; ' ORDER BY proposal_id, validator) FROM ruvector.qudag_votes()),
      (SELECT string_agg(concat_ws(' ', name, stake, ignored, proposals, confirmed, refuted, votes), '; ' ORDER BY node_id) FROM ruvector.qudag_reputation()),
      (SELECT concat_ws(' ', 'priors', priors_applied, 'unmatched', unmatched_proposals, 'votes cast', votes_cast, 'made', proposals_made) FROM ruvector.qudag_status()))"
  "$1" -d "$db" -c "SET ruvector.dag_enabled = off" \
    -c "SELECT string_agg(concat_ws(' ', query_id, deployed_arm, prior), '; ' ORDER BY query_id) FROM ruvector.dag_decisions()"
}
counters() {  # SRV: messages received, accepted, rejected by reason
  "$1" -d postgres -c "SELECT concat_ws(' ', messages_received, messages_accepted, rejected_by_reason::text) FROM ruvector.qudag_status()"
}
peer_rejected() { "$1" -d postgres -c "SELECT messages_rejected FROM ruvector.qudag_peers() WHERE NOT self"; }
received() { "$1" -d postgres -c "SELECT messages_received FROM ruvector.qudag_status()"; }
accepted() { "$1" -d postgres -c "SELECT messages_accepted FROM ruvector.qudag_status()"; }
rejected() {  # SRV REASON
  "$1" -d postgres -c "SELECT coalesce((rejected_by_reason ->> '$2')::int, 0) FROM ruvector.qudag_status()"
}
a_before=$(state a_sql)
b_before=$(state psql_b)
echo "# A before: $(counters a_sql); B before: $(counters psql_b)"
echo "# A's state: $a_before" | tr '\n' ' '; echo
echo "# B's state: $b_before" | tr '\n' ' '; echo
check "no message was rejected before the attack" \
  "$(for srv in a_sql psql_b; do "$srv" -d postgres -c "SELECT messages_rejected FROM ruvector.qudag_status()"; done | tr '\n' ' ')" "0 0 "
a_received=$(received a_sql)
b_received=$(received psql_b)
a_accepted=$(accepted a_sql)
b_accepted=$(accepted psql_b)
a_peer=$(peer_rejected a_sql)
b_peer=$(peer_rejected psql_b)
declare -A a_base b_base
reasons="replayed bad_signature unknown_sender wrong_recipient stale decrypt_failed malformed bad_payload ignored_sender"
for r in $reasons; do a_base[$r]=$(rejected a_sql "$r"); b_base[$r]=$(rejected psql_b "$r"); done

att() {  # the attacker's command; its output as comments
  local out
  if out=$("$attacker" "$@" 2>&1); then echo "$out" | sed 's/^/# attacker: /'; else
    not_ok "the attacker's $1 ran ($out)"
  fi
}
att capture "$url" proposal "$key_b" "$RV_WORK/proposal.bin"
att capture "$url" vote "$key_a" "$RV_WORK/vote.bin"
check "the captured proposal does not show its arm (the payload is sealed)" \
  "$(grep -c -a -F "$arm" "$RV_WORK/proposal.bin" || true)" 0
# To B: (1) the proposal again, (2) with a flipped signature bit, a flipped
# sealed-payload bit, a flipped sequence bit, (3) from a node in no peers file, from a node named "a"
# with its own key, and naming A as its sender but signed with another key.
att publish "$url" "$key_b" "$RV_WORK/proposal.bin"
att publish "$url" "$key_b" "$RV_WORK/proposal.bin" signature 12345
att publish "$url" "$key_b" "$RV_WORK/proposal.bin" sealed 77
# ... and with its sequence number changed (a replay that the window would not catch)
att publish "$url" "$key_b" "$RV_WORK/proposal.bin" header 576
att forge-proposal "$url" mallory "$key_b" "$fp" "$arm"
att forge-proposal "$url" a "$key_b" "$fp" "$arm"
att forge-proposal "$url" a "$key_b" "$fp" "$arm" "$key_a"
# To A: B's vote again, with a flipped signature bit, a flipped sealed-payload
# bit; A's own proposal sent back to A; confirming votes on A's proposal from
# a node in no peers file and one naming B as its sender.
att publish "$url" "$key_a" "$RV_WORK/vote.bin"
att publish "$url" "$key_a" "$RV_WORK/vote.bin" signature 4
att publish "$url" "$key_a" "$RV_WORK/vote.bin" sealed 300
att publish "$url" "$key_a" "$RV_WORK/proposal.bin"
att forge-vote "$url" mallory "$key_a" "$pid" "$key_a"
att forge-vote "$url" b "$key_a" "$pid" "$key_a" "$key_b"
for _ in $(seq 1 120); do
  [ "$(received a_sql)" -ge $((a_received + 6)) ] && [ "$(received psql_b)" -ge $((b_received + 7)) ] && break
  sleep 0.25
done
echo "# A after: $(counters a_sql); B after: $(counters psql_b)"
check "A and B received the six and seven attacking messages" \
  "$(( $(received a_sql) - a_received )) $(( $(received psql_b) - b_received ))" "6 7"
delta() {  # SRV: the change of every rejection reason since the baseline, non-zero ones
  local r out= n
  for r in $reasons; do
    if [ "$1" = a_sql ]; then n=$(( $(rejected a_sql "$r") - ${a_base[$r]} )); else n=$(( $(rejected psql_b "$r") - ${b_base[$r]} )); fi
    [ "$n" = 0 ] || out="$out$r=$n "
  done
  echo "$out"
}
check "B rejected the replayed proposal (replayed), the three tampered copies and the copy signed for A's name (bad_signature), both outsiders (unknown_sender)" \
  "$(delta psql_b)" "replayed=1 bad_signature=4 unknown_sender=2 "
check "A rejected the replayed vote (replayed), both tampered copies and the vote signed for B's name (bad_signature), the outsider (unknown_sender), its own proposal (wrong_recipient)" \
  "$(delta a_sql)" "replayed=1 bad_signature=3 unknown_sender=1 wrong_recipient=1 "
check "neither accepted any of them" "$(( $(accepted a_sql) - a_accepted )) $(( $(accepted psql_b) - b_accepted ))" "0 0"
check "qudag_peers() counts the rejected messages that claimed to be from the peer (four on A, five on B)" \
  "$(( $(peer_rejected a_sql) - a_peer )) $(( $(peer_rejected psql_b) - b_peer ))" "4 5"
check "A's ledger, votes, stakes, priors and deployments are unchanged" "$(state a_sql)" "$a_before"
check "B's ledger, votes, stakes, priors and deployments are unchanged" "$(state psql_b)" "$b_before"
check "B holds A's proposal once, A holds B's vote once" \
  "$(psql_b -d postgres -c "SELECT count(*) FROM ruvector.qudag_proposals()")/$(a_sql -d postgres -c "SELECT count(*) FROM ruvector.qudag_votes()")" "1/1"

# --- the genuine flow goes on ---------------------------------------------------------------
a_proposes 2 2 || true
check "A proposed Q2's pattern" "$(made)" 2
pid2=$(a_sql -d postgres -c "SELECT proposal_id FROM ruvector.qudag_proposals() WHERE own AND proposal_id <> '$pid'")
got=f
for _ in $(seq 1 80); do
  got=$(psql_b -d postgres -c "SELECT count(*) = 1 FROM ruvector.qudag_proposals() WHERE proposal_id = '$pid2' AND proposer = 'a' AND state = 'open'")
  [ "$got" = t ] && break
  sleep 0.25
done
check "B accepted A's next genuine proposal" "$got" t
check "B accepted exactly that message and rejected nothing more" \
  "$(( $(accepted psql_b) - b_accepted ))/$(delta psql_b)" "1/replayed=1 bad_signature=4 unknown_sender=2 "
check "no server crashed" \
  "$({ cat "$blog"; tail -c +$((log_start + 1)) "$RV_LOG"; } | grep -c 'terminated by signal' || true)" 0
echo "# topic time $(( $(date +%s) - t_start )) s"
done_testing
