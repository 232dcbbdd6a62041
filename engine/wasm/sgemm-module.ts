/**
 * The SGEMM kernels as one WebAssembly module, emitted as bytes by `emitter.ts`. The module imports
 * its memory (`env.memory`, the backend's WasmHeap). Exports:
 *
 *   sgemm_macro(mc, nc, kc, aPtr, aStrip, bPtr, bStrip, cPtr, ldc, loadC)
 *       C[mc × nc] (+)= Ã[mc × kc] · B̃[kc × nc]   (Goto & van de Geijn's two inner loops around a
 *       register-blocked micro-kernel; pointers, strides in bytes; loadC = 0 starts from zero —
 *       the first k-block of C = A·B, nothing of C read — else C += Ã·B̃)
 *   pack_a / pack_b(dst, src, count, k, si, sp)  packing of op(A) into MR-high strips, op(B) into NR-wide ones
 *   finish(w, ldw, c, ldc, mc, nc, α, β)         C = α·C̃ + β·C
 *   gemv_t / gemv_n(x, w, ld, y, n, k)           y = x·Wᵀ, y = x·B (the few-rows path)
 *
 * Ã is packed in strips of MR rows (strip s at aPtr + s·aStrip, step p → MR consecutive floats),
 * B̃ in strips of NR = 4·NV columns (strip s at bPtr + s·bStrip, step p → NR consecutive floats),
 * C is row-major with row stride `ldc` bytes. mc and nc are multiples of MR and NR (the host pads
 * with zeros), kc ≥ 1. For each MR × NR tile the MR·NV f32x4 accumulators live in locals (which
 * V8's optimising compiler keeps in xmm registers); each step p loads NV vectors of B̃, splats MR
 * scalars of Ã, and does MR·NV multiply-adds: `relaxed_madd` (a fused multiply-add where the
 * hardware has one) or `f32x4.mul` + `f32x4.add`. The splats: rows in whole groups of four come from
 * one v128 load of the group and a shuffle per row, the other rows from v128.load32_splat.
 *
 * The tile, 5 × 8, is set by what V8 11.3 does with the step (read from --print-wasm-code on the
 * development machine, AMD EPYC, 3.5 GHz). A chain of fused multiply-adds into one accumulator
 * waits ~4 cycles per step, and the core starts two a cycle (peak 2 · 8 flops · 3.5 GHz = 56
 * GFLOP/s): a probe loop of independent chains reached 4 → 27, 6 → 41, 8 → 49, 10 and 12 → 55
 * GFLOP/s, so the 8 accumulators of 4 × 8 leave ~12 % on the table and 10 do not. V8 has 15
 * allocatable xmm registers, and it schedules every load of a basic block before the block's
 * arithmetic, so all the loaded values of a step are live at once:
 * with load32_splat, 4 × 8 takes 8 + 2 + 4 = 14 registers, while 5 × 8 (17) and 6 × 8 (20) spill
 * accumulators and ran slower (unrolling the loop, reordering rows or locals did not change the
 * hoisting). Shuffles are pure and are placed just before their multiply-adds, so one load + a
 * shuffle register serve four rows: 5 × 8 = 10 accumulators + 2 B + 1 group of four + 1 splat of
 * row 5 + 1 shuffled splat = 15 registers, no spill (6 × 8 would need 17). Measured in the same
 * process (macro kernel, 120 × 256 × 256 blocks, CPU time): 5 × 8 ~4–6 % above 4 × 8 and 3 × 12.
 * Reading unpacked operands through general strides (register offsets for the splats, a B row per
 * step) measured slower than packing them: packing stays, and constant operands are packed once per
 * `withConstantOperands` scope instead (wasm-gemm.ts).
 */
import { FunctionBuilder, ModuleBuilder, ValType } from './emitter.js';
import type { HeapImport } from './heap.js';

export interface SgemmKernelShape {
  /** Rows of the register tile. */
  mr: number;
  /** f32x4 vectors per tile row: the tile is mr × 4·nv. */
  nv: number;
  /** Use f32x4.relaxed_madd instead of mul + add. */
  relaxedMadd: boolean;
}

