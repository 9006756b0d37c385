// @ruvector/dag-wasm/compat against the original ruvector-dag-wasm's
// documented behaviour (its index.d.ts comments and README): method names,
// critical_path() as JSON text, attention mode numbers and formulas
// (0 = topological 1 - i/n, 1 = critical path normalized by its maximum,
// 2 = uniform), add_edge() returning false, its JSON shape and its bincode
// byte layout (u64 node count, {u32 id, u8 op, f32 cost}, u64 edge count,
// {u32 from, u32 to}). docs/wasm.md lists where the behaviour differs.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import init, { RuvectorDagError, WasmDag, initSync } from '@ruvector/dag-wasm/compat';
import { WasmDag as MainDag, operatorTypes } from '@ruvector/dag-wasm';

// 0 -> 1 -> 3, 0 -> 2 -> 3 with costs 1, 2, 5, 1 (op codes: Seq Scan, Hash, Hash Join, Limit).
function diamond() {
  const dag = new WasmDag();
  const ops = [0, 22, 20, 33];
  [1, 2, 5, 1].forEach((cost, i) => assert.equal(dag.add_node(ops[i], cost), i));
  for (const [a, b] of [[0, 1], [0, 2], [1, 3], [2, 3]]) assert.equal(dag.add_edge(a, b), true);
  return dag;
}

test('the original\'s names: add_node/add_edge/node_count/edge_count/topo_sort', () => {
  const dag = diamond();
  assert.equal(dag.node_count(), 4);
  assert.equal(dag.edge_count(), 4);
  const order = [...dag.topo_sort()];
  assert.deepEqual(order, [0, 1, 2, 3]);
  // A topological order: every edge goes forward.
  for (const [a, b] of [[0, 1], [0, 2], [1, 3], [2, 3]]) assert.ok(order.indexOf(a) < order.indexOf(b));
  assert.ok(dag.dag instanceof MainDag);
  dag.free();
});

test('add_edge returns false (never throws) for cycles, self-loops and unknown ids', () => {
  const dag = diamond();
  assert.equal(dag.add_edge(3, 0), false);  // cycle
  assert.equal(dag.add_edge(2, 2), false);  // self-loop
  assert.equal(dag.add_edge(0, 99), false);  // unknown node
  assert.equal(dag.add_edge(-1, 2), false);
  assert.equal(dag.add_edge(0.5, 2), false);
  assert.equal(dag.edge_count(), 4);
  dag.free();
});

test('critical_path() is JSON text {"path": [...], "cost": total}', () => {
  const dag = diamond();
  const text = dag.critical_path();
  assert.equal(typeof text, 'string');
  assert.equal(text, '{"path":[0,2,3],"cost":7}');
  assert.deepEqual(JSON.parse(text), { path: [0, 2, 3], cost: 7 });
  const empty = new WasmDag();
  assert.deepEqual(JSON.parse(empty.critical_path()), { path: [], cost: 0 });
  empty.free();
  dag.free();
});

test('attention mode numbers: 0 topological, 1 critical path, 2 and others uniform', () => {
  const dag = diamond();
  const f = Math.fround;
  // 0: 1 - position / n over the topological order.
  assert.deepEqual([...dag.attention(0)], [1, 0.75, 0.5, 0.25]);
  // 1: longest cost path reaching each node (sources 0, each edge adds the
  // target's cost), divided by the largest: 0, 2, 5, 6 -> / 6.
  assert.deepEqual([...dag.attention(1)], [0, f(2 / 6), f(5 / 6), 1]);
  for (const mode of [2, 3, 255]) assert.deepEqual([...dag.attention(mode)], [0.25, 0.25, 0.25, 0.25]);
  assert.equal(dag.attention(1).constructor, Float32Array);
  const lone = new WasmDag();
  lone.add_node(0, 0);
  assert.deepEqual([...lone.attention(1)], [0]);  // no path with cost: all 0, as in the original
  lone.free();
  dag.free();
});

