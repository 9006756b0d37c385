// Browser checks of the package: the runner (run.mjs) serves the package at
// /pkg/ and this page at /page/, then reads window.__results.
import { MECHANISMS, RuvectorDagError, WasmDag, availableMechanisms, init } from '/pkg/dist/browser.mjs';

const results = [];
function check(name, fn) {
  try {
    const detail = fn();
    results.push({ name, ok: true, detail: detail === undefined ? '' : String(detail) });
  } catch (err) {
    results.push({ name, ok: false, detail: `${err && err.name}: ${err && err.message}` });
  }
}
function expect(cond, what) {
  if (!cond) throw new Error(`expected ${what}`);
}
function expectError(fn, pattern) {
  try {
    fn();
  } catch (err) {
    expect(err instanceof RuvectorDagError, `RuvectorDagError, got ${err && err.name}`);
    expect(!(err instanceof WebAssembly.RuntimeError) && err.code !== 'internal', 'no trap or abort');
    expect(pattern.test(err.message), `message matching ${pattern}, got "${err.message}"`);
    return err.message;
  }
  throw new Error('expected an Error, nothing was thrown');
}

function plan() {
  const dag = new WasmDag();
  const s0 = dag.addNode('Seq Scan', 100);
  const h = dag.addNode('Hash', 5);
  const j = dag.addNode('Hash Join', 40);
  const s1 = dag.addNode('Seq Scan', 20);
  const top = dag.addNode('Limit', 1);
  dag.addEdge(s0, h);
  dag.addEdge(h, j);
  dag.addEdge(s1, j);
  dag.addEdge(j, top);
  return dag;
}

async function main() {
  check('before init, the API says so', () => expectError(() => new WasmDag(), /init\(\)/));
  await init();  // fetches ruvector_dag.wasm next to browser.mjs
  check('build, counts, cycle refusal', () => {
    const dag = plan();
    expect(dag.nodeCount === 5 && dag.edgeCount === 4, 'counts 5/4');
    expect(dag.addEdge(4, 0) === false && /cycle/.test(dag.lastRefusal), 'cycle refused');
    dag.free();
    return '5 nodes, 4 edges';
  });
  check('topoSort', () => {
    const dag = plan();
    const order = [...dag.topoSort()].join(',');
    expect(order === '0,1,3,2,4', `0,1,3,2,4, got ${order}`);
    dag.free();
    return order;
  });
  check('criticalPath', () => {
    const dag = plan();
    const { path, cost } = dag.criticalPath();
    expect([...path].join(',') === '0,1,2,4' && cost === 146, `path 0,1,2,4 cost 146, got ${[...path]} ${cost}`);
    dag.free();
    return `${[...path].join('->')} cost ${cost}`;
  });
  check('attention: built mechanisms weigh, the others throw unimplemented', () => {
    const dag = plan();
    const built = availableMechanisms();
    const sums = MECHANISMS.map((m) => {
      if (!built.includes(m)) {
        expectError(() => dag.attention(m), /not in this WASM build/);
        return `${m}=unimplemented`;
      }
      const w = dag.attention(m);
      const sum = w.reduce((a, b) => a + b, 0);
      expect(w.length === 5 && Math.abs(sum - 1) < 1e-5 && w.every((x) => x >= 0 && x <= 1), `${m} weights`);
      return `${m}=${sum.toFixed(4)}`;
    });
    dag.free();
    return sums.join(' ');
  });
  check('mincut with tension', () => {
    const dag = plan();
    const cut = dag.mincut();
    expect(cut.cutNodes.length >= 1 && cut.tension >= 0 && cut.tension <= 1, 'a cut and tension in [0,1]');
    dag.free();
    return `cut [${[...cut.cutNodes]}] value ${cut.cutValue.toFixed(3)} tension ${cut.tension.toFixed(3)}`;
  });
  check('binary and JSON round trips', () => {
    const dag = plan();
    const bytes = dag.toBytes();
    const a = WasmDag.fromBytes(bytes);
    const b = WasmDag.fromJSON(JSON.stringify(dag));
    const c = WasmDag.fromJSON(dag.toJSONString(2));
    expect([a, b, c].every((d) => d.toBytes().join() === bytes.join()), 'identical bytes');
    expect(c.toJSONString(2) === dag.toJSONString(2), 'identical JSON text');
    [dag, a, b, c].forEach((d) => d.free());
    return `${bytes.length} bytes`;
  });
  const explain = await (await fetch('/fixtures/tpch_q5.explain-analyze.json')).text();
  check('EXPLAIN ANALYZE import (TPC-H Q5)', () => {
    const dag = WasmDag.fromExplain(explain);
    const { path, cost } = dag.criticalPath();
    const cut = dag.mincut();
    document.getElementById('plan').textContent =
      `TPC-H Q5: ${dag.nodeCount} operators, execution ${dag.executionTimeMs} ms, critical path ${[...path].join('->')} ` +
      `(cost ${cost.toFixed(1)}), bottleneck cut [${[...cut.cutNodes]}], tension ${cut.tension.toFixed(3)}`;
    expect(dag.nodeCount >= 10 && dag.executionTimeMs > 0, 'a real plan');
    dag.free();
    return `${path.length}-node critical path`;
  });
  check('bad input throws Errors, never traps', () => {
    const dag = plan();
    const msgs = [
      expectError(() => dag.addNode('Seq Scan', NaN), /NaN/),
      expectError(() => dag.addNode('Seq Scan', -1), /finite/),
      expectError(() => dag.addEdge(0, 42), /unknown node 42/),
      expectError(() => new WasmDag().criticalPath(), /empty/),
      expectError(() => WasmDag.fromBytes(dag.toBytes().slice(0, 20)), /./),
      expectError(() => WasmDag.fromJSON('{"format":"ruvector-dag","version":1,"id_bound":2,"nodes":[{"id":0,"type":"Hash"},{"id":1,"type":"Hash"}],"edges":[[0,1],[1,0]]}'), /cycle/),
    ];
    expect(dag.criticalPath().cost === 146, 'instance still healthy');
    dag.free();
    return msgs.length + ' errors';
  });
  check('10,000-node chain: topoSort and criticalPath', () => {
    const dag = new WasmDag();
    for (let i = 0; i < 10000; ++i) dag.addNode('Filter', 1);
    for (let i = 0; i + 1 < 10000; ++i) dag.addEdge(i, i + 1);
    let t = performance.now();
    const order = dag.topoSort();
    const topoMs = performance.now() - t;
    t = performance.now();
    const cp = dag.criticalPath();
    const cpMs = performance.now() - t;
    expect(order.length === 10000 && cp.path.length === 10000 && cp.cost === 10000, 'full chain');
    dag.free();
    return `topoSort ${topoMs.toFixed(2)} ms, criticalPath ${cpMs.toFixed(2)} ms`;
  });

  const failed = results.filter((r) => !r.ok).length;
  const ul = document.getElementById('results');
  for (const r of results) {
    const li = document.createElement('li');
    li.className = r.ok ? 'pass' : 'fail';
    li.textContent = `${r.ok ? 'PASS' : 'FAIL'} ${r.name}${r.detail ? ': ' + r.detail : ''}`;
    ul.appendChild(li);
  }
  document.getElementById('summary').textContent = `${results.length - failed} passed, ${failed} failed`;
  window.__results = { results, failed, userAgent: navigator.userAgent };
}

main().catch((err) => {
  results.push({ name: 'page', ok: false, detail: String(err && err.stack || err) });
  window.__results = { results, failed: results.filter((r) => !r.ok).length };
});
