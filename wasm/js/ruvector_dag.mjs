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
    // The libm functions of the module come from Math (wasm/src/js_math.cc).
    env: {
      emscripten_notify_memory_growth() {},
      Math_sin: Math.sin, Math_cos: Math.cos, Math_exp: Math.exp, Math_log: Math.log,
      Math_log10: Math.log10, Math_pow: Math.pow, Math_acosh: Math.acosh,
    },
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
// Fixed arity (every C API function takes at most 4 arguments; extra ones
// are ignored by WebAssembly): no rest-array per call on the hot paths.
function guard(fn) {
  return (a, b, c, d) => {
    try {
      return fn(a, b, c, d);
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
  available = null;
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

// The numeric code of `value`: a code in range, or a name in `names` (the
// library's names, index = code) or in `aliases` (other accepted spellings).
function codeOf(value, names, what, aliases = {}) {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value >= names.length) {
      throw new RuvectorDagError(`${what} code ${value} is out of range [0, ${names.length - 1}]`);
    }
    return value;
  }
  if (typeof value !== 'string') throw new RuvectorDagError(`${what} must be a name or a numeric code`);
  const code = has(aliases, value) ? aliases[value] : names.indexOf(value);
  if (code < 0) {
    throw new RuvectorDagError(`unknown ${what} "${clip(value)}"` +
      (names.length < 10 ? ` (expected ${names.join(', ')})` : ' (see operatorTypes())'));
  }
  return code;
}

// The other names the library accepts (AttentionMechanismFromName,
// CapacityModeFromName).
const MECHANISM_ALIASES = {
  Topological: 0, CausalCone: 1, CriticalPath: 2, MinCutGated: 3, HierarchicalLorentz: 4, ParallelBranch: 5,
  TemporalBTSP: 6, 'mincut-gated': 3, min_cut_gated: 3, 'MinCut Gated': 3,
};
const CAPACITY_ALIASES = { default: 0 };

let available = null;

/**
 * Names of the attention mechanisms compiled into this module (a subset of
 * MECHANISMS; the others throw a RuvectorDagError with code "unimplemented").
 */
export function availableMechanisms() {
  if (!available) {
    const mask = api().rvd_mechanisms();
    available = Object.freeze(MECHANISMS.filter((_, i) => ((mask >> i) & 1) === 1));
  }
  return available;
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

// --- Formats -----------------------------------------------------------------
// JSON never enters the module. Documents are parsed with the engine's
// JSON.parse, checked here field by field (messages follow the library's
// readers), and handed to the module in the library's binary format
// (docs/formats.md, "Binary"), whose reader checks everything again: values,
// ids, the id space, unknown ids, self-loops, duplicate edges and cycles.
// Writing goes the other way: the module writes binary, this code writes the
// JSON text, each double as nlohmann::json writes it (formatDouble), so the
// output is byte-identical to the library's WriteJson.

// The library's ParseLimits defaults (formats.h) and kMaxNodeId (dag.h).
const MAX_INPUT_BYTES = 256 * 1024 * 1024;
const MAX_NESTING = 512;
const MAX_NODES = 1 << 22;
const MAX_STRING_BYTES = 1 << 20;
const MAX_NODE_ID = (1 << 24) - 1;

const has = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// nlohmann's type names ("null", "object", "array", ...), for messages.
function typeName(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

// Like printf("%.15g") for the numbers in EXPLAIN messages.
function fmt15(v) {
  return typeof v === 'number' && Number.isFinite(v) ? String(Number(v.toPrecision(15))) : String(v);
}

function clip(s) {
  return s.length <= 64 ? s : `${s.slice(0, 64)}... (${s.length} characters)`;
}

function fail(message, code = 'invalid_argument') {
  throw new RuvectorDagError(message, code);
}

// Checks a string value: type, well-formed Unicode (no lone surrogates, which
// UTF-8 cannot hold) and the byte limit. `where` names the field.
// `where` may be a function giving the text (built only for a message).
function checkString(v, where) {
  if (typeof v !== 'string') return false;
  const at = () => (typeof where === 'function' ? where() : where);
  if (/\p{Cs}/u.test(v)) fail(`${at()}: string holds a lone UTF-16 surrogate (not valid Unicode)`);
  if (v.length * 3 > MAX_STRING_BYTES && encoder.encode(v).length > MAX_STRING_BYTES) {
    fail(`${at()}: string exceeds the limit of ${MAX_STRING_BYTES} bytes`, 'out_of_range');
  }
  return true;
}

// A node with every OperatorNode field at its default (dag.h).
function newNode(type) {
  return {
    id: 0, type, relation: '', alias: '', index: '', predicate: '', keys: [], descending: [], detail: '',
    parameter: 0n, subplan_name: '', parallel_aware: false, workers_planned: 0, workers_launched: -1,
    estimated_rows: 0, estimated_cost: 0, startup_cost: 0, total_cost: 0, width: 0,
    actual_rows: null, actual_time_ms: null, actual_loops: null, embedding: [],
  };
}

const STRING_FIELDS = ['relation', 'alias', 'index', 'predicate'];
const DOUBLE_FIELDS = ['estimated_rows', 'estimated_cost', 'startup_cost', 'total_cost', 'width'];
const OPTIONAL_FIELDS = ['actual_rows', 'actual_time_ms', 'actual_loops'];
const NODE_KEYS = ['id', 'type', ...STRING_FIELDS, 'keys', 'descending', 'detail', 'parameter', 'subplan_name',
  'parallel_aware', 'workers_planned', 'workers_launched', ...DOUBLE_FIELDS, ...OPTIONAL_FIELDS, 'embedding'];

// Growable little-endian byte writer.
class ByteWriter {
  constructor() { this.buf = new Uint8Array(256); this.view = new DataView(this.buf.buffer); this.len = 0; }
  room(n) {
    if (this.len + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
  }
  u8(v) { this.room(1); this.buf[this.len++] = v; }
  // Unsigned LEB128 of a non-negative integer Number (< 2^53) or BigInt (< 2^64).
  varint(v) {
    if (typeof v === 'bigint') {
      while (v >= 0x80n) { this.u8(Number(v & 0x7fn) | 0x80); v >>= 7n; }
      this.u8(Number(v));
      return;
    }
    this.room(8);
    while (v >= 0x80) { this.buf[this.len++] = (v % 0x80) | 0x80; v = Math.floor(v / 0x80); }
    this.buf[this.len++] = v;
  }
  zigzag(v) { v = BigInt(v); this.varint(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n))); }
  f64(v) { this.room(8); this.view.setFloat64(this.len, v, true); this.len += 8; }
  f32(v) { this.room(4); this.view.setFloat32(this.len, v, true); this.len += 4; }
  u32(v) { this.room(4); this.view.setUint32(this.len, v, true); this.len += 4; }
  bytes(b) { this.room(b.length); this.buf.set(b, this.len); this.len += b.length; }
  section(tag, payload) { this.u8(tag); this.u32(payload.len); this.bytes(payload.buf.subarray(0, payload.len)); }
  done() { return this.buf.subarray(0, this.len); }
}

// The binary format of `nodes` (sorted by id, ids unique), an id bound and
// `edges` ([from, to] pairs; each target's inputs keep their listed order),
// with a zero checksum that the module fills in (rvd_read's seal).
function encodeBinary(nodes, idBound, edges) {
  const strings = new Map();
  const table = new ByteWriter();
  const ref = (s) => {
    if (s === '') return 0;
    let index = strings.get(s);
    if (index === undefined) {
      const bytes = encoder.encode(s);
      table.varint(bytes.length);
      table.bytes(bytes);
      index = strings.size + 1;
      strings.set(s, index);
    }
    return index;
  };
  const body = new ByteWriter();
  let previous = -1;
  for (const n of nodes) {
    body.varint(n.id - previous - 1);
    previous = n.id;
    body.u8(n.type);
    // Field-presence bits in payload order (binary_format.cc's FieldBit).
    const bits = (n.relation !== '') | (n.alias !== '') << 1 | (n.index !== '') << 2 | (n.predicate !== '') << 3 |
      (n.keys.length > 0) << 4 | (n.descending.length > 0) << 5 | (n.detail !== '') << 6 | (n.parameter !== 0n) << 7 |
      (n.subplan_name !== '') << 8 | n.parallel_aware << 9 | (n.workers_planned !== 0) << 10 |
      (n.workers_launched !== -1) << 11 | !Object.is(n.estimated_rows, 0) << 12 | !Object.is(n.estimated_cost, 0) << 13 |
      !Object.is(n.startup_cost, 0) << 14 | !Object.is(n.total_cost, 0) << 15 | !Object.is(n.width, 0) << 16 |
      (n.actual_rows !== null) << 17 | (n.actual_time_ms !== null) << 18 | (n.actual_loops !== null) << 19 |
      (n.embedding.length > 0) << 20;
    const present = (i) => ((bits >> i) & 1) === 1;
    body.varint(bits);
    for (const f of STRING_FIELDS) if (n[f] !== '') body.varint(ref(n[f]));
    if (present(4)) { body.varint(n.keys.length); for (const k of n.keys) body.varint(ref(k)); }
    if (present(5)) {
      body.varint(n.descending.length);
      for (let i = 0; i < n.descending.length; i += 8) {
        let byte = 0;
        for (let b = 0; b < 8 && i + b < n.descending.length; ++b) if (n.descending[i + b]) byte |= 1 << b;
        body.u8(byte);
      }
    }
    if (present(6)) body.varint(ref(n.detail));
    if (present(7)) body.zigzag(n.parameter);
    if (present(8)) body.varint(ref(n.subplan_name));
    if (present(10)) body.zigzag(n.workers_planned);
    if (present(11)) body.zigzag(n.workers_launched);
    for (const f of DOUBLE_FIELDS) if (!Object.is(n[f], 0)) body.f64(n[f]);
    for (const f of OPTIONAL_FIELDS) if (n[f] !== null) body.f64(n[f]);
    if (present(20)) { body.varint(n.embedding.length); for (const x of n.embedding) body.f32(x); }
  }
  const groups = new Map();
  for (const [from, to] of edges) {
    if (!groups.has(to)) groups.set(to, []);
    groups.get(to).push(from);
  }
  const edgeSection = new ByteWriter();
  edgeSection.varint(groups.size);
  previous = -1;
  for (const to of [...groups.keys()].sort((a, b) => a - b)) {
    const inputs = groups.get(to);
    edgeSection.varint(to - previous - 1);
    previous = to;
    edgeSection.varint(inputs.length);
    for (const from of inputs) edgeSection.varint(from);
  }
  const header = new ByteWriter();
  for (const v of [nodes.length, idBound, edges.length, strings.size]) header.varint(v);
  const out = new ByteWriter();
  out.bytes([0x52, 0x56, 0x44, 0x47, 1, 0, 0, 0]);  // "RVDG", version 1, flags 0
  out.section(1, header);
  out.section(2, table);
  out.section(3, body);
  out.section(4, edgeSection);
  out.u32(0);  // CRC-32C, filled in by the module
  return out.done();
}

// Reads what the module's WriteBinary wrote (trusted: no checks).
// With `compact`, each node holds id, type and only the fields present in
// the binary (those that differ from their defaults), in NODE_KEYS order;
// null when a value has no exact engine text (-0.0, a parameter beyond 2^53).
function decodeBinary(bytes, compact = false) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  const varint = () => {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[pos++];
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
    }
  };
  const bigVarint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = bytes[pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  const unzig = (z) => (z >> 1n) ^ -(z & 1n);
  const f64 = () => { pos += 8; return view.getFloat64(pos - 8, true); };
  pos += 5;
  const [nodeCount, idBound, , stringCount] = [varint(), varint(), varint(), varint()];
  pos += 5;
  const strings = [''];
  for (let i = 0; i < stringCount; ++i) {
    const n = varint();
    strings.push(decoder.decode(bytes.subarray(pos, pos + n)));
    pos += n;
  }
  pos += 5;
  const types = operatorTypes();
  const nodes = [];
  let id = -1;
  for (let i = 0; i < nodeCount; ++i) {
    id += 1 + varint();
    const type = types[bytes[pos++]];
    let n;
    if (compact) {
      n = { id, type };
    } else {
      n = newNode(type);
      n.id = id;
    }
    const bits = varint();  // 21 field bits: a small integer
    const bit = (i) => ((bits >> i) & 1) === 1;
    for (let b = 0; b < 4; ++b) if (bit(b)) n[STRING_FIELDS[b]] = strings[varint()];
    if (bit(4)) { const keys = []; for (let c = varint(); c > 0; --c) keys.push(strings[varint()]); n.keys = keys; }
    if (bit(5)) {
      const c = varint();
      const flags = [];
      for (let k = 0; k < c; ++k) flags.push(((bytes[pos + (k >> 3)] >> (k & 7)) & 1) === 1);
      pos += (c + 7) >> 3;
      n.descending = flags;
    }
    if (bit(6)) n.detail = strings[varint()];
    if (bit(7)) {
      const v = unzig(bigVarint());
      if (!compact) n.parameter = v;
      else if (v > 9007199254740991n || v < -9007199254740991n) return null;
      else n.parameter = Number(v);
    }
    if (bit(8)) n.subplan_name = strings[varint()];
    if (bit(9) || !compact) n.parallel_aware = bit(9);
    if (bit(10)) n.workers_planned = Number(unzig(bigVarint()));
    if (bit(11)) n.workers_launched = Number(unzig(bigVarint()));
    for (let b = 12; b < 20; ++b) {
      if (!bit(b)) continue;
      const v = f64();
      if (compact && Object.is(v, -0)) return null;
      n[b < 17 ? DOUBLE_FIELDS[b - 12] : OPTIONAL_FIELDS[b - 17]] = v;
    }
    if (bit(20)) {
      const values = [];
      for (let c = varint(); c > 0; --c) {
        const v = view.getFloat32(pos, true);
        if (compact && Object.is(v, -0)) return null;
        values.push(v);
        pos += 4;
      }
      n.embedding = values;
    }
    nodes.push(n);
  }
  pos += 5;
  const edges = [];
  let target = -1;
  for (let groups = varint(); groups > 0; --groups) {
    target = target + 1 + varint();
    for (let c = varint(); c > 0; --c) edges.push([varint(), target]);
  }
  return { idBound, nodes, edges };
}

// The text nlohmann::json::dump writes for a double, so that toJSONString is
// byte-identical to the library's WriteJson. nlohmann uses Grisu2 (Loitsch,
// "Printing floating-point numbers quickly and accurately", 2010) with 64-bit
// arithmetic, whose digits differ from the shortest round-trip text
// (Number#toString) for about 0.4 % of doubles (6005.4000000000005 vs
// 6005.400000000001), so the same algorithm runs here: the boundaries of v,
// a cached power 10^k bringing the binary exponent into [-60, -32], digit
// generation on the narrowed interval and the final round toward v, in
// BigInt. Then nlohmann's layout: "5.0", "0.001", "1e-05", "1.5e+300".
// Integers below 2^53 take a shortcut (their Grisu2 digits are the integer's
// own). test/formats.test.mjs compares this with the library's text.
const cachedPowers = new Map();
const bitLength = (x) => x.toString(2).length;
const f64View = new DataView(new ArrayBuffer(8));

// 10^k as a normalized 64-bit significand f and binary exponent e (10^k ~ f * 2^e), rounded to nearest.
function cachedPower(k) {
  let c = cachedPowers.get(k);
  if (!c) {
    let f;
    let e;
    if (k >= 0) {
      const x = 10n ** BigInt(k);
      e = bitLength(x) - 64;
      f = e > 0 ? (x + (1n << BigInt(e - 1))) >> BigInt(e) : x << BigInt(-e);
    } else {
      const d = 10n ** BigInt(-k);
      e = -(63 + bitLength(d));
      f = ((1n << BigInt(-e)) + d / 2n) / d;
      if (bitLength(f) < 64) f = ((1n << BigInt(-(--e))) + d / 2n) / d;
    }
    if (bitLength(f) > 64) { f >>= 1n; e += 1; }
    cachedPowers.set(k, c = [f, e]);
  }
  return c;
}

// Grisu2 digits of a positive finite double v: [digits, decimal exponent].
function grisu2(v) {
  if (Number.isInteger(v) && v < 2 ** 53) {
    const s = String(v);
    const digits = s.replace(/0+$/, '');
    return [digits, s.length - digits.length];
  }
  f64View.setFloat64(0, v);
  const bits = f64View.getBigUint64(0);
  const F = bits & ((1n << 52n) - 1n);
  const E = Number(bits >> 52n);
  const f = E === 0 ? F : F | (1n << 52n);
  const e = E === 0 ? -1074 : E - 1075;
  const normalize = (x, ex) => { const s = 64 - bitLength(x); return [x << BigInt(s), ex - s]; };
  const [plus, plusE] = normalize(2n * f + 1n, e - 1);  // upper boundary
  const closer = F === 0n && E > 1;  // the lower neighbour is closer
  const minus = (closer ? 4n * f - 1n : 2n * f - 1n) << BigInt((closer ? e - 2 : e - 1) - plusE);
  const fk = -61 - plusE;
  const k = -300 + 8 * Math.trunc((307 + Math.trunc((fk * 78913) / 262144) + (fk > 0 ? 1 : 0)) / 8);
  const [cf, ce] = cachedPower(k);
  const mul = (a) => (a * cf + (1n << 63n)) >> 64n;
  const w = mul(normalize(f, e)[0]);
  const lo = mul(minus) + 1n;
  const hi = mul(plus) - 1n;
  const shift = BigInt(-(plusE + ce + 64));
  const one = 1n << shift;
  let delta = hi - lo;
  let dist = hi - w;
  let p1 = Number(hi >> shift);
  let p2 = hi & (one - 1n);
  let exp = -k;
  const digits = [];
  const done = (rest, unit) => {
    while (rest < dist && delta - rest >= unit && (rest + unit < dist || dist - rest > rest + unit - dist)) {
      --digits[digits.length - 1];
      rest += unit;
    }
    return [digits.join(''), exp];
  };
  let n = String(p1).length;
  for (let pow10 = 10 ** (n - 1); n > 0; pow10 /= 10) {
    digits.push(Math.floor(p1 / pow10));
    p1 %= pow10;
    const rest = (BigInt(p1) << shift) + p2;
    if (rest <= delta) {
      exp += --n;
      return done(rest, BigInt(pow10) << shift);
    }
    --n;
  }
  do {
    p2 *= 10n;
    digits.push(Number(p2 >> shift));
    p2 &= one - 1n;
    --exp;
    delta *= 10n;
    dist *= 10n;
  } while (p2 > delta);
  return done(p2, one);
}

function formatDouble(v) {
  if (!Number.isFinite(v)) return 'null';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  if (v < 0) return '-' + formatDouble(-v);
  const [digits, exp] = grisu2(v);
  const k = digits.length;
  const n = k + exp;  // position of the decimal point
  if (k <= n && n <= 15) return digits + '0'.repeat(n - k) + '.0';
  if (n > 0 && n <= 15) return `${digits.slice(0, n)}.${digits.slice(n)}`;
  if (n > -4 && n <= 0) return `0.${'0'.repeat(-n)}${digits}`;
  const x = n - 1;
  return `${k === 1 ? digits : `${digits[0]}.${digits.slice(1)}`}e${x < 0 ? '-' : '+'}${String(Math.abs(x)).padStart(2, '0')}`;
}

// A number already formatted, written as is.
class Raw {
  constructor(text) { this.text = text; }
}

// nlohmann::json::dump's layout: compact for indent < 0, otherwise one member
// or element per line indented by `indent` spaces, "key": value, [] and {}
// for empty containers. Strings are escaped as nlohmann escapes valid UTF-8,
// which is what JSON.stringify does for well-formed strings.
function dump(v, indent, level = 0) {
  if (v instanceof Raw) return v.text;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v !== 'object' || v === null) return String(v);
  const entries = Array.isArray(v) ? v.map((x) => dump(x, indent, level + 1))
    : Object.keys(v).map((k) => JSON.stringify(k) + (indent < 0 ? ':' : ': ') + dump(v[k], indent, level + 1));
  const [open, close] = Array.isArray(v) ? '[]' : '{}';
  if (entries.length === 0) return open + close;
  if (indent < 0) return open + entries.join(',') + close;
  const pad = '\n' + ' '.repeat(indent * (level + 1));
  return open + pad + entries.join(',' + pad) + '\n' + ' '.repeat(indent * level) + close;
}

