/**
 * The wasm backend's one WebAssembly memory and the allocator over it. Every kernel module (GEMM,
 * gates, vector kernels) imports this memory, and on the wasm backend `Matrix.zeros` takes its float32
 * storage from here (`allocArray`): parameters, gradients, optimizer state and workspaces then lie
 * where the kernels work, and a kernel recognises such an operand (`offsetOf`) and uses it in place
 * — no copy in, no copy out. Any other array (a user's, a view of a JS array, float64) takes the
 * kernels' copy path as before.
 *
 * Shared or not. Where the host has SharedArrayBuffer (Node; browsers when cross-origin isolated)
 * the memory is created `shared: true`. Growing a shared memory never detaches its buffer: every
 * Float32Array already handed out stays valid, and `memory.buffer` returns a new, longer
 * SharedArrayBuffer over the same bytes (so `offsetOf` knows every buffer object it has seen).
 * Without it the memory is an ordinary one, whose growth DETACHES every view: then `allocArray`
 * returns null (matrices keep plain JS arrays and the copy path), and only the kernels' own scratch
 * lives here, re-viewed after each growth (`f32`).
 *
 * The allocator hands out blocks of whole cache lines (16 floats, 64 bytes): best fit from a list
 * of free blocks kept sorted by address and merged with their neighbours on release, else from the
 * top, growing the memory when the top reaches its end. A block comes back
 *   - when its array is garbage collected (a FinalizationRegistry; its callback runs some time
 *     after the collection). V8 does not count WebAssembly memory towards its collection
 *     heuristics, so a large block carries an untouched ArrayBuffer of its size (`Held`), which V8
 *     does count: dropping models in a loop then keeps the memory near what is in use (measured:
 *     ~0.3 GB instead of ~1.2 GB for 400 dropped 2 MB LSTM cells);
 *   - at once by `release(array)` (`releaseMatrix` in matrix.ts): after that no view of the array
 *     may be used.
 * Only the array object returned by `allocArray` keeps its block: a `subarray` of it, or a second
 * Float32Array made over the same bytes, does not (Matrix views share `data`, which is the array,
 * so they are safe). Where the memory would pass its maximum, `allocArray` returns null and the
 * caller falls back to a JS array: allocation never fails for want of wasm memory.
 *
 * Regions (for data-parallel worker threads): `reserveRegion(floats)` takes a block out of this
 * allocator for good; a worker builds `new WasmHeap({ memory, region })` over the same shared
 * memory, which allocates only inside that block and never grows the memory, and builds its own
 * kernel instances on it (createWasmBackend({ heap })). Its scratch and workspaces then never collide
 * with the main thread's, while both see the weights the main thread allocated.
 */
import type { FloatArray } from '../matrix.js';
import { webAssembly, type WasmMemory } from './webassembly.js';

export const PAGE_BYTES = 65536;
/** Addresses are i32 in the kernels and compared signed in places: stay below 2 GiB. */
export const MAX_PAGES = 32767;
/** Blocks start and end on whole cache lines. */
export const ALIGN_FLOATS = 16;

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;

/** The import a kernel module declares for this memory (its limits must admit any heap's). */
export interface HeapImport {
  shared: boolean;
}

export interface WasmHeapOptions {
  /** 'auto' (default): a shared memory where the host has SharedArrayBuffer; 'off': an ordinary one. */
  shared?: 'auto' | 'off';
  /** Pages (64 KiB) at creation (default 16) and the most it may grow to (default 32767, just under 2 GiB). */
  initialPages?: number;
  maximumPages?: number;
  /**
   * Work in an existing shared memory, allocating only in floats [region.start, region.end) of it
   * (a worker's arena from `reserveRegion`); such a heap never grows the memory.
   */
  memory?: WasmMemory;
  region?: { start: number; end: number };
}

type SharedArrayBufferCtor = new (length: number) => SharedArrayBuffer;

/**
 * What the finalization registry holds for a block: its start, and for a large block an untouched
 * ArrayBuffer of the same size. V8 does not see WebAssembly memory; it does count ArrayBuffers as
 * external memory and collects garbage sooner when they grow — so the ballast makes dropped matrices
 * come back about as soon as plain Float32Arrays would. It is never written: for large sizes its
 * pages are never touched (calloc'd from mmap), so it takes address space, not memory.
 */
