#!/usr/bin/env bash
# Configures and builds the release tree (build/) once; later calls reuse it.
# Usage: scripts/build.sh [extra cmake args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RUVECTOR_BUILD_DIR:-$root/build}
jobs=${RUVECTOR_JOBS:-$(nproc)}
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
fi
cmake --build "$build" -j "$jobs"
