// node --test suite for the package, imported by its own name (Node resolves
// the package's "exports" for a self-reference), so the ESM entry is what a
// user gets. Run: cd wasm && node --test test/
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  CAPACITY_MODES, MECHANISMS, RuvectorDagError, WasmDag, availableMechanisms, init, initSync, isReady,
  operatorTypes,
} from '@ruvector/dag-wasm';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The mechanisms of the module under test (the package ships a subset;
// scripts/wasm_test.sh runs this suite again on a build with all seven).
const built = new Set(availableMechanisms());

// Asserts that fn throws a RuvectorDagError (an Error, not a WebAssembly trap)
// whose message matches `pattern`.
function assertRejects(fn, pattern, code) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof Error, 'an Error');
    assert.ok(!(err instanceof WebAssembly.RuntimeError), `a trap: ${err && err.message}`);
    assert.ok(err instanceof RuvectorDagError, `RuvectorDagError, got ${err && err.name}: ${err && err.message}`);
    assert.notEqual(err.code, 'internal', `an abort or trap: ${err.message}`);
    assert.match(err.message, pattern);
    if (code) assert.equal(err.code, code);
    return true;
  });
}

// scan(0) -> hash(1) -> join(2) <- scan(3); join -> sort(4) -> limit(5)
function samplePlan() {
  const dag = new WasmDag();
  const s0 = dag.addNode('Seq Scan', 100);
  const h = dag.addNode('Hash', 5);
  const j = dag.addNode('Hash Join', 40);
  const s1 = dag.addNode('Seq Scan', 20);
  const sort = dag.addNode('Sort', 30);
  const limit = dag.addNode('Limit', 1);
  assert.ok(dag.addEdge(s0, h));
  assert.ok(dag.addEdge(h, j));
  assert.ok(dag.addEdge(s1, j));
  assert.ok(dag.addEdge(j, sort));
  assert.ok(dag.addEdge(sort, limit));
  return dag;
}

function isTopological(dag, order, edges) {
  const pos = new Map();
  order.forEach((id, i) => pos.set(id, i));
  return order.length === dag.nodeCount && edges.every(([a, b]) => pos.get(a) < pos.get(b));
}

test('module is ready on import and init() resolves', async () => {
  assert.ok(isReady());
  await init();
  assert.equal(operatorTypes()[0], 'Seq Scan');
  assert.ok(operatorTypes().includes('HnswScan'));
  assert.equal(MECHANISMS.length, 7);
  assert.ok(availableMechanisms().every((m) => MECHANISMS.includes(m)));
  if (process.env.RVD_EXPECT_MECHANISMS !== undefined) {
    assert.deepEqual([...availableMechanisms()], process.env.RVD_EXPECT_MECHANISMS.split(',').filter(Boolean));
  }
  assert.deepEqual([...CAPACITY_MODES], ['bottleneck', 'cost', 'rows', 'time', 'unit']);
});

test('loading again is a no-op: existing DAGs stay valid', async () => {
  const dag = samplePlan();
  initSync(readFileSync(new URL('../dist/ruvector_dag.wasm', import.meta.url)));
  await init(new Uint8Array([0, 1, 2, 3]));  // not even a module: ignored once loaded
  assert.equal(dag.criticalPath().cost, 176);
  dag.free();
});

test('addNode returns sequential ids; counts follow', () => {
  const dag = new WasmDag();
  assert.equal(dag.nodeCount, 0);
  assert.equal(dag.addNode('Seq Scan', 1), 0);
  assert.equal(dag.addNode(operatorTypes().indexOf('Hash'), 2.5), 1);  // numeric code
  assert.equal(dag.addNode('HnswScan', 0), 2);
  assert.equal(dag.nodeCount, 3);
  assert.equal(dag.edgeCount, 0);
  dag.free();
});

