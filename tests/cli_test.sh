#!/usr/bin/env bash
# End-to-end tests of the ruvector-dag CLI: usage, conversions that keep the
# analysis identical, and hostile inputs that must exit 2 with a message.
# Usage: tests/cli_test.sh <path to ruvector-dag> <source dir>
set -uo pipefail
cli=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect <exit code> <description> -- command...
expect() {
  local want=$1 what=$2
  shift 3
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" != "$want" ]; then
    fail "$what: exit $got, expected $want; stderr: $(head -c 300 "$work/err")"
  elif [ "$want" = 2 ] && [ ! -s "$work/err" ]; then
    fail "$what: exit 2 without a message on stderr"
  elif grep -q "Sanitizer\|Segmentation\|terminate called" "$work/err"; then
    fail "$what: crashed: $(head -c 300 "$work/err")"
  fi
}

# --- usage -----------------------------------------------------------------
expect 0 "--help" -- "$cli" --help
grep -q analyze "$work/out" || fail "--help does not list analyze"
expect 0 "analyze --help" -- "$cli" analyze --help
expect 0 "convert --help" -- "$cli" convert --help
expect 2 "no subcommand" -- "$cli"
expect 2 "unknown subcommand" -- "$cli" frobnicate
expect 2 "analyze without input" -- "$cli" analyze
expect 2 "bad --format" -- "$cli" analyze x --format yaml
expect 2 "convert without --to" -- "$cli" convert a b
expect 2 "convert bad --to" -- "$cli" convert a b --to xml

# --- real plans: analyze and round trips -----------------------------------
plans=$(find "$src/tests/fixtures/explain" -name '*.json' | sort | head -n 40)
[ -n "$plans" ] || fail "no EXPLAIN fixtures found"
first_plan=$(echo "$plans" | head -n 1)
head -c 4096 /dev/urandom >"$work/random_early"
: >"$work/empty_early"
for plan in $plans; do
  name=$(basename "$plan" .json)
  expect 0 "analyze $name" -- "$cli" analyze "$plan" --format json
  grep -v '"input_format"' "$work/out" >"$work/a0"
  want_nodes=$(grep -o '"Node Type"' "$plan" | wc -l)
  got_nodes=$(grep -m1 '"node_count"' "$work/a0" | tr -dc 0-9)
  [ "$want_nodes" = "$got_nodes" ] || fail "$name: node_count $got_nodes, plan has $want_nodes"
  expect 0 "analyze text $name" -- "$cli" analyze "$plan"
  grep -q "critical path" "$work/out" || fail "$name: text output lacks the critical path"
  expect 0 "convert $name to json" -- "$cli" convert "$plan" "$work/p.json" --to json
  expect 0 "convert $name json to binary" -- "$cli" convert "$work/p.json" "$work/p.bin" --to binary
  expect 0 "convert $name binary to json" -- "$cli" convert "$work/p.bin" "$work/p2.json" --to json
  cmp -s "$work/p.json" "$work/p2.json" || fail "$name: json -> binary -> json changed the bytes"
  for f in p.json p.bin; do
    expect 0 "analyze $name as $f" -- "$cli" analyze "$work/$f" --format json
    grep -v '"input_format"' "$work/out" | cmp -s - "$work/a0" || fail "$name: analysis differs after convert to $f"
  done
done

# mincut and attention on every plan: valid reports, weights summing to 1.
for plan in $(echo "$plans" | head -n 12); do
  name=$(basename "$plan" .json)
  for cap in bottleneck cost rows time unit; do
    expect 0 "mincut --capacity $cap $name" -- "$cli" mincut "$plan" --capacity "$cap" --format json
    grep -q '"cut_nodes"' "$work/out" || fail "$name: mincut report lacks cut_nodes"
    t=$(grep -m1 '"tension": [0-9]' "$work/out" | sed 's/.*: *//; s/,//')
    awk -v t="$t" 'BEGIN { exit !(t >= 0 && t <= 1) }' || fail "$name: tension $t outside [0,1]"
  done
  for m in auto topological causal_cone critical_path mincut_gated hierarchical_lorentz parallel_branch temporal_btsp; do
    expect 0 "attention $m $name" -- "$cli" attention "$plan" --mechanism "$m" --format json
    sum=$(grep '"weight"' "$work/out" | sed 's/.*: *//' | awk '{ s += $1 } END { printf "%.9f", s }')
    awk -v s="$sum" 'BEGIN { exit !(s > 0.999999 && s < 1.000001) }' || fail "$name: $m weights sum to $sum"
  done
done
expect 2 "attention unknown mechanism" -- "$cli" attention "$first_plan" --mechanism nope
expect 2 "mincut unknown capacity" -- "$cli" mincut "$first_plan" --capacity nope
expect 2 "mincut on random bytes" -- "$cli" mincut "$work/random_early"
expect 2 "attention on an empty file" -- "$cli" attention "$work/empty_early"

# The original crate's JSON round trip.
cat >"$work/rust.json" <<'JSON'
{"nodes":[{"id":0,"op_type":{"HnswScan":{"index":"vectors_idx","ef_search":64}},"estimated_rows":100.0,"estimated_cost":12.5,"actual_rows":null,"actual_time_ms":null,"embedding":null},{"id":1,"op_type":{"Filter":{"predicate":"score > 0.5"}},"estimated_rows":50.0,"estimated_cost":1.0,"actual_rows":48.0,"actual_time_ms":0.4,"embedding":null},{"id":2,"op_type":"Result","estimated_rows":50.0,"estimated_cost":0.0,"actual_rows":null,"actual_time_ms":null,"embedding":null}],"edges":[[0,1],[1,2]],"root":0}
JSON
expect 0 "analyze rust json" -- "$cli" analyze "$work/rust.json" --format json
expect 0 "convert rust json to binary" -- "$cli" convert "$work/rust.json" "$work/r.bin" --to binary
expect 0 "convert binary to rust json" -- "$cli" convert "$work/r.bin" "$work/r2.json" --to rust-json
expect 0 "analyze rust json after round trip" -- "$cli" convert "$work/r2.json" "$work/r3.json" --to rust-json
cmp -s "$work/r2.json" "$work/r3.json" || fail "rust-json round trip is not stable"
expect 0 "stdin input" -- sh -c "\"$cli\" analyze - --format json < \"$work/rust.json\""

