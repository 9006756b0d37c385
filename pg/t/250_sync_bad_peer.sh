#!/usr/bin/env bash
# A peer that proposes only bad patterns (docs/sync.md, "Validation, quorum
# and reputation"), through three PostgreSQL servers and one private NATS
# JetStream server. A (the test cluster), B and C have the same schema and
# the same statistics, so the same statements get the same estimates, plans
# and portable fingerprints; but on A the three filter columns of d are
# equal (correlated: 2,000 rows match where the planner expects 20), on B
# and C they are independent (20 match, as expected). A's index nested loop
# then runs 2,000 probes and a hash join wins there; on B and C the nested
# loop is right and the arm A learned is several times slower. A proposes
# two such patterns, one at a time; B and C take each as a prior only,
# measure it on their own runs (B first, then C, whose vote decides it),
# never deploy it, and refute it with a signed vote; every
# refutation cuts A's stake on B and C by 30 % (100 -> 70 -> 49), and with
# ruvector.sync_ignore_below = 50 on B and C, A is ignored after the second:
# A's third proposal is rejected unopened (ignored_sender) and is not taken
# as a prior. Query results are the same with and without the extension's
# steering on every server.
source "$(dirname "$0")/lib.sh"
# The shared server's log already holds earlier topics' intended kills: only
# what this topic adds to it counts.
log_start=$(stat -c %s "$RV_LOG")
root=$(cd "$(dirname "$0")/../.." && pwd)
t_start=$(date +%s)

source "$(dirname "$0")/sync_lib.sh"
sync_start_nats "$RV_WORK/nats250"

a_sql() { "$RV_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RV_HOST" -p "$RV_PORT" -U postgres -At "$@"; }
b_sql() { "$RV_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RV_HOST" -p "$((RV_PORT + 5))" -U postgres -At "$@"; }
c_sql() { "$RV_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RV_HOST" -p "$((RV_PORT + 6))" -U postgres -At "$@"; }
cleanup() {
  local n
  for n in b c; do
    "${rv_as_pg[@]}" "$RV_BINDIR/pg_ctl" -D "$RV_WORK/${n}250" -m immediate stop >/dev/null 2>&1 || true
  done
  "$root/scripts/nats_cluster.sh" destroy "$nats" >/dev/null 2>&1 || true
  psql_db postgres -c "DROP DATABASE IF EXISTS rvsync250 WITH (FORCE)" >/dev/null 2>&1 || true
  psql_db postgres -c "ALTER SYSTEM RESET ruvector.sync_enabled" -c "ALTER SYSTEM RESET ruvector.sync_nats_urls" \
    -c "ALTER SYSTEM RESET ruvector.sync_node_name" -c "ALTER SYSTEM RESET ruvector.sync_min_interval" \
    -c "ALTER SYSTEM RESET ruvector.sync_pattern_maturity" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
  rm -f "$RV_DATA/ruvector_sync.state" "$RV_DATA/ruvector_sync.peers" 2>/dev/null || true
}
trap cleanup EXIT

# start_validator NAME PORT: initdb and start server NAME ($RV_WORK/NAME250,
# log $RV_WORK/NAME250.log) with the extension preloaded and node name NAME.
# It ignores a peer whose stake fell below 50 (after two refuted proposals,
# instead of the default's seven: keeps the topic short), and never proposes
# (a maturity of a day: B and C only validate here, so A's stake is the only
# one the votes move). The background explorer starts off and is turned on
# once a proposal is matched, first on B, then on C: only the explorer
# measures a proposed arm for a vote (docs/sync.md, "Validation quota"), so
# the script decides who votes first.
start_validator() {
  local data=$RV_WORK/${1}250
  "${rv_as_pg[@]}" mkdir -p "$data"
  "${rv_as_pg[@]}" "$RV_BINDIR/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
  {
    cat <<EOF
listen_addresses = ''
unix_socket_directories = '$RV_HOST'
port = $2
fsync = off
autovacuum = off
max_connections = 20
shared_preload_libraries = 'ruvector_dag'
ruvector.dag_exploration_cpu_budget = 0
ruvector.dag_exploration_min_ms = 0
EOF
    sync_conf "$1"
    cat <<EOF
ruvector.sync_pattern_maturity = 86400
ruvector.sync_ignore_below = 50
EOF
  } | "${rv_as_pg[@]}" tee -a "$data/postgresql.conf" >/dev/null
  "${rv_as_pg[@]}" "$RV_BINDIR/pg_ctl" -D "$data" -l "$data.log" -w start >/dev/null
}
start_validator b "$((RV_PORT + 5))"
start_validator c "$((RV_PORT + 6))"
# A's peers file from an earlier script names other servers: start from none.
rm -f "$RV_DATA/ruvector_sync.peers" "$RV_DATA/ruvector_sync.state"
sync_configure_a
# A proposes when this script calls qudag_sync_now() (votes never wait for
# the schedule). A keeps the default ignore threshold (10): its own book
# then still lets it propose after two refutations, so that B and C are the
# ones who refuse its third proposal.
a_sql -d postgres -c "ALTER SYSTEM SET ruvector.sync_min_interval = 3600" -c "SELECT pg_reload_conf()" >/dev/null

