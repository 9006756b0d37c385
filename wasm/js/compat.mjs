// @ruvector/dag-wasm/compat: the class and method names of the original
// ruvector-dag-wasm (@ruvector/edge-full's dag/ module) on top of this
// package, for code written against it (docs/wasm.md, "Migrating from the
// original"). Same semantics where they can be kept: attention mode numbers
// (0 topological, 1 critical path, 2 and others uniform, with the original's
// formulas), critical_path() as a JSON string, add_edge() returning false
// instead of throwing, to_json() in the original's {"nodes":[{id,op,cost}],
// "edges":[[from,to]]} shape, from_bytes() also reading the original's
// bincode bytes. Environment-neutral like the core: the Node entries
// (compat_node.mjs, compat.cjs) load the module first.
import { WasmDag as Dag, RuvectorDagError, init as coreInit, initSync as coreInitSync, operatorTypes } from './ruvector_dag.mjs';

const WRAP = Symbol('wrap');
const isId = (v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

export { RuvectorDagError };

export class WasmDag {
  #dag;

  constructor(wrap, dag) {
    this.#dag = wrap === WRAP ? dag : new Dag();
  }

  /** The main API's WasmDag behind this one (typed results, all seven mechanisms). */
  get dag() { return this.#dag; }

  /** Adds a node; `op` is an operator code (0..48, operatorTypes()), `cost` finite and >= 0. Returns its id. */
  add_node(op, cost) {
    if (!Number.isInteger(op) || op < 0 || op >= operatorTypes().length) {
      throw new RuvectorDagError(`op must be an operator code in [0, ${operatorTypes().length - 1}], got ${String(op)}`);
    }
    return this.#dag.addNode(op, cost);
  }

  /** Adds edge from -> to; false for unknown ids, a self-loop, a duplicate or a cycle. */
  add_edge(from, to) {
    if (!isId(from) || !isId(to)) return false;
    try {
      return this.#dag.addEdge(from, to);
    } catch (err) {
      if (err instanceof RuvectorDagError && err.code === 'not_found') return false;
      throw err;
    }
  }

  node_count() { return this.#dag.nodeCount; }
  edge_count() { return this.#dag.edgeCount; }

  /** Node ids in a topological order (here: smallest ready id first). */
  topo_sort() { return this.#dag.topoSort(); }

  /** '{"path":[ids],"cost":total}': the longest path by summed cost ('{"path":[],"cost":0}' when empty). */
  critical_path() {
    if (this.#dag.nodeCount === 0) return '{"path":[],"cost":0}';
    const { path, cost } = this.#dag.criticalPath();
    return `{"path":[${path.join(',')}],"cost":${JSON.stringify(cost)}}`;
  }

  /**
   * Scores per node id with the original's formulas: 0 topological
   * (1 - position / n), 1 critical path (longest cost path reaching the node,
   * sources 0, divided by the largest), anything else uniform (1 / n).
   * float32 arithmetic as in the original.
   */
  attention(mechanism) {
    const f = Math.fround;
    const order = this.#dag.topoSort();
    const n = order.length;
    const scores = new Float32Array(order.reduce((a, id) => Math.max(a, id + 1), 0));
    if (mechanism === 0) {
      order.forEach((id, i) => { scores[id] = f(1 - f(i / n)); });
    } else if (mechanism === 1) {
      const doc = this.#dag.toJSON({ compact: true });
      const cost = new Float32Array(doc.id_bound);
      for (const node of doc.nodes) cost[node.id] = node.estimated_cost ?? 0;
      const out = Array.from({ length: doc.id_bound }, () => []);
      for (const [from, to] of doc.edges) out[from].push(to);
      for (const from of order) {
        for (const to of out[from]) scores[to] = Math.max(scores[to], f(scores[from] + cost[to]));
      }
      const max = scores.reduce((a, b) => Math.max(a, b), 0);
      if (max > 0) scores.forEach((d, i) => { scores[i] = d / max; });
    } else {
      for (const id of order) scores[id] = f(1 / n);
    }
    return scores;
  }

  /** Our binary format (magic "RVDG", CRC-32C); from_bytes reads it back. */
  to_bytes() { return this.#dag.toBytes(); }

  /** {"nodes":[{"id","op","cost"}],"edges":[[from,to]]}, the original's JSON shape. */
  to_json() {
    const doc = this.#dag.toJSON({ compact: true });
    const codes = operatorTypes();
    return JSON.stringify({
      nodes: doc.nodes.map((n) => ({ id: n.id, op: codes.indexOf(n.type), cost: n.estimated_cost ?? 0 })),
      edges: doc.edges,
    });
  }

  free() { this.#dag.free(); }

  [Symbol.dispose ?? Symbol.for('Symbol.dispose')]() { this.free(); }

  /** Our binary format, or the original's bincode bytes (nodes {u32 id, u8 op, f32 cost}, edges [u32, u32]). */
  static from_bytes(data) {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    if (!ArrayBuffer.isView(bytes)) throw new RuvectorDagError('from_bytes expects a Uint8Array');
    const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (u8.length >= 4 && String.fromCharCode(...u8.subarray(0, 4)) === 'RVDG') {
      return new WasmDag(WRAP, Dag.fromBytes(u8));
    }
    const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    let pos = 0;
    const count = (size) => {
      if (pos + 8 > u8.length) throw new RuvectorDagError('original bincode DAG: truncated', 'data_loss');
      const c = view.getUint32(pos, true) + view.getUint32(pos + 4, true) * 2 ** 32;
      pos += 8;
      if (c * size > u8.length - pos) throw new RuvectorDagError(`original bincode DAG: ${c} entries do not fit`, 'data_loss');
      return c;
    };
    const nodes = [];
    for (let i = count(9); i > 0; --i, pos += 9) nodes.push([u8[pos + 4], view.getFloat32(pos + 5, true)]);
    const edges = [];
    for (let i = count(8); i > 0; --i, pos += 8) edges.push([view.getUint32(pos, true), view.getUint32(pos + 4, true)]);
    if (pos !== u8.length) throw new RuvectorDagError(`original bincode DAG: ${u8.length - pos} bytes left over`);
    return build(nodes, edges, 'original bincode DAG');
  }

  /**
   * The original's JSON ({"nodes":[{"id","op","cost"}],"edges":[[from,to]]};
   * ids are positions, as there), or anything the main API's fromJSON reads.
   */
  static from_json(json) {
    let doc = json;
    if (typeof json === 'string') {
      try {
        doc = JSON.parse(json);
      } catch (err) {
        throw new RuvectorDagError(`JSON: JSON parse error: ${err.message}`);
      }
    }
    const nodes = doc !== null && typeof doc === 'object' && !('format' in doc) ? doc.nodes : undefined;
    if (Array.isArray(nodes) && Array.isArray(doc.edges) && nodes.every((n) => n !== null && typeof n === 'object' && 'op' in n)) {
      return build(nodes.map((n) => [n.op, n.cost]), doc.edges, 'original JSON DAG');
    }
    return new WasmDag(WRAP, Dag.fromJSON(doc));
  }
}

// A DAG from [op, cost] pairs and [from, to] edges; refused edges throw.
function build(nodes, edges, what) {
  const dag = new WasmDag();
  try {
    nodes.forEach(([op, cost]) => dag.add_node(op, cost));
    edges.forEach((e, i) => {
      if (!Array.isArray(e) || !dag.add_edge(e[0], e[1])) {
        const known = Array.isArray(e) && e.every((id) => isId(id) && id < nodes.length);
        throw new RuvectorDagError(`${what}: edges[${i}] ${JSON.stringify(e)}: ${known ? dag.dag.lastRefusal : 'unknown node id'}`);
      }
    });
  } catch (err) {
    dag.free();
    if (err instanceof RuvectorDagError && !err.message.startsWith(what)) err.message = `${what}: ${err.message}`;
    throw err;
  }
  return dag;
}

/** Synchronous load, as the original's initSync: the .wasm bytes or Module, or { module }. */
export function initSync(module) {
  return coreInitSync(module instanceof WebAssembly.Module || ArrayBuffer.isView(module) || module instanceof ArrayBuffer ? module : module.module);
}

/** Async load, as the original's default export: a URL, Response, bytes or Module, or { module_or_path }. */
export default function init(input) {
  const source = input !== null && typeof input === 'object' && 'module_or_path' in input ? input.module_or_path : input;
  return coreInit(source ?? new URL('./ruvector_dag.wasm', import.meta.url));
}
