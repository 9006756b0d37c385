#!/usr/bin/env bash
# Pattern sync state across restarts (docs/sync.md, "What survives a
# restart"): server A (the test cluster) proposes a learned arm to server B
# over a private NATS JetStream server; B, whose background explorer ran from
# the start and which deployed an arm before A learned the statement, still
# votes on its own measurements (a validation quota keeps the proposed arm
# measured); then
# B restarts (fast shutdown) and A restarts after an immediate shutdown (as
# after a crash): each keeps its ledger, votes, reputation stakes and privacy
# spending, B does not vote twice and A does not propose again. A corrupt
# state file is ignored with a WARNING and sync starts empty. (That a message
# accepted before a restart is refused after it is checked by the library and
# worker tests -- sync_test, pg_state_test SyncHost*: re-publishing the same
# bytes here would be dropped by JetStream's duplicate window first.) Last,
# liveness: with a 2 s max interval, B shows A live (qudag_peers.last_seen,
# live; qudag_status.live_peers) while A's sync runs, not live within the
# window after it stopped, and live again once A sends.
source "$(dirname "$0")/lib.sh"
# The shared server's log already holds earlier topics' intended kills: only
# what this topic adds to it counts.
log_start=$(stat -c %s "$RV_LOG")
root=$(cd "$(dirname "$0")/../.." && pwd)

source "$(dirname "$0")/sync_lib.sh"
sync_start_nats "$RV_WORK/nats190"

bport=$((RV_PORT + 2))
bdata=$RV_WORK/b190
blog=$RV_WORK/b190.log
psql_b() { "$RV_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RV_HOST" -p "$bport" -U postgres -At "$@"; }
a_sql() { "$RV_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RV_HOST" -p "$RV_PORT" -U postgres -At "$@"; }
pg_b() { "${rv_as_pg[@]}" "$RV_BINDIR/pg_ctl" -D "$bdata" -l "$blog" -w "$@" >/dev/null; }
cleanup() {
  "${rv_as_pg[@]}" "$RV_BINDIR/pg_ctl" -D "$bdata" -m immediate stop >/dev/null 2>&1 || true
  "$root/scripts/nats_cluster.sh" destroy "$nats" >/dev/null 2>&1 || true
  psql_db postgres -c "ALTER SYSTEM RESET ruvector.sync_enabled" -c "ALTER SYSTEM RESET ruvector.sync_nats_urls" \
    -c "ALTER SYSTEM RESET ruvector.sync_node_name" -c "ALTER SYSTEM RESET ruvector.sync_min_interval" \
    -c "ALTER SYSTEM RESET ruvector.sync_pattern_maturity" -c "ALTER SYSTEM RESET ruvector.sync_max_interval" \
    -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
  rm -f "$RV_DATA/ruvector_sync.state" "$RV_DATA/ruvector_sync.peers" 2>/dev/null || true
}
trap cleanup EXIT

sync_start_b
# A's peers file from an earlier script names another B: start from none.
rm -f "$RV_DATA/ruvector_sync.peers" "$RV_DATA/ruvector_sync.state"
sync_configure_a

for srv in a_sql psql_b; do "$srv" -d postgres -c "CREATE EXTENSION IF NOT EXISTS ruvector_dag CASCADE" >/dev/null; done
if ! wait_state a_sql "state = 'running' AND public_key IS NOT NULL" ||
   ! wait_state psql_b "state = 'running' AND public_key IS NOT NULL"; then
  not_ok "both servers run pattern sync"
  done_testing
  exit 1
fi
key_a=$(a_sql -d postgres -c "SELECT public_key FROM ruvector.qudag_status()")
key_b=$(psql_b -d postgres -c "SELECT public_key FROM ruvector.qudag_status()")
printf '# B\n%s\n' "$key_b" | "${rv_as_pg[@]}" tee "$RV_DATA/ruvector_sync.peers" >/dev/null
printf '# A\n%s\n' "$key_a" | "${rv_as_pg[@]}" tee "$bdata/ruvector_sync.peers" >/dev/null
if wait_state a_sql "state = 'running' AND peers = 1" && wait_state psql_b "state = 'running' AND peers = 1"; then
  ok "each server took the other from its peers file"
else
  not_ok "each server took the other from its peers file"; done_testing; exit 1
fi

db=rvsync190
schema="CREATE TABLE rv_events (id int PRIMARY KEY, a int, b int, c int, k int, payload int);
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
runs() { for _ in $(seq 1 "$2"); do echo "$q1;"; done | "$1" -d "$db" -f - >/dev/null; }
decision() {
  "$1" -d "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT $2 FROM ruvector.dag_decisions() ORDER BY default_ms DESC LIMIT 1"
}
learn() { "$1" -d "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT ruvector.dag_learn_now()" >/dev/null; }

