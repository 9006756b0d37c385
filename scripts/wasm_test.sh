#!/usr/bin/env bash
# Builds the WASM module with Debian's emscripten, assembles and packs the npm
# package (npm pack, offline), installs the packed tarball into a scratch
# consumer, runs the node --test suite, ESM/CommonJS smoke tests against the
# packed package and the headless-Chromium page test, and prints the sizes.
#
# Usage: scripts/wasm_test.sh [--bench] [--lite]
#   --bench  also run the Node benchmark
#   --lite   also build and check the size-budget variant (no text formats,
#            four mechanisms) in $build/lite and print its size
# Needs (scripts/setup.sh installs them): emscripten, chromium, Node.js >= 18
# with npm. npm packages (playwright-core, typescript) come from
# wasm/package-lock.json.
# Environment: RVD_WASM_BUILD (build dir, default build-wasm), CHROMIUM
# (default /usr/bin/chromium).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RVD_WASM_BUILD:-$root/build-wasm}"
bench=0
lite=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1 ;;
    --lite) lite=1 ;;
    *) echo "usage: scripts/wasm_test.sh [--bench] [--lite]" >&2; exit 2 ;;
  esac
done

for tool in emcmake emcc node npm ninja cmake; do
  command -v "$tool" >/dev/null 2>&1 || { echo "wasm_test: '$tool' not found; run scripts/setup.sh" >&2; exit 1; }
done
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "wasm_test: chromium not found; run scripts/setup.sh" >&2; exit 1; }

# Debian's emscripten runs its JS helpers with the system node and needs the
# Debian node modules (acorn, ...) on NODE_PATH.
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"
start=$(date +%s)

echo "== build (emscripten $(emcc --version | head -1 | grep -o '[0-9]*\.[0-9]*\.[0-9]*' | head -1))"
mkdir -p "$build"
emcmake cmake -S "$root/wasm" -B "$build" -G Ninja >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
ninja -C "$build" -j2
node "$root/wasm/scripts/build_js.mjs" "$build/ruvector_dag.wasm"

cd "$root/wasm"
# npm ci only when node_modules does not match the lock file.
stale=$(node -e 'const l=require("./package-lock.json").packages;let s="";
for(const k of Object.keys(l)){if(!k)continue;try{if(require("./"+k+"/package.json").version!==l[k].version)s=k}catch{s=k}}
console.log(s)')
if [ -n "$stale" ]; then
  echo "== npm ci (playwright-core, typescript from package-lock.json; no browser download)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
passed=0
failed=0
step() {  # step <name> <command...>: runs a check, counts it
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"; else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

echo "== tsc (index.d.ts against test/types_check.ts)"
step "TypeScript types" node node_modules/typescript/bin/tsc --noEmit --strict --target es2022 \
  --lib es2022,dom,esnext.disposable --module nodenext --moduleResolution nodenext test/types_check.ts

echo "== node --test"
step "node --test suite" node --test test/

echo "== npm pack (offline)"
tarball=$(npm pack --offline --silent --pack-destination "$scratch" | tail -1)
tar -xzf "$scratch/$tarball" -C "$scratch"
mkdir -p "$scratch/consumer/node_modules/@ruvector"
mv "$scratch/package" "$scratch/consumer/node_modules/@ruvector/dag-wasm"
pkg="$scratch/consumer/node_modules/@ruvector/dag-wasm"
echo "packed files: $(cd "$pkg" && find . -type f | sort | tr '\n' ' ')"

smoke='const d=new WasmDag();d.addNode("Seq Scan",2);d.addNode("Limit",1);
if(!d.addEdge(0,1)||d.criticalPath().cost!==3||d.attention("topological").length!==2)process.exit(1);
try{d.addNode("Seq Scan",NaN);process.exit(1)}catch(e){if(!(e instanceof Error)||!/NaN/.test(e.message))process.exit(1)}
d.free();'
step "packed package, ESM import" bash -c "cd '$scratch/consumer' && node --input-type=module -e 'import {WasmDag} from \"@ruvector/dag-wasm\"; $smoke'"
step "packed package, CommonJS require" bash -c "cd '$scratch/consumer' && node -e 'const {WasmDag}=require(\"@ruvector/dag-wasm\"); $smoke'"

echo "== headless Chromium (packed package served on 127.0.0.1)"
step "browser page test" node browser/run.mjs "$pkg"

echo "== sizes"
wasm_gz=$(gzip -9 -c "$pkg/dist/ruvector_dag.wasm" | wc -c)
js_gz=$(cat "$pkg"/dist/*.mjs "$pkg"/dist/*.cjs | gzip -9 | wc -c)
esm_gz=$(cat "$pkg"/dist/ruvector_dag.mjs "$pkg"/dist/browser.mjs "$pkg/dist/ruvector_dag.wasm" | gzip -9 | wc -c)
echo "wasm: $(stat -c %s "$pkg/dist/ruvector_dag.wasm") B raw, $wasm_gz B gzip -9"
echo "JS (all entry points, ESM and CJS): $js_gz B gzip -9"
echo "what a browser loads (browser.mjs + ruvector_dag.mjs + wasm): $esm_gz B gzip -9"
echo "npm pack tarball: $(stat -c %s "$scratch/$tarball") B ($tarball)"

if [ "$lite" = 1 ]; then
  echo "== size-budget build (RVD_TEXT_FORMATS=OFF, RVD_MECHANISMS=0x27)"
  mkdir -p "$build/lite"
  emcmake cmake -S "$root/wasm" -B "$build/lite" -G Ninja -DRVD_TEXT_FORMATS=OFF -DRVD_MECHANISMS=0x27 \
    >"$build/lite/configure.log" 2>&1 || { cat "$build/lite/configure.log"; exit 1; }
  ninja -C "$build/lite" -j2
  step "lite build check" node scripts/lite_check.mjs "$build/lite/ruvector_dag.wasm"
  lite_gz=$(gzip -9 -c "$build/lite/ruvector_dag.wasm" | wc -c)
  lite_total=$(cat "$pkg"/dist/ruvector_dag.mjs "$pkg"/dist/browser.mjs "$build/lite/ruvector_dag.wasm" | gzip -9 | wc -c)
  echo "lite wasm: $(stat -c %s "$build/lite/ruvector_dag.wasm") B raw, $lite_gz B gzip -9; with browser JS: $lite_total B gzip -9"
fi

if [ "$bench" = 1 ]; then
  echo "== benchmark"
  node bench/bench.mjs
fi

echo "wasm_test: $(( $(date +%s) - start )) s"
echo "wasm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
