#!/usr/bin/env bash
# Installs every Debian package RuVector DAG needs to build, test and run, then
# the PQClean C sources of the sync module from npm (pinned by integrity).
# Idempotent and non-interactive; run as root or with sudo available.
# Usage: scripts/setup.sh
set -euo pipefail

packages=(
  # toolchain
  build-essential g++ cmake ninja-build pkg-config git ca-certificates
  # libraries
  nlohmann-json3-dev libcli11-dev libfmt-dev libeigen3-dev
  # pattern sync: AES-256-GCM, HKDF-SHA256 and the system CSPRNG (OpenSSL 3)
  libssl-dev
  # pattern sync transport: the NATS C client and a NATS server with JetStream (tests, demo)
  libnats-dev nats-server
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  # fuzzing (libFuzzer) and sanitizers with clang
  clang-14 libclang-rt-14-dev
  # PostgreSQL 15: fixtures, the extension, the demo
  postgresql-15 postgresql-server-dev-15 postgresql-client-15 libpq-dev
  # WASM module and its browser test (Node.js 20 and npm come with the machine)
  emscripten chromium
)

# Node.js with npm (WASM package tests, the PQClean sources): keep an existing Node (e.g. NodeSource,
# which bundles npm); otherwise take Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

root=$(cd "$(dirname "$0")/.." && pwd)

install_debian_packages() {
  local missing=() p
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#packages[@]} packages present"
    return
  fi
  local sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
      echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
    fi
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ML-KEM-768 and ML-DSA-65 come from the PQClean "clean" C sources shipped in
# the npm package pqclean@0.8.1 (CC0). third_party/pqclean/package-lock.json
# pins it; npm ci checks the tarball against the lock's integrity, and this
# step checks that the lock still names the reviewed integrity. The package's
# install script (a native Node addon build) is never run. Sources stay out of
# git (third_party/pqclean/node_modules/ is ignored); CMake refuses to
# configure without them (cmake/RuvectorPqclean.cmake).
pqclean_integrity='sha512-+5FtknAJdiNtVBiyLiKW3OnanhcqSWy44KCaZz1tELhalp5HfuIcxNsX9uS0t7ne2tEWc7NBd4GpiQBTGTIJBA=='
install_pqclean() {
  local dir=$root/third_party/pqclean
  local lock_integrity
  lock_integrity=$(node -e '
    const lock = require(process.argv[1]);
    const p = lock.packages["node_modules/pqclean"] || {};
    process.stdout.write((p.version || "") + " " + (p.integrity || ""));' "$dir/package-lock.json")
  if [ "$lock_integrity" != "0.8.1 $pqclean_integrity" ]; then
    echo "setup: $dir/package-lock.json does not pin pqclean 0.8.1 with integrity $pqclean_integrity (found: $lock_integrity)" >&2
    exit 1
  fi
  local installed=$dir/node_modules/pqclean
  if [ -f "$installed/package.json" ] &&
     [ "$(node -p 'require(process.argv[1]).version' "$installed/package.json")" = "0.8.1" ] &&
     [ -f "$installed/deps/PQClean/crypto_kem/ml-kem-768/clean/kem.c" ]; then
    echo "setup: pqclean 0.8.1 sources present"
    return
  fi
  echo "setup: installing pqclean 0.8.1 (npm ci --ignore-scripts)"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  [ -f "$installed/deps/PQClean/crypto_sign/ml-dsa-65/clean/sign.c" ] || {
    echo "setup: pqclean installed but its PQClean sources are missing under $installed/deps" >&2; exit 1; }
}

install_debian_packages
install_pqclean
echo "setup: done"
