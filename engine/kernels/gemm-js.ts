/**
 * The plain-JS GEMM kernel: C = α·op(A)·op(B) + β·C.
 *
 * Goto & van de Geijn's blocking: a KC×NC panel of op(B) and an MC×KC block of op(A) are packed
 * into contiguous strips (NR = 5 columns of op(B), MR = 2 rows of op(A), one step of p after the
 * other), so the micro-kernel reads both operands sequentially whatever their transposition, and
 * always as float64 (the float32 → float64 conversion happens once, while packing). Products
 * too small to pay for the packing use direct loops.
 *
 * Why the code looks the way it does (V8/TurboFan on x64, measured on Node 20; each point was
 * worth 10–25 % of the micro-kernel's speed, together ≈ 1.7×):
 * - One packing buffer, a module-level constant of fixed size: TurboFan then knows its length
 *   and data pointer, so a load is a bounds compare and a move, with no map check and no field
 *   loads in every iteration. The packed panels are laid out so every index stays below
 *   PACK_CAPACITY (checked once, below).
 * - Indices are masked with PACK_MASK (a no-op: they are already below the capacity) so the
 *   compiler sees small non-negative integers and drops its overflow checks.
 * - The 2×5 micro-tile keeps its 10 accumulators in registers only because each column's
 *   multiply-adds sit in their own basic block (the always-true `if (kc > 0)`): without the
 *   blocks, TurboFan schedules all ten products before the first add, runs out of the 16 XMM
 *   registers and spills accumulators to the stack. Bigger tiles (4×4 and up) spill anyway
 *   and were slower; 2×5 also fits the batch sizes (m = 32) of the recurrent cells exactly.
 * Tried and dropped: reading unpacked operands (dot products of contiguous rows for transposed B)
 * ran at about half this speed, since such loads get none of the above; float32 packing was a
 * few per cent slower; unrolling over p and other KC/MC/NC values made no measurable difference.
 *
 * - The micro-kernel only reads PACK and writes TILE (both float64 constants); C, of either
 *   dtype, is updated by `addTile`. A typed store into C inside the kernel made its optimized
 *   code deoptimize in a loop (thousands of times) once both dtypes had been seen.
 *
 * Allocation-free: the packing buffer (1 MiB) is allocated once, when the module loads, and a
 * warm-up (`warmUp`, called at the bottom of the file) then runs every path on a tiny product.
 */
import type { GemmKernel } from './types.js';
import type { FloatArray } from '../matrix.js';

/** Micro-tile: MR rows of op(A) × NR columns of op(B). */
const MR = 2;
const NR = 5;
/** Cache blocks: KC steps of p, MC rows of op(A) (a multiple of MR), NC columns of op(B) (a multiple of NR). */
const KC = 256;
const MC = 96;
const NC = 320;

const PACK_CAPACITY = 1 << 17;
const PACK_MASK = PACK_CAPACITY - 1;
/** Packed op(B) panel at [0, KC·NC), packed op(A) block at [A_START, A_START + MC·KC). */
const A_START = KC * NC;
if (A_START + MC * KC >= PACK_CAPACITY) throw new Error('gemm-js: the packing blocks exceed PACK_CAPACITY');
/** The slack past the capacity covers the last strip's reads at index + (NR − 1). */
const PACK = new Float64Array(PACK_CAPACITY + 8);

/** The micro-kernel's result, MR×NR sums row by row, added into C by `addTile`. */
const TILE = new Float64Array(MR * NR);

/**
 * Products with fewer multiply-adds than this use the direct loops, and so do a single row
 * (m = 1: batch-1 sampling) or a single column (n = 1), where packing costs as much as the product;
 * every other thin shape is still faster blocked, padding and all.
 */
const DIRECT_FLOPS = 16 * 16 * 16;

export const gemmJs: GemmKernel = (m, n, k, alpha, a, aOff, lda, transA, b, bOff, ldb, transB, beta, c, cOff, ldc) => {
  scaleC(m, n, beta, c, cOff, ldc);
  if (m === 0 || n === 0 || k === 0 || alpha === 0) return;
  if (m * n * k <= DIRECT_FLOPS || n === 1 || m === 1) {
    gemmDirect(m, n, k, alpha, a, aOff, lda, transA, b, bOff, ldb, transB, c, cOff, ldc);
    return;
  }
  gemmBlocked(m, n, k, alpha, a, aOff, lda, transA, b, bOff, ldb, transB, c, cOff, ldc);
};

