// Assembles dist/ from js/ and the emscripten output:
//   node scripts/build_js.mjs <path to ruvector_dag.wasm>
// Copies the .wasm and the entry points, derives ruvector_dag.cjs from
// ruvector_dag.mjs (each top-level `export function|class|const NAME` loses
// its `export` keyword and NAME is collected into module.exports; the source
// must not use import/export in any other form, which is checked here), and
// minifies both cores with terser (a devDependency, wasm/package-lock.json):
// the package's size budget (58 KB gzipped, docs/wasm.md) counts the JS too.
// The readable source is wasm/js/.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { minify } from 'terser';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wasmPath = process.argv[2];
if (!wasmPath) {
  console.error('usage: node scripts/build_js.mjs <ruvector_dag.wasm>');
  process.exit(2);
}
const dist = join(root, 'dist');
mkdirSync(dist, { recursive: true });
for (const f of ['node.mjs', 'node.cjs', 'browser.mjs']) copyFileSync(join(root, 'js', f), join(dist, f));
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
const cjs = `'use strict';\n${body}\nmodule.exports = { ${names.join(', ')} };\n`;

const preamble = '// @ruvector/dag-wasm: built from wasm/js/ruvector_dag.mjs (minified); types in index.d.ts.';
const options = (module) => ({
  module,
  toplevel: true,
  ecma: 2022,
  compress: { passes: 2 },
  mangle: true,
  keep_classnames: true,
  format: { preamble },
});
const esm = await minify(source, options(true));
const common = await minify(cjs, options(false));
writeFileSync(join(dist, 'ruvector_dag.mjs'), esm.code + '\n');
writeFileSync(join(dist, 'ruvector_dag.cjs'), common.code + '\n');
console.log(`build_js: dist/ with ${names.length} exports (${names.join(', ')}); ` +
  `core ${source.length} B -> ${esm.code.length} B minified`);
