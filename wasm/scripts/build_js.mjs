// Assembles dist/ from js/ and the emscripten output:
//   node scripts/build_js.mjs <path to ruvector_dag.wasm>
// Copies the ESM sources and the .wasm, and derives ruvector_dag.cjs from
// ruvector_dag.mjs: each top-level `export function|class|const NAME` loses
// its `export` keyword and NAME is collected into module.exports. The source
// must not use import/export in any other form; that is checked here.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wasmPath = process.argv[2];
if (!wasmPath) {
  console.error('usage: node scripts/build_js.mjs <ruvector_dag.wasm>');
  process.exit(2);
}
const dist = join(root, 'dist');
mkdirSync(dist, { recursive: true });
for (const f of ['ruvector_dag.mjs', 'node.mjs', 'node.cjs', 'browser.mjs']) {
  copyFileSync(join(root, 'js', f), join(dist, f));
}
copyFileSync(wasmPath, join(dist, 'ruvector_dag.wasm'));

const source = readFileSync(join(root, 'js', 'ruvector_dag.mjs'), 'utf8');
const names = [];
const body = source.replace(/^export (async function|function|class|const) ([A-Za-z_$][\w$]*)/gm, (_, kind, name) => {
  names.push(name);
  return `${kind} ${name}`;
});
if (/^\s*(import|export)\b/m.test(body)) {
  console.error('build_js: ruvector_dag.mjs uses an import/export form the CommonJS conversion does not handle');
  process.exit(1);
}
writeFileSync(join(dist, 'ruvector_dag.cjs'),
  `'use strict';\n// Generated from ruvector_dag.mjs by scripts/build_js.mjs; do not edit.\n${body}\n` +
  `module.exports = { ${names.join(', ')} };\n`);
console.log(`build_js: dist/ with ${names.length} exports (${names.join(', ')})`);