test('addEdge: true when added, false for cycles, self-loops and duplicates', () => {
  const dag = samplePlan();
  assert.equal(dag.edgeCount, 5);
  assert.equal(dag.addEdge(5, 0), false);
  assert.match(dag.lastRefusal, /would create a cycle/);
  assert.equal(dag.addEdge(2, 2), false);
  assert.match(dag.lastRefusal, /self-loop/);
  assert.equal(dag.addEdge(0, 1), false);
  assert.match(dag.lastRefusal, /already exists/);
  assert.equal(dag.edgeCount, 5);
  assert.equal(dag.addEdge(3, 4), true);
  assert.equal(dag.lastRefusal, null);
  assert.equal(dag.edgeCount, 6);
  dag.free();
});

test('topoSort is a valid order, smallest ready id first', () => {
  const dag = samplePlan();
  const order = dag.topoSort();
  assert.ok(order instanceof Uint32Array);
  assert.deepEqual([...order], [0, 1, 3, 2, 4, 5]);
  assert.ok(isTopological(dag, order, [[0, 1], [1, 2], [3, 2], [2, 4], [4, 5]]));
  assert.equal(new WasmDag().topoSort().length, 0);
  dag.free();
});

test('criticalPath follows the most expensive source-to-sink path', () => {
  const dag = samplePlan();
  const { path, cost } = dag.criticalPath();
  assert.ok(path instanceof Uint32Array);
  assert.deepEqual([...path], [0, 1, 2, 4, 5]);
  assert.equal(cost, 100 + 5 + 40 + 30 + 1);
  dag.free();
});

test('attention: every built mechanism gives weights in [0,1] summing to 1; the others throw unimplemented', () => {
  const dag = samplePlan();
  MECHANISMS.forEach((name, code) => {
    if (!built.has(name)) {
      assertRejects(() => dag.attention(name), new RegExp(`${name} attention is not in this WASM build`), 'unimplemented');
      assertRejects(() => dag.attention(code), /not in this WASM build/, 'unimplemented');
      return;
    }
    const w = dag.attention(name);
    assert.ok(w instanceof Float32Array, name);
    assert.equal(w.length, dag.nodeCount, name);
    let sum = 0;
    for (const x of w) {
      assert.ok(x >= 0 && x <= 1, `${name}: ${x}`);
      sum += x;
    }
    assert.ok(Math.abs(sum - 1) < 1e-5, `${name}: sum ${sum}`);
    if (name !== 'temporal_btsp') assert.deepEqual(dag.attention(code), w, `${name} by code`);
  });
  if (built.has('critical_path')) {
    // CamelCase names are accepted too.
    assert.deepEqual(dag.attention('CriticalPath'), dag.attention('critical_path'));
    // Critical-path attention favours the expensive branch over the cheap scan.
    const cp = dag.attention('critical_path');
    assert.ok(cp[0] > cp[3]);
  }
  dag.free();
});

test('mincut finds the bottleneck and reports tension in [0,1]', () => {
  // Two cheap branches meet at an expensive join every path must cross.
  const dag = new WasmDag();
  const a = dag.addNode('Seq Scan', 1);
  const b = dag.addNode('Seq Scan', 1);
  const j = dag.addNode('Hash Join', 1000);
  const top = dag.addNode('Result', 1);
  dag.addEdge(a, j);
  dag.addEdge(b, j);
  dag.addEdge(j, top);
  const cut = dag.mincut();
  assert.deepEqual([...cut.cutNodes], [j]);
  assert.ok(cut.cutValue > 0);
  assert.ok(cut.tension >= 0 && cut.tension <= 1);
  assert.ok(cut.cutWorkShare > 0.9);
  // Unit capacities: the smallest vertex cut has one node (j or top).
  const unit = dag.mincut('unit');
  assert.equal(unit.cutValue, 1);
  assert.equal(unit.cutNodes.length, 1);
  assertRejects(() => dag.mincut('nope'), /unknown capacity mode/);
  dag.free();
});

