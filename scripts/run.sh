#!/usr/bin/env bash
# The main job: set up, build, and analyze a bundled real PostgreSQL 15 plan
# (EXPLAIN ANALYZE of a TPC-H-style multi-join query).
# Usage: scripts/run.sh [plan file] [--format text|json]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" >/dev/null
plan=${1:-$root/examples/tpch_q5.explain-analyze.json}
shift || true
echo "== ruvector-dag analyze $plan"
exec "${RUVECTOR_BUILD_DIR:-$root/build}/cli/ruvector-dag" analyze "$plan" "$@"
