// The wrapper's formats against the C++ library's. JSON is parsed in JS and
// EXPLAIN is imported in JS (wasm/js/ruvector_dag.mjs); these tests check
// that the result is the DAG the library itself builds, byte for byte:
// test/expected_cli.tsv holds the SHA-256 of what the native CLI writes for
// every document (scripts/expected_from_cli.mjs; scripts/wasm_test.sh checks
// that the table matches the CLI when one is built). With RVD_NATIVE_CLI set
// to the CLI, the CLI also reads what the wrapper writes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { RuvectorDagError, WasmDag } from '@ruvector/dag-wasm';

import { doublesDocument } from './doubles_doc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
const expected = readFileSync(join(here, 'expected_cli.tsv'), 'utf8').trim().split('\n')
  .filter((line) => !line.startsWith('#')).map((line) => line.split('\t'));
const read = (file) => readFileSync(join(repo, file), 'utf8');

test('the 60 PostgreSQL EXPLAIN fixtures: JS importer gives the C++ importer\'s DAG', () => {
  const manifest = read('tests/fixtures/explain/manifest.tsv').trim().split('\n')
    .filter((line) => !line.startsWith('#')).map((line) => line.split('\t'));
  assert.equal(manifest.length, 60);
  for (const [file, , nodeCount] of manifest) {
    const path = `tests/fixtures/explain/${file}`;
    const row = expected.find(([f]) => f === path);
    assert.ok(row && row[1] !== 'rejected', `${path} in expected_cli.tsv`);
    const text = read(path);
    const dag = WasmDag.fromExplain(text);
    assert.equal(dag.nodeCount, Number(nodeCount), path);
    assert.equal(sha(dag.toBytes()), row[1], `${path}: binary differs from the CLI's`);
    const json = dag.toJSONString();
    const pretty = dag.toJSONString(2);
    assert.equal(sha(json), row[2], `${path}: JSON differs from the CLI's`);
    assert.equal(sha(pretty), row[3], `${path}: pretty JSON differs from the CLI's`);
    // What the CLI writes (byte-identical, as just checked) reads back.
    for (const doc of [json, pretty, JSON.parse(json), text]) {
      const back = WasmDag.fromJSON(doc);
      assert.equal(sha(back.toBytes()), row[1], `${path}: reading the CLI's JSON back`);
      back.free();
    }
    if (/ANALYZE|analyze/.test(file)) assert.ok(dag.executionTimeMs > 0 && dag.planningTimeMs > 0, path);
    dag.free();
  }
});

test('every corpus document: accepted and rejected exactly as by the C++ readers', () => {
  let accepted = 0;
  let rejected = 0;
  for (const [path, binary, json] of expected) {
    if (path.startsWith('tests/fixtures/') || path.startsWith('generated:')) continue;
    let dag = null;
    try {
      dag = WasmDag.fromJSON(read(path));
    } catch (err) {
      assert.ok(err instanceof RuvectorDagError && err.code !== 'internal', `${path}: ${err}`);
      assert.equal(binary, 'rejected', `${path}: the CLI reads it, the wrapper refuses: ${err.message}`);
      ++rejected;
      continue;
    }
    assert.notEqual(binary, 'rejected', `${path}: the CLI refuses it, the wrapper reads it`);
    assert.equal(sha(dag.toBytes()), binary, `${path}: binary differs from the CLI's`);
    assert.equal(sha(dag.toJSONString()), json, `${path}: JSON differs from the CLI's`);
    dag.free();
    ++accepted;
  }
  assert.ok(accepted >= 10 && rejected >= 10, `accepted ${accepted}, rejected ${rejected}`);
});