interface Held {
  start: number;
  pressure: ArrayBuffer | null;
}

/** Blocks from this size (64 KiB) up carry the ballast; smaller ones weigh little either way. */
const PRESSURE_FLOATS = 16384;

function sharedArrayBufferCtor(): SharedArrayBufferCtor | null {
  const ctor = (globalThis as { SharedArrayBuffer?: SharedArrayBufferCtor }).SharedArrayBuffer;
  return typeof ctor === 'function' ? ctor : null;
}

/** A new memory: shared when asked and possible (trying smaller maxima where address space is short), else ordinary. */
function createMemory(shared: boolean, initial: number, maximum: number): { memory: WasmMemory; shared: boolean } {
  const api = webAssembly();
  if (!api) throw new Error('WasmHeap: this JavaScript engine has no WebAssembly');
  if (shared && sharedArrayBufferCtor()) {
    for (let max = maximum; max >= initial && max >= 256; max = Math.floor(max / 4)) {
      try {
        const memory = new api.Memory({ initial, maximum: max, shared: true });
        if (sharedArrayBufferCtor() && memory.buffer instanceof sharedArrayBufferCtor()!) return { memory, shared: true };
      } catch {
        // no shared memories here, or not this large: try smaller, then an ordinary memory
      }
    }
  }
  return { memory: new api.Memory({ initial }), shared: false };
}

export class WasmHeap {
  readonly memory: WasmMemory;
  /** True for a shared memory: arrays handed out never detach, so matrices may live here. */
  readonly shared: boolean;
  /** The largest the memory may grow to, in pages. */
  readonly maximumPages: number;
  /** How many times this heap grew the memory. */
  growCount = 0;

  private view: Float32Array;
  /** Every buffer object of this memory seen so far (a shared memory gets a new one per growth); newest last. */
  private readonly buffers: (ArrayBuffer | SharedArrayBuffer)[] = [];
  private lastBuffer: ArrayBuffer | SharedArrayBuffer;
  /** Floats [start, end) are this heap's to allocate; `top` is the first never-allocated float. */
  private readonly start: number;
  private end: number;
  private readonly growable: boolean;
  private top: number;
  /** Free blocks below `top`, sorted by start, never adjacent to each other (merged on release). */
  private readonly freeStarts: number[] = [];
  private readonly freeSizes: number[] = [];
  /**
   * Size of every block handed out, at (start − this.start) / ALIGN_FLOATS (0: no block starts
   * there) — a typed array, not a Map, so that allocating and releasing make no garbage.
   */
  private liveSizes = new Int32Array(0);
  private liveCount = 0;
  private liveTotal = 0;
  private readonly registry: FinalizationRegistry<Held> | null;

  constructor(options: WasmHeapOptions = {}) {
    const initial = options.initialPages ?? 16;
    const maximum = Math.min(options.maximumPages ?? MAX_PAGES, MAX_PAGES);
    if (options.memory) {
      if (!options.region) throw new Error('WasmHeap: a heap over an existing memory needs its region { start, end }');
      this.memory = options.memory;
      this.shared = sharedArrayBufferCtor() !== null && options.memory.buffer instanceof sharedArrayBufferCtor()!;
      this.maximumPages = Math.floor(options.memory.buffer.byteLength / PAGE_BYTES);
      this.start = roundUp(options.region.start, ALIGN_FLOATS);
      this.end = options.region.end;
      this.growable = false;
      if (this.end * 4 > options.memory.buffer.byteLength || this.start > this.end) {
        throw new Error(`WasmHeap: region [${options.region.start}, ${options.region.end}) lies outside the memory of ${options.memory.buffer.byteLength / 4} floats`);
      }
    } else {
      const created = createMemory(options.shared !== 'off', initial, maximum);
      this.memory = created.memory;
      this.shared = created.shared;
      this.maximumPages = maximum;
      this.start = 0;
      this.end = this.memory.buffer.byteLength / 4;
      this.growable = true;
    }
    this.top = this.start;
    this.liveSizes = new Int32Array(Math.ceil((this.end - this.start) / ALIGN_FLOATS));
    this.lastBuffer = this.memory.buffer;
    this.buffers.push(this.lastBuffer);
    this.view = new Float32Array(this.lastBuffer);
    const Registry = (globalThis as { FinalizationRegistry?: typeof FinalizationRegistry }).FinalizationRegistry;
    this.registry = this.shared && Registry ? new Registry<Held>((held) => this.freeFloats(held.start)) : null;
  }

