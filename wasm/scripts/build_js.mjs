// Assembles dist/ from js/ and the emscripten output:
//   node scripts/build_js.mjs <path to ruvector_dag.wasm>
// Copies the .wasm and the entry points and minifies the core with terser
// (a devDependency, wasm/package-lock.json): the package's size budget
// (58 KB gzipped, docs/wasm.md) counts the JS too. There is one core, an ES
// module; the CommonJS entry require()s it. The readable source is wasm/js/.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
for (const f of ['node.mjs', 'node.cjs', 'browser.mjs', 'compat_node.mjs', 'compat.cjs']) copyFileSync(join(root, 'js', f), join(dist, f));
copyFileSync(wasmPath, join(dist, 'ruvector_dag.wasm'));

const sizes = [];
for (const [file, types] of [['ruvector_dag.mjs', 'index.d.ts'], ['compat.mjs', 'compat.d.ts']]) {
  const source = readFileSync(join(root, 'js', file), 'utf8');
  const minified = await minify(source, {
    module: true,
    ecma: 2022,
    compress: { passes: 2 },
    mangle: true,
    keep_classnames: true,
    format: { preamble: `// @ruvector/dag-wasm: built from wasm/js/${file} (minified); types in ${types}.` },
  });
  writeFileSync(join(dist, file), minified.code + '\n');
  sizes.push(`${file} ${source.length} B -> ${minified.code.length} B`);
}
rmSync(join(dist, 'ruvector_dag.cjs'), { force: true });  // left by older builds
console.log(`build_js: dist/ assembled; minified ${sizes.join(', ')}`);