for srv in a_sql b_sql c_sql; do "$srv" -d postgres -c "CREATE EXTENSION IF NOT EXISTS ruvector_dag CASCADE" >/dev/null; done
for srv in a_sql b_sql c_sql; do
  if ! wait_state "$srv" "state = 'running' AND public_key IS NOT NULL"; then
    not_ok "$srv runs pattern sync ($("$srv" -d postgres -c "SELECT state || ': ' || coalesce(last_error, '') FROM ruvector.qudag_status()"))"
    done_testing
    exit 1
  fi
done
# One peers file for all three (each server skips its own key).
peers=$(for srv in a_sql b_sql c_sql; do
  printf '# %s\n%s\n' "${srv%_sql}" "$("$srv" -d postgres -c "SELECT public_key FROM ruvector.qudag_status()")"
done)
for dir in "$RV_DATA" "$RV_WORK/b250" "$RV_WORK/c250"; do
  printf '%s\n' "$peers" | "${rv_as_pg[@]}" tee "$dir/ruvector_sync.peers" >/dev/null
done
all_two=t
for srv in a_sql b_sql c_sql; do wait_state "$srv" "state = 'running' AND peers = 2" || all_two=f; done
check "each of the three servers took the other two from its peers file" "$all_two" t
[ "$all_two" = t ] || { done_testing; exit 1; }
check "B and C run with ruvector.sync_ignore_below = 50, A with the default" \
  "$(for srv in a_sql b_sql c_sql; do "$srv" -d postgres -c "SHOW ruvector.sync_ignore_below"; done | tr '\n' ' ')" "10 50 50 "

# --- the same schema and statistics; correlated filter columns on A only ------------------------
# f: 200,000 rows, 200 consecutive rows per join key k (indexed), 2 of them
# with g = 3. d: 20,000 rows, each of a, b, c takes every value 0..9 2,000
# times on every server: on A a = b = c, on B and C the three are independent.
db=rvsync250
f_sql="CREATE TABLE f (id int PRIMARY KEY, k int, g int, payload int);
INSERT INTO f SELECT i, i / 200, i % 100, i % 997 FROM generate_series(0, 199999) i;
CREATE INDEX f_k ON f (k);"
d_correlated="CREATE TABLE d (id int PRIMARY KEY, a int, b int, c int, k int);
INSERT INTO d SELECT i, i % 10, i % 10, i % 10, (i * 7) % 1000 FROM generate_series(1, 20000) i;"
d_independent="CREATE TABLE d (id int PRIMARY KEY, a int, b int, c int, k int);
INSERT INTO d SELECT i, i % 10, (i / 10) % 10, (i / 100) % 10, (i * 7) % 1000 FROM generate_series(1, 20000) i;"
for srv in a_sql b_sql c_sql; do
  d_sql=$d_independent
  [ "$srv" = a_sql ] && d_sql=$d_correlated
  "$srv" -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
  "$srv" -d "$db" -c "CREATE EXTENSION ruvector_dag CASCADE" -c "SET ruvector.dag_enabled = off" \
    -c "$f_sql" -c "$d_sql" -c "ANALYZE" >/dev/null
done
# A measures no row counts, so it learns no row corrections or hints: its
# deployed arms are settings arms, proposed as they are (next to a deployed
# row_corrections the stand-in arm first needs 100 explorer runs in the
# validation share, minutes on a loaded machine: docs/sync.md; tested in
# pg_state_test).
a_sql -d postgres -c "ALTER DATABASE $db SET ruvector.dag_row_sample_rate = 0" >/dev/null
# Three statements over the same join, each its own plan shape (aggregate,
# sort, sort + group aggregate), hence its own portable pattern identity.
join="FROM d JOIN f ON f.k = d.k WHERE d.a = 1 AND d.b = 1 AND d.c = 1 AND f.g = 3"
q[1]="SELECT count(*), sum(f.payload) $join"
q[2]="SELECT d.id, f.id $join ORDER BY d.id, f.id"
q[3]="SELECT f.payload, count(*) $join GROUP BY f.payload"
check "the planner estimates d's filter alike on every server (20 rows)" \
  "$(for srv in a_sql b_sql c_sql; do
       "$srv" -d "$db" -c "SET ruvector.dag_enabled = off" -c "EXPLAIN SELECT * FROM d WHERE a = 1 AND b = 1 AND c = 1" |
         grep -o 'rows=[0-9]*' | head -1
     done | tr '\n' ' ')" "rows=20 rows=20 rows=20 "
