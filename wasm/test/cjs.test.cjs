'use strict';
// The CommonJS entry works on its own (require by package name).
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { WasmDag, RuvectorDagError, isReady, MECHANISMS, availableMechanisms } = require('@ruvector/dag-wasm');

test('require() loads the module synchronously and the API works', () => {
  assert.ok(isReady());
  const dag = new WasmDag();
  const scan = dag.addNode('Seq Scan', 10);
  const agg = dag.addNode('Aggregate', 2);
  assert.equal(dag.addEdge(scan, agg), true);
  assert.deepEqual([...dag.topoSort()], [0, 1]);
  assert.deepEqual(dag.criticalPath(), { path: new Uint32Array([0, 1]), cost: 12 });
  for (const m of MECHANISMS) {
    if (availableMechanisms().includes(m)) assert.equal(dag.attention(m).length, 2);
    else assert.throws(() => dag.attention(m), (e) => e instanceof RuvectorDagError && e.code === 'unimplemented');
  }
  const copy = WasmDag.fromBytes(dag.toBytes());
  assert.deepEqual(copy.toJSON(), dag.toJSON());
  assert.throws(() => dag.addNode('Seq Scan', -3), (e) => e instanceof RuvectorDagError && /finite/.test(e.message));
  copy.free();
  dag.free();
});

test('require() of the compat entry gives the original\'s names', () => {
  const compat = require('@ruvector/dag-wasm/compat');
  const dag = new compat.WasmDag();
  dag.add_node(0, 1);
  dag.add_node(33, 2);
  assert.equal(dag.add_edge(0, 1), true);
  assert.equal(dag.critical_path(), '{"path":[0,1],"cost":3}');
  assert.equal(typeof compat.default, 'function');
  dag.free();
});