// Our versioned JSON text of binary `bytes` (WriteJson's output, byte for byte).
function jsonText(bytes, indent) {
  const doc = decodeBinary(bytes);
  const raw = (v) => new Raw(formatDouble(v));
  const nodes = doc.nodes.map((n) => {
    const out = {};
    for (const key of NODE_KEYS) {
      const v = n[key];
      if (DOUBLE_FIELDS.includes(key) || (OPTIONAL_FIELDS.includes(key) && v !== null)) out[key] = raw(v);
      else if (key === 'embedding') out[key] = v.map(raw);
      else out[key] = v;
    }
    return out;
  });
  return dump({ format: 'ruvector-dag', version: 1, id_bound: doc.idBound, nodes, edges: doc.edges }, indent);
}

// Our versioned JSON as an object with only the fields that differ from
// their defaults (id and type always): what the readers need, and about a
// tenth of the full document. Numbers are the engine's (shortest round trip).
// Null when the engine cannot write a value exactly (a parameter beyond 2^53,
// -0.0): the full writer keeps those.
function compactDoc(bytes) {
  const doc = decodeBinary(bytes, true);
  return doc && { format: 'ruvector-dag', version: 1, id_bound: doc.idBound, nodes: doc.nodes, edges: doc.edges };
}

// --- readers (JSON already parsed) ---------------------------------------------

