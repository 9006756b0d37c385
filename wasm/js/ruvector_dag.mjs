// RuVector DAG in WebAssembly: the JS side of the C API in wasm/src/c_api.cc.
//
// This file is environment-neutral (no imports, no import.meta): the entry
// points node.mjs / node.cjs / browser.mjs load the .wasm and call initSync or
// init. scripts/build_js.mjs derives the CommonJS copy from this file by
// turning `export` declarations into module.exports, so keep every export a
// top-level `export function|class|const` declaration.

let wasm = null;  // the instance's exports once initialized
let generation = 0;  // bumped per instance; a WasmDag only talks to its own
let broken = null;  // message of a fatal abort/trap; the instance is unusable after one
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Names of the seven attention mechanisms, in the library's enum order (their numeric codes). */
export const MECHANISMS = Object.freeze([
  'topological', 'causal_cone', 'critical_path', 'mincut_gated',
  'hierarchical_lorentz', 'parallel_branch', 'temporal_btsp',
]);

/** Capacity modes accepted by WasmDag#mincut, in the library's enum order. */
export const CAPACITY_MODES = Object.freeze(['bottleneck', 'cost', 'rows', 'time', 'unit']);

/** Status code names of the library, indexed by code; Error#code carries one. */
const STATUS_NAMES = ['ok', 'invalid_argument', 'not_found', 'already_exists', 'failed_precondition',
  'out_of_range', 'data_loss', 'resource_exhausted', 'unimplemented', 'internal'];

/** The Error thrown for every rejected input; `code` is the library's status name. */
export class RuvectorDagError extends Error {
  constructor(message, code = 'invalid_argument') {
    super(message);
    this.name = 'RuvectorDagError';
    this.code = code;
  }
}

function imports() {
  return {
    env: { emscripten_notify_memory_growth() {} },
    wasi_snapshot_preview1: {
      // Clock 0 is wall time, the others monotonic; nanoseconds as u64.
      clock_time_get(id, _precision, out) {
        const ms = id === 0 ? Date.now() : performance.now();
        new DataView(wasm.memory.buffer).setBigUint64(out, BigInt(Math.round(ms * 1e6)), true);
        return 0;
      },
      // Reached only through abort(): a library bug or out of memory.
      proc_exit(code) {
        broken = `ruvector_dag: the WASM module aborted (exit code ${code}); create a new instance`;
        throw new RuvectorDagError(broken, 'internal');
      },
    },
  };
}

// A trap (RuntimeError) inside the module is a library bug: it is turned into
// a RuvectorDagError with code "internal" and the instance is retired, since
// its memory may be inconsistent.
function guard(fn) {
  return (...args) => {
    try {
      return fn(...args);
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError) {
        broken = `ruvector_dag: the WASM module trapped (${err.message}); create a new instance`;
        throw new RuvectorDagError(broken, 'internal');
      }
      throw err;
    }
  };
}

function start(instance) {
  const exports = instance.exports;
  const wrapped = { memory: exports.memory };
  for (const [name, value] of Object.entries(exports)) {
    if (typeof value === 'function') wrapped[name] = guard(value);
  }
  wasm = wrapped;
  broken = null;
  ++generation;
  wasm._initialize();
}

function toModuleSource(source) {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return new WebAssembly.Module(source);
  throw new RuvectorDagError('initSync expects the .wasm bytes (ArrayBuffer, typed array) or a WebAssembly.Module');
}

/** True once init/initSync has loaded the module. */
export function isReady() {
  return wasm !== null;
}

/**
 * Loads the module synchronously from its bytes or a compiled WebAssembly.Module
 * (no-op once loaded; after a fatal abort it loads a fresh instance).
 * Node's entry points call it on import. Browsers limit synchronous compilation
 * on the main thread: use init() there.
 */
export function initSync(source) {
  if (wasm && !broken) return;  // already loaded: existing WasmDags stay valid
  start(new WebAssembly.Instance(toModuleSource(source), imports()));
}

/**
 * Loads the module asynchronously. `source`: a URL or string (fetched), a
 * Response or a promise of one, the bytes, or a WebAssembly.Module. Resolves
 * at once when the module is already loaded.
 */
export async function init(source) {
  if (wasm && !broken) return;  // already loaded: existing WasmDags stay valid
  if (source === undefined) {
    throw new RuvectorDagError('init() needs the .wasm location or bytes in this environment');
  }
  if (typeof source === 'string' || source instanceof URL) source = fetch(source);
  source = await source;
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (!source.ok) throw new RuvectorDagError(`fetching the module failed: HTTP ${source.status}`, 'not_found');
    source = await source.arrayBuffer();
  }
  if (source instanceof WebAssembly.Module) {
    start(await WebAssembly.instantiate(source, imports()));
  } else if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    start((await WebAssembly.instantiate(source, imports())).instance);
  } else {
    throw new RuvectorDagError('init() expects a URL, a Response, the .wasm bytes or a WebAssembly.Module');
  }
}

