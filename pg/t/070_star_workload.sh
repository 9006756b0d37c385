#!/usr/bin/env bash
# The bundled star workload (docs/demo.md, "The star workload"), at a tiny
# scale: the generator is deterministic (same seed -> same rows, another seed
# -> other rows, the seed stamped on the fact table), and every query returns
# the same rows with the extension learning as without it, and under every
# built-in arm of `bench --oracle`.
source "$(dirname "$0")/lib.sh"

dsn() { echo "host=$RV_HOST port=$RV_PORT user=postgres dbname=$1"; }
# checksum DB: one md5 over every row of every star table.
checksum() {
  quiet "$1" "SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
    SELECT 'a' || x::text AS t FROM rs_sales x UNION ALL SELECT 'b' || x::text FROM rs_returns x
    UNION ALL SELECT 'c' || x::text FROM rs_item x UNION ALL SELECT 'd' || x::text FROM rs_customer x
    UNION ALL SELECT 'e' || x::text FROM rs_store x UNION ALL SELECT 'f' || x::text FROM rs_date x
    UNION ALL SELECT 'g' || x::text FROM rs_promo x UNION ALL SELECT 'h' || x::text FROM rs_brand x
    UNION ALL SELECT 'i' || x::text FROM rs_category x UNION ALL SELECT 'j' || x::text FROM rs_region x) s"
}
for db in rvstar_a rvstar_b; do
  psql_db postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
done

# Without data the bench says so.
err=$("$RV_CLI" bench --dsn "$(dsn rvstar_b)" --workload star --rounds 1 2>&1 >/dev/null || true)
case $err in
  *"star workload's tables are missing"*) ok "bench without the star data asks for --generate" ;;
  *) not_ok "bench without the star data asks for --generate (got: $err)" ;;
esac

# Seed 7 twice in two databases: the same rows.
status=0
"$RV_CLI" bench --dsn "$(dsn rvstar_a)" --workload star --generate --seed 7 --scale 0.02 --rounds 2 --oracle \
  --oracle-repeats 1 --planning-samples 2 --format json >"$RV_WORK/star.json" 2>"$RV_WORK/star.err" || status=$?
check "bench on the star workload (learning, oracle) succeeds" "$status" 0
[ "$status" -eq 0 ] || tail -5 "$RV_WORK/star.err" >&2
queries=$(grep -c '"family":' "$RV_WORK/star.json" || true)
check "36 query instances ran" "$queries" 36
check "results identical with the extension learning" \
  "$(grep -c '^  "results_identical": true' "$RV_WORK/star.json" || true)" 1
check "results identical under every built-in arm" \
  "$(grep -c '^    "results_identical": true' "$RV_WORK/star.json" || true)" 1
check "no query returned different rows" "$(grep -c '"results_identical": false' "$RV_WORK/star.json" || true)" 0
check "the seed and scale are stamped" \
  "$(quiet rvstar_a "SELECT obj_description('rs_sales'::regclass, 'pg_class')")" \
  "ruvector-dag star data v1 seed=7 scale=0.02"
sum_a=$(checksum rvstar_a)
"$RV_CLI" bench --dsn "$(dsn rvstar_b)" --workload star --generate --seed 7 --scale 0.02 --rounds 1 \
  --planning-samples 2 >"$RV_WORK/star_b.txt" 2>"$RV_WORK/star_b.err" || tail -5 "$RV_WORK/star_b.err" >&2
check "text report: results identical" \
  "$(grep -c '^results identical to PostgreSQL alone: yes' "$RV_WORK/star_b.txt" || true)" 1
check "text report: the model's prediction error is reported as measured, or as not measured yet" \
  "$(grep -cE '^model prediction error(: not measured yet| \(EWMA .*\): [0-9]+\.[0-9]{3}$)' "$RV_WORK/star_b.txt" || true)" 1
# The report names the mechanism the server used when the bench ended; the
# worker's next pass may still switch it (the selector in auto mode, which
# then says "selected: ... (N switches)").
reported=$(sed -n 's/^  mechanism in use: \([a-z_]*\) (.*/\1/p' "$RV_WORK/star_b.txt")
IFS='|' read -r now now_reason < <(quiet rvstar_b "SELECT mechanism, mechanism_reason FROM ruvector.dag_status()")
case "$reported|$now|$now_reason" in
  "$now|$now|"*) ok "text report: the mechanism is the one the server's learner uses ($now)" ;;
  topological\|*\|selected:*|causal_cone\|*\|selected:*|critical_path\|*\|selected:*|mincut_gated\|*\|selected:*|\
  hierarchical_lorentz\|*\|selected:*|parallel_branch\|*\|selected:*|temporal_btsp\|*\|selected:*)
    ok "text report: the mechanism is the one the server's learner used ($reported; its selector switched to $now since)" ;;
  *) not_ok "text report: the mechanism is the one the server's learner uses (report: '$reported', server: '$now', $now_reason)" ;;
esac
check "text report: every mechanism's held-out error" \
  "$(grep -c '^  held-out error ' "$RV_WORK/star_b.txt" || true)" 7
sum_b=$(checksum rvstar_b)
if [ -n "$sum_a" ]; then ok "checksum of the seed-7 data: $sum_a"; else not_ok "checksum of the seed-7 data"; fi
check "same seed, same data" "$sum_b" "$sum_a"
"$RV_CLI" bench --dsn "$(dsn rvstar_b)" --workload star --generate --seed 8 --scale 0.02 --rounds 1 \
  --planning-samples 2 >/dev/null 2>"$RV_WORK/star_b.err" || tail -5 "$RV_WORK/star_b.err" >&2
sum_c=$(checksum rvstar_b)
if [ -n "$sum_c" ] && [ "$sum_c" != "$sum_a" ]; then ok "another seed, other data"; else
  not_ok "another seed, other data ($sum_c)"
fi
rows=$(quiet rvstar_b "SELECT count(*) FROM rs_sales")
check "scale 0.02: 4,000 sales" "$rows" 4000

for db in rvstar_a rvstar_b; do psql_db postgres -c "DROP DATABASE $db WITH (FORCE)" >/dev/null; done
done_testing