/** 5 × 8 tiles: 10 accumulators + 2 B vectors + 3 registers for the splats (see the header). */
export const DEFAULT_KERNEL_SHAPE: Omit<SgemmKernelShape, 'relaxedMadd'> = { mr: 5, nv: 2 };

/**
 * The memory import every kernel module declares: the heap's memory — shared (which needs a declared
 * maximum: up to 4 GiB admits any heap's), or ordinary (no maximum, as the heap creates it).
 */
export function importHeapMemory(m: ModuleBuilder, heap: HeapImport): void {
  m.importMemory({ module: 'env', field: 'memory', minPages: 1, maxPages: heap.shared ? 65536 : null, shared: heap.shared });
}

/**
 * The module for a kernel shape. Besides `sgemm_macro` / `pack_a` for MR rows it has, when MR ≠ 4,
 * `sgemm_macro_4` / `pack_a_4` for 4-row tiles (same B̃ strips): the host takes them for row counts
 * that the MR-row tile would pad more (the batches of 8, 16 or 32 rows of the recurrent products).
 */
export function buildSgemmModule(shape: SgemmKernelShape, heap: HeapImport): Uint8Array {
  const { mr, nv, relaxedMadd } = shape;
  const nr = 4 * nv;
  const m = new ModuleBuilder();
  importHeapMemory(m, heap);
  m.addFunction(buildMacro(mr, nv, relaxedMadd), 'sgemm_macro');
  m.addFunction(buildPack(mr), 'pack_a');
  if (mr !== 4) {
    m.addFunction(buildMacro(4, nv, relaxedMadd), 'sgemm_macro_4');
    m.addFunction(buildPack(4), 'pack_a_4');
  }
  m.addFunction(buildPack(nr), 'pack_b');
  m.addFunction(buildFinish(), 'finish');
  m.addFunction(buildGemvT(relaxedMadd), 'gemv_t');
  m.addFunction(buildGemvN(relaxedMadd), 'gemv_n');
  return m.toBytes();
}

