#!/usr/bin/env bash
# Installs every Debian package RuVector DAG needs to build, test and run.
# Idempotent and non-interactive; run as root or with sudo available.
# Usage: scripts/setup.sh
set -euo pipefail

packages=(
  # toolchain
  build-essential g++ cmake ninja-build pkg-config git ca-certificates
  # libraries
  nlohmann-json3-dev libcli11-dev libfmt-dev libeigen3-dev
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  # fuzzing (libFuzzer) and sanitizers with clang
  clang-14 libclang-rt-14-dev
  # PostgreSQL 15: fixtures, the extension, the demo
  postgresql-15 postgresql-server-dev-15 postgresql-client-15 libpq-dev
  # WASM module and its browser test (Node.js 20 and npm come with the machine)
  emscripten chromium
)

# Node.js with npm (WASM package tests): keep an existing Node (e.g. NodeSource,
# which bundles npm); otherwise take Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
