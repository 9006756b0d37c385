// Browser (and other ESM) entry: `await init()` fetches ruvector_dag.wasm next
// to this file, or pass a URL, Response, bytes or WebAssembly.Module.
import { init as initFrom } from './ruvector_dag.mjs';

export * from './ruvector_dag.mjs';

export function init(source = new URL('./ruvector_dag.wasm', import.meta.url)) {
  return initFrom(source);
}
