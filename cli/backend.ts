/** The `--backend wasm|js` flag of the training commands. */
import { setBackend } from '../engine/backend.js';
import { initWasmBackend } from '../engine/wasm/index.js';

/** Select the GEMM backend: 'wasm' (WebAssembly SIMD; falls back to js with a notice) or 'js'. Returns the one in use. */
export async function selectBackend(name: string): Promise<string> {
  if (name === 'wasm') {
    const backend = await initWasmBackend({ notice: (line) => console.error(line) });
    setBackend(backend.name);
    return backend.name;
  }
  setBackend('js');
  return 'js';
}
