/**
 * The plain-JS GEMM kernel: C = α·op(A)·op(B) + β·C, cache-blocked with packing and a 4×4
 * register-blocked micro-kernel (Goto & van de Geijn's layout: pack a KC×NC panel of op(B)
 * and an MC×KC block of op(A) into contiguous 4-wide strips, so the inner loop reads both
 * operands sequentially whatever their transposition). Small products skip the packing.
 *
 * Allocation-free after warm-up: the packing buffers grow once and are reused.
 */
import type { GemmKernel } from './backend.js';
import type { FloatArray } from './matrix.js';

const MR = 4;
const NR = 4;
const MC = 64;
const KC = 256;
const NC = 1024;

/** Scratch for partial tiles at the matrix edges (no allocation in the kernel). */
const edgeTile = new Float64Array(16);

let packA32 = new Float32Array(0);
let packB32 = new Float32Array(0);
let packA64 = new Float64Array(0);
let packB64 = new Float64Array(0);

function packBuffers(dtype64: boolean, sizeA: number, sizeB: number): [FloatArray, FloatArray] {
  if (dtype64) {
    if (packA64.length < sizeA) packA64 = new Float64Array(sizeA);
    if (packB64.length < sizeB) packB64 = new Float64Array(sizeB);
    return [packA64, packB64];
  }
  if (packA32.length < sizeA) packA32 = new Float32Array(sizeA);
  if (packB32.length < sizeB) packB32 = new Float32Array(sizeB);
  return [packA32, packB32];
}

/** Products with fewer multiply-adds than this, or a very thin side, use the direct loops. */
const DIRECT_FLOPS = 16 * 16 * 16;

export const gemmJs: GemmKernel = (m, n, k, alpha, a, aOff, lda, transA, b, bOff, ldb, transB, beta, c, cOff, ldc) => {
  scaleC(m, n, beta, c, cOff, ldc);
  if (m === 0 || n === 0 || k === 0 || alpha === 0) return;
  if (m * n * k <= DIRECT_FLOPS || m < MR || n < NR) {
    gemmDirect(m, n, k, alpha, a, aOff, lda, transA, b, bOff, ldb, transB, c, cOff, ldc);
    return;
  }
  gemmBlocked(m, n, k, alpha, a, aOff, lda, transA, b, bOff, ldb, transB, c, cOff, ldc);
};

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
  if (!transB) {
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
  // op(B) = Bᵀ with B stored n×k: C[i, j] += α·Σ_p op(A)[i, p] · B[j, p]
  for (let i = 0; i < m; i++) {
    const cRow = cOff + i * ldc;
    for (let j = 0; j < n; j++) {
      const bRow = bOff + j * ldb;
      let sum = 0;
      if (!transA) {
        const aRow = aOff + i * lda;
        for (let p = 0; p < k; p++) sum += a[aRow + p] * b[bRow + p];
      } else {
        for (let p = 0; p < k; p++) sum += a[aOff + p * lda + i] * b[bRow + p];
      }
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
  const [packA, packB] = packBuffers(c instanceof Float64Array, MC * KC, KC * (NC + NR));
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packPanelB(packB, kc, nc, b, bOff, ldb, transB, pc, jc);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packBlockA(packA, mc, kc, a, aOff, lda, transA, ic, pc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          const bStart = (jr / NR) * kc * NR;
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            const aStart = (ir / MR) * kc * MR;
            microKernel4x4(kc, alpha, packA, aStart, packB, bStart, c, cOff + (ic + ir) * ldc + jc + jr, ldc, mr, nr);
          }
        }
      }
    }
  }
}

/** Pack op(A)[ic:ic+mc, pc:pc+kc] as strips of MR rows: strip s, step p → 4 consecutive values. */
function packBlockA(
  out: FloatArray, mc: number, kc: number,
  a: FloatArray, aOff: number, lda: number, transA: boolean, ic: number, pc: number,
): void {
  let o = 0;
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = Math.min(MR, mc - ir);
    for (let p = 0; p < kc; p++) {
      for (let i = 0; i < MR; i++) {
        if (i >= mr) { out[o++] = 0; continue; }
        const row = ic + ir + i;
        const col = pc + p;
        out[o++] = transA ? a[aOff + col * lda + row] : a[aOff + row * lda + col];
      }
    }
  }
}

/** Pack op(B)[pc:pc+kc, jc:jc+nc] as strips of NR columns: strip s, step p → 4 consecutive values. */
function packPanelB(
  out: FloatArray, kc: number, nc: number,
  b: FloatArray, bOff: number, ldb: number, transB: boolean, pc: number, jc: number,
): void {
  let o = 0;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = Math.min(NR, nc - jr);
    if (!transB && nr === NR) {
      for (let p = 0; p < kc; p++) {
        const src = bOff + (pc + p) * ldb + jc + jr;
        out[o] = b[src]; out[o + 1] = b[src + 1]; out[o + 2] = b[src + 2]; out[o + 3] = b[src + 3];
        o += 4;
      }
      continue;
    }
    for (let p = 0; p < kc; p++) {
      for (let j = 0; j < NR; j++) {
        if (j >= nr) { out[o++] = 0; continue; }
        const row = pc + p;
        const col = jc + jr + j;
        out[o++] = transB ? b[bOff + col * ldb + row] : b[bOff + row * ldb + col];
      }
    }
  }
}

/** C[0:mr, 0:nr] += α · Ã(4×kc) · B̃(kc×4), Ã and B̃ packed; 16 accumulators held in registers. */
function microKernel4x4(
  kc: number, alpha: number,
  pa: FloatArray, aStart: number, pb: FloatArray, bStart: number,
  c: FloatArray, cStart: number, ldc: number, mr: number, nr: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  let ai = aStart;
  let bi = bStart;
  for (let p = 0; p < kc; p++) {
    const a0 = pa[ai], a1 = pa[ai + 1], a2 = pa[ai + 2], a3 = pa[ai + 3];
    const b0 = pb[bi], b1 = pb[bi + 1], b2 = pb[bi + 2], b3 = pb[bi + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    ai += 4;
    bi += 4;
  }
  if (mr === 4 && nr === 4) {
    let r = cStart;
    c[r] += alpha * c00; c[r + 1] += alpha * c01; c[r + 2] += alpha * c02; c[r + 3] += alpha * c03;
    r += ldc;
    c[r] += alpha * c10; c[r + 1] += alpha * c11; c[r + 2] += alpha * c12; c[r + 3] += alpha * c13;
    r += ldc;
    c[r] += alpha * c20; c[r + 1] += alpha * c21; c[r + 2] += alpha * c22; c[r + 3] += alpha * c23;
    r += ldc;
    c[r] += alpha * c30; c[r + 1] += alpha * c31; c[r + 2] += alpha * c32; c[r + 3] += alpha * c33;
    return;
  }
  const tile = edgeTile;
  tile[0] = c00; tile[1] = c01; tile[2] = c02; tile[3] = c03;
  tile[4] = c10; tile[5] = c11; tile[6] = c12; tile[7] = c13;
  tile[8] = c20; tile[9] = c21; tile[10] = c22; tile[11] = c23;
  tile[12] = c30; tile[13] = c31; tile[14] = c32; tile[15] = c33;
  for (let i = 0; i < mr; i++) {
    for (let j = 0; j < nr; j++) c[cStart + i * ldc + j] += alpha * tile[i * 4 + j];
  }
}