check "the filter matches 2,000 rows on A and 20 on B and C" \
  "$(for srv in a_sql b_sql c_sql; do
       "$srv" -d "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT count(*) FROM d WHERE a = 1 AND b = 1 AND c = 1"
     done | tr '\n' ' ')" "2000 20 20 "

# runs SRV N I...: N executions of each statement I (observed; the explorer
# measures candidates meanwhile where its budget allows).
runs() {
  local srv=$1 n=$2 i
  shift 2
  for _ in $(seq 1 "$n"); do for i in "$@"; do echo "${q[$i]};"; done; done | "$srv" -d "$db" -f - >/dev/null
}
learn() { "$1" -d "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT ruvector.dag_learn_now()" >/dev/null; }
# qid SRV I: statement I's query id on server SRV (the pattern's key part).
qid() {
  "$1" -d "$db" -c "SET ruvector.dag_enabled = off" -c "SET compute_query_id = on" \
    -c "EXPLAIN (VERBOSE, COSTS OFF) ${q[$2]}" | sed -n 's/^ *Query Identifier: //p'
}
# decision SRV I EXPR: EXPR over the decision of statement I's pattern.
decision() {
  "$1" -d "$db" -c "SET ruvector.dag_enabled = off" \
    -c "SELECT $3 FROM ruvector.dag_decisions() WHERE query_id = $(qid "$1" "$2")"
}
learned_on_a() {  # I...: every statement I has an arm deployed on A with 100 runs
  local i
  for i in "$@"; do
    [ "$(decision a_sql "$i" "deployed_arm <> 'default' AND observed_runs >= 100")" = t ] || return 1
  done
}

