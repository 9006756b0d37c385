#!/usr/bin/env bash
# The main job: set up, build, install the PostgreSQL extension, and run
# `ruvector-dag demo`: a private PostgreSQL 15 cluster, a workload whose default
# plans are bad (correlated columns, skew), and the learner converging round by
# round, every number measured. Writes ruvector-dag-demo.svg.
# Usage: scripts/run.sh [demo options, e.g. --rounds 60 --format json]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RUVECTOR_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
echo "== building (first time: a few minutes)"
"$root/scripts/build.sh" >/dev/null
echo "== installing the extension into PostgreSQL 15"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" cmake --install "$build" --component pg >/dev/null
exec "$build/cli/ruvector-dag" demo "$@"