test('the JSON writer formats doubles as the library does (nlohmann dump)', () => {
  const dag = new WasmDag();
  const costs = [0, 5, 100, 0.1, 6005.4000000000005, 1e21, 1e-5, 123456789012345680, 1.5e300, 5e-324,
    1.7976931348623157e308, 0.30000000000000004, 2 ** 53];
  for (const c of costs) dag.addNode('Seq Scan', c);
  const text = dag.toJSONString();
  const written = [...text.matchAll(/"estimated_cost":([^,]*)/g)].map((m) => m[1]);
  assert.deepEqual(written, ['0.0', '5.0', '100.0', '0.1', '6005.4000000000005', '1e+21', '1e-05',
    '1.2345678901234568e+17', '1.5e+300', '5e-324', '1.7976931348623157e+308', '0.30000000000000004',
    '9.007199254740992e+15']);
  // Every value reads back bit for bit.
  const back = WasmDag.fromJSON(text);
  assert.deepEqual(back.toBytes(), dag.toBytes());
  assert.deepEqual(JSON.parse(text).nodes.map((n) => n.estimated_cost), costs);
  back.free();
  dag.free();
});

test('4,000 awkward doubles and 1,500 floats are written exactly as the library writes them', () => {
  const row = expected.find(([f]) => f === 'generated:doubles');
  assert.ok(row, 'generated:doubles in expected_cli.tsv');
  const dag = WasmDag.fromJSON(doublesDocument());
  assert.equal(sha(dag.toBytes()), row[1], 'binary differs from the CLI\'s');
  assert.equal(sha(dag.toJSONString()), row[2], 'JSON differs from the CLI\'s');
  assert.equal(sha(dag.toJSONString(2)), row[3], 'pretty JSON differs from the CLI\'s');
  dag.free();
});

