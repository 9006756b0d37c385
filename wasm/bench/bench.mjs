// Node benchmark of the package (not a test: it asserts nothing about time).
//   node bench/bench.mjs [--runs N] [--fastest]
// Prints median wall times over N runs (default 21) of each operation on
// 10,000-node graphs and on a 100-node plan, plus module sizes (raw/gzip -9).
// --fastest prints the fastest run instead of the median: on a machine
// loaded by other work the median measures the load more than the code.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { WasmDag, availableMechanisms } from '@ruvector/dag-wasm';
import { WasmDag as CompatDag } from '@ruvector/dag-wasm/compat';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist');
const runsAt = process.argv.indexOf('--runs');
const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 21;
const fastest = process.argv.includes('--fastest');
// The machine's load average (1, 5, 15 min), printed at the start and the end:
// on a shared machine it says how far the times can be trusted.
const load = () => loadavg().map((x) => x.toFixed(1)).join(' / ');
const loadAtStart = load();

// Median of `runs` timed calls after a warm-up (at least 3 calls and 100 ms,
// so that the JIT has optimized the JS side); slow operations get fewer runs
// (at least 3, about 3 s in all).
function median(fn) {
  const times = [];
  let t0 = performance.now();
  let result = fn();
  const first = performance.now() - t0;
  for (let warm = 1; warm < 3 || performance.now() - t0 < 100; ++warm) result = fn();
  const n = Math.max(3, Math.min(runs, Math.floor(3000 / Math.max(first, 1e-3))));
  for (let i = 0; i < n; ++i) {
    const t = performance.now();
    result = fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { ms: fastest ? times[0] : times[times.length >> 1], result };
}

function chain(n) {
  const dag = new WasmDag();
  for (let i = 0; i < n; ++i) dag.addNode('Filter', 1 + (i % 7));
  for (let i = 0; i + 1 < n; ++i) dag.addEdge(i, i + 1);
  return dag;
}

// `layers` x `width` nodes, each feeding two nodes of the next layer.
function layered(layers, width) {
  const dag = new WasmDag();
  for (let i = 0; i < layers * width; ++i) dag.addNode(i < width ? 'Seq Scan' : 'Hash Join', (i * 37) % 101);
  for (let l = 0; l + 1 < layers; ++l) {
    for (let k = 0; k < width; ++k) {
      dag.addEdge(l * width + k, (l + 1) * width + k);
      dag.addEdge(l * width + k, (l + 1) * width + ((k + 1) % width));
    }
  }
  return dag;
}

const rows = [];
const row = (what, ms, note = '') => rows.push([what, ms.toFixed(3), note]);

const wasmBytes = readFileSync(join(dist, 'ruvector_dag.wasm'));
row('new WebAssembly.Module (V8 compiles functions lazily)', median(() => new WebAssembly.Module(wasmBytes)).ms);

const build = median(() => { const d = chain(10000); d.free(); });
row('build 10,000-node chain (addNode + addEdge)', build.ms);
const c = chain(10000);
const l = layered(100, 100);
const small = layered(10, 10);
row('topoSort, 10,000-node chain', median(() => c.topoSort()).ms);
row('topoSort, 10,000 nodes / 19,800 edges', median(() => l.topoSort()).ms);
row('criticalPath, 10,000-node chain', median(() => c.criticalPath()).ms);
row('criticalPath, 10,000 nodes / 19,800 edges', median(() => l.criticalPath()).ms);
for (const m of availableMechanisms()) {
  row(`attention ${m}, 100 nodes`, median(() => small.attention(m)).ms);
}
for (const m of availableMechanisms()) {
  row(`attention ${m}, 10,000 nodes`, median(() => l.attention(m)).ms);
}
row('mincut (bottleneck) with tension, 100 nodes', median(() => small.mincut()).ms);
row('mincut (bottleneck) with tension, 10,000 nodes', median(() => l.mincut()).ms);
const bytes = l.toBytes();
row('toBytes, 10,000 nodes', median(() => l.toBytes()).ms, `${bytes.length} bytes`);
row('fromBytes, 10,000 nodes', median(() => WasmDag.fromBytes(bytes).free()).ms);
const json = l.toJSONString();
row('toJSONString, 10,000 nodes', median(() => l.toJSONString()).ms, `${json.length} bytes`);
row('fromJSON, 10,000 nodes', median(() => WasmDag.fromJSON(json).free()).ms);
// Fractional costs take the BigInt Grisu2 path of the JSON writer (integers a shortcut).
const fractional = new WasmDag();
for (let i = 0; i < 10000; ++i) fractional.addNode('Seq Scan', i * 0.37 + 0.013);
row('toJSONString, 10,000 nodes, fractional costs', median(() => fractional.toJSONString()).ms);
fractional.free();
const explain = readFileSync(join(here, '..', '..', 'examples', 'tpch_q5.explain-analyze.json'), 'utf8');
row('fromExplain, TPC-H Q5 (19 operators)', median(() => WasmDag.fromExplain(explain).free()).ms);
for (const d of [c, l, small]) d.free();

// --- against the original ruvector-dag-wasm (@ruvector/edge-full@0.1.0, dag/) ---
// Its numbers are recorded, not measured here (the package does not ship it):
// scripts in docs/wasm.md ("Against the original") measured them with the
// same graphs in one Node run on this machine; ratio = ours / original.
const ORIGINAL = {  // the faster of two runs, 2026-12-06, this machine (docs/wasm.md)
  1000: { build: 5.81, toBytes: 0.0907, fromBytes: 0.0131, toJson: 0.563, fromJson: 0.307, jsonRoundTrip: 0.447,
    topoSort: 1.18, criticalPath: 2.93, attention0: 2.65, attention1: 3.23, attention2: 0.0033 },
  10000: { build: 301, toBytes: 0.892, fromBytes: 0.0661, toJson: 10.6, fromJson: 5.97, jsonRoundTrip: 21.1,
    topoSort: 183, criticalPath: 344, attention0: 145, attention1: 212, attention2: 0.130 },
};
// The original's benchmark graph: n nodes in layers of round(sqrt(n)), each
// feeding two nodes of the next layer (op 0 = Seq Scan in the first layer,
// 20 = Hash Join after it; costs (i * 37) % 101).
function layeredCompat(n) {
  const width = Math.round(Math.sqrt(n));
  const layers = n / width;
  const d = new CompatDag();
  for (let i = 0; i < n; ++i) d.add_node(i < width ? 0 : 20, (i * 37) % 101);
  for (let l = 0; l + 1 < layers; ++l) {
    for (let k = 0; k < width; ++k) {
      d.add_edge(l * width + k, (l + 1) * width + k);
      d.add_edge(l * width + k, (l + 1) * width + ((k + 1) % width));
    }
  }
  return d;
}
const versus = [];
for (const n of [1000, 10000]) {
  const o = ORIGINAL[n];
  // `key`: the original's recorded operation, or several whose times add up.
  const cmp = (what, key, fn) => versus.push([`${what}, ${n.toLocaleString('en')} nodes`, median(fn).ms,
    [key].flat().reduce((sum, k) => sum + o[k], 0)]);
  cmp('build via the API (compat add_node/add_edge)', 'build', () => layeredCompat(n).free());
  const c = layeredCompat(n);
  const d = c.dag;
  const bytes = d.toBytes();
  cmp('toBytes', 'toBytes', () => d.toBytes());
  cmp('fromBytes', 'fromBytes', () => WasmDag.fromBytes(bytes).free());
  // The floor of a checked read: a document whose stored checksum is off by
  // one bit is refused after the CRC-32C pass over its body (plus the error
  // thrown); the original checks nothing.
  const corrupt = bytes.slice();
  corrupt[corrupt.length - 1] ^= 1;
  cmp('fromBytes refusing a bad checksum (CRC-32C pass + throw)', 'fromBytes', () => {
    try { WasmDag.fromBytes(corrupt).free(); } catch { return; }
    throw new Error('a corrupted document was accepted');
  });
  // End to end: what reading costs before the first analysis can run.
  cmp('fromBytes + topoSort', ['fromBytes', 'topoSort'], () => { const r = WasmDag.fromBytes(bytes); r.topoSort(); r.free(); });
  const compact = d.toJSONString({ compact: true });
  cmp('JSON round trip, compact (toJSONString + fromJSON)', 'jsonRoundTrip', () => WasmDag.fromJSON(d.toJSONString({ compact: true })).free());
  cmp('JSON round trip, full (byte-identical to the CLI)', 'jsonRoundTrip', () => WasmDag.fromJSON(d.toJSONString()).free());
  cmp('compat to_json + from_json', 'jsonRoundTrip', () => CompatDag.from_json(c.to_json()).free());
  cmp('toJSONString, compact', 'toJson', () => d.toJSONString({ compact: true }));
  cmp('fromJSON, compact', 'fromJson', () => WasmDag.fromJSON(compact).free());
  cmp('topoSort', 'topoSort', () => d.topoSort());
  cmp('criticalPath (compat critical_path, JSON text)', 'criticalPath', () => c.critical_path());
  for (const m of [0, 1, 2]) cmp(`compat attention(${m})`, `attention${m}`, () => c.attention(m));
  c.free();
}

console.log(`# @ruvector/dag-wasm benchmark: Node ${process.version}, ${fastest ? 'fastest' : 'median'} of up to ${runs} runs after a warm-up, ${new Date().toISOString()}`);
console.log(`# load average (1 / 5 / 15 min): ${loadAtStart} at the start, ${load()} at the end`);
const w = Math.max(...rows.map((r) => r[0].length));
for (const [what, ms, note] of rows) console.log(`${what.padEnd(w)}  ${ms.padStart(9)} ms  ${note}`);

console.log('\n# against the original (recorded in docs/wasm.md); ratio = ours / original, < 1 is faster');
const wv = Math.max(...versus.map((r) => r[0].length));
for (const [what, ms, orig] of versus) {
  console.log(`${what.padEnd(wv)}  ${ms.toFixed(3).padStart(9)} ms  original ${orig.toFixed(4).padStart(9)} ms  ratio ${(ms / orig).toFixed(2)}`);
}

let raw = 0;
let gz = 0;
console.log('\n# sizes (gzip -9 per file)');
for (const f of readdirSync(dist).sort()) {
  const data = readFileSync(join(dist, f));
  const g = gzipSync(data, { level: 9 }).length;
  raw += statSync(join(dist, f)).size;
  gz += g;
  console.log(`${f.padEnd(20)} ${String(data.length).padStart(8)} B raw ${String(g).padStart(8)} B gzip`);
}
console.log(`${'dist total'.padEnd(20)} ${String(raw).padStart(8)} B raw ${String(gz).padStart(8)} B gzip`);