# B's background explorer runs from the start (sync_start_b): B learns Q1 and
# deploys an arm before A learned it (A's schedule proposes a deployed pattern
# within a second). The vote B then owes keeps the proposed arm measured
# (docs/sync.md, "Validation quota"), whatever B deployed and whether or not
# that trial would pay. (A is the shared test cluster: the pattern it learned
# for the same statement in pg/t/120 is still measured by its explorer, so A
# may propose it to B meanwhile; such proposals are counted below.)
sync_until_deployed psql_b 10 || true
b_own=$(decision psql_b deployed_arm)
b_matched=$(psql_b -d postgres -c "SELECT count(*) FROM ruvector.qudag_proposals() WHERE NOT own AND local_status NOT IN ('no_match', 'unknown_arm')")
echo "# B deployed $b_own with its explorer on from the start; $b_matched proposal(s) from A matched meanwhile"
check "B deployed an arm for Q1 with its background explorer on from the start" \
  "$([ -n "$b_own" ] && [ "$b_own" != default ] && echo yes)" yes
# A learns Q1 (a deployed arm; sync_until_a_proposed runs Q1 until the arm has the 100
# executions a proposal needs) and proposes it.
for _ in $(seq 1 40); do
  runs a_sql 10
  learn a_sql
  [ "$(decision a_sql "deployed_arm <> 'default' AND observed_runs >= 100")" = t ] && break
done
sync_until_a_proposed || true
# (Patterns an earlier script left on A may be proposed too.)
check "A proposed its deployed pattern" "$(a_sql -d postgres -c "SELECT count(*) > 0 FROM ruvector.qudag_proposals() WHERE own")" t
a_arm=$(a_sql -d postgres -c "SELECT arm FROM ruvector.qudag_proposals() WHERE own ORDER BY created DESC LIMIT 1")
echo "# A proposed $a_arm"
# B measures it and votes: Q1 keeps running on B as a workload does.
voted=f
vote_start=$(date +%s)
for _ in $(seq 1 80); do
  runs psql_b 3
  learn psql_b
  voted=$(a_sql -d postgres -c "SELECT count(*) > 0 FROM ruvector.qudag_votes() WHERE validator = 'b'")
  [ "$voted" = t ] && break
  sleep 0.3
done
echo "# B voted $(( $(date +%s) - vote_start )) s after A's proposal: $(psql_b -d "$db" -c "SELECT format('%s on %s local runs (gain %s), %s validation quota(s)', local_status, local_samples, round(local_gain::numeric, 3), (SELECT validation_quotas FROM ruvector.qudag_status())) FROM ruvector.qudag_proposals() WHERE NOT own ORDER BY created DESC LIMIT 1")"
check "B's vote on its own measurements reached A, its explorer on from the start" "$voted" t
check "the state files are written with mode 0600" \
  "$(stat -c %a "$RV_DATA/ruvector_sync.state" 2>/dev/null)/$(stat -c %a "$bdata/ruvector_sync.state" 2>/dev/null)" 600/600