// Operator type code of an exact type name, or -1.
let operatorCodes = null;
function operatorCode(name) {
  if (!operatorCodes) operatorCodes = new Map(operatorTypes().map((n, code) => [n, code]));
  return typeof name === 'string' ? operatorCodes.get(name) ?? -1 : -1;
}

// Field checks with the messages of the library's FieldReader.
// `where` may be set to a function giving the text: per-node readers build
// it only for a message.
class Fields {
  constructor(where) { this.at = where; }
  get where() { return typeof this.at === 'function' ? this.at() : this.at; }
  set where(v) { this.at = v; }
  error(field, expected, got) {
    fail(`${this.where}: field "${field}" must be ${expected}, got ${typeName(got)}`);
  }
  require(obj, key) {
    if (!has(obj, key)) fail(`${this.where}: missing field "${key}"`);
    return obj[key];
  }
  string(v, field) {
    if (!checkString(v, () => `${this.where}: field "${field}"`)) this.error(field, 'a string', v);
    return v;
  }
  strings(v, field) {
    if (!Array.isArray(v)) this.error(field, 'an array of strings', v);
    return v.map((s, i) => this.string(s, `${field}[${i}]`));
  }
  bool(v, field) {
    if (typeof v !== 'boolean') this.error(field, 'a boolean', v);
    return v;
  }
  bools(v, field) {
    if (!Array.isArray(v)) this.error(field, 'an array of booleans', v);
    return v.map((b, i) => this.bool(b, `${field}[${i}]`));
  }
  // An integer in [min, max]; JSON.parse reads numbers as doubles, so values
  // beyond 2^53 are refused rather than silently rounded.
  integer(v, field, min, max) {
    const range = `an integer in [${min}, ${max}]`;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.error(field, range, v);
    if (!Number.isSafeInteger(v)) {
      fail(`${this.where}: field "${field}": ${v} is beyond 2^53 and cannot be read exactly by JSON.parse`, 'out_of_range');
    }
    if (v < min || v > max) fail(`${this.where}: field "${field}" must be ${range}`, 'out_of_range');
    return v;
  }
  nonNegative(v, field) {
    if (typeof v !== 'number') this.error(field, 'a finite number >= 0', v);
    if (!Number.isFinite(v) || v < 0) fail(`${this.where}: field "${field}" must be a finite number >= 0`);
    return v;
  }
  optional(v, field) {
    if (v === null) return null;
    if (typeof v !== 'number') this.error(field, 'null or a finite number >= 0', v);
    return this.nonNegative(v, field);
  }
  floats(v, field) {
    if (!Array.isArray(v)) this.error(field, 'an array of numbers', v);
    return v.map((x, i) => {
      if (typeof x !== 'number') this.error(`${field}[${i}]`, 'a number', x);
      if (!Number.isFinite(x) || Math.abs(x) > 3.4028234663852886e38) fail(`${this.where}: field "${field}[${i}]" must be a finite 32-bit float`);
      return Math.fround(x);
    });
  }
}