  /** What a kernel module must declare to import this memory. */
  get importSpec(): HeapImport {
    return { shared: this.shared };
  }

  /**
   * A float32 view of the whole memory as this heap last grew it (fetch it after any allocation:
   * growth makes a new one). Only this heap grows the memory it allocates in (a region heap never
   * does), so no `memory.buffer` call is needed here — that getter is slow for a hot path.
   */
  get f32(): Float32Array {
    return this.view;
  }

  /** Bytes of memory the heap has now (all of it, for the main heap). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes in blocks handed out and not yet released. */
  get bytesInUse(): number {
    return 4 * this.liveTotal;
  }

  /** Blocks handed out and not yet released. */
  get blockCount(): number {
    return this.liveCount;
  }

  /**
   * The index in `f32` of array[0] when `array` lies in this memory, else −1 (float64 arrays,
   * JS arrays, other memories). A few identity comparisons: cheap enough for every kernel call.
   */
  offsetOf(array: FloatArray): number {
    if (array.BYTES_PER_ELEMENT !== 4) return -1;
    const buffer = array.buffer;
    if (buffer === this.lastBuffer) return array.byteOffset >>> 2;
    return this.offsetInOlderBuffer(array, buffer);
  }

  private offsetInOlderBuffer(array: FloatArray, buffer: ArrayBufferLike): number {
    for (let i = this.buffers.length - 2; i >= 0; i--) if (this.buffers[i] === buffer) return array.byteOffset >>> 2;
    // another thread may have grown a shared memory: look at the current buffer once
    const current = this.memory.buffer;
    if (current !== this.lastBuffer && current === buffer) {
      this.adopt(current);
      return array.byteOffset >>> 2;
    }
    return -1;
  }

  /**
   * A zeroed Float32Array of n floats in this memory, released when it is garbage collected (or by
   * `release`). null where matrices cannot live here (an ordinary memory, whose growth would detach
   * the array) or the memory is full: the caller then uses a JS array.
   */
  allocArray(n: number): Float32Array | null {
    if (!this.shared || n === 0) return null;
    const start = this.allocFloats(n, false);
    if (start < 0) return null;
    const array = new Float32Array(this.lastBuffer, 4 * start, n);
    this.registry?.register(array, { start, pressure: n >= PRESSURE_FLOATS ? new ArrayBuffer(4 * n) : null }, array);
    return array;
  }

  /** Give the block of an array from `allocArray` back now; false when it is not one. */
  release(array: FloatArray): boolean {
    const start = this.offsetOf(array);
    if (this.sizeOf(start) === 0) return false;
    this.registry?.unregister(array);
    this.freeFloats(start);
    return true;
  }

  /**
   * A block of n floats (a whole number of cache lines) for a kernel's scratch, zeroed unless
   * `zeroed` is false (the caller overwrites it); returns its start index in `f32`. Throws when the
   * memory cannot hold it (or returns −1 with `orThrow` false).
   */
  allocFloats(n: number, orThrow = true, zeroed = true): number {
    const size = roundUp(Math.max(n, 1), ALIGN_FLOATS);
    let start = this.takeFree(size);
    if (start < 0) {
      if (this.top + size > this.end && !this.grow(this.top + size)) {
        if (!orThrow) return -1;
        throw new Error(`wasm heap: ${4 * size} more bytes of WebAssembly memory are needed than the ${4 * (this.end - this.top)} left (at most ${this.maximumPages} pages of 64 KiB)`);
      }
      start = this.top;
      this.top += size;
    }
    this.liveSizes[(start - this.start) / ALIGN_FLOATS] = size;
    this.liveCount++;
    this.liveTotal += size;
    if (zeroed) this.view.fill(0, start, start + size);
    return start;
  }

  /** Release a block from allocFloats / allocArray by its start (a second release is ignored). */
  freeFloats(start: number): void {
    const size = this.sizeOf(start);
    if (size === 0) return;
    this.liveSizes[(start - this.start) / ALIGN_FLOATS] = 0;
    this.liveCount--;
    this.liveTotal -= size;
    this.insertFree(start, size);
  }