/**
 * Run every float32 path once at load — all transpositions, full and partial tiles, the direct
 * loops — on a 3×7×3 product, so that the first optimization of each function sees complete type
 * feedback. Otherwise the first product with a new transposition or edge deoptimizes a packing
 * loop, and a deoptimization racing with an on-stack-replacement compile can leave a function
 * interpreted for the rest of the process (seen on Node 20 with the micro-kernel: 10× slower).
 * float64 is left out on purpose: feedback for both dtypes makes the packing loads polymorphic,
 * ≈ 5 % slower for float32 training; a process that switches to float64 re-optimizes once.
 */
const WARM_UP_ROUNDS = 4;

function warmUp(): void {
  const a = new Float32Array(9).fill(1), b = new Float32Array(21).fill(1), c = new Float32Array(21).fill(1);
  // Several rounds: V8 allocates a function's feedback only after its first few calls.
  for (let round = 0; round < WARM_UP_ROUNDS; round++) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const ldb = transB ? 3 : 7;
        gemmBlocked(3, 7, 3, 1, a, 0, 3, transA, b, 0, ldb, transB, c, 0, 7);
        gemmDirect(3, 7, 3, 1, a, 0, 3, transA, b, 0, ldb, transB, c, 0, 7);
        gemmDirect(3, 1, 3, 1, a, 0, 3, transA, b, 0, ldb, transB, c, 0, 7);
      }
    }
    scaleC(3, 7, 0.5, c, 0, 7);
    scaleC(3, 7, 0, c, 0, 7);
  }
}

function scaleC(m: number, n: number, beta: number, c: FloatArray, cOff: number, ldc: number): void {
  if (beta === 1) return;
  for (let i = 0; i < m; i++) {
    const row = cOff + i * ldc;
    if (beta === 0) c.fill(0, row, row + n);
    else for (let j = 0; j < n; j++) c[row + j] *= beta;
  }
}

/** Unblocked loops, each transposition in the order that reads memory sequentially. */
function gemmDirect(
  m: number, n: number, k: number, alpha: number,
  a: FloatArray, aOff: number, lda: number, transA: boolean,
  b: FloatArray, bOff: number, ldb: number, transB: boolean,
  c: FloatArray, cOff: number, ldc: number,
): void {
  if (!transB && n > 1) {
    // C[i, :] += α·op(A)[i, p] · B[p, :]
    for (let i = 0; i < m; i++) {
      const cRow = cOff + i * ldc;
      for (let p = 0; p < k; p++) {
        const aip = alpha * (transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p]);
        if (aip === 0) continue;
        const bRow = bOff + p * ldb;
        for (let j = 0; j < n; j++) c[cRow + j] += aip * b[bRow + j];
      }
    }
    return;
  }
  // Dot products C[i, j] += α·Σ_p op(A)[i, p] · op(B)[p, j] (op(B) = Bᵀ, or a single column of B).
  const bStepP = transB ? 1 : ldb;
  const bStepJ = transB ? ldb : 1;
  const aStepP = transA ? lda : 1;
  const aStepI = transA ? 1 : lda;
  for (let i = 0; i < m; i++) {
    const cRow = cOff + i * ldc;
    const aRow = aOff + i * aStepI;
    for (let j = 0; j < n; j++) {
      const bCol = bOff + j * bStepJ;
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[aRow + p * aStepP] * b[bCol + p * bStepP];
      c[cRow + j] += alpha * sum;
    }
  }
}

function gemmBlocked(
  m: number, n: number, k: number, alpha: number,
  a: FloatArray, aOff: number, lda: number, transA: boolean,
  b: FloatArray, bOff: number, ldb: number, transB: boolean,
  c: FloatArray, cOff: number, ldc: number,
): void {
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packPanelB(kc, nc, b, bOff, ldb, transB, pc, jc);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packBlockA(mc, kc, a, aOff, lda, transA, ic, pc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            microKernel2x5(kc, A_START + ir * kc, jr * kc);
            addTile(c, cOff + (ic + ir) * ldc + jc + jr, ldc, Math.min(MR, mc - ir), nr, alpha);
          }
        }
      }
    }
  }
}

/**
 * Pack op(A)[ic:ic+mc, pc:pc+kc] at A_START as strips of MR = 2 rows: strip s starts at
 * A_START + s·2·kc and holds (row 0, row 1) for p = 0, 1, …; a missing second row is 0.
 */
function packBlockA(
  mc: number, kc: number,
  a: FloatArray, aOff: number, lda: number, transA: boolean, ic: number, pc: number,
): void {
  const pk = PACK;
  for (let ir = 0; ir < mc; ir += MR) {
    const full = mc - ir >= MR;
    let o = A_START + ir * kc;
    if (transA) {
      // op(A)[i, p] = A[p, i]: both rows' values for step p sit side by side in row p of A.
      let src = aOff + pc * lda + ic + ir;
      for (let p = 0; p < kc; p++, o += 2, src += lda) {
        pk[o] = a[src];
        pk[o + 1] = full ? a[src + 1] : 0;
      }
    } else {
      let src0 = aOff + (ic + ir) * lda + pc;
      let src1 = full ? src0 + lda : src0;
      for (let p = 0; p < kc; p++, o += 2) {
        pk[o] = a[src0++];
        pk[o + 1] = full ? a[src1++] : 0;
      }
    }
  }
}