/** sgemm_macro for MR × 4·NV tiles (see the header). */
function buildMacro(mr: number, nv: number, relaxedMadd: boolean): FunctionBuilder {
  const nr = 4 * nv;
  const i32 = ValType.i32;
  const f = new FunctionBuilder(Array(10).fill(i32));
  const [mc, nc, kc, aPtr, aStrip, bPtr, bStrip, cPtr, ldc, loadC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const j = f.local(i32), i = f.local(i32), pbEnd = f.local(i32);
  const pa = f.local(i32), pb = f.local(i32), aRow = f.local(i32), bCol = f.local(i32);
  const cCol = f.local(i32), cTile = f.local(i32), cRow = f.local(i32), ldcTile = f.local(i32);
  const acc: number[][] = [];
  for (let r = 0; r < mr; r++) acc.push(Array.from({ length: nv }, () => f.local(ValType.v128)));
  const bv = Array.from({ length: nv }, () => f.local(ValType.v128));
  const av = f.local(ValType.v128);
  const shuffledRows = mr - (mr % 4);
  const aQuad = Array.from({ length: shuffledRows / 4 }, () => f.local(ValType.v128));

  /**
   * One step p of the micro-kernel, reading Ã and B̃ at pa, pb. Rows in whole groups of four get
   * their splat from one v128 load of the group by a shuffle; the other rows by v128.load32_splat.
   * (V8 schedules a block's loads before its arithmetic, so every loaded value is live at once, while
   * the shuffles, being pure, are placed just before their multiply-adds: one register for four splats.)
   */
  const step = () => {
    for (let v = 0; v < nv; v++) f.localGet(pb).v128Load(16 * v).localSet(bv[v]);
    for (let g = 0; g < aQuad.length; g++) f.localGet(pa).v128Load(16 * g).localSet(aQuad[g]);
    for (let r = 0; r < mr; r++) {
      if (r < shuffledRows) {
        const lane = r & 3;
        f.localGet(aQuad[r >> 2]).localGet(aQuad[r >> 2]).f32x4Shuffle([lane, lane, lane, lane]).localSet(av);
      } else {
        f.localGet(pa).v128Load32Splat(4 * r).localSet(av);
      }
      for (let v = 0; v < nv; v++) {
        if (relaxedMadd) f.localGet(av).localGet(bv[v]).localGet(acc[r][v]).f32x4RelaxedMadd();
        else f.localGet(acc[r][v]).localGet(av).localGet(bv[v]).f32x4Mul().f32x4Add();
        f.localSet(acc[r][v]);
      }
    }
  };
  /** Load (or store) the MR × NR tile of C at cTile into (from) the accumulators. */
  const tileTransfer = (store: boolean) => {
    f.localGet(cTile).localSet(cRow);
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < nv; v++) {
        if (store) f.localGet(cRow).localGet(acc[r][v]).v128Store(16 * v);
        else f.localGet(cRow).v128Load(16 * v).localSet(acc[r][v]);
      }
      if (r < mr - 1) f.localGet(cRow).localGet(ldc).i32Add().localSet(cRow);
    }
  };
  const zeroAccumulators = () => {
    for (let r = 0; r < mr; r++) for (let v = 0; v < nv; v++) f.f32Const(0).f32x4Splat().localSet(acc[r][v]);
  };

  // nothing to do for an empty product
  f.localGet(mc).i32Eqz().localGet(nc).i32Eqz().i32Add().localGet(kc).i32Eqz().i32Add().if().return().end();
  f.localGet(ldc).i32Const(mr).i32Mul().localSet(ldcTile);
  f.localGet(bPtr).localSet(bCol).localGet(cPtr).localSet(cCol).localGet(nc).localSet(j);
  f.loop(); // over the NR-wide column strips of B̃ and C
  {
    f.localGet(aPtr).localSet(aRow).localGet(cCol).localSet(cTile).localGet(mc).localSet(i);
    f.loop(); // over the MR-high row strips of Ã and C
    {
      f.localGet(loadC).if();
      tileTransfer(false);
      f.else();
      zeroAccumulators();
      f.end();
      // the kc steps: pb runs to pbEnd (one induction variable; pa follows)
      f.localGet(aRow).localSet(pa).localGet(bCol).localTee(pb).localGet(kc).i32Const(nr * 4).i32Mul().i32Add().localSet(pbEnd);
      f.loop();
      step();
      f.i32Increment(pa, mr * 4);
      f.localGet(pb).i32Const(nr * 4).i32Add().localTee(pb).localGet(pbEnd).i32Ne().brIf(0);
      f.end();
      tileTransfer(true);
      f.localGet(aRow).localGet(aStrip).i32Add().localSet(aRow);
      f.localGet(cTile).localGet(ldcTile).i32Add().localSet(cTile);
      f.i32Increment(i, -mr).localGet(i).brIf(0);
    }
    f.end();
    f.localGet(bCol).localGet(bStrip).i32Add().localSet(bCol);
    f.i32Increment(cCol, nr * 4);
    f.i32Increment(j, -nr).localGet(j).brIf(0);
  }
  f.end();

  return f;
}

/**
 * pack(dst, src, count, k, si, sp): copy a panel of `count` indices × k steps, element (i, p) at
 * src + i·si + p·sp (bytes), into strips of W indices: strip s, step p → W consecutive floats at
 * dst + (s·k + p)·W·4. Only whole strips are written; the host zero-fills the last, partial strip
 * and its valid indices are copied here too (the ones past `count` keep their zeros).
 * When si = 4 (the W values of a step are contiguous: op(A) = Aᵀ, op(B) = B) it moves f32x4 vectors
 * (and the last W mod 4 floats of a step), row by row over all whole strips; when sp = 4 (each index's
 * steps are contiguous: op(A) = A, op(B) = Bᵀ) it reads four steps of four indices as four f32x4 and
 * transposes them with shuffles (the last W mod 4 indices: four steps as one f32x4, stored lane by
 * lane); otherwise it moves floats one by one.
 */
