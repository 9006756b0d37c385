// A deterministic document of awkward doubles for the JSON writer's test:
// random bit patterns over the whole exponent range (subnormals included),
// decimal fractions, products and sums as cost arithmetic makes them, and
// float embeddings. scripts/expected_from_cli.mjs records what the native CLI
// writes for it; test/formats.test.mjs checks the wrapper writes the same.
export function doublesDocument(count = 500) {
  let state = 0x9e3779b97f4a7c15n;
  const next = () => {  // xorshift64*
    state ^= state >> 12n;
    state ^= (state << 25n) & 0xffffffffffffffffn;
    state ^= state >> 27n;
    return (state * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
  };
  const view = new DataView(new ArrayBuffer(8));
  const value = (kind) => {
    const r = next();
    switch (kind % 5) {
      case 0: {  // any finite non-negative double
        view.setBigUint64(0, r & 0x7fffffffffffffffn);
        const v = view.getFloat64(0);
        return Number.isFinite(v) ? v : 1;
      }
      case 1: return Number(r % 100000000n) / 100;
      case 2: return Number(r % 1000000n) * 0.1;
      case 3: return (Number(r % 1000n) + 0.1) * (Number((r >> 20n) % 1000n) + 0.7);
      default: return Number(r >> 11n) * 2 ** (Number((r >> 3n) % 200n) - 150);
    }
  };
  const nodes = [];
  for (let id = 0; id < count; ++id) {
    nodes.push({
      id, type: 'Seq Scan', estimated_rows: value(id), estimated_cost: value(id + 1), startup_cost: value(id + 2),
      total_cost: value(id + 3), width: value(id + 4), actual_rows: value(id + 1), actual_time_ms: value(id + 2),
      actual_loops: value(id + 3), embedding: [value(1), value(2), value(4)].map((v) => Math.fround(Math.min(v, 3e38))),
    });
  }
  return { format: 'ruvector-dag', version: 1, id_bound: count, nodes, edges: [] };
}
