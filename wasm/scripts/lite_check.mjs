// Checks a size-budget build (RVD_TEXT_FORMATS=OFF, RVD_MECHANISMS=0x27):
// what it keeps works, what it leaves out throws "unimplemented".
//   node scripts/lite_check.mjs <lite ruvector_dag.wasm>
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RuvectorDagError, WasmDag, initSync } from '../dist/ruvector_dag.mjs';

initSync(readFileSync(process.argv[2]));
const dag = new WasmDag();
dag.addNode('Seq Scan', 30);
dag.addNode('Seq Scan', 5);
dag.addNode('Hash Join', 10);
dag.addNode('Limit', 1);
assert.ok(dag.addEdge(0, 2) && dag.addEdge(1, 2) && dag.addEdge(2, 3));
assert.deepEqual([...dag.topoSort()], [0, 1, 2, 3]);
assert.equal(dag.criticalPath().cost, 41);
for (const m of ['topological', 'causal_cone', 'critical_path', 'parallel_branch']) {
  assert.ok(Math.abs(dag.attention(m).reduce((a, b) => a + b, 0) - 1) < 1e-5, m);
}
assert.deepEqual([...dag.mincut().cutNodes], [2]);
assert.deepEqual(WasmDag.fromBytes(dag.toBytes()).toBytes(), dag.toBytes());
const unimplemented = (fn) => assert.throws(fn, (e) => e instanceof RuvectorDagError && e.code === 'unimplemented');
for (const m of ['mincut_gated', 'hierarchical_lorentz', 'temporal_btsp']) unimplemented(() => dag.attention(m));
unimplemented(() => dag.toJSONString());
unimplemented(() => WasmDag.fromJSON('{"format":"ruvector-dag"}'));
unimplemented(() => WasmDag.fromExplain('{"Plan":{}}'));
assert.throws(() => dag.addNode('Seq Scan', NaN), /NaN/);
console.log('lite build: kept features work, left-out features throw unimplemented');