function buildPack(width: number): FunctionBuilder {
  const i32 = ValType.i32;
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, i32]);
  const [dst, src, count, k, si, sp] = [0, 1, 2, 3, 4, 5];
  const s = f.local(i32), p = f.local(i32), q = f.local(i32), o = f.local(i32), po = f.local(i32);
  const rows = f.local(i32), r = f.local(i32);
  const qr = Array.from({ length: width }, () => f.local(i32));
  const quads = Math.floor(width / 4);
  const sp2 = f.local(i32), sp3 = f.local(i32), rowSrc = f.local(i32), rowDst = f.local(i32);
  const rowv = Array.from({ length: 4 }, () => f.local(ValType.v128));
  const half = Array.from({ length: 4 }, () => f.local(ValType.v128));
  // contiguous indices (si = 4: op(A) = Aᵀ, op(B) = B): the whole strips row by row, PACK_ROWS steps
  // of every strip at a time (then single steps): the source is read sequentially, and each strip gets
  // whole cache lines at once. (Strip by strip instead, the k rows of a strip are a stride of ld
  // apart; with ld a multiple of 512 bytes they fall in a few L1 sets and every strip re-reads B from L2.)
  f.localGet(si).i32Const(4).i32Eq();
  f.if();
  {
    f.localGet(sp).i32Const(2).i32Mul().localSet(sp2).localGet(sp).i32Const(3).i32Mul().localSet(sp3);
    f.localGet(src).localSet(rowSrc).localGet(dst).localSet(rowDst).localGet(k).localSet(p);
    const pass = (steps: number) => {
      f.block();
      f.loop();
      f.localGet(p).i32Const(steps).i32LtS().brIf(1);
      f.localGet(rowSrc).localSet(q).localGet(rowDst).localSet(o).localGet(count).localSet(rows);
      f.block();
      f.loop();
      f.localGet(rows).i32Const(width).i32LtS().brIf(1);
      for (let g = 0; g < steps; g++) {
        const from = () => {
          f.localGet(q);
          if (g > 0) f.localGet([0, sp, sp2, sp3][g]).i32Add();
        };
        for (let v = 0; v < quads; v++) {
          f.localGet(o);
          from();
          f.v128Load(16 * v).v128Store(4 * g * width + 16 * v);
        }
        for (let i = 4 * quads; i < width; i++) {
          f.localGet(o);
          from();
          f.f32Load(4 * i).f32Store(4 * (g * width + i));
        }
      }
      f.i32Increment(q, 4 * width).i32Increment(rows, -width);
      f.localGet(o).localGet(k).i32Const(4 * width).i32Mul().i32Add().localSet(o);
      f.br(0);
      f.end();
      f.end();
      f.localGet(rowSrc).localGet(sp).i32Const(steps).i32Mul().i32Add().localSet(rowSrc);
      f.i32Increment(rowDst, 4 * width * steps).i32Increment(p, -steps);
      f.br(0);
      f.end();
      f.end();
    };
    pass(PACK_ROWS);
    pass(1);
  }
  f.end();
  f.localGet(dst).localSet(o);
  f.i32Const(0).localSet(s);
  f.block(); // strips
  f.loop();
  {
    f.localGet(s).localGet(count).i32GeS().brIf(1);
    // q = src + s·si: the strip's first index at step 0
    f.localGet(src).localGet(s).localGet(si).i32Mul().i32Add().localSet(q);
    f.localGet(count).localGet(s).i32Sub().localSet(rows);
    f.localGet(rows).i32Const(width).i32GeS();
    f.if();
    {
      f.localGet(si).i32Const(4).i32Eq();
      f.if();
      // contiguous indices: packed above, row by row; step over the strip
      f.localGet(o).localGet(k).i32Const(4 * width).i32Mul().i32Add().localSet(o);
      f.else();
      // strided indices: W streams qr[r] + p·sp
      for (let i = 0; i < width; i++) {
        f.localGet(q);
        if (i > 0) f.localGet(si).i32Const(i).i32Mul().i32Add();
        f.localSet(qr[i]);
      }
      f.i32Const(0).localSet(po).localGet(k).localSet(p);
      // steps contiguous in each stream (sp = 4: op(A) = A, op(B) = Bᵀ): four steps at a time, each
      // group of four streams read as four f32x4 and transposed in registers (4 × 4 shuffles)
      f.localGet(sp).i32Const(4).i32Eq();
      f.if();
      f.block();
      f.loop();
      f.localGet(p).i32Const(4).i32LtS().brIf(1);
      for (let g = 0; g < quads; g++) {
        for (let i = 0; i < 4; i++) f.localGet(qr[4 * g + i]).localGet(po).i32Add().v128Load().localSet(rowv[i]);
        f.localGet(rowv[0]).localGet(rowv[1]).f32x4Shuffle([0, 4, 1, 5]).localSet(half[0]); // a0 b0 a1 b1
        f.localGet(rowv[0]).localGet(rowv[1]).f32x4Shuffle([2, 6, 3, 7]).localSet(half[1]); // a2 b2 a3 b3
        f.localGet(rowv[2]).localGet(rowv[3]).f32x4Shuffle([0, 4, 1, 5]).localSet(half[2]); // c0 d0 c1 d1
        f.localGet(rowv[2]).localGet(rowv[3]).f32x4Shuffle([2, 6, 3, 7]).localSet(half[3]); // c2 d2 c3 d3
        for (let step = 0; step < 4; step++) {
          const lo = step < 2 ? half[0] : half[1], hi = step < 2 ? half[2] : half[3];
          const lanes: [number, number, number, number] = step % 2 === 0 ? [0, 1, 4, 5] : [2, 3, 6, 7];
          f.localGet(o).localGet(lo).localGet(hi).f32x4Shuffle(lanes).v128Store(4 * (step * width + 4 * g));
        }
      }
      // the last W mod 4 streams: four steps of each as one f32x4, stored lane by lane
      for (let i = 4 * quads; i < width; i++) {
        f.localGet(qr[i]).localGet(po).i32Add().v128Load().localSet(rowv[0]);
        for (let step = 0; step < 4; step++) f.localGet(o).localGet(rowv[0]).v128Store32Lane(step, 4 * (step * width + i));
      }
      f.i32Increment(po, 16).i32Increment(o, 16 * width).i32Increment(p, -4).br(0);
      f.end();
      f.end();
      f.end();
      // the other steps one at a time: W scalar moves per step
      f.block();
      f.localGet(p).i32Eqz().brIf(0);
      f.loop();
      for (let i = 0; i < width; i++) f.localGet(o).localGet(qr[i]).localGet(po).i32Add().f32Load().f32Store(4 * i);
      f.localGet(po).localGet(sp).i32Add().localSet(po);
      f.i32Increment(o, 4 * width).i32Increment(p, -1).localGet(p).brIf(0);
      f.end();
      f.end();
      f.end();
    }
    f.else();
    {
      // the last, partial strip: index r of step p goes to o + (p·W + r)·4
      f.i32Const(0).localSet(r);
      f.loop();
      f.localGet(q).localSet(qr[0]).localGet(o).localSet(po).localGet(k).localSet(p);
      f.loop();
      f.localGet(po).localGet(qr[0]).f32Load().f32Store();
      f.localGet(qr[0]).localGet(sp).i32Add().localSet(qr[0]);
      f.i32Increment(po, 4 * width).i32Increment(p, -1).localGet(p).brIf(0);
      f.end();
      f.localGet(q).localGet(si).i32Add().localSet(q);
      f.i32Increment(o, 4);
      f.i32Increment(r, 1).localGet(r).localGet(rows).i32LtS().brIf(0);
      f.end();
      f.br(2); // the partial strip is the last one
    }
    f.end();
    f.i32Increment(s, width).br(0);
  }
  f.end();
  f.end();
  return f;
}

