#!/usr/bin/env bash
# Builds the WASM module with Debian's emscripten, assembles and packs the npm
# package (npm pack, offline), installs the packed tarball into a scratch
# consumer, runs the node --test suite, ESM/CommonJS smoke tests against the
# packed package and the headless-Chromium page test, checks the size budget
# (the packed tarball and what a browser loads, each at most 58 KB = 59,392
# bytes: a failed step when over). The package ships all seven attention
# mechanisms (docs/wasm.md).
# When a native CLI is available the table of its outputs that the node tests
# compare against (wasm/test/expected_cli.tsv) is regenerated and must match,
# and the CLI reads what the wrapper writes.
#
# Usage: scripts/wasm_test.sh [--bench]
#   --bench  also run the Node benchmark
# Needs (scripts/setup.sh installs them): emscripten, chromium, Node.js >= 20.19
# with npm. npm packages (playwright-core, typescript, terser) come from
# wasm/package-lock.json.
# Environment: RVD_WASM_BUILD (build dir, default build-wasm), CHROMIUM
# (default /usr/bin/chromium), RVD_NATIVE_CLI (the native ruvector-dag; default
# build/cli/ruvector-dag when it exists).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RVD_WASM_BUILD:-$root/build-wasm}"
bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1 ;;
    *) echo "usage: scripts/wasm_test.sh [--bench]" >&2; exit 2 ;;
  esac
done
budget=$((58 * 1024))
cli="${RVD_NATIVE_CLI:-$root/build/cli/ruvector-dag}"
if [ -x "$cli" ]; then export RVD_NATIVE_CLI="$cli"; else unset RVD_NATIVE_CLI; cli=; fi

for tool in emcmake emcc node npm ninja cmake; do
  command -v "$tool" >/dev/null 2>&1 || { echo "wasm_test: '$tool' not found; run scripts/setup.sh" >&2; exit 1; }
done
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "wasm_test: chromium not found; run scripts/setup.sh" >&2; exit 1; }

# Debian's emscripten runs its JS helpers with the system node and needs the
# Debian node modules (acorn, ...) on NODE_PATH.
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"
start=$(date +%s)

echo "== build (emscripten $(emcc --version | head -1 | grep -o '[0-9]*\.[0-9]*\.[0-9]*' | head -1))"
configure() {  # configure <dir> [cmake args...]
  local dir=$1; shift
  mkdir -p "$dir"
  emcmake cmake -S "$root/wasm" -B "$dir" -G Ninja "$@" >"$dir/configure.log" 2>&1 ||
    { cat "$dir/configure.log"; exit 1; }
}
configure "$build" -URVD_MECHANISMS  # the shipped default of wasm/CMakeLists.txt, not a cached value
ninja -C "$build" -j2

