#!/usr/bin/env bash
# Runs every test: sets up, builds once, then
#   1. unit, property, golden, CLI and live-PostgreSQL tests (ctest, release build)
#   1b. the PostgreSQL extension: pg_regress, restart/crash/corrupt-state, pgbench
#       load and identical-results tests on a private cluster (scripts/pg_test.sh)
#   2. a short smoke run of every benchmark binary (timings are not checked)
#   3. the library tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#   4. every libFuzzer target for a short time (RUVECTOR_FUZZ_SECONDS, default 30)
#   5. cmake --install + a consumer project using find_package(ruvector_dag)
#   6. the WASM module and npm package: node --test, ESM/CJS, headless Chromium,
#      sizes against the 58 KB budget (scripts/wasm_test.sh)
# Usage: scripts/test.sh            (RUVECTOR_JOBS, RUVECTOR_FUZZ_SECONDS to tune)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${RUVECTOR_JOBS:-$(nproc)}
fuzz_seconds=${RUVECTOR_FUZZ_SECONDS:-30}
step() { printf '\n==== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "setup"
"$root/scripts/setup.sh"

step "build (release)"
RUVECTOR_JOBS=$jobs "$root/scripts/build.sh"
build=${RUVECTOR_BUILD_DIR:-$root/build}

step "tests (release)"
ctest --test-dir "$build" -j "$jobs" --output-on-failure --timeout 900

step "PostgreSQL extension tests"
"$root/scripts/pg_test.sh" "$build"

step "benchmark smoke run"
while IFS= read -r bench; do
  echo "-- $(basename "$bench")"
  "$bench" --benchmark_min_time=0.001 >/dev/null
done < <(find "$build" -type f -perm -u+x -name '*_benchmark' | sort)
"$build/bench/learning_quality" --seed 1 >/dev/null

step "tests under address,undefined sanitizers"
asan=$root/build-asan
if [ ! -f "$asan/build.ninja" ]; then
  cmake -S "$root" -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRUVECTOR_SANITIZE=address,undefined \
    -DRUVECTOR_BUILD_BENCHMARKS=OFF -DRUVECTOR_BUILD_CLI=OFF -DRUVECTOR_BUILD_PG=OFF >/dev/null
fi
cmake --build "$asan" -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$asan" -j "$jobs" --output-on-failure --timeout 1800 -LE pg

step "fuzzing, ${fuzz_seconds}s per target"
fuzz=$root/build-fuzz
# A tree configured before the project compiled C sources has gcc as its C
# compiler, which lacks libFuzzer's flags: configure it afresh.
if [ -f "$fuzz/CMakeCache.txt" ] && ! grep -q '^CMAKE_C_COMPILER:.*clang' "$fuzz/CMakeCache.txt"; then
  rm -rf "$fuzz"
fi
if [ ! -f "$fuzz/build.ninja" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRUVECTOR_BUILD_FUZZERS=ON -DRUVECTOR_SANITIZE=address,undefined -DRUVECTOR_BUILD_TESTS=OFF \
    -DRUVECTOR_BUILD_BENCHMARKS=OFF -DRUVECTOR_BUILD_CLI=OFF -DRUVECTOR_BUILD_PG=OFF >/dev/null
fi
# Only the fuzz targets (and the modules they link), not every library.
fuzz_targets=$(cd "$root/fuzz" && ls -- *_fuzzer.cc 2>/dev/null | sed 's/\.cc$//')
[ -n "$fuzz_targets" ] && cmake --build "$fuzz" -j "$jobs" --target $fuzz_targets
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for fuzzer in $(find "$fuzz/fuzz" -maxdepth 1 -type f -perm -u+x -name '*_fuzzer' | sort); do
  name=$(basename "$fuzzer" _fuzzer)
  mkdir -p "$work/$name"
  echo "-- $name"
  # New inputs go to a scratch dir; the committed seed corpus is read only.
  "$fuzzer" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/$name-" "$work/$name" "$root/fuzz/corpus/$name" 2>&1 | tail -n 12
done

step "install and find_package consumer"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
cmake -S "$root/tests/consumer" -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"

step "WASM module and JS package"
RVD_NATIVE_CLI="$build/cli/ruvector-dag" "$root/scripts/wasm_test.sh"

step "all tests passed"
