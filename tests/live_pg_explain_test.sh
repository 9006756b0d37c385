#!/usr/bin/env bash
# Live EXPLAIN import test: starts a private PostgreSQL 15 cluster
# (scripts/pg_cluster.sh), loads tests/sql/, EXPLAINs every query fresh in all
# three variants (scripts/make_explain_fixtures.sh) and imports each one with
# the golden test (integration_test with RUVECTOR_EXPLAIN_DIR set).
#
# Usage: tests/live_pg_explain_test.sh <integration_test binary> [source dir]
# Exit 77 (ctest: skipped) only when the PostgreSQL 15 binaries are absent.
set -euo pipefail

bin=${1:?usage: live_pg_explain_test.sh <integration_test binary> [source dir]}
src=${2:-$(cd "$(dirname "$0")/.." && pwd)}
pg_bin=${RUVECTOR_PG_BIN:-/usr/lib/postgresql/15/bin}

for tool in initdb pg_ctl postgres psql; do
  if [[ ! -x $pg_bin/$tool ]]; then
    echo "SKIP: $pg_bin/$tool not found (PostgreSQL 15 is not installed)"
    exit 77
  fi
done
[[ -x $bin ]] || { echo "FAIL: test binary $bin not found" >&2; exit 1; }

# Both directly under /tmp: when run as root the server runs as postgres,
# which must reach the cluster directory.
cluster=$(mktemp -d /tmp/ruvector-live-pg.XXXXXX)
out=$(mktemp -d /tmp/ruvector-live-explain.XXXXXX)
cleanup() {
  "$src/scripts/pg_cluster.sh" destroy "$cluster" >/dev/null 2>&1 || true
  rm -rf "$out"
}
trap cleanup EXIT

"$src/scripts/make_explain_fixtures.sh" --out "$out" --cluster "$cluster"

expected=$(( $(ls "$src"/tests/sql/queries/*.sql | wc -l) * 3 ))
generated=$(ls "$out"/*.json | wc -l)
if [[ $generated -ne $expected ]]; then
  echo "FAIL: generated $generated EXPLAIN outputs, expected $expected" >&2
  exit 1
fi

log=$out/gtest.log
set +e
RUVECTOR_EXPLAIN_DIR=$out "$bin" \
  --gtest_filter='Fixtures/ExplainGoldenTest.*:ExplainGoldenManifestTest.*' >"$log" 2>&1
rc=$?
set -e
tail -n 5 "$log"
if [[ $rc -ne 0 ]]; then
  grep -E 'Failure|FAILED|Expected|Which is|actual' "$log" | head -n 60 >&2
  echo "FAIL: importing the fresh EXPLAIN output failed" >&2
  exit 1
fi
# A filter that matched nothing would also pass: require every fixture ran.
ran=$(sed -nE 's/^\[==========\] ([0-9]+) tests? from .* ran\..*/\1/p' "$log")
if [[ -z $ran || $ran -lt $((generated + 1)) ]]; then
  echo "FAIL: only ${ran:-0} tests ran for $generated fresh EXPLAIN outputs" >&2
  exit 1
fi

# Informational: plans that changed shape since the committed fixtures.
if ! diff <(grep -v '^#' "$src/tests/fixtures/explain/manifest.tsv" | cut -f1,3) \
          <(grep -v '^#' "$out/manifest.tsv" | cut -f1,3) >/dev/null; then
  echo "note: fresh plans differ in node count from tests/fixtures/explain (file, nodes):"
  diff <(grep -v '^#' "$src/tests/fixtures/explain/manifest.tsv" | cut -f1,3) \
       <(grep -v '^#' "$out/manifest.tsv" | cut -f1,3) || true
fi
echo "PASS: imported $generated fresh EXPLAIN outputs ($ran tests)"