/**
 * Pack op(B)[pc:pc+kc, jc:jc+nc] at 0 as strips of NR = 5 columns: strip s starts at s·5·kc
 * and holds the 5 columns' values for p = 0, 1, …; missing columns are 0.
 */
function packPanelB(
  kc: number, nc: number,
  b: FloatArray, bOff: number, ldb: number, transB: boolean, pc: number, jc: number,
): void {
  const pk = PACK;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = Math.min(NR, nc - jr);
    const o = jr * kc;
    if (!transB && nr === NR) {
      let src = bOff + pc * ldb + jc + jr;
      for (let p = 0, d = o; p < kc; p++, d += NR, src += ldb) {
        pk[d] = b[src]; pk[d + 1] = b[src + 1]; pk[d + 2] = b[src + 2]; pk[d + 3] = b[src + 3]; pk[d + 4] = b[src + 4];
      }
    } else if (transB && nr === NR) {
      // op(B)[p, j] = B[j, p]: each column of the strip is a row of B, contiguous in p.
      let s0 = bOff + (jc + jr) * ldb + pc;
      let s1 = s0 + ldb, s2 = s1 + ldb, s3 = s2 + ldb, s4 = s3 + ldb;
      for (let p = 0, d = o; p < kc; p++, d += NR) {
        pk[d] = b[s0++]; pk[d + 1] = b[s1++]; pk[d + 2] = b[s2++]; pk[d + 3] = b[s3++]; pk[d + 4] = b[s4++];
      }
    } else {
      for (let p = 0, d = o; p < kc; p++, d += NR) {
        for (let j = 0; j < NR; j++) {
          const col = jc + jr + j, row = pc + p;
          pk[d + j] = j >= nr ? 0 : transB ? b[bOff + col * ldb + row] : b[bOff + row * ldb + col];
        }
      }
    }
  }
}

/**
 * TILE = Ã(2×kc) · B̃(kc×5), with Ã at PACK[ai…] and B̃ at PACK[bi…] (packed strips). See the
 * header for the masks and the always-true `kc > 0` blocks. The kernel has no other branch and
 * touches only constant float64 buffers, so its optimized code never meets an unseen case (a
 * deoptimization here, racing with an on-stack-replacement compile, once left it interpreted).
 */
function microKernel2x5(kc: number, ai: number, bi: number): void {
  const pk = PACK;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0;
  ai &= PACK_MASK;
  bi &= PACK_MASK;
  const aEnd = (ai + MR * kc) & PACK_MASK;
  for (; ai < aEnd; ai += MR) {
    const a0 = pk[ai], a1 = pk[ai + 1];
    if (kc > 0) { const b = pk[bi]; c00 += a0 * b; c10 += a1 * b; }
    if (kc > 0) { const b = pk[bi + 1]; c01 += a0 * b; c11 += a1 * b; }
    if (kc > 0) { const b = pk[bi + 2]; c02 += a0 * b; c12 += a1 * b; }
    if (kc > 0) { const b = pk[bi + 3]; c03 += a0 * b; c13 += a1 * b; }
    if (kc > 0) { const b = pk[bi + 4]; c04 += a0 * b; c14 += a1 * b; }
    bi = (bi + NR) & PACK_MASK;
  }
  const t = TILE;
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03; t[4] = c04;
  t[5] = c10; t[6] = c11; t[7] = c12; t[8] = c13; t[9] = c14;
}

/** C[0:mr, 0:nr] += α · TILE[0:mr, 0:nr], C starting at cStart with row stride ldc. */
function addTile(c: FloatArray, cStart: number, ldc: number, mr: number, nr: number, alpha: number): void {
  const t = TILE;
  if (mr === MR && nr === NR) {
    let r = cStart;
    c[r] += alpha * t[0]; c[r + 1] += alpha * t[1]; c[r + 2] += alpha * t[2]; c[r + 3] += alpha * t[3]; c[r + 4] += alpha * t[4];
    r += ldc;
    c[r] += alpha * t[5]; c[r + 1] += alpha * t[6]; c[r + 2] += alpha * t[7]; c[r + 3] += alpha * t[8]; c[r + 4] += alpha * t[9];
    return;
  }
  for (let i = 0; i < mr; i++) {
    for (let j = 0; j < nr; j++) c[cStart + i * ldc + j] += alpha * t[i * NR + j];
  }
}

warmUp();
