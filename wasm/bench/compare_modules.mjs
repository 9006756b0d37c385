// Compares builds of the module on the serialization paths (not a test: it
// asserts nothing about time).
//   node bench/compare_modules.mjs [--rounds N] <a.wasm> <b.wasm> ...
// Runs each module in turn in a fresh Node process with the same wrapper
// (js/ruvector_dag.mjs; initSync loads one module per process) and times,
// on the layered graphs of bench.mjs's comparison with the original (1,000
// and 10,000 nodes): fromBytes (+ free), fromBytes + topoSort, toBytes and
// the compact JSON round trip. Times are process CPU
// time (process.cpuUsage, which also counts V8's garbage-collector threads),
// the fastest of 15 batches of 10 calls after a warm-up, so that a shared,
// loaded machine preempting the process does not count; the modules alternate
// for N rounds (default 3) and the best of each is printed at the end.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const core = await import(join(dirname(fileURLToPath(import.meta.url)), '..', 'js', 'ruvector_dag.mjs'));
const { WasmDag } = core;
const args = process.argv.slice(2);
const one = args[0] === '--one' ? args[1] : null;  // the child: measure this module, print JSON
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(args.splice(roundsAt, 2)[1]) : 3;
if (!one && (args.length === 0 || !(rounds > 0))) {
  console.error('usage: node bench/compare_modules.mjs [--rounds N] <a.wasm> <b.wasm> ...');
  process.exit(2);
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
// Fastest of 15 batches of `reps` calls, in CPU ms per call.
function fastest(fn, reps = 10) {
  for (let i = 0; i < 5; ++i) fn();
  let best = Infinity;
  for (let batch = 0; batch < 15; ++batch) {
    const t = cpuMs();
    for (let r = 0; r < reps; ++r) fn();
    best = Math.min(best, (cpuMs() - t) / reps);
  }
  return best;
}

// bench.mjs's layeredCompat graph through the main API: layers of
// round(sqrt(n)), each node feeding two of the next layer.
function layered(n) {
  const width = Math.round(Math.sqrt(n));
  const layers = n / width;
  const d = new WasmDag();
  for (let i = 0; i < n; ++i) d.addNode(i < width ? 'Seq Scan' : 'Hash Join', (i * 37) % 101);
  for (let l = 0; l + 1 < layers; ++l) {
    for (let k = 0; k < width; ++k) {
      for (const to of [(l + 1) * width + k, (l + 1) * width + ((k + 1) % width)]) {
        if (to < n) d.addEdge(l * width + k, to);  // the original's add_edge refused the others
      }
    }
  }
  return d;
}

const OPS = ['fromBytes', 'fromBytes+topoSort', 'toBytes', 'JSON round trip, compact'];
function measure(n) {
  const d = layered(n);
  const bytes = d.toBytes();
  const times = [
    fastest(() => WasmDag.fromBytes(bytes).free()),
    fastest(() => {
      const r = WasmDag.fromBytes(bytes);
      r.topoSort();
      r.free();
    }),
    fastest(() => d.toBytes()),
    fastest(() => WasmDag.fromJSON(d.toJSONString({ compact: true })).free()),
  ];
  d.free();
  return times;
}

if (one) {
  core.initSync(readFileSync(one));
  const out = {};
  for (const n of [1000, 10000]) out[n] = measure(n);
  console.log(JSON.stringify(out));
  process.exit(0);
}

const load = () => loadavg().map((x) => x.toFixed(1)).join(' / ');
const line = (path, n, times) => `${basename(path)} n=${n}: ${times.map((t, k) => `${OPS[k]} ${t.toFixed(3)}`).join(', ')}`;
console.log(`# compare_modules: Node ${process.version}, CPU ms per call, ${new Date().toISOString()}, load ${load()}`);
const best = args.map(() => ({}));
for (let round = 1; round <= rounds; ++round) {
  args.forEach((path, i) => {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--one', path], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`${path}: ${child.stderr}`);
    const result = JSON.parse(child.stdout);
    for (const n of [1000, 10000]) {
      console.log(`round ${round} ${line(path, n, result[n])}`);
      best[i][n] = (best[i][n] || result[n]).map((b, k) => Math.min(b, result[n][k]));
    }
  });
}
console.log(`# best of ${rounds} rounds; load ${load()} at the end`);
args.forEach((path, i) => {
  for (const n of [1000, 10000]) console.log(line(path, n, best[i][n]));
});
