# Shared by the pattern-sync topic scripts (sourced after lib.sh): a private
# NATS JetStream server, a second server "B" beside the test cluster "A", and
# the sync settings both use.

# sync_start_nats DIR: starts a one-node NATS JetStream server in DIR and
# sets $nats and $urls; without nats-server the script is skipped (exit 0),
# a server that does not start fails it.
sync_start_nats() {
  nats=$1
  local out rc
  set +e
  out=$("$root/scripts/nats_cluster.sh" start "$nats" 1 2>&1)
  rc=$?
  set -e
  if [ "$rc" = 77 ]; then
    echo "# nats-server is not installed (scripts/setup.sh installs it): skipped"
    echo "1..0 # SKIP nats-server missing"
    exit 0
  fi
  if [ "$rc" != 0 ]; then
    echo "$out" | sed 's/^/# /'
    not_ok "a private NATS JetStream server starts"
    done_testing
    exit 1
  fi
  urls=$("$root/scripts/nats_cluster.sh" urls "$nats")
}

# sync_conf NAME: the sync settings of node NAME (both servers use them).
sync_conf() {
  cat <<EOF
ruvector.sync_enabled = on
ruvector.sync_nats_urls = '$urls'
ruvector.sync_node_name = '$1'
ruvector.sync_min_interval = 1
ruvector.sync_pattern_maturity = 0
EOF
}

# sync_start_b: initdb and start server B ($bdata, port $bport, log $blog)
# with the extension preloaded, background exploration on and node name b.
sync_start_b() {
  "${rv_as_pg[@]}" mkdir -p "$bdata"
  "${rv_as_pg[@]}" "$RV_BINDIR/initdb" -D "$bdata" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
  {
    cat <<EOF
listen_addresses = ''
unix_socket_directories = '$RV_HOST'
port = $bport
fsync = off
autovacuum = off
max_connections = 20
shared_preload_libraries = 'ruvector_dag'
ruvector.dag_exploration_cpu_budget = 0.5
ruvector.dag_exploration_min_ms = 0
EOF
    sync_conf b
  } | "${rv_as_pg[@]}" tee -a "$bdata/postgresql.conf" >/dev/null
  "${rv_as_pg[@]}" "$RV_BINDIR/pg_ctl" -D "$bdata" -l "$blog" -w start >/dev/null
}

# sync_configure_a: the test cluster becomes node a (ALTER SYSTEM, reload).
sync_configure_a() {
  local line
  sync_conf a | while IFS= read -r line; do
    psql_db postgres -c "ALTER SYSTEM SET ${line%% =*} = ${line#*= }" >/dev/null
  done
  psql_db postgres -c "SELECT pg_reload_conf()" >/dev/null
}

# sync_reset_a [SETTING...]: the test cluster's sync settings (sync_conf's)
# and the given others back to their defaults (ALTER SYSTEM RESET, reload),
# and its peers and state files removed; for a topic's cleanup, never fails.
sync_reset_a() {
  local args=() s
  for s in ruvector.sync_enabled ruvector.sync_nats_urls ruvector.sync_node_name ruvector.sync_min_interval \
           ruvector.sync_pattern_maturity "$@"; do
    args+=(-c "ALTER SYSTEM RESET $s")
  done
  psql_db postgres "${args[@]}" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
  rm -f "$RV_DATA/ruvector_sync.state" "$RV_DATA/ruvector_sync.peers" 2>/dev/null || true
}

# wait_state PSQL-FUNCTION EXPR: until EXPR over qudag_status() is true, at
# most 60 s.
wait_state() {
  for _ in $(seq 1 120); do
    [ "$("$1" -d postgres -c "SELECT $2 FROM ruvector.qudag_status()" 2>/dev/null || true)" = t ] && return 0
    sleep 0.5
  done
  return 1
}

# sync_until_a_proposed: qudag_sync_now() on A until it proposed a pattern (at
# most 90 rounds, one a second). An arm is proposed once it has 100 tallied
# executions (the released gain is their clipped mean, docs/sync.md); a
# pattern whose deployed arm is row_corrections or fix_worst_join is proposed
# with the best other arm measured faster with confidence (what those arms
# plan is learned per server), whose tally A's background explorer fills
# within its validation share (a sample quota: tens of seconds on a loaded
# machine). Until A has one, A runs Q1 ten more times between rounds. Uses
# the caller's a_sql, runs and learn; prints how many rounds it took.
sync_until_a_proposed() {
  local round
  for round in $(seq 1 90); do
    a_sql -d postgres -c "SELECT ruvector.qudag_sync_now()" >/dev/null
    if [ "$(a_sql -d postgres -c "SELECT proposals_made >= 1 FROM ruvector.qudag_status()")" = t ]; then
      echo "# A proposed after $round sync round(s)"
      return 0
    fi
    runs a_sql 10
    learn a_sql
    sleep 1
  done
  return 1
}

# sync_b_explorer BUDGET: B's background explorer's CPU budget (ALTER SYSTEM,
# reload). pg/t/120 keeps it at 0 while B's first runs of Q1 wait for A's
# proposal, so that what B measures is what the proposal changed (its first
# candidate runs are the proposed arm's), not what B would learn alone. A vote
# does not need it: a validator whose explorer deployed another arm first
# still measures the proposed one (docs/sync.md, "Validation quota"; pg/t/190).
sync_b_explorer() {
  psql_b -d postgres -c "ALTER SYSTEM SET ruvector.dag_exploration_cpu_budget = $1" \
    -c "SELECT pg_reload_conf()" >/dev/null
}

# sync_until_deployed SRV N: rounds of N executions of Q1 on SRV and a
# learning pass until SRV deployed an arm for it (at most 40 rounds). Uses the
# caller's runs, learn and decision.
sync_until_deployed() {
  for _ in $(seq 1 40); do
    runs "$1" "$2"
    learn "$1"
    [ "$(decision "$1" "deployed_arm <> 'default'")" = t ] && return 0
  done
  return 1
}
