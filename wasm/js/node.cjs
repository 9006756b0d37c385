'use strict';
// Node CommonJS entry: loads the module synchronously on require. The core is
// the ES module itself, loaded with require() of an ES module (Node >= 20.19
// or 22.12), so the package ships one copy of it (docs/wasm.md, "Size").
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const api = require('./ruvector_dag.mjs');

api.initSync(readFileSync(join(__dirname, 'ruvector_dag.wasm')));

module.exports = api;