snapshot() {  # SRV: ledger, votes, stakes and privacy spending as one line
  "$1" -d postgres -c "SELECT concat_ws(' | ',
      (SELECT string_agg(format('%s %s %s %s', left(proposal_id, 12), proposer, arm, state), ',' ORDER BY proposal_id) FROM ruvector.qudag_proposals()),
      (SELECT string_agg(format('%s>%s %s', validator, left(proposal_id, 12), verdict), ',' ORDER BY proposal_id, validator) FROM ruvector.qudag_votes()),
      (SELECT string_agg(format('%s %s', name, round(stake::numeric, 6)), ',' ORDER BY node_id) FROM ruvector.qudag_reputation()),
      (SELECT format('eps %s, %s releases', round(epsilon_spent::numeric, 9), releases) FROM ruvector.qudag_privacy_budget()))"
}
# B deploys A's arm and may propose that pattern itself, and A then votes on
# it: let the exchange settle (both sync now, then the same snapshots three
# times a second apart) so that what the restarts must keep is fixed.
settle() {
  local prev="" cur stable=0
  for _ in $(seq 1 60); do
    psql_b -d postgres -c "SELECT ruvector.qudag_sync_now()" >/dev/null 2>&1 || true
    a_sql -d postgres -c "SELECT ruvector.qudag_sync_now()" >/dev/null 2>&1 || true
    sleep 1
    cur="$(snapshot psql_b)#$(snapshot a_sql)"
    if [ "$cur" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi
    [ "$stable" -ge 3 ] && return 0
    prev=$cur
  done
  return 1
}
check "the sync exchange settled before the restarts" "$(settle && echo t || echo f)" t
b_votes_at_a=$(a_sql -d postgres -c "SELECT count(*) FROM ruvector.qudag_votes() WHERE validator = 'b'")
b_before=$(snapshot psql_b)
a_before=$(snapshot a_sql)
echo "# B before: $b_before"
echo "# A before: $a_before"
b_status_before=$(psql_b -d postgres -c "SELECT string_agg(local_status, ',' ORDER BY proposal_id) FROM ruvector.qudag_proposals() WHERE local_status IN ('confirmed', 'refuted')")

# --- B: a fast restart -----------------------------------------------------------------------
pg_b -m fast restart
wait_state psql_b "state = 'running' AND peers = 1" || true
check "B restored its state file at start (log)" \
  "$(grep -c 'pattern sync restored [1-9][0-9]* proposals' "$blog" | awk '{print ($1 > 0) ? "t" : "f"}')" t
check "B's ledger, votes, stakes and privacy spending survived the restart" "$(snapshot psql_b)" "$b_before"
check "B still knows it voted on A's proposal ($b_status_before)" \
  "$(psql_b -d postgres -c "SELECT string_agg(local_status, ',' ORDER BY proposal_id) FROM ruvector.qudag_proposals() WHERE local_status IN ('confirmed', 'refuted')")" "$b_status_before"
runs psql_b 5
learn psql_b
sleep 2
check "B did not vote again after the restart" \
  "$(psql_b -d postgres -c "SELECT votes_cast FROM ruvector.qudag_status()")/$(a_sql -d postgres -c "SELECT count(*) FROM ruvector.qudag_votes() WHERE validator = 'b'")" "0/$b_votes_at_a"

# --- A: an immediate shutdown (as after a crash) ------------------------------------------------
pg_ctl_rv -m immediate stop
pg_ctl_rv start
wait_ready
wait_state a_sql "state = 'running' AND peers = 1" || true
check "A's ledger, B's vote, stakes and privacy spending survived an immediate shutdown" "$(snapshot a_sql)" "$a_before"
a_sql -d postgres -c "SELECT ruvector.qudag_sync_now()" >/dev/null
check "A does not propose the same patterns again after the restart" \
  "$(a_sql -d postgres -c "SELECT proposals_made FROM ruvector.qudag_status()")" 0

# --- a corrupt state file: ignored with a WARNING, sync starts empty ---------------------------
pg_b -m fast stop
printf 'RVSS%s' "$(head -c 200 /dev/zero | tr '\0' 'x')" | "${rv_as_pg[@]}" tee "$bdata/ruvector_sync.state" >/dev/null
pg_b start
if wait_state psql_b "state = 'running' AND peers = 1"; then ok "B runs pattern sync with a corrupt state file"; else
  not_ok "B runs pattern sync with a corrupt state file"; fi
check "the corrupt state file is reported with a WARNING" \
  "$(grep -c 'WARNING:.*pattern sync ignoring ruvector_sync.state: sync state: checksum mismatch' "$blog" | awk '{print ($1 > 0) ? "t" : "f"}')" t
check "B starts with an empty ledger" "$(psql_b -d postgres -c "SELECT count(*) FROM ruvector.qudag_proposals()")" 0

# --- liveness (docs/sync.md, "Liveness") ---------------------------------------------------------
# A max interval of 2 s: heartbeats after 1 s of silence, a 4 s liveness window.
for srv in a_sql psql_b; do
  "$srv" -d postgres -c "ALTER SYSTEM SET ruvector.sync_max_interval = 2" -c "SELECT pg_reload_conf()" >/dev/null
done
peer_a() { psql_b -d postgres -c "SELECT $1 FROM ruvector.qudag_peers() WHERE name = 'a'"; }
wait_peer_a() {  # EXPR over A's row of B's qudag_peers(), at most 30 s
  for _ in $(seq 1 60); do [ "$(peer_a "$1")" = t ] && return 0; sleep 0.5; done
  return 1
}
check "B shows A live, heard from within the window (qudag_peers, qudag_status)" \
  "$(wait_peer_a "live AND last_seen > now() - interval '4 s'" && psql_b -d postgres -c "SELECT live_peers FROM ruvector.qudag_status()")" 1
a_sql -d postgres -c "ALTER SYSTEM SET ruvector.sync_enabled = off" -c "SELECT pg_reload_conf()" >/dev/null
wait_state a_sql "state = 'disabled'" || true
down_at=$(date +%s)
if wait_peer_a "NOT live"; then
  ok "A stops counting as live at B after its sync stopped ($(( $(date +%s) - down_at )) s)"
else
  not_ok "A stops counting as live at B after its sync stopped ($(peer_a "format('live %s, last seen %s', live, last_seen)"))"
fi
check "B counts no live peer, still knows when it last heard from A" \
  "$(psql_b -d postgres -c "SELECT live_peers FROM ruvector.qudag_status()")/$(peer_a "last_seen IS NOT NULL")" 0/t
a_sql -d postgres -c "ALTER SYSTEM SET ruvector.sync_enabled = on" -c "SELECT pg_reload_conf()" >/dev/null
if wait_peer_a "live AND last_seen > now() - interval '4 s'"; then ok "A is live at B again once it sends (a heartbeat at its start)"; else
  not_ok "A is live at B again once it sends"; fi
psql_b -d postgres -c "ALTER SYSTEM RESET ruvector.sync_max_interval" -c "SELECT pg_reload_conf()" >/dev/null
check "no server crashed" "$({ cat "$blog"; tail -c +$((log_start + 1)) "$RV_LOG"; } | grep -c 'terminated by signal' || true)" 0
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
done_testing
