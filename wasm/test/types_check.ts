// Compiled (never run) by scripts/wasm_test.sh with tsc --noEmit --strict:
// checks that index.d.ts describes the API as the tests use it.
import {
  CAPACITY_MODES, MECHANISMS, RuvectorDagError, WasmDag, availableMechanisms, init, isReady, operatorTypes,
  type CriticalPath, type MinCut, type Mechanism,
} from '@ruvector/dag-wasm';
import initCompat, { WasmDag as CompatDag, initSync as initCompatSync } from '@ruvector/dag-wasm/compat';

export async function useApi(explain: string): Promise<number> {
  await init();
  const ready: boolean = isReady();
  const names: readonly string[] = operatorTypes();
  using dag = new WasmDag();
  const a: number = dag.addNode('Seq Scan', 1);
  const b: number = dag.addNode(names.indexOf('Hash'), 2);
  const added: boolean = dag.addEdge(a, b);
  const refusal: string | null = dag.lastRefusal;
  const order: Uint32Array = dag.topoSort();
  const cp: CriticalPath = dag.criticalPath();
  const m: Mechanism = availableMechanisms()[0] ?? MECHANISMS[2];
  const w: Float32Array = dag.attention(m);
  const cut: MinCut = dag.mincut(CAPACITY_MODES[4]);
  const copy = WasmDag.fromBytes(dag.toBytes());
  const doc: Record<string, unknown> = dag.toJSON();
  const again = WasmDag.fromJSON(doc);
  const text: string = again.toJSONString(2);
  const small: string = again.toJSONString({ compact: true, indent: 1 });
  const smallDoc: Record<string, unknown> = again.toJSON({ compact: true });
  const plan = WasmDag.fromExplain(explain);
  const ms: number | null = plan.executionTimeMs;
  try {
    dag.addNode('Seq Scan', NaN);
  } catch (e) {
    if (e instanceof RuvectorDagError) return e.code.length;
  }
  copy.free();
  again.free();
  plan.free();
  return (ready ? 1 : 0) + (added ? 1 : 0) + order.length + cp.cost + w.length + cut.tension + text.length +
    (ms ?? 0) + dag.nodeCount + dag.edgeCount + (refusal ? 1 : 0) + small.length + Object.keys(smallDoc).length;
}

// The original's API through the compat entry.
export async function useCompat(bytes: Uint8Array): Promise<string> {
  await initCompat();
  initCompatSync({ module: bytes });
  const dag = new CompatDag();
  const id: number = dag.add_node(0, 1.5);
  const ok: boolean = dag.add_edge(id, id);
  const scores: Float32Array = dag.attention(1);
  const order: Uint32Array = dag.topo_sort();
  const copy = CompatDag.from_bytes(dag.to_bytes());
  const json = CompatDag.from_json(dag.to_json());
  const n: number = copy.node_count() + json.edge_count() + scores.length + order.length + (ok ? 1 : 0);
  dag.free();
  return dag.critical_path() + n + json.dag.nodeCount;
}