test('binary round trip keeps structure and costs; JSON round trip too', () => {
  const dag = samplePlan();
  const bytes = dag.toBytes();
  assert.ok(bytes instanceof Uint8Array);
  assert.equal(String.fromCharCode(...bytes.slice(0, 4)), 'RVDG');
  const back = WasmDag.fromBytes(bytes);
  assert.equal(back.nodeCount, dag.nodeCount);
  assert.equal(back.edgeCount, dag.edgeCount);
  assert.deepEqual(back.topoSort(), dag.topoSort());
  assert.deepEqual(back.criticalPath(), dag.criticalPath());
  assert.deepEqual(back.toBytes(), bytes);
  assert.deepEqual(WasmDag.fromBytes(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)).toBytes(), bytes);

  const doc = dag.toJSON();
  assert.equal(doc.format, 'ruvector-dag');
  assert.equal(doc.nodes.length, 6);
  assert.equal(doc.nodes[0].type, 'Seq Scan');
  assert.equal(doc.nodes[0].estimated_cost, 100);
  assert.deepEqual(JSON.parse(JSON.stringify(dag)), doc);
  const fromText = WasmDag.fromJSON(dag.toJSONString(2));
  const fromObject = WasmDag.fromJSON(doc);
  assert.deepEqual(fromText.toBytes(), bytes);
  assert.deepEqual(fromObject.toBytes(), bytes);
  assert.equal(fromText.toJSONString(), dag.toJSONString());
  for (const d of [dag, back, fromText, fromObject]) d.free();
});

test("fromJSON reads the original crate's JSON", () => {
  const text = readFileSync(join(repo, 'fuzz/corpus/rust_json/plan.json'), 'utf8');
  const dag = WasmDag.fromJSON(text);
  assert.ok(dag.nodeCount > 0);
  assert.ok(isTopological(dag, dag.topoSort(), dag.toJSON().edges));
  dag.free();
});

test('EXPLAIN (FORMAT JSON, ANALYZE) plan loads directly', () => {
  const text = readFileSync(join(repo, 'examples/tpch_q5.explain-analyze.json'), 'utf8');
  const dag = WasmDag.fromExplain(text);
  assert.ok(dag.nodeCount >= 10, `nodes: ${dag.nodeCount}`);
  assert.equal(dag.edgeCount, dag.nodeCount - 1);  // a plan tree
  assert.ok(dag.executionTimeMs > 0);
  assert.ok(dag.planningTimeMs > 0);
  const types = dag.toJSON().nodes.map((n) => n.type);
  assert.ok(types.includes('Hash Join'));
  const { path, cost } = dag.criticalPath();
  assert.ok(path.length >= 2 && cost > 0);
  const cut = dag.mincut();
  assert.ok(cut.cutNodes.length >= 1);
  assert.ok(cut.tension >= 0 && cut.tension <= 1);
  for (const m of built) assert.equal(dag.attention(m).length, dag.nodeCount);
  // fromJSON detects EXPLAIN too; a parsed object works as well.
  const again = WasmDag.fromJSON(JSON.parse(text));
  assert.deepEqual(again.toBytes(), dag.toBytes());
  dag.free();
  again.free();
});