// The "nodes" and "edges" arrays both JSON readers start from.
function nodesAndEdges(r, doc, what) {
  const nodeArray = r.require(doc, 'nodes');
  if (!Array.isArray(nodeArray)) r.error('nodes', 'an array', nodeArray);
  const edgeArray = r.require(doc, 'edges');
  if (!Array.isArray(edgeArray)) r.error('edges', 'an array', edgeArray);
  checkNodeCount(nodeArray.length, what);
  return [nodeArray, edgeArray];
}

function checkNodeCount(count, what) {
  if (count > MAX_NODES) fail(`${what}: ${count} nodes exceed the limit of ${MAX_NODES}`, 'out_of_range');
}

// Sorts nodes by id (stable) and refuses duplicates, as the library does.
function sortNodes(nodes, what) {
  let sorted = true;
  for (let i = 1; i < nodes.length && sorted; ++i) sorted = nodes[i - 1].id < nodes[i].id;
  if (sorted) return nodes;  // ascending ids: nothing to sort, no duplicates
  nodes.sort((a, b) => a.id - b.id);
  for (let i = 1; i < nodes.length; ++i) {
    if (nodes[i].id === nodes[i - 1].id) fail(`${what}: duplicate node id ${nodes[i].id}`, 'already_exists');
  }
  return nodes;
}

function readEdgePairs(array, what, shape) {
  for (let i = 0; i < array.length; ++i) {
    const e = array[i];
    const from = Array.isArray(e) && e.length === 2 ? e[0] : -1;
    const to = from === -1 ? -1 : e[1];
    if (!(Number.isInteger(from) && from >= 0 && Number.isInteger(to) && to >= 0)) {
      fail(`${what}: edges[${i}] must be ${shape} with two non-negative integer node ids`);
    }
    if (from > MAX_NODE_ID || to > MAX_NODE_ID) fail(`${what}: edges[${i}]: unknown node ${from > MAX_NODE_ID ? from : to}`, 'not_found');
  }
  return array;
}