test('to_json() writes the original\'s shape; from_json() reads it and our formats', () => {
  const dag = diamond();
  const doc = JSON.parse(dag.to_json());
  assert.deepEqual(doc, {
    nodes: [{ id: 0, op: 0, cost: 1 }, { id: 1, op: 22, cost: 2 }, { id: 2, op: 20, cost: 5 }, { id: 3, op: 33, cost: 1 }],
    edges: [[0, 1], [0, 2], [1, 3], [2, 3]],
  });
  assert.equal(operatorTypes()[doc.nodes[2].op], 'Hash Join');
  const back = WasmDag.from_json(dag.to_json());
  assert.equal(back.to_json(), dag.to_json());
  assert.equal(back.critical_path(), dag.critical_path());
  // Written by the original: costs as floats ("3.0"), ids are positions.
  const original = WasmDag.from_json('{"nodes":[{"id":0,"op":1,"cost":1.5},{"id":1,"op":2,"cost":3.0}],"edges":[[0,1]]}');
  assert.equal(original.critical_path(), '{"path":[0,1],"cost":4.5}');
  // Our versioned JSON and EXPLAIN go through the main reader.
  const ours = WasmDag.from_json(dag.dag.toJSONString());
  assert.equal(ours.to_json(), dag.to_json());
  assert.throws(() => WasmDag.from_json('{"nodes":[{"id":0,"op":1,"cost":1}],"edges":[[0,0]]}'),
    (e) => e instanceof RuvectorDagError && /original JSON DAG: edges\[0\]/.test(e.message));
  assert.throws(() => WasmDag.from_json('{"nodes":[{"id":0,"op":1,"cost":1}],"edges":[[0,5]]}'),
    (e) => e instanceof RuvectorDagError && /unknown node/.test(e.message));
  for (const bad of ['{"nodes":', '5', 'null', '[]']) assert.throws(() => WasmDag.from_json(bad), RuvectorDagError, bad);
  for (const d of [back, original, ours]) d.free();
  dag.free();
});

// The original's bincode layout, written here from its documentation.
function bincode(nodes, edges) {
  const out = new DataView(new ArrayBuffer(16 + nodes.length * 9 + edges.length * 8));
  let pos = 0;
  out.setUint32(pos, nodes.length, true); pos += 8;
  nodes.forEach(([op, cost], id) => { out.setUint32(pos, id, true); out.setUint8(pos + 4, op); out.setFloat32(pos + 5, cost, true); pos += 9; });
  out.setUint32(pos, edges.length, true); pos += 8;
  for (const [a, b] of edges) { out.setUint32(pos, a, true); out.setUint32(pos + 4, b, true); pos += 8; }
  return new Uint8Array(out.buffer);
}

test('to_bytes()/from_bytes() round-trip, and from_bytes() reads the original\'s bincode bytes', () => {
  const dag = diamond();
  const bytes = dag.to_bytes();
  assert.equal(String.fromCharCode(...bytes.subarray(0, 4)), 'RVDG');
  const back = WasmDag.from_bytes(bytes);
  assert.equal(back.to_json(), dag.to_json());
  const old = WasmDag.from_bytes(bincode([[1, 1.5], [2, 2.5]], [[0, 1]]));
  assert.equal(old.node_count(), 2);
  assert.equal(old.edge_count(), 1);
  assert.equal(old.critical_path(), '{"path":[0,1],"cost":4}');
  assert.throws(() => WasmDag.from_bytes(bincode([[1, 1.5]], [[0, 1]])), RuvectorDagError);
  const full = bincode([[1, 1.5], [2, 2.5]], [[0, 1]]);
  for (let n = 0; n < full.length; ++n) assert.throws(() => WasmDag.from_bytes(full.subarray(0, n)), RuvectorDagError);
  assert.throws(() => WasmDag.from_bytes(bincode([[1, NaN]], [])), /cost must be a finite number/);
  for (const d of [back, old]) d.free();
  dag.free();
});

test('where the main API is stricter: bad ops and costs throw', () => {
  const dag = new WasmDag();
  assert.throws(() => dag.add_node(200, 1), (e) => e instanceof RuvectorDagError && /op must be an operator code/.test(e.message));
  assert.throws(() => dag.add_node(0, NaN), RuvectorDagError);
  assert.throws(() => dag.add_node(0, -1), RuvectorDagError);
  dag.add_node(0, 1);
  dag.add_node(1, 1);
  assert.equal(dag.add_edge(0, 1), true);
  assert.equal(dag.add_edge(0, 1), false);  // the original kept duplicates
  dag.free();
  assert.throws(() => dag.node_count(), /after free/);
});

test('init/initSync exist with the original\'s signatures and resolve once loaded', async () => {
  assert.equal(typeof initSync, 'function');
  await init();
  await init({ module_or_path: new Uint8Array(0) });  // already loaded: nothing fetched
});
