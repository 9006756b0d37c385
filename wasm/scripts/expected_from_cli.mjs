// Writes what the native CLI (the C++ library) makes of every document the
// node tests feed the wrapper: for each file of tests/fixtures/explain (the 60
// PostgreSQL 15 plans), examples/ and fuzz/corpus/{explain,json,rust_json},
// and for the generated document of test/doubles_doc.mjs (row
// "generated:doubles"), the SHA-256 of `ruvector-dag convert FILE --to binary`, of `--to json`
// and of `--to json --pretty` (without the CLI's trailing newline), or
// "rejected" when the CLI refuses the file.
//   node scripts/expected_from_cli.mjs <path to ruvector-dag> > test/expected_cli.tsv
// test/formats.test.mjs compares the wrapper's output with this table;
// scripts/wasm_test.sh regenerates it when a native CLI is present and fails
// if the committed table is stale.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { doublesDocument } from '../test/doubles_doc.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = process.argv[2];
if (!cli) {
  console.error('usage: node scripts/expected_from_cli.mjs <ruvector-dag>');
  process.exit(2);
}

function documents() {
  const files = [];
  const add = (dir, filter) => {
    for (const f of readdirSync(join(repo, dir)).sort()) if (filter(f)) files.push(`${dir}/${f}`);
  };
  add('tests/fixtures/explain', (f) => f.endsWith('.json'));
  add('examples', (f) => f.endsWith('.json'));
  for (const dir of ['explain', 'json', 'rust_json']) add(`fuzz/corpus/${dir}`, () => true);
  return files;
}

const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
const scratch = mkdtempSync(join(tmpdir(), 'rvd-expected-'));
const generated = { 'generated:doubles': join(scratch, 'doubles.json') };
writeFileSync(generated['generated:doubles'], JSON.stringify(doublesDocument()));
function convert(file, ...args) {
  const path = generated[file] ?? join(repo, file);
  const r = spawnSync(cli, ['convert', path, '-', ...args], { maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  return r.status === 0 ? r.stdout : null;
}

const lines = ['# file\tbinary sha256\tjson sha256\tpretty json sha256 (or "rejected"); by scripts/expected_from_cli.mjs'];
for (const file of [...documents(), ...Object.keys(generated)]) {
  const binary = convert(file, '--to', 'binary');
  if (binary === null) {
    lines.push(`${file}\trejected`);
    continue;
  }
  const strip = (b) => (b[b.length - 1] === 0x0a ? b.subarray(0, b.length - 1) : b);
  const json = strip(convert(file, '--to', 'json'));
  const pretty = strip(convert(file, '--to', 'json', '--pretty'));
  lines.push(`${file}\t${sha(binary)}\t${sha(json)}\t${sha(pretty)}`);
}
rmSync(scratch, { recursive: true, force: true });
process.stdout.write(lines.join('\n') + '\n');
