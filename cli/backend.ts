/**
 * The `--backend wasm|js` flag. Every command runs on the fastest backend by default (the engine's default: wasm
 * where WebAssembly SIMD exists, see engine/wasm/index.ts); `main` calls `prepareBackends` first so that default
 * uses relaxed SIMD where it can be switched on; `--backend` overrides, and `--json` output names the one used.
 */
import type { FlagSpec } from './args.js';
import { backendName, setBackend } from '../engine/backend.js';
import { enableRelaxedSimd, initWasmBackend } from '../engine/wasm/index.js';

/** The flag, the same in every command that has it. */
export const BACKEND_FLAG: FlagSpec = {
  type: 'string', description: 'GEMM backend (wasm falls back to js where WebAssembly SIMD is missing)', choices: ['wasm', 'js'], default: 'wasm',
};

/** Before any command: switch relaxed SIMD on (Node 20 has it behind a V8 flag) so the default wasm backend fuses its multiply-adds. */
export async function prepareBackends(): Promise<void> {
  await enableRelaxedSimd();
}

/** Select the GEMM backend: 'wasm' (WebAssembly SIMD; falls back to js with a notice) or 'js'. Returns the one in use. */
export async function selectBackend(name: string): Promise<string> {
  if (name === 'wasm') {
    const backend = await initWasmBackend({ notice: (line) => console.error(line) });
    setBackend(backend.name);
    return backendName();
  }
  setBackend('js');
  return 'js';
}
