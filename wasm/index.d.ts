// Types of @ruvector/dag-wasm (every entry point: node ESM/CJS and browser).

/** Attention mechanism names, in the library's enum order (index = numeric code). */
export declare const MECHANISMS: readonly [
  'topological', 'causal_cone', 'critical_path', 'mincut_gated',
  'hierarchical_lorentz', 'parallel_branch', 'temporal_btsp',
];
export type Mechanism = (typeof MECHANISMS)[number];

/** Capacity modes of WasmDag#mincut, in the library's enum order. */
export declare const CAPACITY_MODES: readonly ['bottleneck', 'cost', 'rows', 'time', 'unit'];
export type CapacityMode = (typeof CAPACITY_MODES)[number];

/** Library status names carried by RuvectorDagError#code. */
export type StatusCodeName =
  | 'invalid_argument' | 'not_found' | 'already_exists' | 'failed_precondition' | 'out_of_range'
  | 'data_loss' | 'resource_exhausted' | 'unimplemented' | 'internal';

/** Thrown for every rejected input (never a WebAssembly trap). */
export declare class RuvectorDagError extends Error {
  readonly code: StatusCodeName;
}

/** Where init() loads the .wasm from. */
export type WasmSource =
  | string | URL | Response | Promise<Response> | ArrayBuffer | ArrayBufferView | WebAssembly.Module;

/**
 * Loads the module. Node entries load it on import (init() then resolves at
 * once); the browser entry fetches ruvector_dag.wasm next to itself by default.
 */
export declare function init(source?: WasmSource): Promise<void>;
/** Synchronous load from the bytes or a compiled module. */
export declare function initSync(source: ArrayBuffer | ArrayBufferView | WebAssembly.Module): void;
export declare function isReady(): boolean;
/** The mechanisms compiled into this module (the others throw with code "unimplemented"). */
export declare function availableMechanisms(): readonly Mechanism[];
/** Operator type names indexed by numeric code ("Seq Scan", ..., "HnswScan", ...). */
export declare function operatorTypes(): readonly string[];

export interface CriticalPath {
  /** Node ids from a source to a sink, in data-flow order. */
  path: Uint32Array;
  /** Sum of the path's own costs. */
  cost: number;
}

export interface MinCut {
  /** Sum of the cut operators' capacities (= the maximum flow). */
  cutValue: number;
  /** Cut operators, ascending (the cut closest to the sources). */
  cutNodes: Uint32Array;
  /** The plan's tension in [0, 1] (docs/mincut.md). */
  tension: number;
  misestimation: number;
  concentration: number;
  cutWorkShare: number;
}

/** A query plan DAG in WASM memory. Free it with free() or `using`. */
/** Options of WasmDag#toJSONString / #toJSON. */
export interface JsonOptions {
  /** Spaces per level (at most 16); one line when absent or negative. */
  indent?: number;
  /** Leave out fields at their defaults (id and type always written); numbers written by the engine. */
  compact?: boolean;
}

export declare class WasmDag {
  constructor();
  /** Adds an operator (type name or code) with its own cost (finite, >= 0); returns its id. */
  addNode(op: string | number, cost: number): number;
  /** Adds `from` -> `to`; false (see lastRefusal) for a self-loop, duplicate or cycle; unknown ids throw. */
  addEdge(from: number, to: number): boolean;
  readonly nodeCount: number;
  readonly edgeCount: number;
  /** Why the last addEdge returned false; null after a successful one. */
  lastRefusal: string | null;
  /** Statement times of an imported EXPLAIN ANALYZE plan (ms), else null. */
  planningTimeMs: number | null;
  executionTimeMs: number | null;
  /** Topological order, smallest ready id first. */
  topoSort(): Uint32Array;
  /** Most expensive source-to-sink path; throws on an empty DAG. */
  criticalPath(): CriticalPath;
  /**
   * Per-node weights (indexed by id) in [0, 1] summing to 1; throws on an empty
   * DAG, and with code "unimplemented" for a mechanism not in availableMechanisms().
   */
  attention(mechanism: Mechanism | string | number): Float32Array;
  /** Minimum vertex cut with tension; throws on an empty DAG. */
  mincut(mode?: CapacityMode | number): MinCut;
  /** The library's binary format. */
  toBytes(): Uint8Array;
  /** The library's versioned JSON document as an object (JSON.stringify(dag) writes it); `compact`: non-default fields only. */
  toJSON(options?: JsonOptions | string): Record<string, unknown>;
  /** The same document as text, byte-identical to the library's WriteJson (`indent` < 0: one line); `{compact: true}`: non-default fields only. */
  toJSONString(options?: number | JsonOptions): string;
  /** Frees the WASM memory (idempotent); other methods throw afterwards. */
  free(): void;
  [Symbol.dispose](): void;
  /** Reads the binary format; truncated or corrupt bytes throw. */
  static fromBytes(bytes: Uint8Array | ArrayBuffer): WasmDag;
  /** Reads our JSON, the original crate's JSON or EXPLAIN JSON (text or parsed value). */
  static fromJSON(input: string | object): WasmDag;
  /** Imports PostgreSQL EXPLAIN (FORMAT JSON [, ANALYZE]) output. */
  static fromExplain(input: string | object): WasmDag;
}
