#!/usr/bin/env bash
# Learned ef_search on a filtered search (docs/vector.md, "Learned
# ef_search"): the recall *served* to users' statements reaches the target.
#
# Data (as bench/vector_tuning.sh's small set, without the btree on cat, so
# that no ef_search value turns the plan into a bitmap scan and a sort):
# 20,000 x 32 vectors in 40 clusters, row i in cluster 1 + i % 40,
# cat = i % 100, ruhnsw m = 8, ef_construction = 32. Pattern: WHERE cat < 10 (10 %) ORDER BY v <-> q
# LIMIT 10, the query vectors the 40 cluster centres in turn. For clusters
# 1-10 and 21-30 a fifth of the cluster passes the filter and an index scan
# at ef_search >= 80 finds all 10 rows; for the others no row of the
# query's own cluster passes, and the index scan's ef nearest rows hold
# almost none of the filtered ones (recall about 0). The first statements
# all find their rows: a learner that trusts 8 perfect statements deploys
# an ef_search value and serves recall about 0.5. It must deploy the exact
# search (or nothing), and the rows served must reach the target.
source "$(dirname "$0")/../../pg/t/lib.sh"
# The server log is shared with the topics before this one (some kill
# backends on purpose): only what is written from here on counts.
log_start=$(stat -c %s "$RV_LOG")

db=rv_vec_filtered
seed=20261206
target=0.95
echo "# data: i = 1..20000, v = random_vector(32, 1 + i % 40) + 0.15 x random_vector(32, $seed + i), cat = i % 100"
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
psql_db "$db" <<SQL >/dev/null
SET ruvector.dag_enabled = off;
CREATE EXTENSION ruvector_dag CASCADE;
CREATE TABLE items (id int PRIMARY KEY, cat int, v ruvector(32));
INSERT INTO items SELECT i, i % 100, random_vector(32, 1 + i % 40) + random_vector(32, $seed + i) * 0.15
  FROM generate_series(1, 20000) i;
CREATE INDEX items_v ON items USING ruhnsw (v ruvector_l2_ops) WITH (m = 8, ef_construction = 32);
VACUUM ANALYZE items;
SQL
# query S: the S-th user statement, at the centre of cluster 1 + (S - 1) % 40.
query() { echo "SELECT id FROM items WHERE cat < 10 ORDER BY v <-> random_vector(32, $((1 + ($1 - 1) % 40))) LIMIT 10"; }
if quiet "$db" "EXPLAIN (COSTS OFF) $(query 1)" | grep -q "Index Scan using items_v"; then
  ok "the filtered query uses the ruhnsw index"
else
  not_ok "the filtered query uses the ruhnsw index"
fi

# The index alone, per centre (steering off, ef_search 160): good for the
# clusters with filtered rows, bad for the others -- what the learner must see.
ids() {  # ids MODE S: the ids one statement returns (steered / index / exact)
  case $1 in
    steered) psql_db "$db" -c "$(query "$2")" ;;
    index) psql_db "$db" -c "SET ruvector.dag_enabled = off" -c "SET ruvector.hnsw_ef_search = 160" \
      -c "$(query "$2")" ;;
    exact) psql_db "$db" -c "SET ruvector.dag_enabled = off" -c "SET enable_indexscan = off" -c "$(query "$2")" ;;
  esac
}
recall() {  # recall MODE S...: mean recall@10 of MODE against the exact rows
  local mode=$1 s hits=0 total=0
  shift
  for s in "$@"; do
    local e g
    e=$(ids exact "$s" | sort)
    g=$(ids "$mode" "$s" | sort)
    hits=$((hits + $(comm -12 <(echo "$e") <(echo "$g") | grep -c . || true)))
    total=$((total + $(echo "$e" | grep -c .)))
  done
  awk -v h="$hits" -v t="$total" 'BEGIN { printf "%.3f", h / t }'
}
good=$(recall index 1 2 3 4 5)
bad=$(recall index 11 12 13 14 15)
echo "# index scan at ef_search 160: recall@10 $good at centres 1-5, $bad at centres 11-15"
check "the index scan finds the filtered rows near centres 1-5 but not near 11-15" \
  "$(awk -v g="$good" -v b="$bad" 'BEGIN { print ((g >= 0.9 && b <= 0.5) ? "yes" : "no") }')" yes

state() {  # the pattern's vector_search (empty before the learner tracks it)
  quiet "$db" "SELECT vector_search FROM ruvector.dag_decisions() WHERE vector_search IS NOT NULL LIMIT 1"
}
measuring() {  # ef_search settings still measured (0 when the decision is final)
  quiet "$db" "SELECT count(*) FROM ruvector.dag_vector_tuning() WHERE measuring AND NOT deployed"
}
# Users' statements, one a second (the capture refresh while tuning): until
# the decision settled and no setting is still proving itself, at most 60.
s=1
settled=no
for _ in $(seq 1 60); do
  psql_db "$db" -c "$(query "$s")" >/dev/null
  s=$((s + 1))
  learn_now "$db"
  st=$(state)
  if [ -n "$st" ] && [ "$st" != tuning ] && [ "$(measuring)" = 0 ] && [ "$s" -gt 20 ]; then
    settled=yes
    break
  fi
  sleep 1.05
done
echo "# $((s - 1)) statements; decision: $(state)"
quiet "$db" "SELECT format('# %s: recall %s (lower %s) over %s samples, %s ms%s%s%s', setting,
  round(recall::numeric, 3), round(recall_lower::numeric, 3), samples, round(mean_ms::numeric, 3),
  CASE WHEN eligible THEN ', eligible' ELSE '' END, CASE WHEN deployed THEN ', DEPLOYED' ELSE '' END,
  CASE WHEN measuring AND NOT deployed THEN ', measuring' ELSE '' END)
  FROM ruvector.dag_vector_tuning() ORDER BY setting = 'exact', setting" || true
check "the decision settled within 60 statements" "$settled" yes
check "no ef_search setting is deployed whose recall bound is below the target" \
  "$(quiet "$db" "SELECT count(*) FROM ruvector.dag_vector_tuning() WHERE deployed AND recall_lower < $target")" 0
check "no ef_search value is deployed (none reaches $target on every centre)" \
  "$(quiet "$db" "SELECT count(*) FROM ruvector.dag_vector_tuning() WHERE deployed AND setting <> 'exact'")" 0

# What users are served: every centre once, steering on, against the exact rows.
served=$(recall steered $(seq 1 40))
echo "# served recall@10 over the 40 centres: $served (target $target)"
check "the served recall reaches the target" \
  "$(awk -v r="$served" -v t="$target" 'BEGIN { print ((r >= t) ? "yes" : "no") }')" yes
explain=$(psql_db "$db" -c "EXPLAIN $(query 13)")
if echo "$explain" | grep -q "Vector Search: $(state) ("; then ok "EXPLAIN names the served setting"; else
  not_ok "EXPLAIN names the served setting ($(echo "$explain" | grep -i "vector search"))"; fi
psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
if tail -c +$((log_start + 1)) "$RV_LOG" | grep -q "server process .* was terminated"; then not_ok "no backend crashed"; else ok "no backend crashed"; fi
done_testing