# --- A learns, proposes; B and C refute ------------------------------------------------------------
for srv in b_sql c_sql; do runs "$srv" 3 1 2 3; learn "$srv"; done  # patterns and default plans exist
explorer() {  # SRV BUDGET: the server's background explorer's CPU budget (ALTER SYSTEM, reload)
  "$1" -d postgres -c "ALTER SYSTEM SET ruvector.dag_exploration_cpu_budget = $2" -c "SELECT pg_reload_conf()" >/dev/null
}
made() { a_sql -d postgres -c "SELECT proposals_made FROM ruvector.qudag_status()"; }
# a_learns_and_proposes I N: A runs statement I until an arm is deployed
# with 100 runs, then syncs until it made N proposals (running I more until
# the arm has the 100 executions of its own a proposal needs)
# in all; sets fp and arm to the new proposal's. A proposes its deployed
# arm, or for row_corrections / fix_worst_join (what they plan is learned
# per server) the best other arm measured faster with confidence; until it
# has one, A runs more (as sync_lib.sh's sync_until_a_proposed).
a_learns_and_proposes() {
  local i=$1 n=$2 started
  started=$(date +%s)
  for _ in $(seq 1 40); do
    runs a_sql 10 "$i"
    learn a_sql
    learned_on_a "$i" && break
  done
  echo "# A, statement $i: $(decision a_sql "$i" "format('deployed %s after %s runs, default %s ms, deployed %s ms', deployed_arm, observed_runs, round(default_ms::numeric, 1), round(deployed_ms::numeric, 1))") ($(( $(date +%s) - started )) s)"
  if learned_on_a "$i"; then ok "A deployed an arm faster than its nested loop for statement $i"; else
    not_ok "A deployed an arm faster than its nested loop for statement $i"; return 1; fi
  for _ in $(seq 1 20); do
    a_sql -d postgres -c "SELECT ruvector.qudag_sync_now()" >/dev/null
    [ "$(made)" -ge "$n" ] && break
    runs a_sql 10 "$i"
    learn a_sql
  done
  check "A proposed statement $i's pattern" "$(made)" "$n"
  fp=$(a_sql -d postgres -c "SELECT fingerprint FROM ruvector.qudag_proposals() WHERE own ORDER BY created DESC LIMIT 1")
  arm=$(a_sql -d postgres -c "SELECT arm FROM ruvector.qudag_proposals() WHERE own ORDER BY created DESC LIMIT 1")
  echo "# A proposed $arm (fingerprint $fp)"
}
proposal() {  # SRV EXPR: EXPR over the proposal $fp by A, read in $db (local gains are shown there)
  "$1" -d "$db" -c "SELECT $2 FROM ruvector.qudag_proposals() WHERE proposer = 'a' AND fingerprint = $fp"
}
a_arms=""
stakes_b="100"
# Round R: A proposes statement R; B and C take it as a prior, measure it and
# refute it; A's stake on each falls to 100 * 0.7^R.
for r in 1 2; do
  # The explorers wait for the proposal: see start_validator.
  explorer b_sql 0
  explorer c_sql 0
  a_learns_and_proposes "$r" "$r" || { done_testing; exit 1; }
  a_arms="${a_arms:+$a_arms,}$arm"
  for srv in b_sql c_sql; do
    for _ in $(seq 1 60); do
      [ "$(proposal "$srv" "local_status NOT IN ('no_match', 'unknown_arm')")" = t ] && break
      runs "$srv" 1 "$r"
      learn "$srv"
      sleep 0.5
    done
    check "${srv%_sql} matched A's proposal $r to its own pattern (a prior)" \
      "$(proposal "$srv" "local_status NOT IN ('no_match', 'unknown_arm')")" t
  done
  # B measures and votes first, then C, whose vote decides the proposal
  # (and, in round 2, gets A ignored on C at once: that vote must still
  # reach A, or A's ledger keeps the proposal open).
  started=$(date +%s)
  for srv in b_sql c_sql; do
    explorer "$srv" 0.5
    for _ in $(seq 1 60); do
      runs "$srv" 3 "$r"
      learn "$srv"
      [ "$(proposal "$srv" local_status)" = refuted ] && break
      sleep 0.3
    done
    if [ "$srv" = b_sql ]; then
      for _ in $(seq 1 60); do
        [ "$(for s2 in a_sql c_sql; do "$s2" -d postgres -c "SELECT count(*) FROM ruvector.qudag_votes() v JOIN ruvector.qudag_proposals() p USING (proposal_id) WHERE p.fingerprint = $fp AND v.validator = 'b'"; done | tr '\n' ' ')" = "1 1 " ] && break
        sleep 0.25
      done
      check "B's vote on proposal $r reached A and C before C voted" \
        "$(proposal c_sql "state || ' ' || local_status")/$(proposal a_sql state)" "open prior/open"
    fi
  done
  for _ in $(seq 1 40); do
    [ "$(for srv in a_sql b_sql c_sql; do proposal "$srv" state; done | tr '\n' ' ')" = "refuted refuted refuted " ] && break
    sleep 0.25
  done
  echo "# round $r: B and C measured and refuted it in $(( $(date +%s) - started )) s"
  for srv in a_sql b_sql c_sql; do
    echo "# ${srv%_sql}: $("$srv" -d postgres -c "SELECT format('%s published, %s received, %s accepted, rejected %s, %s votes cast, errors %s %s', messages_published, messages_received, messages_accepted, rejected_by_reason, votes_cast, errors, last_error) FROM ruvector.qudag_status()"); votes $("$srv" -d postgres -c "SELECT string_agg(format('%s>%s %s', validator, left(proposal_id, 8), verdict), ', ' ORDER BY proposal_id, validator) FROM ruvector.qudag_votes()")"
  done
  check "A's proposal $r was refuted on A, B and C" \
    "$(for srv in a_sql b_sql c_sql; do proposal "$srv" state; done | tr '\n' ' ')" "refuted refuted refuted "
  want=$(awk -v n="$r" 'BEGIN { printf "%.6f", 100 * 0.7 ^ n }')
  for srv in b_sql c_sql; do
    n=${srv%_sql}
    echo "# $n: $(proposal "$srv" "format('%s: local gain %s on %s runs, %s', arm, round(local_gain::numeric, 2), local_samples, local_status)")"
    check "$n refuted it on its own runs (local gain <= 0 on >= 20 runs)" \
      "$(proposal "$srv" "local_status = 'refuted' AND local_gain <= 0 AND local_samples >= 20")" t
    check "$n's refutation is a signed vote A received" \
      "$(a_sql -d postgres -c "SELECT string_agg(v.verdict, ',') FROM ruvector.qudag_votes() v JOIN ruvector.qudag_proposals() p USING (proposal_id) WHERE p.own AND p.fingerprint = $fp AND v.validator = '$n'")" refute
    check "on $n A's stake is 100 * 0.7^$r = $want after $r refutations, ignored: $([ "$r" -ge 2 ] && echo yes || echo no)" \
      "$("$srv" -d postgres -c "SELECT refuted || ' ' || round(stake::numeric, 6) || ' ' || ignored FROM ruvector.qudag_reputation() WHERE name = 'a'")" \
      "$r $want $([ "$r" -ge 2 ] && echo true || echo false)"
  done
  stakes_b="$stakes_b $(b_sql -d postgres -c "SELECT round(stake::numeric, 1) FROM ruvector.qudag_reputation() WHERE name = 'a'")"
