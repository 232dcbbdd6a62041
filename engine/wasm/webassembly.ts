/**
 * The part of the WebAssembly JavaScript API that the engine uses, typed here because the
 * project's TypeScript libs (ES2022 + node) do not declare the `WebAssembly` global and the engine
 * must not pull in the DOM typings. `webAssembly()` returns the global, or null where the host has
 * no WebAssembly at all.
 */

export interface WasmMemory {
  /** An ArrayBuffer, or a SharedArrayBuffer for a shared memory (which `grow` never detaches). */
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(deltaPages: number): number;
}

export interface WasmMemoryDescriptor {
  initial: number;
  maximum?: number;
  shared?: boolean;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}

export interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports?: Record<string, Record<string, unknown>>) => WasmInstance;
  Memory: new (descriptor: WasmMemoryDescriptor) => WasmMemory;
}

export function webAssembly(): WebAssemblyApi | null {
  const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  return api && typeof api.validate === 'function' ? api : null;
}

/**
 * Compile and instantiate `bytes` (synchronously: the kernels are a few kilobytes). `memory` is
 * what a module that imports its memory gets as `env.memory`.
 */
export function instantiate(bytes: Uint8Array, what: string, memory?: WasmMemory): WasmInstance {
  const api = webAssembly();
  if (!api) throw new Error(`${what}: this JavaScript engine has no WebAssembly`);
  return new api.Instance(new api.Module(bytes), memory ? { env: { memory } } : {});
}
