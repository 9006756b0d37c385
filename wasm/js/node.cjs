'use strict';
// Node CommonJS entry: loads the module synchronously on require.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const api = require('./ruvector_dag.cjs');

api.initSync(readFileSync(join(__dirname, 'ruvector_dag.wasm')));

module.exports = api;