test('bad input throws Errors with messages, never traps', () => {
  const dag = samplePlan();
  assertRejects(() => dag.addNode('Seq Scan', NaN), /finite number >= 0 \(got NaN\)/, 'invalid_argument');
  assertRejects(() => dag.addNode('Seq Scan', -1), /finite number >= 0/);
  assertRejects(() => dag.addNode('Seq Scan', Infinity), /Infinity/);
  assertRejects(() => dag.addNode('Seq Scan', '3'), /cost must be a number/);
  assertRejects(() => dag.addNode('Warp Drive', 1), /unknown operator type/);
  assertRejects(() => dag.addNode(999, 1), /out of range/);
  assertRejects(() => dag.addNode(null, 1), /name or a numeric code/);
  assertRejects(() => dag.addEdge(0, 99), /unknown node 99/, 'not_found');
  assertRejects(() => dag.addEdge(-1, 0), /non-negative integer/);
  assertRejects(() => dag.addEdge(0.5, 1), /non-negative integer/);
  assertRejects(() => dag.addEdge(2 ** 32, 1), /non-negative integer/);
  assertRejects(() => dag.addEdge(4294967295, 1), /unknown node/);
  assertRejects(() => dag.attention('nope'), /unknown attention mechanism/);
  assertRejects(() => dag.attention(7), /out of range/);
  assert.equal(dag.nodeCount, 6);  // nothing was added by the failures

  const empty = new WasmDag();
  assertRejects(() => empty.criticalPath(), /empty DAG/, 'failed_precondition');
  for (const m of built) assertRejects(() => empty.attention(m), /empty/);
  assertRejects(() => empty.mincut(), /empty/);
  empty.free();

  const bytes = dag.toBytes();
  for (let n = 0; n < bytes.length; n += Math.max(1, bytes.length >> 4)) {
    assertRejects(() => WasmDag.fromBytes(bytes.slice(0, n)), /./);
  }
  const flipped = bytes.slice();
  flipped[flipped.length - 7] ^= 0x40;
  assertRejects(() => WasmDag.fromBytes(flipped), /./);
  assertRejects(() => WasmDag.fromBytes('RVDG'), /Uint8Array/);

  assertRejects(() => WasmDag.fromJSON(readFileSync(join(repo, 'fuzz/corpus/json/cycle.json'), 'utf8')), /cycle/);
  assertRejects(() => WasmDag.fromJSON('{"format":"ruvector-dag","version":1,"nodes":[{"id":0,"type":"Hash"}],"edges":[[0,7]]}'), /./);
  assertRejects(() => WasmDag.fromJSON('{"format":"ruvector-dag","version":1,"nodes":[{"id":0,"type":"Hash","estimated_cost":"x"}],"edges":[]}'), /./);
  assertRejects(() => WasmDag.fromJSON('{"nodes": [ {"id": 0, '), /./);
  assertRejects(() => WasmDag.fromJSON(''), /./);
  assertRejects(() => WasmDag.fromJSON('[1,2,3]'), /./);
  assertRejects(() => WasmDag.fromJSON('['.repeat(100000)), /./);
  assertRejects(() => WasmDag.fromJSON(bytes), /./);  // not text: stringified typed array
  assertRejects(() => WasmDag.fromExplain('{"Plan": {"Node Type": "Seq Scan", "Plans": 5}}'), /./);
  assertRejects(() => WasmDag.fromExplain('{"Plan": {"Node Type": "Teleport"}}'), /./);
  assertRejects(() => WasmDag.fromExplain('{"Plan": {"Node Type": "Seq Scan", "Total Cost": -5}}'), /./);

  // The instance is still healthy after all of that.
  assert.equal(dag.criticalPath().cost, 176);
  dag.free();
});

test('every fuzz corpus file gives a DAG or an Error, never a trap', () => {
  const readers = { binary: (b) => WasmDag.fromBytes(b), explain: (b) => WasmDag.fromExplain(b.toString('utf8')),
    json: (b) => WasmDag.fromJSON(b.toString('utf8')), rust_json: (b) => WasmDag.fromJSON(b.toString('utf8')) };
  let ok = 0;
  let rejected = 0;
  for (const [dir, read] of Object.entries(readers)) {
    const folder = join(repo, 'fuzz/corpus', dir);
    for (const file of readdirSync(folder)) {
      const bytes = readFileSync(join(folder, file));
      let dag = null;
      try {
        dag = read(bytes);
      } catch (err) {
        assert.ok(err instanceof RuvectorDagError && err.code !== 'internal', `${dir}/${file}: ${err}`);
        assert.ok(err.message.length > 0);
        ++rejected;
        continue;
      }
      ++ok;
      // A loaded DAG supports every operation (or rejects it cleanly).
      for (const op of [() => dag.topoSort(), () => dag.criticalPath(), () => dag.mincut(),
        () => dag.attention('mincut_gated'), () => dag.toBytes(), () => dag.toJSONString()]) {
        try { op(); } catch (err) { assert.ok(err instanceof RuvectorDagError && err.code !== 'internal', `${dir}/${file}: ${err}`); }
      }
      dag.free();
    }
  }
  assert.ok(ok > 0 && rejected > 0, `ok ${ok}, rejected ${rejected}`);
});