/** Steps per row-by-row pass of pack's contiguous case (at most 4: the offsets 0, sp, 2·sp, 3·sp). */
const PACK_ROWS = 4;

/**
 * finish(w, ldw, c, ldc, mc, nc, alpha, beta): C = α·C̃ + β·C on an mc × nc block (row strides
 * ldw, ldc in bytes); β = 0 does not read C, so NaNs there do not propagate (BLAS semantics).
 */
function buildFinish(): FunctionBuilder {
  const i32 = ValType.i32, f32 = ValType.f32;
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, i32, f32, f32]);
  const [w, ldw, c, ldc, mc, nc, alpha, beta] = [0, 1, 2, 3, 4, 5, 6, 7];
  const i = f.local(i32), j = f.local(i32), wp = f.local(i32), cp = f.local(i32), nc4 = f.local(i32);
  const va = f.local(ValType.v128), vb = f.local(ValType.v128);

  /** All rows: four columns at a time with f32x4, then the last nc mod 4 one by one. */
  const rowLoop = (readC: boolean) => {
    f.localGet(mc).localSet(i);
    f.loop();
    f.localGet(w).localSet(wp).localGet(c).localSet(cp).i32Const(0).localSet(j);
    f.block();
    f.loop();
    f.localGet(j).localGet(nc4).i32GeS().brIf(1);
    f.localGet(cp).localGet(wp).v128Load().localGet(va).f32x4Mul();
    if (readC) f.localGet(cp).v128Load().localGet(vb).f32x4Mul().f32x4Add();
    f.v128Store();
    f.i32Increment(wp, 16).i32Increment(cp, 16).i32Increment(j, 4).br(0);
    f.end();
    f.end();
    f.block();
    f.loop();
    f.localGet(j).localGet(nc).i32GeS().brIf(1);
    f.localGet(cp).localGet(wp).f32Load().localGet(alpha).f32Mul();
    if (readC) f.localGet(cp).f32Load().localGet(beta).f32Mul().f32Add();
    f.f32Store();
    f.i32Increment(wp, 4).i32Increment(cp, 4).i32Increment(j, 1).br(0);
    f.end();
    f.end();
    f.localGet(w).localGet(ldw).i32Add().localSet(w);
    f.localGet(c).localGet(ldc).i32Add().localSet(c);
    f.i32Increment(i, -1).localGet(i).brIf(0);
    f.end();
  };

  f.localGet(mc).i32Eqz().localGet(nc).i32Eqz().i32Add().if().return().end();
  f.localGet(alpha).f32x4Splat().localSet(va).localGet(beta).f32x4Splat().localSet(vb);
  f.localGet(nc).i32Const(-4).i32And().localSet(nc4);
  f.localGet(beta).f32Const(0).f32Eq();
  f.if();
  rowLoop(false);
  f.else();
  rowLoop(true);
  f.end();
  return f;
}

