#!/usr/bin/env bash
# ruhnsw crash safety: kill -9 of the whole server (postmaster and every
# backend at once, as a power cut would stop them) while four sessions
# insert concurrently; after the restart (WAL replay of the generic WAL
# records), the index passes the structure check with one element per
# committed row (plus at most one per session: an insert whose transaction
# did not commit), finds the last committed rows, and takes new inserts.
source "$(dirname "$0")/../../pg/t/lib.sh"
db=rv_vec_crash
sessions=4
psql_db postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
psql_db "$db" <<'SQL' >/dev/null
CREATE EXTENSION ruvector;
CREATE TABLE ci (id int PRIMARY KEY, v ruvector(16));
INSERT INTO ci SELECT i, random_vector(16, i) FROM generate_series(1, 400) i;
CREATE INDEX ci_v ON ci USING ruhnsw (v ruvector_l2_ops) WITH (m = 8, ef_construction = 32);
SQL
pids=()
for s in $(seq 1 $sessions); do
  # Session s inserts ids s * 100000 + 1, + 2, ... one transaction each.
  "$RV_BINDIR/psql" -X -q -h "$RV_HOST" -p "$RV_PORT" -U postgres -d "$db" -c "DO \$\$ BEGIN
    FOR i IN 1..99999 LOOP INSERT INTO ci VALUES ($s * 100000 + i, random_vector(16, $s * 100000 + i)); COMMIT;
    END LOOP; END \$\$" >/dev/null 2>&1 &
  pids+=($!)
done
postmaster=$(head -1 "$RV_DATA/postmaster.pid")
killed=no
for _ in $(seq 1 240); do
  # Every session has committed inserts: they are all running.
  if [ "$(psql_db "$db" -c "SELECT count(DISTINCT id / 100000) = $sessions AND count(*) >= 2000 FROM ci WHERE id > 400")" = t ]; then
    # The postmaster and all its children in one kill(2) each, postmaster first.
    kill -9 "$postmaster" $(pgrep -P "$postmaster") 2>/dev/null || true
    killed=yes
    break
  fi
  sleep 0.25
done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
if [ "$killed" != yes ]; then
  not_ok "the $sessions inserting sessions did not all commit rows within 60 s"
  done_testing
  exit 1
fi
ok "server killed with -9 during $sessions concurrent insert sessions"
for _ in $(seq 1 40); do kill -0 "$postmaster" 2>/dev/null || break; sleep 0.25; done
pg_ctl_rv start
wait_ready
check "the server restarts after kill -9 (crash recovery)" "$(psql_db postgres -c "SELECT 1")" 1
rows=$(psql_db "$db" -c "SELECT count(*) FROM ci")
elements=$(psql_db "$db" -c "SELECT ruhnsw_check('ci_v')")
echo "# after kill -9 of the server: $rows committed rows, $elements index elements"
check "the index passes the structure check with every committed row (at most one more per session)" \
  "$([ "$elements" -ge "$rows" ] && [ "$elements" -le $((rows + sessions)) ] && echo yes || echo no)" yes
check "each session's last committed row is found through the index" \
  "$(psql_db "$db" -c "SET enable_seqscan = off" -c "SELECT count(*) FROM (SELECT max(id) AS id FROM ci WHERE id > 400
     GROUP BY id / 100000) last WHERE (SELECT c.id FROM ci c ORDER BY c.v <-> random_vector(16, last.id) LIMIT 1) = last.id")" \
  "$sessions"
psql_db "$db" -c "INSERT INTO ci SELECT i, random_vector(16, i) FROM generate_series(900001, 900200) i" \
  -c "VACUUM ci" >/dev/null
check "after recovery inserts go on; VACUUM leaves exactly one element per row" \
  "$(psql_db "$db" -c "SELECT ruhnsw_check('ci_v') = count(*) FROM ci")" t
psql_db postgres -c "DROP DATABASE $db" >/dev/null
done_testing