test('random byte mutations of a valid document never trap', () => {
  let seed = 12345;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const dag = samplePlan();
  const bytes = dag.toBytes();
  const json = new TextEncoder().encode(dag.toJSONString());
  for (let i = 0; i < 300; ++i) {
    for (const [src, read] of [[bytes, (b) => WasmDag.fromBytes(b)], [json, (b) => WasmDag.fromJSON(new TextDecoder().decode(b))]]) {
      const m = src.slice();
      for (let k = 0; k < 1 + rand(4); ++k) m[rand(m.length)] = rand(256);
      try {
        read(m).free();
      } catch (err) {
        assert.ok(err instanceof RuvectorDagError && err.code !== 'internal', String(err));
      }
    }
  }
  dag.free();
});

test('free() is idempotent; use after free throws; Symbol.dispose frees', () => {
  const dag = samplePlan();
  dag.free();
  dag.free();
  assertRejects(() => dag.nodeCount, /after free/);
  assertRejects(() => dag.addNode('Hash', 1), /after free/);
  assertRejects(() => dag.topoSort(), /after free/);
  const other = samplePlan();
  assert.equal(typeof other[Symbol.dispose], 'function');
  other[Symbol.dispose]();
  assertRejects(() => other.edgeCount, /after free/);
});

test('10,000-node graphs: chain and layered plan, O(V+E) results', () => {
  const n = 10000;
  const chain = new WasmDag();
  for (let i = 0; i < n; ++i) chain.addNode('Filter', 1 + (i % 7));
  for (let i = 0; i + 1 < n; ++i) assert.ok(chain.addEdge(i, i + 1));
  assert.equal(chain.nodeCount, n);
  assert.equal(chain.edgeCount, n - 1);
  const order = chain.topoSort();
  assert.equal(order.length, n);
  for (let i = 0; i < n; ++i) assert.equal(order[i], i);
  const cp = chain.criticalPath();
  assert.equal(cp.path.length, n);
  let expected = 0;
  for (let i = 0; i < n; ++i) expected += 1 + (i % 7);
  assert.equal(cp.cost, expected);
  const back = WasmDag.fromBytes(chain.toBytes());
  assert.deepEqual(back.criticalPath(), cp);
  back.free();
  chain.free();

  // 100 layers of 100 nodes; each node feeds two nodes of the next layer.
  const layered = new WasmDag();
  for (let i = 0; i < n; ++i) layered.addNode(i < 100 ? 'Seq Scan' : 'Hash Join', (i * 37) % 101);
  const edges = [];
  for (let l = 0; l + 1 < 100; ++l) {
    for (let k = 0; k < 100; ++k) {
      const from = l * 100 + k;
      for (const t of [k, (k + 1) % 100]) {
        const to = (l + 1) * 100 + t;
        assert.ok(layered.addEdge(from, to));
        edges.push([from, to]);
      }
    }
  }
  assert.equal(layered.edgeCount, edges.length);
  assert.ok(isTopological(layered, layered.topoSort(), edges));
  const lp = layered.criticalPath();
  assert.equal(lp.path.length, 100);
  for (let i = 0; i + 1 < lp.path.length; ++i) {
    assert.equal(Math.floor(lp.path[i + 1] / 100), Math.floor(lp.path[i] / 100) + 1);
  }
  for (const m of ['critical_path', 'topological'].filter((x) => built.has(x))) {
    const w = layered.attention(m);
    assert.equal(w.length, n);
    assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-3, m);
  }
  const cut = layered.mincut();
  assert.ok(cut.cutNodes.length >= 1);
  layered.free();
});