/**
 * gemv_t(x, w, ldw, y, n, k): y[j] = Σ_p x[p]·W[j, p] for j < n — a row vector times Wᵀ, W row-major
 * with row stride ldw bytes (a layer's x·Wᵀ at batch 1). GEMV_T_ROWS rows of W at a time, four lanes
 * of p per f32x4 (relaxed_madd where available), horizontal sums at the end of a row; k mod 4 and the
 * last rows are done one by one.
 */
function buildGemvT(relaxedMadd: boolean): FunctionBuilder {
  const i32 = ValType.i32, f32 = ValType.f32;
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, i32]);
  const [x, w, ldw, y, n, k] = [0, 1, 2, 3, 4, 5];
  const j = f.local(i32), pb = f.local(i32), kb4 = f.local(i32), kb = f.local(i32), wRow = f.local(i32);
  const row = Array.from({ length: GEMV_T_ROWS }, () => f.local(i32));
  const acc = Array.from({ length: GEMV_T_ROWS }, () => f.local(ValType.v128));
  const xv = f.local(ValType.v128), sum = f.local(f32);
  f.localGet(k).i32Const(2).i32Shl().localSet(kb); // k in bytes
  f.localGet(k).i32Const(-4).i32And().i32Const(2).i32Shl().localSet(kb4); // whole f32x4s of k, in bytes
  f.localGet(w).localSet(wRow).i32Const(0).localSet(j);

  /** Rows j … j+R−1 while R more rows remain. */
  const rows = (R: number) => {
    f.block();
    f.loop();
    f.localGet(j).i32Const(R).i32Add().localGet(n).i32GtS().brIf(1);
    for (let r = 0; r < R; r++) {
      f.localGet(wRow);
      if (r > 0) f.localGet(ldw).i32Const(r).i32Mul().i32Add();
      f.localSet(row[r]);
      f.f32Const(0).f32x4Splat().localSet(acc[r]);
    }
    f.i32Const(0).localSet(pb);
    f.block();
    f.loop();
    f.localGet(pb).localGet(kb4).i32GeS().brIf(1);
    f.localGet(x).localGet(pb).i32Add().v128Load().localSet(xv);
    for (let r = 0; r < R; r++) {
      if (relaxedMadd) f.localGet(xv).localGet(row[r]).localGet(pb).i32Add().v128Load().localGet(acc[r]).f32x4RelaxedMadd();
      else f.localGet(acc[r]).localGet(xv).localGet(row[r]).localGet(pb).i32Add().v128Load().f32x4Mul().f32x4Add();
      f.localSet(acc[r]);
    }
    f.i32Increment(pb, 16).br(0);
    f.end();
    f.end();
    for (let r = 0; r < R; r++) {
      f.localGet(acc[r]).f32x4ExtractLane(0).localGet(acc[r]).f32x4ExtractLane(1).f32Add();
      f.localGet(acc[r]).f32x4ExtractLane(2).localGet(acc[r]).f32x4ExtractLane(3).f32Add().f32Add().localSet(sum);
      // the last k mod 4 terms
      f.localGet(kb4).localSet(pb);
      f.block();
      f.loop();
      f.localGet(pb).localGet(kb).i32GeS().brIf(1);
      f.localGet(sum).localGet(x).localGet(pb).i32Add().f32Load().localGet(row[r]).localGet(pb).i32Add().f32Load().f32Mul().f32Add().localSet(sum);
      f.i32Increment(pb, 4).br(0);
      f.end();
      f.end();
      f.localGet(y).localGet(j).i32Const(2).i32Shl().i32Add().localGet(sum).f32Store(4 * r);
    }
    f.i32Increment(j, R);
    f.localGet(wRow).localGet(ldw).i32Const(R).i32Mul().i32Add().localSet(wRow);
    f.br(0);
    f.end();
    f.end();
  };
  rows(GEMV_T_ROWS);
  rows(1);
  return f;
}