# --- hostile inputs: exit 2 with a message, never a crash ------------------
: >"$work/empty"
expect 2 "empty file" -- "$cli" analyze "$work/empty"
head -c 4096 /dev/urandom >"$work/random"
expect 2 "random bytes" -- "$cli" analyze "$work/random"
expect 2 "missing file" -- "$cli" analyze "$work/does-not-exist.json"
expect 2 "directory" -- "$cli" analyze "$work"
first=$(echo "$plans" | head -n 1)
head -c 200 "$first" >"$work/truncated.json"
expect 2 "truncated EXPLAIN" -- "$cli" analyze "$work/truncated.json"
printf '%*s' 200000 '' | tr ' ' '[' >"$work/deep.json"
expect 2 "200,000-deep nesting" -- "$cli" analyze "$work/deep.json"
printf '[{"Plan":%s' "$(printf '%*s' 200000 '' | sed 's/ /{"Plans":[/g')" >"$work/deep2.json" 2>/dev/null || true
expect 2 "200,000-deep EXPLAIN" -- "$cli" analyze "$work/deep2.json"
echo '[{"Plan": {"Node Type": "Seq Scan", "Plan Rows": "many"}}]' >"$work/wrongtype.json"
expect 2 "wrong field type" -- "$cli" analyze "$work/wrongtype.json"
echo '[{"Plan": {"Node Type": "Teleport"}}]' >"$work/unknown.json"
expect 2 "unknown node type" -- "$cli" analyze "$work/unknown.json"
echo '[{"Plan": {"Node Type": "Seq Scan", "Plan Rows": NaN}}]' >"$work/nan.json"
expect 2 "NaN" -- "$cli" analyze "$work/nan.json"
echo '[{"Plan": {"Node Type": "Seq Scan", "Plan Rows": 1e400}}]' >"$work/huge.json"
expect 2 "huge number" -- "$cli" analyze "$work/huge.json"
echo '{"nodes":[{"id":0,"op_type":"Result","estimated_rows":0.0,"estimated_cost":0.0,"actual_rows":null,"actual_time_ms":null,"embedding":null},{"id":1,"op_type":"Result","estimated_rows":0.0,"estimated_cost":0.0,"actual_rows":null,"actual_time_ms":null,"embedding":null}],"edges":[[0,1],[1,0]],"root":0}' >"$work/cycle.json"
expect 2 "cycle" -- "$cli" analyze "$work/cycle.json"
grep -q "cycle" "$work/err" || fail "cycle error does not say cycle"
echo '{"nodes":[{"id":0,"op_type":"Result","estimated_rows":0.0,"estimated_cost":0.0,"actual_rows":null,"actual_time_ms":null,"embedding":null}],"edges":[[0,9]],"root":0}' >"$work/dangling.json"
expect 2 "dangling edge" -- "$cli" analyze "$work/dangling.json"
echo '{"nodes":[{"id":4000000000,"op_type":"Result","estimated_rows":0.0,"estimated_cost":0.0,"actual_rows":null,"actual_time_ms":null,"embedding":null}],"edges":[],"root":null}' >"$work/bigid.json"
expect 2 "huge id" -- "$cli" analyze "$work/bigid.json"
cp "$work/p.bin" "$work/corrupt.bin"
printf '\x55' | dd of="$work/corrupt.bin" bs=1 seek=20 conv=notrunc 2>/dev/null
expect 2 "corrupt binary" -- "$cli" analyze "$work/corrupt.bin"
head -c 30 "$work/p.bin" >"$work/short.bin"
expect 2 "truncated binary" -- "$cli" analyze "$work/short.bin"
truncate -s 300M "$work/huge-file.json"
expect 2 "file over the size limit" -- "$cli" analyze "$work/huge-file.json"
rm -f "$work/huge-file.json"
echo '[{"Plan": {"Node Type": "Gather", "Plans": [{"Node Type": "Seq Scan", "Relation Name": "t"}]}}]' >"$work/gather.json"
expect 2 "rust-json cannot hold Gather" -- "$cli" convert "$work/gather.json" - --to rust-json
expect 2 "unwritable output" -- "$cli" convert "$work/rust.json" /nonexistent-dir/x.json --to json

# --- bench options (checked before any connection) ---------------------------------
expect 0 "bench --help" -- "$cli" bench --help
grep -q -- "--oracle" "$work/out" || fail "bench --help does not list --oracle"
grep -q "star" "$work/out" || fail "bench --help does not list the star workload"
expect 2 "bench: unknown workload" -- "$cli" bench --dsn x --workload tpcds
expect 2 "bench: scale out of range" -- "$cli" bench --dsn x --workload star --scale 0
expect 2 "bench: seed out of range" -- "$cli" bench --dsn x --workload star --seed 2199023255552
expect 2 "bench: --siblings-from after the last round" -- "$cli" bench --dsn x --workload star --rounds 4 \
  --siblings-from 5
expect 2 "bench: --oracle-repeats 0" -- "$cli" bench --dsn x --workload star --oracle --oracle-repeats 0

if [ "$failures" -ne 0 ]; then
  echo "$failures CLI check(s) failed"
  exit 1
fi
echo "all CLI checks passed"