const OUR_TOP_KEYS = ['format', 'version', 'id_bound', 'nodes', 'edges'];
const NODE_KEY_SET = new Set(NODE_KEYS);
const TEXT_FIELDS = [...STRING_FIELDS, 'detail', 'subplan_name'];

// Our versioned JSON (docs/formats.md), already parsed.
function readOurJson(doc) {
  const what = 'JSON DAG';
  const r = new Fields(what);
  for (const key of Object.keys(doc)) if (!OUR_TOP_KEYS.includes(key)) fail(`${what}: unknown field "${clip(key)}"`);
  if (r.require(doc, 'format') !== 'ruvector-dag') fail(`${what}: field "format" must be "ruvector-dag"`);
  const version = r.integer(r.require(doc, 'version'), 'version', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (version !== 1) fail(`${what}: unsupported version ${version} (this build reads version 1)`);
  const idBound = r.integer(r.require(doc, 'id_bound'), 'id_bound', 0, MAX_NODE_ID + 1);
  const [nodeArray, edgeArray] = nodesAndEdges(r, doc, what);
  const nodes = sortNodes(nodeArray.map((j, i) => {
    const f = new Fields(() => `nodes[${i}]`);
    if (!isObject(j)) fail(`${f.where}: must be an object, got ${typeName(j)}`);
    const id = f.integer(f.require(j, 'id'), 'id', 0, MAX_NODE_ID);
    f.where = () => `node ${id}`;
    for (const key in j) if (!NODE_KEY_SET.has(key)) fail(`${f.where}: unknown field "${clip(key)}"`);
    const typeNameValue = f.string(f.require(j, 'type'), 'type');
    const type = operatorCode(typeNameValue);
    if (type < 0) fail(`${f.where}: unknown operator type "${clip(typeNameValue)}"`);
    const n = newNode(type);
    n.id = id;
    for (const key of TEXT_FIELDS) if (has(j, key)) n[key] = f.string(j[key], key);
    if (has(j, 'keys')) n.keys = f.strings(j.keys, 'keys');
    if (has(j, 'descending')) n.descending = f.bools(j.descending, 'descending');
    if (has(j, 'parameter')) {
      n.parameter = BigInt(f.integer(j.parameter, 'parameter', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
    }
    if (has(j, 'parallel_aware')) n.parallel_aware = f.bool(j.parallel_aware, 'parallel_aware');
    if (has(j, 'workers_planned')) n.workers_planned = f.integer(j.workers_planned, 'workers_planned', 0, 2147483647);
    if (has(j, 'workers_launched')) n.workers_launched = f.integer(j.workers_launched, 'workers_launched', -1, 2147483647);
    for (const key of DOUBLE_FIELDS) if (has(j, key)) n[key] = f.nonNegative(j[key], key);
    for (const key of OPTIONAL_FIELDS) if (has(j, key)) n[key] = f.optional(j[key], key);
    if (has(j, 'embedding')) n.embedding = f.floats(j.embedding, 'embedding');
    return n;
  }), what);
  if (nodes.length > 0 && idBound <= nodes[nodes.length - 1].id) {
    fail(`${what}: id_bound ${idBound} must be greater than the largest node id ${nodes[nodes.length - 1].id}`);
  }
  return { what, nodes, idBound, edges: readEdgePairs(edgeArray, what, '[from, to]') };
}

// The original crate's op_type variants with payload fields: [variant, our
// type name, fields as [crate name, kind, our field]].
const CRATE_VARIANTS = {
  SeqScan: ['Seq Scan', [['table', 's', 'relation']]],
  IndexScan: ['Index Scan', [['index', 's', 'index'], ['table', 's', 'relation']]],
  HnswScan: ['HnswScan', [['index', 's', 'index'], ['ef_search', 'u32', 'parameter']]],
  IvfFlatScan: ['IvfFlatScan', [['index', 's', 'index'], ['nprobe', 'u32', 'parameter']]],
  HashJoin: ['Hash Join', [['hash_key', 's', 'predicate']]],
  MergeJoin: ['Merge Join', [['merge_key', 's', 'predicate']]],
  Aggregate: ['Aggregate', [['functions', 'ss', 'keys']]],
  GroupBy: ['GroupBy', [['keys', 'ss', 'keys']]],
  Filter: ['Filter', [['predicate', 's', 'predicate']]],
  Project: ['Project', [['columns', 'ss', 'keys']]],
  Sort: ['Sort', [['keys', 'ss', 'keys'], ['descending', 'bs', 'descending']]],
  Limit: ['Limit', [['count', 'u63', 'parameter']]],
  VectorDistance: ['VectorDistance', [['metric', 's', 'detail']]],
  Rerank: ['Rerank', [['model', 's', 'detail']]],
};
// Unit variants; "Scan" and "Join" are the crate's deprecated names.
const CRATE_UNITS = { NestedLoopJoin: 'Nested Loop', Materialize: 'Materialize', Result: 'Result',
  Scan: 'Seq Scan', Join: 'Nested Loop' };

function crateOpType(f, op, n) {
  let variant;
  let payload;
  if (typeof op === 'string') {
    checkString(op, `${f.where}: field "op_type"`);
    variant = op;
  } else if (isObject(op) && Object.keys(op).length === 1) {
    variant = Object.keys(op)[0];
    payload = op[variant];
  } else {
    fail(`${f.where}: field "op_type" must be a variant name or a one-key object, got ${typeName(op)}` +
      (isObject(op) ? ` with ${Object.keys(op).length} keys` : ''));
  }
  if (has(CRATE_UNITS, variant)) {
    if (payload !== undefined && payload !== null) fail(`${f.where}: op_type "${variant}" takes no fields`);
    n.type = operatorCode(CRATE_UNITS[variant]);
    return;
  }
  if (!has(CRATE_VARIANTS, variant)) fail(`${f.where}: unknown op_type "${clip(variant)}"`);
  if (payload === undefined) fail(`${f.where}: op_type "${variant}" needs its fields ({"${variant}": {...}})`);
  if (!isObject(payload)) fail(`${f.where}: op_type "${variant}" must hold an object, got ${typeName(payload)}`);
  const [type, fields] = CRATE_VARIANTS[variant];
  n.type = operatorCode(type);
  const p = new Fields(`${f.where}: op_type ${variant}`);
  for (const [name, kind, ours] of fields) {
    const v = p.require(payload, name);
    if (kind === 's') n[ours] = p.string(v, name);
    else if (kind === 'ss') n[ours] = p.strings(v, name);
    else if (kind === 'bs') n[ours] = p.bools(v, name);
    else n[ours] = BigInt(p.integer(v, name, 0, kind === 'u32' ? 4294967295 : Number.MAX_SAFE_INTEGER));
  }
}

// The original Rust crate's JSON (docs/formats.md), already parsed.
function readCrateJson(doc) {
  const what = 'Rust JSON DAG';
  const r = new Fields(what);
  const [nodeArray, edgeArray] = nodesAndEdges(r, doc, what);
  const nodes = sortNodes(nodeArray.map((j, i) => {
    const f = new Fields(() => `nodes[${i}]`);
    if (!isObject(j)) fail(`${f.where}: must be an object, got ${typeName(j)}`);
    const idValue = f.require(j, 'id');
    if (Number.isInteger(idValue) && idValue > MAX_NODE_ID) {
      fail(`${f.where}: id ${idValue} exceeds the maximum node id ${MAX_NODE_ID}`, 'out_of_range');
    }
    const n = newNode(0);
    n.id = f.integer(idValue, 'id', 0, MAX_NODE_ID);
    f.where = () => `node ${n.id}`;
    crateOpType(f, f.require(j, 'op_type'), n);
    n.estimated_rows = f.nonNegative(f.require(j, 'estimated_rows'), 'estimated_rows');
    n.estimated_cost = f.nonNegative(f.require(j, 'estimated_cost'), 'estimated_cost');
    if (has(j, 'actual_rows')) n.actual_rows = f.optional(j.actual_rows, 'actual_rows');
    if (has(j, 'actual_time_ms')) n.actual_time_ms = f.optional(j.actual_time_ms, 'actual_time_ms');
    if (has(j, 'embedding') && j.embedding !== null) n.embedding = f.floats(j.embedding, 'embedding');
    return n;
  }), what);
  const idBound = nodes.length === 0 ? 0 : nodes[nodes.length - 1].id + 1;
  const edges = readEdgePairs(edgeArray, what, '[parent, child]');
  // "root" is Option<usize>: absent, null or the id of a node.
  if (has(doc, 'root') && doc.root !== null) {
    const root = doc.root;
    if (!Number.isInteger(root) || root < 0) r.error('root', 'null or a node id', root);
    if (!nodes.some((n) => n.id === root)) fail(`${what}: root ${root} is not a node id`, 'not_found');
  }
  return { what, nodes, idBound, edges };
}

// EXPLAIN keys, as the library's importer reads them (docs/explain_import.md).
const EXPLAIN_PREDICATE_KEYS = ['Hash Cond', 'Merge Cond', 'Index Cond', 'Recheck Cond', 'Join Filter', 'Filter',
  'TID Cond', 'One-Time Filter'];
const EXPLAIN_RELATION_KEYS = ['Relation Name', 'CTE Name', 'Function Name', 'Table Function Name', 'Tuplestore Name'];
const EXPLAIN_KEY_ARRAYS = ['Sort Key', 'Group Key', 'Presorted Key'];
const EXPLAIN_MAX_NUMBER = 1e100;  // PostgreSQL's MAXIMUM_ROWCOUNT; caps every number
const INT32_MAX = 2147483647;

// PostgreSQL EXPLAIN (FORMAT JSON) output, already parsed: a port of the
// library's ImportExplain (src/dag/explain_import.cc) with the same node
// numbering (pre-order, inputs in the order EXPLAIN lists them), fields, own
// cost rule, limits and messages. The node test compares both importers on
// every fixture of tests/fixtures/explain.
function readExplain(doc) {
  const what = 'EXPLAIN JSON';
  const error = (path, problem, code) => fail(`${what}: ${path}: ${problem}`, code);
  const describe = (v) => (typeof v === 'number' ? fmt15(v) : typeName(v));
  const number = (obj, key, path) => {
    if (!has(obj, key)) return null;
    const v = obj[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) error(`${path}.${key}`, `expected a number >= 0, got ${describe(v)}`);
    if (v > EXPLAIN_MAX_NUMBER) error(`${path}.${key}`, `${fmt15(v)} exceeds the limit ${fmt15(EXPLAIN_MAX_NUMBER)}`, 'out_of_range');
    return v;
  };
  const int32 = (obj, key, path, fallback) => {
    if (!has(obj, key)) return fallback;
    const v = obj[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) error(`${path}.${key}`, `expected an integer >= 0, got ${describe(v)}`);
    if (v > INT32_MAX) error(`${path}.${key}`, `${fmt15(v)} exceeds the limit ${fmt15(INT32_MAX)}`, 'out_of_range');
    return v;
  };
  const string = (obj, key, path) => {
    if (!has(obj, key)) return null;
    if (!checkString(obj[key], `${what}: ${path}.${key}`)) error(`${path}.${key}`, `expected a string, got ${describe(obj[key])}`);
    return obj[key];
  };
  const firstString = (obj, keys, path) => {
    let found = null;
    for (const key of keys) {
      const v = string(obj, key, path);
      if (v !== null && found === null) found = v;
    }
    return found ?? '';
  };

  let statement = doc;
  if (Array.isArray(doc)) {
    if (doc.length === 0) fail(`${what}: expected one statement, got an empty array`);
    if (doc.length > 1) fail(`${what}: expected one statement, got ${doc.length} (EXPLAIN output of several statements is not supported)`);
    statement = doc[0];
    if (!isObject(statement)) error('[0]', `expected an object with a "Plan", got ${describe(statement)}`);
  } else if (!isObject(doc)) {
    fail(`${what}: expected an array or an object at the top level, got ${describe(doc)}`);
  }
  if (!has(statement, 'Plan')) fail(`${what}: missing "Plan" in the statement object`);
  const planningTimeMs = number(statement, 'Planning Time', 'statement');
  const executionTimeMs = number(statement, 'Execution Time', 'statement');
  if (has(statement, 'Triggers') && !Array.isArray(statement.Triggers)) {
    error('statement.Triggers', `expected an array, got ${describe(statement.Triggers)}`);
  }

  const firstVectorType = operatorCode('HnswScan');
  const nodes = [];
  const edges = [];
  const inputs = [];  // per node: its input ids, in order
  const stack = [[statement.Plan, -1, 'Plan']];
  while (stack.length > 0) {
    const [plan, consumer, path] = stack.pop();
    if (!isObject(plan)) error(path, `expected an object, got ${describe(plan)}`);
    if (nodes.length + 1 > MAX_NODES) fail(`${what}: more than ${MAX_NODES} plan nodes (at ${path})`, 'out_of_range');
    if (!has(plan, 'Node Type')) error(path, 'missing "Node Type"');
    const typeName_ = string(plan, 'Node Type', path);
    const type = operatorCode(typeName_);
    if (type < 0 || type >= firstVectorType) error(`${path}.Node Type`, `unknown PostgreSQL plan node type "${typeName_}"`);
    const n = newNode(type);
    n.id = nodes.length;
    n.relation = firstString(plan, EXPLAIN_RELATION_KEYS, path);
    n.alias = string(plan, 'Alias', path) ?? '';
    n.index = string(plan, 'Index Name', path) ?? '';
    n.predicate = firstString(plan, EXPLAIN_PREDICATE_KEYS, path);
    n.subplan_name = string(plan, 'Subplan Name', path) ?? '';
    string(plan, 'Parent Relationship', path);
    let keysFound = false;
    let sortKeys = false;
    for (const key of EXPLAIN_KEY_ARRAYS) {
      if (!has(plan, key)) continue;
      const v = plan[key];
      if (!Array.isArray(v)) error(`${path}.${key}`, `expected an array of strings, got ${describe(v)}`);
      v.forEach((s, i) => {
        if (!checkString(s, `${what}: ${path}.${key}[${i}]`)) error(`${path}.${key}[${i}]`, `expected a string, got ${describe(s)}`);
      });
      if (!keysFound) {
        n.keys = v.slice();
        keysFound = true;
        sortKeys = key !== 'Group Key';
      }
    }
    const cacheKey = string(plan, 'Cache Key', path);
    if (cacheKey !== null && !keysFound) n.keys.push(cacheKey);
    // EXPLAIN appends " DESC" to a descending key, then " NULLS FIRST/LAST"
    // when the null ordering is not that direction's default.
    if (sortKeys) n.descending = n.keys.map((k) => / DESC( NULLS (FIRST|LAST))?$/.test(k));
    const joinType = string(plan, 'Join Type', path);
    const operation = string(plan, 'Operation', path);
    const provider = string(plan, 'Custom Plan Provider', path);
    const command = string(plan, 'Command', path);
    const strategy = string(plan, 'Strategy', path);
    n.detail = joinType ?? operation ?? provider ??
      (command !== null ? (strategy !== null ? `${strategy} ${command}` : command) : strategy ?? '');
    if (has(plan, 'Parallel Aware')) {
      if (typeof plan['Parallel Aware'] !== 'boolean') error(`${path}.Parallel Aware`, `expected a boolean, got ${describe(plan['Parallel Aware'])}`);
      n.parallel_aware = plan['Parallel Aware'];
    }
    n.workers_planned = int32(plan, 'Workers Planned', path, 0);
    n.workers_launched = int32(plan, 'Workers Launched', path, -1);
    n.estimated_rows = number(plan, 'Plan Rows', path) ?? 0;
    n.startup_cost = number(plan, 'Startup Cost', path) ?? 0;
    n.total_cost = number(plan, 'Total Cost', path) ?? 0;
    n.width = number(plan, 'Plan Width', path) ?? 0;
    n.actual_rows = number(plan, 'Actual Rows', path);
    n.actual_time_ms = number(plan, 'Actual Total Time', path);
    n.actual_loops = number(plan, 'Actual Loops', path);
    number(plan, 'Actual Startup Time', path);  // validated, not stored
    nodes.push(n);
    inputs.push([]);
    if (consumer >= 0) {
      edges.push([n.id, consumer]);
      inputs[consumer].push(n.id);
    }
    if (!has(plan, 'Plans')) continue;
    const children = plan.Plans;
    if (!Array.isArray(children)) error(`${path}.Plans`, `expected an array, got ${describe(children)}`);
    // Pushed in reverse so that inputs are numbered in EXPLAIN's order.
    for (let i = children.length - 1; i >= 0; --i) stack.push([children[i], n.id, `${path}.Plans[${i}]`]);
  }
  // Own cost: cumulative Total Cost minus the Total Cost of the direct inputs.
  for (const n of nodes) {
    let sum = 0;
    for (const input of inputs[n.id]) sum += nodes[input].total_cost;
    const own = n.total_cost - sum;
    n.estimated_cost = own > 0 ? own : 0;
  }
  return { what, nodes, idBound: nodes.length, edges, planningTimeMs, executionTimeMs };
}

// Edge checks that must come before the binary header's (which refuses more
// edges than a DAG of that size can hold before it looks for the cycle):
// unknown ids, self-loops and duplicates with QueryDag::AddEdge's messages.
// Cycles are left to the module, which names the edges that close one.
function checkEdges(doc) {
  if (edgesPlainlyValid(doc)) return;
  const ids = new Set(doc.nodes.map((n) => n.id));
  const seen = new Set();
  for (const [from, to] of doc.edges) {
    const name = `${doc.what}: edge ${from}->${to}`;
    for (const id of [from, to]) if (!ids.has(id)) fail(`${name}: unknown node ${id}`, 'not_found');
    if (from === to) fail(`${name} is a self-loop`);
    const key = from * 16777216 + to;
    if (seen.has(key)) fail(`${name} already exists`, 'already_exists');
    seen.add(key);
  }
  const n = doc.nodes.length;
  if (doc.edges.length > (n * (n - 1)) / 2) {
    fail(`${doc.what}: ${doc.edges.length} distinct edges among ${n} nodes are more than a DAG can hold: ` +
      'they would create a cycle', 'failed_precondition');
  }
}

// True when no edge names an unknown id, loops or repeats (and the count is
// possible): then checkEdges has nothing to report. Typed arrays instead of
// Sets; on any doubt checkEdges runs its exact loop for the message.
function edgesPlainlyValid(doc) {
  const { nodes, edges } = doc;
  const n = nodes.length;
  if (edges.length > (n * (n - 1)) / 2) return false;
  const bound = n === 0 ? 0 : nodes[n - 1].id + 1;  // nodes are sorted by id
  const known = new Uint8Array(bound);
  for (const node of nodes) known[node.id] = 1;
  const count = new Uint32Array(bound + 1);
  for (const [from, to] of edges) {
    if (!(from < bound && to < bound && known[from] && known[to]) || from === to) return false;
    ++count[to + 1];
  }
  for (let i = 0; i < bound; ++i) count[i + 1] += count[i];
  // Inputs grouped by target, each group sorted: a repeat sits next to its twin.
  const inputs = new Uint32Array(edges.length);
  const fill = count.slice(0, bound);
  for (const [from, to] of edges) inputs[fill[to]++] = from;
  for (let v = 0; v < bound; ++v) {
    if (count[v + 1] - count[v] < 2) continue;
    const group = inputs.subarray(count[v], count[v + 1]).sort();
    for (let k = 1; k < group.length; ++k) if (group[k] === group[k - 1]) return false;
  }
  return true;
}

// The nesting depth of a parsed value, counted up to `limit` + 1 (no recursion).
function depthOf(value, limit) {
  let max = 0;
  const stack = value !== null && typeof value === 'object' ? [value, 1] : [];  // pairs: object or array, its depth
  while (stack.length > 0) {
    const depth = stack.pop();
    const v = stack.pop();
    if (depth > max && (max = depth) > limit) return max;
    const children = Array.isArray(v) ? v : Object.values(v);
    for (let i = 0; i < children.length; ++i) {
      const c = children[i];
      if (c !== null && typeof c === 'object') stack.push(c, depth + 1);
    }
  }
  return max;
}

// Parses JSON text (or takes an already parsed value) for fromJSON/fromExplain.
function parseInput(input, what) {
  if (typeof input !== 'string') return input;
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  if (text.startsWith('RVDG')) fail('input is the binary format, not JSON (use WasmDag.fromBytes)');
  if (text.length > MAX_INPUT_BYTES || (text.length * 3 > MAX_INPUT_BYTES && encoder.encode(text).length > MAX_INPUT_BYTES)) {
    fail(`${what}: input exceeds the limit of ${MAX_INPUT_BYTES} bytes`, 'out_of_range');
  }
  // The library's nesting limit (ParseLimits::max_nesting), checked before
  // parsing there: here the parsed value's depth is measured (the same number
  // as the bracket scan's), and the scan runs only when that is over the
  // limit or the text does not parse, so that both accept the same texts
  // with the same first error.
  let parsed;
  try {
    parsed = JSON.parse(text);
    if (depthOf(parsed, MAX_NESTING) <= MAX_NESTING) return parsed;
  } catch {
    // the scan below reports the nesting, else the parse error is reported
  }
  let depth = 0;
  for (let i = 0, inString = false; i < text.length; ++i) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) ++i;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_NESTING) fail(`${what}: JSON nesting deeper than ${MAX_NESTING} at character ${i}`, 'out_of_range');
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) {
      --depth;
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    return fail(`${what}: JSON parse error: ${err.message}`);
  }
}