/**
 * Rows of W per pass of gemv_t. V8 loads every row's vector before the multiply-adds, so R rows
 * hold R accumulators + R loaded vectors + x in registers: 6 fits (13 xmm); 8, or two accumulators
 * per row, spill accumulators to the stack and run slower. 6 measured ~12 % faster than 4.
 */
const GEMV_T_ROWS = 6;

/**
 * gemv_n(x, b, ldb, y, n, k): y[j] = Σ_p x[p]·B[p, j] for j < n (k ≥ 1) — a row vector times B, B
 * row-major with row stride ldb bytes. Register-blocked over y: for each block of GEMV_N_VECTORS·4
 * columns the accumulators stay in registers while p runs over all k rows (one splat of x[p] and
 * that many contiguous vectors of row p per step, at fixed offsets: about one load per multiply-add,
 * relaxed_madd where available); then blocks of one vector, then the last n mod 4 columns one by one.
 * (Measured against gemv_t on the same data, or on a copy of W packed into 32-column panels for
 * sequential reads: all within noise of each other on the development machine.)
 */
const GEMV_N_VECTORS = 8;

function buildGemvN(relaxedMadd: boolean): FunctionBuilder {
  const i32 = ValType.i32, f32 = ValType.f32;
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, i32]);
  const [x, b, ldb, y, n, k] = [0, 1, 2, 3, 4, 5];
  const V = GEMV_N_VECTORS;
  const jb = f.local(i32), nb = f.local(i32), pb = f.local(i32), px = f.local(i32), pEnd = f.local(i32);
  const acc = Array.from({ length: V }, () => f.local(ValType.v128));
  const xs = f.local(ValType.v128), sum = f.local(f32);
  f.localGet(n).i32Const(2).i32Shl().localSet(nb);
  f.localGet(x).localGet(k).i32Const(2).i32Shl().i32Add().localSet(pEnd);
  f.i32Const(0).localSet(jb);

  /** Column blocks of `vectors` f32x4s while that many columns remain. */
  const blocks = (vectors: number) => {
    f.block();
    f.loop();
    f.localGet(jb).i32Const(16 * vectors).i32Add().localGet(nb).i32GtS().brIf(1);
    for (let v = 0; v < vectors; v++) f.f32Const(0).f32x4Splat().localSet(acc[v]);
    f.localGet(b).localGet(jb).i32Add().localSet(pb).localGet(x).localSet(px);
    f.loop();
    f.localGet(px).v128Load32Splat().localSet(xs);
    for (let v = 0; v < vectors; v++) {
      if (relaxedMadd) f.localGet(xs).localGet(pb).v128Load(16 * v).localGet(acc[v]).f32x4RelaxedMadd();
      else f.localGet(acc[v]).localGet(xs).localGet(pb).v128Load(16 * v).f32x4Mul().f32x4Add();
      f.localSet(acc[v]);
    }
    f.localGet(pb).localGet(ldb).i32Add().localSet(pb);
    f.localGet(px).i32Const(4).i32Add().localTee(px).localGet(pEnd).i32Ne().brIf(0);
    f.end();
    for (let v = 0; v < vectors; v++) f.localGet(y).localGet(jb).i32Add().localGet(acc[v]).v128Store(16 * v);
    f.i32Increment(jb, 16 * vectors).br(0);
    f.end();
    f.end();
  };
  blocks(V);
  if (V > 1) blocks(1);
  // the last n mod 4 columns
  f.block();
  f.loop();
  f.localGet(jb).localGet(nb).i32GeS().brIf(1);
  f.f32Const(0).localSet(sum);
  f.localGet(b).localGet(jb).i32Add().localSet(pb).localGet(x).localSet(px);
  f.loop();
  f.localGet(sum).localGet(px).f32Load().localGet(pb).f32Load().f32Mul().f32Add().localSet(sum);
  f.localGet(pb).localGet(ldb).i32Add().localSet(pb);
  f.localGet(px).i32Const(4).i32Add().localTee(px).localGet(pEnd).i32Ne().brIf(0);
  f.end();
  f.localGet(y).localGet(jb).i32Add().localGet(sum).f32Store();
  f.i32Increment(jb, 4).br(0);
  f.end();
  f.end();
  return f;
}

/** A module whose only function uses `f32x4.relaxed_madd`: validates only where relaxed SIMD is on. */
export function relaxedSimdProbeModule(): Uint8Array {
  const f = new FunctionBuilder([], [ValType.f32]);
  f.f32Const(2).f32x4Splat().f32Const(3).f32x4Splat().f32Const(1).f32x4Splat().f32x4RelaxedMadd().f32x4ExtractLane(0);
  const m = new ModuleBuilder();
  m.addFunction(f, 'madd');
  return m.toBytes();
}

/** A module whose only function uses SIMD128 (f32x4.add): validates only where SIMD is supported. */
export function simdProbeModule(): Uint8Array {
  const f = new FunctionBuilder([], [ValType.f32]);
  f.f32Const(2).f32x4Splat().f32Const(3).f32x4Splat().f32x4Add().f32x4ExtractLane(0);
  const m = new ModuleBuilder();
  m.addFunction(f, 'add');
  return m.toBytes();
}
