'use strict';
// Node CommonJS entry of @ruvector/dag-wasm/compat (the original's names).
require('./node.cjs');
module.exports = require('./compat.mjs');