cd "$root/wasm"
# npm ci only when node_modules does not match the lock file.
stale=$(node -e 'const l=require("./package-lock.json").packages;let s="";
for(const k of Object.keys(l)){if(!k)continue;try{if(require("./"+k+"/package.json").version!==l[k].version)s=k}catch{s=k}}
console.log(s)')
if [ -n "$stale" ]; then
  echo "== npm ci (playwright-core, typescript from package-lock.json; no browser download)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

node scripts/build_js.mjs "$build/ruvector_dag.wasm"
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

echo "== node --test${RVD_NATIVE_CLI:+ (native CLI: $RVD_NATIVE_CLI)}"
# The shipped mechanisms (RVD_MECHANISMS in wasm/CMakeLists.txt, docs/wasm.md): all seven.
step "node --test suite" env \
  RVD_EXPECT_MECHANISMS=topological,causal_cone,critical_path,mincut_gated,hierarchical_lorentz,parallel_branch,temporal_btsp \
  node --test test/

if [ -n "$cli" ]; then
  echo "== test/expected_cli.tsv against the native CLI"
  step "expected_cli.tsv matches the CLI" bash -c "node scripts/expected_from_cli.mjs '$cli' > '$scratch/expected_cli.tsv' &&
    diff test/expected_cli.tsv '$scratch/expected_cli.tsv'"
else
  echo "== no native CLI (build/cli/ruvector-dag or RVD_NATIVE_CLI): test/expected_cli.tsv used as committed"
fi

echo "== npm pack (offline)"
tarball=$(npm pack --offline --silent --pack-destination "$scratch" | tail -1)
tar -xzf "$scratch/$tarball" -C "$scratch"
mkdir -p "$scratch/consumer/node_modules/@ruvector"
mv "$scratch/package" "$scratch/consumer/node_modules/@ruvector/dag-wasm"
pkg="$scratch/consumer/node_modules/@ruvector/dag-wasm"
echo "packed files: $(cd "$pkg" && find . -type f | sort | tr '\n' ' ')"

smoke='const d=new WasmDag();d.addNode("Seq Scan",2);d.addNode("Limit",1);
if(!d.addEdge(0,1)||d.criticalPath().cost!==3||d.mincut().cutNodes.length!==1)process.exit(1);
if(WasmDag.fromJSON(d.toJSONString()).toJSONString(2)!==d.toJSONString(2))process.exit(1);
try{d.addNode("Seq Scan",NaN);process.exit(1)}catch(e){if(!(e instanceof Error)||!/NaN/.test(e.message))process.exit(1)}
d.free();'
step "packed package, ESM import" bash -c "cd '$scratch/consumer' && node --input-type=module -e 'import {WasmDag} from \"@ruvector/dag-wasm\"; $smoke'"
step "packed package, CommonJS require" bash -c "cd '$scratch/consumer' && node -e 'const {WasmDag}=require(\"@ruvector/dag-wasm\"); $smoke'"
# The compat entry (the original's names): critical path as JSON text, mode numbers.
compat='const d=new WasmDag();d.add_node(0,2);d.add_node(33,1);
if(!d.add_edge(0,1)||d.add_edge(1,0)||d.critical_path()!=="{\"path\":[0,1],\"cost\":3}"||d.attention(2)[0]!==0.5)process.exit(1);
if(WasmDag.from_json(d.to_json()).to_json()!==d.to_json()||WasmDag.from_bytes(d.to_bytes()).edge_count()!==1)process.exit(1);
d.free();'
step "packed package, compat entry (ESM and CommonJS)" bash -c "cd '$scratch/consumer' &&
  node --input-type=module -e 'import {WasmDag} from \"@ruvector/dag-wasm/compat\"; $compat' &&
  node -e 'const {WasmDag}=require(\"@ruvector/dag-wasm/compat\"); $compat'"

echo "== headless Chromium (packed package served on 127.0.0.1)"
step "browser page test" node browser/run.mjs "$pkg"

echo "== what the module links (emscripten symbol map $build/ruvector_dag.wasm.symbols)"
syms="$build/ruvector_dag.wasm.symbols"
step "no JSON parser, strtod, printf, iostream or musl sin/cos in the module" bash -c \
  "[ -s '$syms' ] && ! grep -iE 'strtod|floatscan|printf|basic_ostream|basic_istream|ios_base|rem_pio2|nlohmann.*(lexer|parser|basic_json)' '$syms'"

echo "== sizes (gzip -9; budget $budget bytes = 58 KB)"
wasm_gz=$(gzip -9 -c "$pkg/dist/ruvector_dag.wasm" | wc -c)
js_gz=$(gzip -9 -c "$pkg/dist/ruvector_dag.mjs" | wc -c)
browser_gz=$(cat "$pkg"/dist/ruvector_dag.mjs "$pkg"/dist/browser.mjs "$pkg/dist/ruvector_dag.wasm" | gzip -9 | wc -c)
tarball_size=$(stat -c %s "$scratch/$tarball")
echo "wasm: $(stat -c %s "$pkg/dist/ruvector_dag.wasm") B raw, $wasm_gz B gzip -9"
echo "JS core (minified): $(stat -c %s "$pkg/dist/ruvector_dag.mjs") B raw, $js_gz B gzip -9"
echo "what a browser loads (browser.mjs + ruvector_dag.mjs + wasm): $browser_gz B gzip -9"
echo "npm pack tarball: $tarball_size B ($tarball)"
echo "margin under the budget: tarball $((budget - tarball_size)) B, browser payload $((budget - browser_gz)) B"
step "size budget: npm pack tarball $tarball_size <= $budget" test "$tarball_size" -le "$budget"
step "size budget: browser payload $browser_gz <= $budget" test "$browser_gz" -le "$budget"

if [ "$bench" = 1 ]; then
  echo "== benchmark"
  node bench/bench.mjs
fi

echo "wasm_test: $(( $(date +%s) - start )) s"
echo "wasm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