done
echo "# A's stake on B: $stakes_b"
check "A's own book still hears itself (its threshold is the default 10)" \
  "$(a_sql -d postgres -c "SELECT round(stake::numeric, 6) || ' ' || ignored FROM ruvector.qudag_reputation() WHERE name = 'a'")" "49.000000 false"

# Nothing A proposed was deployed on B or C, and nothing deployed there was
# measured slower there.
for srv in b_sql c_sql; do
  n=${srv%_sql}
  check "$n deployed none of A's proposed arms ($a_arms) for statements 1-3" \
    "$(for i in 1 2 3; do decision "$srv" "$i" "deployed_arm"; done | grep -cxF -f <(tr ',' '\n' <<<"$a_arms") || true)" 0
  check "$n ran the proposed arms on its own runs" \
    "$("$srv" -d "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT count(DISTINCT a.name) FROM ruvector.dag_trajectory_history(NULL, 100000) t JOIN ruvector.dag_arms() a ON a.arm_id = t.arm WHERE a.name = ANY (string_to_array('$a_arms', ','))")" \
    "$(tr ',' '\n' <<<"$a_arms" | sort -u | grep -c .)"
  # What the bandit deploys it deploys on its own measurements: every deploy
  # event (whatever arm) carries an arm measured faster than the default there.
  check "every arm $n deployed was measured faster than its default there (deploy events)" \
    "$("$srv" -d "$db" -c "SET ruvector.dag_enabled = off" -c "SELECT count(*) FROM ruvector.dag_learning_events(1024) WHERE event = 'deploy' AND NOT (arm_ms < default_ms)")" 0
  echo "# $n deployed: $(for i in 1 2 3; do decision "$srv" "$i" "deployed_arm"; done | tr '\n' ' ')"
done

# --- A, now ignored by B and C, learns and proposes statement 3 ---------------------------------
priors() { "$1" -d postgres -c "SELECT priors_applied FROM ruvector.qudag_status()"; }
ignored_count() { "$1" -d postgres -c "SELECT coalesce((rejected_by_reason ->> 'ignored_sender')::int, 0) FROM ruvector.qudag_status()"; }
b_priors=$(priors b_sql)
c_priors=$(priors c_sql)
a_learns_and_proposes 3 3 || { done_testing; exit 1; }
for srv in b_sql c_sql; do
  n=${srv%_sql}
  for _ in $(seq 1 60); do
    [ "$(ignored_count "$srv")" -ge 1 ] && break
    runs "$srv" 1 3
    sleep 0.5
  done
  check "$n rejected A's third proposal unopened (ignored_sender)" "$([ "$(ignored_count "$srv")" -ge 1 ] && echo t || echo f)" t
  runs "$srv" 2 3
  learn "$srv"
  check "$n's ledger does not hold it and its pattern took no prior from it" \
    "$("$srv" -d postgres -c "SELECT count(*) FROM ruvector.qudag_proposals() WHERE fingerprint = $fp")/$(priors "$srv")" \
    "0/$([ "$n" = b ] && echo "$b_priors" || echo "$c_priors")"
  check "$n deploys no arm for statement 3 from A" "$(decision "$srv" 3 "deployed_arm = '$arm'")" f
done

# --- results: the same with the extension's steering and without, on every server ---------------
same=t
for srv in a_sql b_sql c_sql; do
  for i in 1 2 3; do
    on=$("$srv" -d "$db" -c "${q[$i]}" | sort | md5sum)
    off=$("$srv" -d "$db" -c "SET ruvector.dag_enabled = off" -c "${q[$i]}" | sort | md5sum)
    [ "$on" = "$off" ] || { same=f; echo "# ${srv%_sql}, statement $i: results differ"; }
  done
done
check "every statement returns the same rows with and without steering on A, B and C" "$same" t
check "no server crashed" \
  "$({ cat "$RV_WORK/b250.log" "$RV_WORK/c250.log"; tail -c +$((log_start + 1)) "$RV_LOG"; } | grep -c 'terminated by signal' || true)" 0
echo "# topic time $(( $(date +%s) - t_start )) s"
done_testing