function api() {
  if (broken) throw new RuvectorDagError(broken, 'internal');
  if (!wasm) throw new RuvectorDagError('ruvector_dag: call init() first (browsers) or import the Node entry', 'failed_precondition');
  return wasm;
}

// Calls `fn` with `bytes` copied into WASM memory.
function withBytes(bytes, fn) {
  const w = api();
  const ptr = w.rvd_alloc(bytes.length);
  if (ptr === 0) throw new RuvectorDagError(`out of WASM memory for ${bytes.length} bytes of input`, 'resource_exhausted');
  try {
    new Uint8Array(w.memory.buffer, ptr, bytes.length).set(bytes);
    return fn(ptr, bytes.length);
  } finally {
    w.rvd_dealloc(ptr);
  }
}

function lastError() {
  const w = wasm;
  const message = decoder.decode(new Uint8Array(w.memory.buffer, w.rvd_error_ptr(), w.rvd_error_len()));
  // The library's text is "<code name>: <message>"; keep the message, expose the code.
  const code = STATUS_NAMES[w.rvd_error_code()] || 'internal';
  const prefix = code + ': ';
  return new RuvectorDagError(message.startsWith(prefix) ? message.slice(prefix.length) : message, code);
}

function check(status) {
  if (status < 0) throw lastError();
  return status;
}

function u32Result() {
  const w = wasm;
  return new Uint32Array(w.memory.buffer, w.rvd_u32_ptr(), w.rvd_u32_len()).slice();
}

function bytesResult() {
  const w = wasm;
  return new Uint8Array(w.memory.buffer, w.rvd_bytes_ptr(), w.rvd_bytes_len()).slice();
}

function checkId(value, what) {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RuvectorDagError(`${what} must be a node id (a non-negative integer), got ${String(value)}`);
  }
  return value;
}

function codeOf(value, names, lookup, what) {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value >= names.length) {
      throw new RuvectorDagError(`${what} code ${value} is out of range [0, ${names.length - 1}]`);
    }
    return value;
  }
  if (typeof value !== 'string') throw new RuvectorDagError(`${what} must be a name or a numeric code`);
  return check(withBytes(encoder.encode(value), lookup));
}

let operatorNames = null;

/** Every operator type name, indexed by its numeric code ("Seq Scan", ..., "HnswScan", ...). */
export function operatorTypes() {
  if (!operatorNames) {
    const w = api();
    const names = [];
    for (let code = 0; w.rvd_operator_name(code) >= 0; ++code) names.push(decoder.decode(bytesResult()));
    operatorNames = Object.freeze(names);
  }
  return operatorNames;
}

const registry = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry(({ ptr, gen }) => { if (wasm && !broken && gen === generation) wasm.rvd_dag_delete(ptr); })
  : null;
const disposeSymbol = typeof Symbol.dispose === 'symbol' ? Symbol.dispose : Symbol.for('Symbol.dispose');
const ADOPT = Symbol('adopt');

/**
 * A query plan DAG held in WASM memory. Nodes are operators with an own cost;
 * edges point the way data flows (addEdge(scan, join)). Call free() (or use
 * `using`) when done; a finalizer frees forgotten instances eventually.
 */
export class WasmDag {
  #ptr = 0;
  #gen = 0;
  /** EXPLAIN ANALYZE statement times of an imported plan (ms), else null. */
  planningTimeMs = null;
  executionTimeMs = null;
  /** Why the last addEdge returned false (null after a successful one). */
  lastRefusal = null;

