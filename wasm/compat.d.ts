// Types of @ruvector/dag-wasm/compat: the original ruvector-dag-wasm API
// (docs/wasm.md, "Migrating from the original").
import type { WasmDag as MainDag } from './index.js';

export { RuvectorDagError } from './index.js';

export class WasmDag {
  constructor();
  /** The main API's WasmDag behind this one. */
  readonly dag: MainDag;
  /** `op`: operator code 0..48 (operatorTypes()); `cost` finite and >= 0. */
  add_node(op: number, cost: number): number;
  /** false for unknown ids, a self-loop, a duplicate or a cycle. */
  add_edge(from: number, to: number): boolean;
  node_count(): number;
  edge_count(): number;
  topo_sort(): Uint32Array;
  /** JSON text {"path": [ids], "cost": total}. */
  critical_path(): string;
  /** 0 topological, 1 critical path, anything else uniform (the original's formulas). */
  attention(mechanism: number): Float32Array;
  to_bytes(): Uint8Array;
  to_json(): string;
  free(): void;
  [Symbol.dispose](): void;
  /** Our binary format or the original's bincode bytes. */
  static from_bytes(data: Uint8Array | ArrayBuffer): WasmDag;
  /** The original's JSON shape, or anything WasmDag.fromJSON reads. */
  static from_json(json: string | object): WasmDag;
}

export function initSync(module: { module: BufferSource | WebAssembly.Module } | BufferSource | WebAssembly.Module): void;
export default function init(
  input?: { module_or_path: RequestInfo | URL | Response | BufferSource | WebAssembly.Module } | RequestInfo | URL | Response | BufferSource | WebAssembly.Module,
): Promise<void>;