test('JSON readers: messages name the document, node and field', () => {
  const doc = (nodes, edges = [], extra = {}) => ({ format: 'ruvector-dag', version: 1, id_bound: 8, nodes, edges, ...extra });
  const cases = [
    [doc([{ id: 0, type: 'Hash', estimated_cost: -1 }]), /node 0: field "estimated_cost" must be a finite number >= 0/, 'invalid_argument'],
    [doc([{ id: 0, type: 'Hash', estimated_cost: 'x' }]), /node 0: field "estimated_cost" must be a finite number >= 0, got string/],
    [doc([{ id: 0, type: 'Hash', colour: 1 }]), /node 0: unknown field "colour"/],
    [doc([{ id: 0, type: 'Warp' }]), /node 0: unknown operator type "Warp"/],
    [doc([{ id: 0, type: 'Hash' }, { id: 0, type: 'Sort' }]), /duplicate node id 0/, 'already_exists'],
    [doc([{ id: 0, type: 'Hash' }], [[0, 7]]), /edge 0->7: unknown node 7/, 'not_found'],
    [doc([{ id: 0, type: 'Hash' }], [[0, 0]]), /edge 0->0 is a self-loop/],
    [doc([{ id: 0, type: 'Hash' }, { id: 1, type: 'Sort' }], [[0, 1], [0, 1]]), /edge 0->1 already exists/, 'already_exists'],
    [doc([{ id: 0, type: 'Hash' }, { id: 1, type: 'Sort' }], [[0, 1], [1, 0]]), /cycle/, 'failed_precondition'],
    [doc([0, 1, 2].map((id) => ({ id, type: 'Hash' })), [[0, 1], [1, 2], [2, 0]]), /edge 2->0 would create a cycle \(0 -> 1 -> 2 -> 0\)/, 'failed_precondition'],
    [doc([{ id: 0, type: 'Sort', keys: ['a'], descending: [true, false] }]), /node 0: field "descending" has 2 flags for 1 keys/],
    [doc([{ id: 0, type: 'Limit', parameter: 2 ** 60 }]), /beyond 2\^53/, 'out_of_range'],
    [doc([{ id: 0, type: 'Hash', relation: 'bad \ud800 surrogate' }]), /lone UTF-16 surrogate/],
    [doc([{ id: 9, type: 'Hash' }]), /id_bound 8 must be greater than the largest node id 9/],
    [doc([], [], { extra: 1 }), /JSON DAG: unknown field "extra"/],
    [{ ...doc([]), version: 2 }, /unsupported version 2/],
    [{ nodes: [{ id: 0, op_type: { Teleport: {} }, estimated_rows: 1, estimated_cost: 1 }], edges: [] }, /unknown op_type "Teleport"/],
    [{ nodes: [{ id: 0, op_type: 'Result', estimated_rows: 1 }], edges: [] }, /node 0: missing field "estimated_cost"/],
    [{ nodes: [{ id: 0, op_type: 'Result', estimated_rows: 1, estimated_cost: 1 }], edges: [], root: 4 }, /root 4 is not a node id/, 'not_found'],
    [{ Plan: { 'Node Type': 'Seq Scan', 'Total Cost': -5 } }, /EXPLAIN JSON: Plan.Total Cost: expected a number >= 0, got -5/],
    [{ Plan: { 'Node Type': 'Seq Scan', Plans: [{ 'Node Type': 'Teleport' }] } }, /Plan.Plans\[0\].Node Type: unknown PostgreSQL plan node type "Teleport"/],
    [{ Plan: { 'Node Type': 'HnswScan' } }, /unknown PostgreSQL plan node type "HnswScan"/],
    [{ Plan: { 'Node Type': 'Seq Scan', 'Plan Rows': 1e101 } }, /1e\+101 exceeds the limit 1e\+100/, 'out_of_range'],
    [[{ Plan: { 'Node Type': 'Result' } }, { Plan: { 'Node Type': 'Result' } }], /got 2 \(EXPLAIN output of several statements/],
    [{ something: 1 }, /cannot detect the format/],
    ['{"nodes": [', /JSON: JSON parse error/],
    ['RVDG....', /binary format, not JSON/],
    [new Uint8Array(4), /cannot detect the format/],
  ];
  for (const [input, pattern, code] of cases) {
    assert.throws(() => WasmDag.fromJSON(input), (err) => {
      assert.ok(err instanceof RuvectorDagError, String(err));
      assert.match(err.message, pattern);
      if (code) assert.equal(err.code, code, err.message);
      return true;
    }, String(pattern));
  }
});

test('all node fields survive JSON -> wrapper -> JSON and binary', () => {
  const node = {
    id: 3, type: 'Sort', relation: 'orders', alias: 'o', index: 'ix', predicate: 'a > 1', keys: ['a DESC', 'b'],
    descending: [true, false], detail: 'Inner', parameter: -42, subplan_name: 'SubPlan 1', parallel_aware: true,
    workers_planned: 2, workers_launched: 1, estimated_rows: 10.5, estimated_cost: 0.1, startup_cost: 1e-7,
    total_cost: 3, width: 8, actual_rows: 0, actual_time_ms: 2.25, actual_loops: null, embedding: [0.5, -1.25, 3e38],
  };
  const doc = { format: 'ruvector-dag', version: 1, id_bound: 6, nodes: [node, { ...node, id: 5, keys: [], descending: [], embedding: [] }], edges: [[3, 5]] };
  const dag = WasmDag.fromJSON(doc);
  const back = dag.toJSON();
  assert.equal(back.id_bound, 6);
  assert.deepEqual(back.edges, [[3, 5]]);
  const written = back.nodes[0];
  assert.deepEqual({ ...written, embedding: [] }, { ...node, embedding: [] });
  assert.deepEqual(written.embedding, node.embedding.map(Math.fround));
  assert.deepEqual(WasmDag.fromBytes(dag.toBytes()).toJSON(), back);
  // Compact JSON keeps every field that differs from its default, the float embedding exactly.
  const compact = dag.toJSON({ compact: true });
  const { actual_loops: _, ...nonDefault } = node;  // actual_loops: null, the default
  assert.deepEqual(compact.nodes[0], { ...nonDefault, embedding: node.embedding.map(Math.fround) });
  const { keys: _k, descending: _d, embedding: _e, ...rest } = nonDefault;
  assert.deepEqual(compact.nodes[1], { ...rest, id: 5 });
  assert.deepEqual(WasmDag.fromJSON(dag.toJSONString({ compact: true })).toBytes(), dag.toBytes());
  dag.free();
});

test('compact JSON (fields at their defaults left out) reads back as the same DAG, and is smaller', () => {
  let checked = 0;
  for (const [path, binary] of expected) {
    if (binary === 'rejected' || path.startsWith('generated:')) continue;
    const dag = WasmDag.fromJSON(read(path));
    const full = dag.toJSONString();
    const compact = dag.toJSONString({ compact: true });
    assert.ok(compact.length <= full.length, path);
    assert.equal(sha(WasmDag.fromJSON(compact).toBytes()), binary, `${path}: compact JSON reads another DAG`);
    assert.equal(sha(WasmDag.fromJSON(dag.toJSONString({ compact: true, indent: 2 })).toBytes()), binary, path);
    assert.deepEqual(dag.toJSON({ compact: true }), JSON.parse(compact));
    dag.free();
    ++checked;
  }
  assert.ok(checked >= 60);
  // Only what differs from the defaults; id and type always.
  const dag = new WasmDag();
  dag.addNode('Seq Scan', 0);
  dag.addNode('Limit', 2.5);
  dag.addEdge(0, 1);
  assert.equal(dag.toJSONString({ compact: true }), '{"format":"ruvector-dag","version":1,"id_bound":2,' +
    '"nodes":[{"id":0,"type":"Seq Scan"},{"id":1,"type":"Limit","estimated_cost":2.5}],"edges":[[0,1]]}');
  dag.free();
});

test('the native CLI reads what the wrapper writes', { skip: !process.env.RVD_NATIVE_CLI && 'RVD_NATIVE_CLI not set' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rvd-'));
  try {
    let checked = 0;
    for (const [path, binary] of expected) {
      if (binary === 'rejected' || path.startsWith('generated:')) continue;
      const dag = WasmDag.fromJSON(read(path));
      for (const [name, data] of [['out.json', dag.toJSONString()], ['pretty.json', dag.toJSONString(3)], ['out.rvdg', dag.toBytes()],
        ['compact.json', dag.toJSONString({ compact: true })]]) {
        writeFileSync(join(dir, name), data);
        const r = spawnSync(process.env.RVD_NATIVE_CLI, ['convert', join(dir, name), '-', '--to', 'binary']);
        assert.equal(r.status, 0, `${path} (${name}): ${r.stderr}`);
        assert.equal(sha(r.stdout), binary, `${path} (${name}): the CLI reads another DAG`);
      }
      dag.free();
      ++checked;
    }
    assert.ok(checked >= 60);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the native CLI writes the same JSON text for escapes, Unicode, extreme numbers and empty DAGs',
  { skip: !process.env.RVD_NATIVE_CLI && 'RVD_NATIVE_CLI not set' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'rvd-'));
    try {
      const tricky = 'ctl \u0001\u001f tab\t nl\n quote" back\\ slash/ é 漢 🙂 del\u007f ls\u2028 ps\u2029';
      const doc = {
        format: 'ruvector-dag', version: 1, id_bound: 3,
        nodes: [
          { id: 0, type: 'Seq Scan', relation: tricky, keys: [tricky, ''], estimated_rows: 5e-324, estimated_cost: 1.7976931348623157e308,
            startup_cost: 6005.4000000000005, total_cost: 0.1, width: 1e21, actual_rows: 1e-5, actual_time_ms: 123456789012345680,
            embedding: [3.4028234663852886e38, -1.401298464324817e-45, 0.1] },
          { id: 2, type: 'Limit', parameter: -9007199254740991, estimated_cost: 2 ** 53 },
        ],
        edges: [[0, 2]],
      };
      const dags = [WasmDag.fromJSON(doc), new WasmDag()];
      for (const dag of dags) {
        for (const pretty of [false, true]) {
          const text = pretty ? dag.toJSONString(2) : dag.toJSONString();
          writeFileSync(join(dir, 'in.json'), text);
          const r = spawnSync(process.env.RVD_NATIVE_CLI, ['convert', join(dir, 'in.json'), '-', '--to', 'json', ...(pretty ? ['--pretty'] : [])]);
          assert.equal(r.status, 0, String(r.stderr));
          assert.equal(r.stdout.toString('utf8').replace(/\n$/, ''), text);
        }
        dag.free();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