  constructor(adopt, ptr) {
    const w = api();
    this.#ptr = adopt === ADOPT ? ptr : w.rvd_dag_new();
    this.#gen = generation;
    if (registry) registry.register(this, { ptr: this.#ptr, gen: this.#gen }, this);
  }

  #handle() {
    api();
    if (this.#ptr === 0) throw new RuvectorDagError('WasmDag used after free()', 'failed_precondition');
    if (this.#gen !== generation) {
      throw new RuvectorDagError('WasmDag belongs to a module instance that aborted; rebuild it', 'failed_precondition');
    }
    return this.#ptr;
  }

  static #read(bytes, kind) {
    const ptr = withBytes(bytes, (p, n) => wasm.rvd_read(p, n, kind));
    if (ptr === 0) throw lastError();
    const dag = new WasmDag(ADOPT, ptr);
    const planning = wasm.rvd_f64(0);
    const execution = wasm.rvd_f64(1);
    dag.planningTimeMs = Number.isNaN(planning) ? null : planning;
    dag.executionTimeMs = Number.isNaN(execution) ? null : execution;
    return dag;
  }

  /** Adds an operator; `op` is a type name ("Seq Scan", "HnswScan", ...) or code; `cost` finite and >= 0. Returns its id. */
  addNode(op, cost) {
    const dag = this.#handle();
    const type = codeOf(op, operatorTypes(), (p, n) => wasm.rvd_operator_type(p, n), 'operator type');
    if (typeof cost !== 'number') throw new RuvectorDagError(`cost must be a number, got ${typeof cost}`);
    return check(wasm.rvd_add_node(dag, type, cost));
  }

  /**
   * Adds an edge `from` -> `to` (from feeds to). Returns true when added, false
   * when refused because it is a self-loop, already present or would close a
   * cycle (lastRefusal says which). Unknown ids throw.
   */
  addEdge(from, to) {
    const dag = this.#handle();
    const status = check(wasm.rvd_add_edge(dag, checkId(from, 'from'), checkId(to, 'to')));
    this.lastRefusal = status === 1 ? null : lastError().message;
    return status === 1;
  }

  get nodeCount() { return wasm.rvd_node_count(this.#handle()); }
  get edgeCount() { return wasm.rvd_edge_count(this.#handle()); }

  /** Node ids in topological order, smallest ready id first. O((V+E) log V). */
  topoSort() {
    const dag = this.#handle();
    if (wasm.rvd_node_count(dag) === 0) return new Uint32Array(0);
    check(wasm.rvd_topo_sort(dag));
    return u32Result();
  }

  /** The source-to-sink path with the largest summed cost. Throws on an empty DAG. O(V+E). */
  criticalPath() {
    check(wasm.rvd_critical_path(this.#handle()));
    return { path: u32Result(), cost: wasm.rvd_f64(0) };
  }

  /**
   * Attention weights of one mechanism (name from MECHANISMS or its code),
   * indexed by node id; they lie in [0, 1] and sum to 1. Throws on an empty DAG.
   */
  attention(mechanism) {
    const dag = this.#handle();
    const code = codeOf(mechanism, MECHANISMS, (p, n) => wasm.rvd_mechanism(p, n), 'attention mechanism');
    check(wasm.rvd_attention(dag, code));
    return new Float32Array(wasm.memory.buffer, wasm.rvd_f32_ptr(), wasm.rvd_f32_len()).slice();
  }

  /**
   * Minimum vertex cut (Dinic max flow on the node-split DAG) under a capacity
   * mode (default "bottleneck"), with the plan's tension in [0, 1].
   */
  mincut(mode = 'bottleneck') {
    const dag = this.#handle();
    const code = codeOf(mode, CAPACITY_MODES, (p, n) => wasm.rvd_capacity_mode(p, n), 'capacity mode');
    check(wasm.rvd_mincut(dag, code));
    return {
      cutValue: wasm.rvd_f64(0),
      cutNodes: u32Result(),
      tension: wasm.rvd_f64(1),
      misestimation: wasm.rvd_f64(2),
      concentration: wasm.rvd_f64(3),
      cutWorkShare: wasm.rvd_f64(4),
    };
  }

  /** The library's binary format (magic "RVDG", CRC-32C). */
  toBytes() {
    check(wasm.rvd_to_bytes(this.#handle()));
    return bytesResult();
  }

  /** The library's versioned JSON document as a string (`indent` spaces, compact by default). */
  toJSONString(indent = -1) {
    check(wasm.rvd_to_json(this.#handle(), Number.isInteger(indent) ? indent : -1));
    return decoder.decode(bytesResult());
  }

  /** The JSON document as an object, so JSON.stringify(dag) writes it. */
  toJSON() {
    return JSON.parse(this.toJSONString());
  }

  /** Frees the WASM memory; idempotent. Every other method throws afterwards. */
  free() {
    if (this.#ptr !== 0) {
      if (registry) registry.unregister(this);
      if (wasm && !broken && this.#gen === generation) wasm.rvd_dag_delete(this.#ptr);
      this.#ptr = 0;
    }
  }

  [disposeSymbol]() { this.free(); }

  /** Reads the binary format; truncated or corrupt bytes throw. */
  static fromBytes(bytes) {
    if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
    if (!ArrayBuffer.isView(bytes)) throw new RuvectorDagError('fromBytes expects a Uint8Array or ArrayBuffer');
    return WasmDag.#read(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), 1);
  }

  /**
   * Reads JSON text or an already parsed value: the library's JSON, the
   * original crate's JSON or EXPLAIN (FORMAT JSON) output (detected).
   */
  static fromJSON(input) {
    return WasmDag.#read(encoder.encode(typeof input === 'string' ? input : JSON.stringify(input)), 0);
  }

  /**
   * Imports PostgreSQL EXPLAIN (FORMAT JSON [, ANALYZE]) output (text or parsed);
   * planningTimeMs / executionTimeMs are set when the plan has them.
   */
  static fromExplain(input) {
    return WasmDag.#read(encoder.encode(typeof input === 'string' ? input : JSON.stringify(input)), 2);
  }
}
