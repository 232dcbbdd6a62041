/**
 * The wasm backend's heap (engine/wasm/heap.ts): one WebAssembly memory for every kernel module,
 * an allocator over it, and matrices that live in it while the wasm backend is selected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { addBias, gemm, jsBackend, Matrix, registerBackend, releaseMatrix, Rng, setBackend } from '../../engine/index.js';
import { createWasmBackend, initWasmBackend, WasmHeap, type WasmBackend } from '../../engine/wasm/index.js';
import { ALIGN_FLOATS } from '../../engine/wasm/heap.js';

afterEach(() => { setBackend('js'); });

describe('WasmHeap allocator', () => {
  it('hands out zeroed, cache-line aligned, disjoint blocks and reuses freed ones (best fit, merged neighbours)', () => {
    const heap = new WasmHeap();
    const a = heap.allocFloats(10), b = heap.allocFloats(100), c = heap.allocFloats(5);
    for (const start of [a, b, c]) expect(start % ALIGN_FLOATS).toBe(0);
    expect(b).toBeGreaterThanOrEqual(a + 16);
    expect(c).toBeGreaterThanOrEqual(b + 112);
    heap.f32.fill(7, b, b + 100);
    heap.freeFloats(b);
    const d = heap.allocFloats(20); // fits in b's block: reused, and zeroed
    expect(d).toBe(b);
    expect(Array.from(heap.f32.subarray(d, d + 20)).every((v) => v === 0)).toBe(true);
    heap.freeFloats(a);
    heap.freeFloats(d);
    // a and d (and the rest of b's block) are neighbours now: one free block of 16 + 112 floats
    expect(heap.allocFloats(128)).toBe(a);
    expect(heap.blockCount).toBe(2);
  });

  it('releasing the top block gives the space back to the top; a second release is ignored', () => {
    const heap = new WasmHeap();
    const a = heap.allocFloats(64);
    const b = heap.allocFloats(64);
    heap.freeFloats(b);
    heap.freeFloats(b);
    expect(heap.allocFloats(64)).toBe(b);
    expect(heap.bytesInUse).toBe(4 * 128);
    heap.freeFloats(a);
    expect(heap.bytesInUse).toBe(4 * 64);
  });

  it('a shared memory grows without detaching: arrays from before stay valid and are still recognised', () => {
    const heap = new WasmHeap({ initialPages: 1 });
    expect(heap.shared).toBe(true); // Node has SharedArrayBuffer
    const early = heap.allocArray(100)!;
    early.fill(3);
    const big = heap.allocArray(200_000)!; // 800 KB: more than one page, so the memory grows
    expect(heap.growCount).toBeGreaterThan(0);
    expect(early.length).toBe(100);
    expect(early[99]).toBe(3);
    expect(heap.offsetOf(early)).toBe(early.byteOffset / 4);
    expect(heap.offsetOf(big)).toBe(big.byteOffset / 4);
    expect(heap.f32[heap.offsetOf(early) + 5]).toBe(3); // the same bytes through the new view
    expect(heap.offsetOf(new Float32Array(4))).toBe(-1);
    expect(heap.offsetOf(new Float64Array(4))).toBe(-1);
  });

  it('an ordinary (non-shared) memory keeps matrices out: allocArray returns null, scratch blocks still work', () => {
    const heap = new WasmHeap({ shared: 'off' });
    expect(heap.shared).toBe(false);
    expect(heap.allocArray(10)).toBeNull();
    const start = heap.allocFloats(300_000); // grows (and detaches the old buffer)
    expect(heap.f32.length).toBeGreaterThanOrEqual(start + 300_000);
  });

  it('release gives a block back at once; only arrays from this heap are taken', () => {
    const heap = new WasmHeap();
    const a = heap.allocArray(50)!;
    expect(heap.blockCount).toBe(1);
    expect(heap.release(new Float32Array(50))).toBe(false);
    expect(heap.release(a)).toBe(true);
    expect(heap.blockCount).toBe(0);
    expect(heap.release(a)).toBe(false);
  });

  it('a dropped array gives its block back after garbage collection', async () => {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const heap = new WasmHeap();
    const kept = heap.allocArray(100)!;
    (() => { heap.allocArray(50_000)!.fill(1); })(); // dropped at once
    expect(heap.blockCount).toBe(2);
    for (let tries = 0; tries < 50 && heap.blockCount > 1; tries++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 5)); // finalizers run in a later task
    }
    expect(heap.blockCount).toBe(1);
    expect(heap.offsetOf(kept)).toBeGreaterThanOrEqual(0);
  });

  it('past its maximum the heap says so: allocArray returns null (callers fall back), allocFloats throws', () => {
    const heap = new WasmHeap({ initialPages: 1, maximumPages: 2 });
    expect(heap.allocArray(100_000)).toBeNull(); // 400 KB > 128 KiB
    expect(() => heap.allocFloats(100_000)).toThrow(/more bytes of WebAssembly memory are needed/);
  });

  it('a region heap over the same memory allocates only inside its region and never grows it', () => {
    const main = new WasmHeap();
    const region = main.reserveRegion(1000);
    const worker = new WasmHeap({ memory: main.memory, region });
    const x = worker.allocFloats(500), y = worker.allocFloats(400);
    for (const s of [x, y]) {
      expect(s).toBeGreaterThanOrEqual(region.start);
      expect(s + 400).toBeLessThanOrEqual(region.end);
    }
    expect(() => worker.allocFloats(500)).toThrow(/more bytes/);
    const inMain = main.allocFloats(1000);
    expect(inMain >= region.end || inMain + 1000 <= region.start).toBe(true);
    const array = worker.allocArray(16)!;
    expect(main.offsetOf(array)).toBe(worker.offsetOf(array)); // one memory, seen by both
  });
});

describe('matrices in wasm memory', () => {
  it('Matrix.zeros takes float32 storage from the heap while wasm is selected; js and float64 keep plain arrays', async () => {
    const backend = (await initWasmBackend()) as WasmBackend;
    setBackend('wasm');
    const inHeap = Matrix.zeros(3, 4);
    const f64 = Matrix.zeros(3, 4, 'float64');
    setBackend('js');
    const plain = Matrix.zeros(3, 4);
    expect(backend.heap.offsetOf(inHeap.data)).toBeGreaterThanOrEqual(0);
    expect(Array.from(inHeap.data)).toEqual(new Array(12).fill(0));
    expect(backend.heap.offsetOf(plain.data)).toBe(-1);
    expect(f64.data).toBeInstanceOf(Float64Array);
    // views of a heap matrix are in the heap too, and js code works on them as on any Float32Array
    inHeap.rowView(1).set(0, 2, 5);
    expect(backend.heap.offsetOf(inHeap.colView(1, 2).data)).toBe(backend.heap.offsetOf(inHeap.data));
    expect(inHeap.clone().get(1, 2)).toBe(5);
  });

  it('releaseMatrix frees a heap matrix now; plain matrices are left to the garbage collector', async () => {
    const backend = (await initWasmBackend()) as WasmBackend;
    setBackend('wasm');
    const m = Matrix.zeros(100, 100);
    const before = backend.heap.bytesInUse;
    expect(releaseMatrix(m)).toBe(true);
    expect(backend.heap.bytesInUse).toBe(before - 4 * 10_000);
    setBackend('js');
    expect(releaseMatrix(Matrix.zeros(2, 2))).toBe(false);
  });
});

describe('without shared memory (a browser page that is not cross-origin isolated)', () => {
  it('matrices keep plain arrays and every kernel still works, through copies or the js kernels', () => {
    const backend = createWasmBackend({ relaxedSimd: false, name: 'wasm ordinary memory', sharedMemory: 'off' });
    expect(backend.heap.shared).toBe(false);
    expect(backend.allocateFloat32).toBeUndefined();
    registerBackend(backend);
    const rng = new Rng(8);
    const fill = (m: Matrix) => { for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniformIn(-1, 1); return m; };
    setBackend(backend.name);
    const a = fill(Matrix.zeros(40, 30)), b = fill(Matrix.zeros(30, 24)), bias = fill(Matrix.zeros(1, 24));
    expect(backend.heap.offsetOf(a.data)).toBe(-1);
    const c = Matrix.zeros(40, 24);
    gemm(c, a, b);
    addBias(c, c, bias);
    setBackend('js');
    const ref = Matrix.zeros(40, 24);
    gemm(ref, a, b);
    addBias(ref, ref, bias);
    let worst = 0;
    for (let i = 0; i < ref.data.length; i++) worst = Math.max(worst, Math.abs(c.data[i] - ref.data[i]));
    expect(worst).toBeLessThan(1e-5);
    expect(backend.sgemm.copyCount).toBeGreaterThan(0);
    expect(backend.vectors.jsCalls).toBe(1);
    expect(jsBackend.name).toBe('js');
  });
});
