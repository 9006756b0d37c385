// Node ESM entry: loads the module synchronously on import.
import { readFileSync } from 'node:fs';
import { initSync } from './ruvector_dag.mjs';

initSync(readFileSync(new URL('./ruvector_dag.wasm', import.meta.url)));

export * from './ruvector_dag.mjs';