  /** The size of the live block starting at `start`, or 0 when none does. */
  private sizeOf(start: number): number {
    const i = (start - this.start) / ALIGN_FLOATS;
    return Number.isInteger(i) && i >= 0 && i < this.liveSizes.length ? this.liveSizes[i] : 0;
  }

  /** Take n floats out of this heap for good, for a worker's `new WasmHeap({ memory, region })`. */
  reserveRegion(floats: number): { start: number; end: number } {
    const start = this.allocFloats(floats);
    return { start, end: start + roundUp(floats, ALIGN_FLOATS) };
  }

  /** Best fit among the free blocks; −1 when none is large enough. */
  private takeFree(size: number): number {
    let best = -1;
    for (let i = 0; i < this.freeSizes.length; i++) {
      const s = this.freeSizes[i];
      if (s >= size && (best < 0 || s < this.freeSizes[best])) {
        best = i;
        if (s === size) break;
      }
    }
    if (best < 0) return -1;
    const start = this.freeStarts[best];
    if (this.freeSizes[best] === size) {
      this.removeFree(best);
    } else {
      this.freeStarts[best] += size;
      this.freeSizes[best] -= size;
    }
    return start;
  }

  /** Put a block back: merged with free neighbours, and into `top` when it ends there. */
  private insertFree(start: number, size: number): void {
    let lo = 0, hi = this.freeStarts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.freeStarts[mid] < start) lo = mid + 1;
      else hi = mid;
    }
    let at = lo;
    if (at > 0 && this.freeStarts[at - 1] + this.freeSizes[at - 1] === start) {
      at--;
      this.freeSizes[at] += size;
    } else {
      this.insertFreeAt(at, start, size);
    }
    const next = at + 1;
    if (next < this.freeStarts.length && this.freeStarts[at] + this.freeSizes[at] === this.freeStarts[next]) {
      this.freeSizes[at] += this.freeSizes[next];
      this.removeFree(next);
    }
    if (this.freeStarts[at] + this.freeSizes[at] === this.top) {
      this.top = this.freeStarts[at];
      this.removeFree(at);
    }
  }

  // In place, not `splice`: splice returns an array of what it removed — garbage on every release.
  private insertFreeAt(i: number, start: number, size: number): void {
    const starts = this.freeStarts, sizes = this.freeSizes;
    starts.push(0);
    sizes.push(0);
    for (let j = starts.length - 1; j > i; j--) {
      starts[j] = starts[j - 1];
      sizes[j] = sizes[j - 1];
    }
    starts[i] = start;
    sizes[i] = size;
  }

  private removeFree(i: number): void {
    const starts = this.freeStarts, sizes = this.freeSizes;
    for (let j = i; j < starts.length - 1; j++) {
      starts[j] = starts[j + 1];
      sizes[j] = sizes[j + 1];
    }
    starts.pop();
    sizes.pop();
  }

  /** Grow the memory so that `floats` fit (with a quarter more room, within the maximum); false when it cannot. */
  private grow(floats: number): boolean {
    if (!this.growable) return false;
    const havePages = this.memory.buffer.byteLength / PAGE_BYTES;
    const needPages = Math.ceil((4 * floats) / PAGE_BYTES);
    if (needPages > this.maximumPages) return false;
    const wantPages = Math.min(this.maximumPages, Math.max(needPages, Math.ceil(havePages * 1.25)));
    try {
      this.memory.grow(wantPages - havePages);
    } catch {
      try {
        this.memory.grow(needPages - havePages);
      } catch {
        return false;
      }
    }
    this.growCount++;
    this.adopt(this.memory.buffer);
    this.end = this.memory.buffer.byteLength / 4;
    const sizes = new Int32Array(Math.ceil((this.end - this.start) / ALIGN_FLOATS));
    sizes.set(this.liveSizes);
    this.liveSizes = sizes;
    return true;
  }

  private adopt(buffer: ArrayBuffer | SharedArrayBuffer): void {
    this.lastBuffer = buffer;
    if (this.shared) this.buffers.push(buffer);
    else this.buffers[0] = buffer; // an ordinary memory's old buffer is detached: forget it
    this.view = new Float32Array(buffer);
  }
}
