// Node ESM entry of @ruvector/dag-wasm/compat: loads the module, then the
// original's names (compat.mjs).
import './node.mjs';

export * from './compat.mjs';
export { default } from './compat.mjs';