// Which reader a parsed document needs (the library's DetectFormat rules).
function detect(doc) {
  if (isObject(doc)) {
    if (has(doc, 'format')) return readOurJson;
    if (has(doc, 'Plan')) return readExplain;
    if (has(doc, 'nodes')) return readCrateJson;
  } else if (Array.isArray(doc) && isObject(doc[0]) && has(doc[0], 'Plan')) {
    return readExplain;
  }
  return fail('cannot detect the format: expected a JSON object with "format" (ruvector-dag JSON), "Plan" ' +
    '(EXPLAIN) or "nodes" (the original crate\'s JSON), or an EXPLAIN array');
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

  // Reads binary `bytes`; `seal` = 1 for documents this wrapper assembled
  // (the module fills in their checksum first).
  static #read(bytes, seal) {
    const ptr = withBytes(bytes, (p, n) => wasm.rvd_read(p, n, seal));
    if (ptr === 0) throw lastError();
    return new WasmDag(ADOPT, ptr);
  }

  // Hands a document read by one of the readers above to the module. Its
  // binary reader checks it again (values, ids, unknown ids, self-loops,
  // duplicates, cycles); its messages then name the document, not the bytes
  // this wrapper assembled.
  static #load(doc) {
    checkEdges(doc);
    let dag;
    try {
      dag = WasmDag.#read(encodeBinary(doc.nodes, doc.idBound, doc.edges), 1);
    } catch (err) {
      if (err instanceof RuvectorDagError && err.code !== 'internal') {
        err.message = err.message.replace(/^binary DAG: (at byte \d+: )?/, `${doc.what}: `);
      }
      throw err;
    }
    dag.planningTimeMs = doc.planningTimeMs ?? null;
    dag.executionTimeMs = doc.executionTimeMs ?? null;
    return dag;
  }

  /** Adds an operator; `op` is a type name ("Seq Scan", "HnswScan", ...) or code; `cost` finite and >= 0. Returns its id. */
  addNode(op, cost) {
    const dag = this.#handle();
    const type = codeOf(op, operatorTypes(), 'operator type');
    if (typeof cost !== 'number') throw new RuvectorDagError(`cost must be a number, got ${typeof cost}`);
    if (!(cost >= 0 && cost < Infinity)) throw new RuvectorDagError(`cost must be a finite number >= 0 (got ${cost})`);
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
    const code = codeOf(mechanism, MECHANISMS, 'attention mechanism', MECHANISM_ALIASES);
    check(wasm.rvd_attention(dag, code));
    return new Float32Array(wasm.memory.buffer, wasm.rvd_f32_ptr(), wasm.rvd_f32_len()).slice();
  }

  /**
   * Minimum vertex cut (Dinic max flow on the node-split DAG) under a capacity
   * mode (default "bottleneck"), with the plan's tension in [0, 1].
   */
  mincut(mode = 'bottleneck') {
    const dag = this.#handle();
    const code = codeOf(mode, CAPACITY_MODES, 'capacity mode', CAPACITY_ALIASES);
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

  /**
   * The library's versioned JSON document as text: `indent` spaces (at most
   * 16; one line by default), byte-identical to the library's WriteJson. With
   * `{ compact: true }` (and optionally `indent`), fields at their defaults
   * are left out and numbers are written by the engine: about 10x smaller
   * and faster, read back identically by fromJSON and the library.
   */
  toJSONString(options = -1) {
    const { indent = -1, compact = false } = typeof options === 'object' && options !== null ? options : { indent: options };
    const width = Number.isInteger(indent) ? Math.min(indent, 16) : -1;
    const bytes = this.toBytes();
    const doc = compact ? compactDoc(bytes) : null;
    if (doc) return width > 0 ? JSON.stringify(doc, null, width) : JSON.stringify(doc);
    return jsonText(bytes, width);
  }

  /**
   * The JSON document as an object, so JSON.stringify(dag) writes it; with
   * `{ compact: true }` only the fields that differ from their defaults.
   */
  toJSON(options) {
    const compact = typeof options === 'object' && options !== null && options.compact === true;
    return (compact && compactDoc(this.toBytes())) || JSON.parse(this.toJSONString());
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
    return WasmDag.#read(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
  }

  /**
   * Reads JSON text or an already parsed value: the library's JSON, the
   * original crate's JSON or EXPLAIN (FORMAT JSON) output (detected).
   */
  static fromJSON(input) {
    const doc = parseInput(input, 'JSON');
    return WasmDag.#load(detect(doc)(doc));
  }

  /**
   * Imports PostgreSQL EXPLAIN (FORMAT JSON [, ANALYZE]) output (text or parsed);
   * planningTimeMs / executionTimeMs are set when the plan has them.
   */
  static fromExplain(input) {
    return WasmDag.#load(readExplain(parseInput(input, 'EXPLAIN JSON')));
  }
}
