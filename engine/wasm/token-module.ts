/**
 * The token-step kernels of batch-1 sampling (kernels/types.ts' TokenStepKernels) as one WebAssembly
 * SIMD module over the backend heap's memory, emitted as bytes by `emitter.ts`. One call advances one
 * recurrent layer of one stream by one token — the product with W_a, the input row, the gates and
 * the new state — with no JavaScript in between; another forms the dense head's row. Exports:
 *
 *   dense_row(n, k, w, ldw, x, y, b, hasBias)      y = W·x (+ b)         W [n, k], x [k], y and b [n]
 *   lstm_token(h, wp, xp, a, c, z)                 z = W_a·a (scratch [4H↑16]); then the LSTM gates with
 *                                                  xp [4H] and c⟨t−1⟩ = c: a, c ← a⟨t⟩, c⟨t⟩ in place
 *   gru_token(h, wp, ba, xp, s, z)                 reset-after GRU: z = W_a·s (scratch [3H↑16]); s ← s⟨t⟩
 *   rnn_token(h, wp, xp, a, z, relu)               z = W_a·a (scratch [H↑16]); a ← g(z + xp), g = tanh or ReLU
 *   pack_panels(n, k, w, ldw, wp)                  W [n, k] → wp in panels of PANEL_ROWS rows (see below)
 *
 * Pointers and row strides in bytes; h (units per gate) a multiple of 4; n and k any (n ≥ 1, k ≥ 1);
 * n↑16: n rounded up to a multiple of PANEL_ROWS.
 *
 * dense_row's product y[j] = Σ_p W[j, p]·x[p] takes four rows of W at a time, one f32x4 accumulator per
 * row over the whole f32x4s of k (relaxed_madd where the backend has it), then one transposing reduction
 * turns the four accumulators into the four sums at once, each lane folded as (l₀ + l₁) + (l₂ + l₃); the
 * last k mod 4 terms are added one by one, and the last n mod 4 rows are done alone — the order of the
 * GEMM's few-rows path (sgemm-module.ts' gemv_t), so the sums are the ones an M = 1 GEMM gives.
 *
 * The recurrent product z = W_a·s reads W_a packed (pack_panels, once per sampler): panel q holds rows
 * [16q, 16q + 16) column by column — for p = 0 … k−1 the 16 entries W[16q + i, p] — zero rows past n.
 * A panel's 4 f32x4 accumulators stay in registers while p runs, two columns per turn of the loop (a
 * splat of s[p], 4 multiply-adds, a splat of s[p + 1], 4 more; k is even), and the whole of W_a is one
 * sequential stream. Each z[j] is Σ_p in order p = 0, 1, … (one chain of multiply-adds), always as
 * f32x4.mul then f32x4.add, also where the backend has relaxed_madd: each accumulator's chain bounds
 * this loop, and a fused multiply-add's latency (4–5 cycles here, against the add's 3) made the whole
 * token step ~12 % slower at H 128. The product
 * reads each entry of W once, so its speed is that of the loads (with W_a hot in the cache, L1 or L2,
 * the same): measured at H 128, panels of 16 rows two columns a turn took 0.85–0.9× the time of panels
 * of 32 rows one column a turn (and of 8, 12 or 16 accumulators, or more columns a turn); with the
 * cache emptied between steps, as on a busy machine, the sequential stream took 0.8× the time of a
 * row-by-row product at H 128 and 0.7× at H 256.
 *
 * The gate arithmetic is the gate kernels' (gates-module.ts, VectorMath's exp / σ / tanh) for one row,
 * operation for operation: a token step differs from the GEMM + gate-kernel step only by the order of
 * the recurrent product's sums and, where the GEMM uses relaxed_madd, by its fused rounding (float32
 * rounding either way).
 */
import { FunctionBuilder, ModuleBuilder, ValType } from './emitter.js';
import { VectorMath } from './gates-module.js';
import type { HeapImport } from './heap.js';
import { importHeapMemory } from './sgemm-module.js';

const i32 = ValType.i32, f32 = ValType.f32, v128 = ValType.v128;

/** Rows per panel of a packed W_a (4 f32x4 accumulators). */
export const PANEL_ROWS = 16;
const PANEL_VECTORS = PANEL_ROWS / 4;

/** acc ← x·w + acc (one rounding with relaxed_madd, else mul then add). Pushes nothing. */
function multiplyAdd(f: FunctionBuilder, relaxedMadd: boolean, acc: number, pushX: () => void, pushW: () => void): void {
  if (relaxedMadd) {
    pushX(); pushW(); f.localGet(acc).f32x4RelaxedMadd();
  } else {
    f.localGet(acc); pushX(); pushW(); f.f32x4Mul().f32x4Add();
  }
  f.localSet(acc);
}

/**
 * Emit y[j] = Σ_p W[j, p]·x[p] for j < n (locals holding byte pointers x, w, y, the row stride ldw
 * in bytes, and the counts n, k). Clobbers nothing it is given; declares its own locals.
 */
function emitRowProducts(
  f: FunctionBuilder, relaxedMadd: boolean, p: { x: number; w: number; ldw: number; y: number; n: number; k: number },
): void {
  const rows = [f.local(i32), f.local(i32), f.local(i32), f.local(i32)];
  const acc = [f.local(v128), f.local(v128), f.local(v128), f.local(v128)];
  const xv = f.local(v128), sum = f.local(f32);
  const pb = f.local(i32), kb = f.local(i32), kb4 = f.local(i32), yb = f.local(i32), nb = f.local(i32), nb4 = f.local(i32);
  f.localGet(p.k).i32Const(2).i32Shl().localSet(kb);
  f.localGet(p.k).i32Const(-4).i32And().i32Const(2).i32Shl().localSet(kb4);
  f.localGet(p.n).i32Const(2).i32Shl().localSet(nb);
  f.localGet(p.n).i32Const(-4).i32And().i32Const(2).i32Shl().localSet(nb4);
  f.localGet(p.w).localSet(rows[0]);
  f.i32Const(0).localSet(yb);

  /** acc[r] = Σ over the whole f32x4s of row r (R rows from rows[0]). */
  const dots = (R: number) => {
    for (let r = 0; r < R; r++) {
      if (r > 0) f.localGet(rows[r - 1]).localGet(p.ldw).i32Add().localSet(rows[r]);
      f.f32Const(0).f32x4Splat().localSet(acc[r]);
    }
    f.i32Const(0).localSet(pb);
    f.block();
    f.loop();
    f.localGet(pb).localGet(kb4).i32GeS().brIf(1);
    f.localGet(p.x).localGet(pb).i32Add().v128Load().localSet(xv);
    for (let r = 0; r < R; r++) {
      multiplyAdd(f, relaxedMadd, acc[r], () => f.localGet(xv), () => f.localGet(rows[r]).localGet(pb).i32Add().v128Load());
    }
    f.i32Increment(pb, 16).br(0);
    f.end();
    f.end();
  };
  /** y[yb + 4·r] += the last k mod 4 terms of row r, one by one. */
  const tail = (r: number) => {
    f.localGet(p.y).localGet(yb).i32Add().f32Load(4 * r).localSet(sum);
    f.localGet(kb4).localSet(pb);
    f.block();
    f.loop();
    f.localGet(pb).localGet(kb).i32GeS().brIf(1);
    f.localGet(sum).localGet(p.x).localGet(pb).i32Add().f32Load().localGet(rows[r]).localGet(pb).i32Add().f32Load().f32Mul().f32Add().localSet(sum);
    f.i32Increment(pb, 4).br(0);
    f.end();
    f.end();
    f.localGet(p.y).localGet(yb).i32Add().localGet(sum).f32Store(4 * r);
  };
  const nextRows = (R: number) => {
    f.localGet(rows[R - 1]).localGet(p.ldw).i32Add().localSet(rows[0]);
    f.i32Increment(yb, 4 * R);
  };

  // four rows at a time
  f.block();
  f.loop();
  f.localGet(yb).localGet(nb4).i32GeS().brIf(1);
  dots(4);
  // [a b c d] → [a₀+a₁, b₀+b₁, a₂+a₃, b₂+b₃] and the same for c, d; then [a, b, c, d] sums = (l₀+l₁)+(l₂+l₃)
  f.localGet(acc[0]).localGet(acc[1]).f32x4Shuffle([0, 4, 2, 6]).localGet(acc[0]).localGet(acc[1]).f32x4Shuffle([1, 5, 3, 7]).f32x4Add().localSet(acc[0]);
  f.localGet(acc[2]).localGet(acc[3]).f32x4Shuffle([0, 4, 2, 6]).localGet(acc[2]).localGet(acc[3]).f32x4Shuffle([1, 5, 3, 7]).f32x4Add().localSet(acc[2]);
  f.localGet(p.y).localGet(yb).i32Add();
  f.localGet(acc[0]).localGet(acc[2]).f32x4Shuffle([0, 1, 4, 5]).localGet(acc[0]).localGet(acc[2]).f32x4Shuffle([2, 3, 6, 7]).f32x4Add();
  f.v128Store();
  f.localGet(kb4).localGet(kb).i32Ne().if();
  for (let r = 0; r < 4; r++) tail(r);
  f.end();
  nextRows(4);
  f.br(0);
  f.end();
  f.end();
  // the last n mod 4 rows, one at a time
  f.block();
  f.loop();
  f.localGet(yb).localGet(nb).i32GeS().brIf(1);
  dots(1);
  f.localGet(p.y).localGet(yb).i32Add();
  f.localGet(acc[0]).f32x4ExtractLane(0).localGet(acc[0]).f32x4ExtractLane(1).f32Add();
  f.localGet(acc[0]).f32x4ExtractLane(2).localGet(acc[0]).f32x4ExtractLane(3).f32Add().f32Add();
  f.f32Store();
  tail(0);
  nextRows(1);
  f.br(0);
  f.end();
  f.end();
}

/** For jb over [0, 4·h) bytes in steps of 16 (h ≥ 4, a multiple of 4): body(jb). */
function eachUnitVector(f: FunctionBuilder, h: number, body: (jb: number) => void): void {
  const jb = f.local(i32), hb = f.local(i32);
  f.localGet(h).i32Const(2).i32Shl().localSet(hb);
  f.i32Const(0).localSet(jb);
  f.block();
  f.loop();
  f.localGet(jb).localGet(hb).i32GeS().brIf(1);
  body(jb);
  f.i32Increment(jb, 16).br(0);
  f.end();
  f.end();
}

/** Push the f32x4 at pointer + jb (+ gate block `k` of h units: k·4h bytes, from local hb4 = 4h). */
function load(f: FunctionBuilder, pointer: number, jb: number, k = 0, hb = -1): void {
  f.localGet(pointer).localGet(jb).i32Add();
  if (k > 0) f.localGet(hb).i32Const(k).i32Mul().i32Add();
  f.v128Load();
}

/** The byte length of one gate block (4h) in a new local. */
function gateBytes(f: FunctionBuilder, h: number): number {
  const hb = f.local(i32);
  f.localGet(h).i32Const(2).i32Shl().localSet(hb);
  return hb;
}

function buildDenseRow(relaxedMadd: boolean): FunctionBuilder {
  const f = new FunctionBuilder(Array(8).fill(i32));
  const [n, k, w, ldw, x, y, b, hasBias] = [0, 1, 2, 3, 4, 5, 6, 7];
  emitRowProducts(f, relaxedMadd, { x, w, ldw, y, n, k });
  // y += b afterwards, as the GEMM's bias add: four at a time, then one by one
  const jb = f.local(i32), nb = f.local(i32), nb4 = f.local(i32);
  f.localGet(hasBias).if();
  f.localGet(n).i32Const(2).i32Shl().localSet(nb);
  f.localGet(n).i32Const(-4).i32And().i32Const(2).i32Shl().localSet(nb4);
  f.i32Const(0).localSet(jb);
  f.block();
  f.loop();
  f.localGet(jb).localGet(nb4).i32GeS().brIf(1);
  f.localGet(y).localGet(jb).i32Add();
  load(f, y, jb); load(f, b, jb); f.f32x4Add().v128Store();
  f.i32Increment(jb, 16).br(0);
  f.end();
  f.end();
  f.block();
  f.loop();
  f.localGet(jb).localGet(nb).i32GeS().brIf(1);
  f.localGet(y).localGet(jb).i32Add();
  f.localGet(y).localGet(jb).i32Add().f32Load().localGet(b).localGet(jb).i32Add().f32Load().f32Add().f32Store();
  f.i32Increment(jb, 4).br(0);
  f.end();
  f.end();
  f.end();
  return f;
}

/**
 * z[0, G·h↑16) = W_a·s from W_a packed in panels (the header), k = h: the G·h rows of W_a (the gate
 * blocks stacked), into the scratch z. h ≥ 4 and a multiple of 4 (the host checks): the loops run
 * at least once and take two columns a turn.
 */
function recurrentProduct(f: FunctionBuilder, gates: number, h: number, wp: number, s: number, z: number): void {
  const acc = Array.from({ length: PANEL_VECTORS }, () => f.local(v128));
  const sv = f.local(v128), w = f.local(i32), y = f.local(i32), yEnd = f.local(i32), ps = f.local(i32), pEnd = f.local(i32);
  f.localGet(wp).localSet(w).localGet(z).localSet(y);
  // z + 4·(G·h rounded up to a panel)
  f.localGet(z).localGet(h).i32Const(gates).i32Mul().i32Const(PANEL_ROWS - 1).i32Add().i32Const(-PANEL_ROWS).i32And().i32Const(2).i32Shl().i32Add().localSet(yEnd);
  f.localGet(s).localGet(h).i32Const(2).i32Shl().i32Add().localSet(pEnd);
  f.loop();
  {
    for (const a of acc) f.f32Const(0).f32x4Splat().localSet(a);
    f.localGet(s).localSet(ps);
    f.loop();
    for (const column of [0, 1]) {
      f.localGet(ps).v128Load32Splat(4 * column).localSet(sv);
      acc.forEach((a, v) => multiplyAdd(f, false, a, () => f.localGet(sv), () => f.localGet(w).v128Load(4 * PANEL_ROWS * column + 16 * v)));
    }
    f.localGet(w).i32Const(2 * 4 * PANEL_ROWS).i32Add().localSet(w);
    f.localGet(ps).i32Const(8).i32Add().localTee(ps).localGet(pEnd).i32Ne().brIf(0);
    f.end();
    acc.forEach((a, v) => f.localGet(y).localGet(a).v128Store(16 * v));
    f.localGet(y).i32Const(4 * PANEL_ROWS).i32Add().localTee(y).localGet(yEnd).i32LtU().brIf(0);
  }
  f.end();
}

/** pack_panels(n, k, w, ldw, wp): W [n, k] (row stride ldw bytes) into panels (the header), zero rows past n. */
function buildPackPanels(): FunctionBuilder {
  const f = new FunctionBuilder(Array(5).fill(i32));
  const [n, k, w, ldw, wp] = [0, 1, 2, 3, 4];
  const row = f.local(i32), rows = f.local(i32), p = f.local(i32), i = f.local(i32), value = f.local(f32);
  f.localGet(n).i32Const(PANEL_ROWS - 1).i32Add().i32Const(-PANEL_ROWS).i32And().localSet(rows);
  f.i32Const(0).localSet(row);
  f.block();
  f.loop();
  f.localGet(row).localGet(rows).i32GeS().brIf(1);
  f.i32Const(0).localSet(p);
  f.block();
  f.loop();
  f.localGet(p).localGet(k).i32GeS().brIf(1);
  f.i32Const(0).localSet(i);
  f.loop();
  // wp ← row + i < n ? W[row + i, p] : 0
  f.f32Const(0).localSet(value);
  f.localGet(row).localGet(i).i32Add().localGet(n).i32LtS();
  f.if();
  f.localGet(w).localGet(row).localGet(i).i32Add().localGet(ldw).i32Mul().i32Add().localGet(p).i32Const(2).i32Shl().i32Add();
  f.f32Load().localSet(value);
  f.end();
  f.localGet(wp).localGet(value).f32Store();
  f.i32Increment(wp, 4);
  f.i32Increment(i, 1).localGet(i).i32Const(PANEL_ROWS).i32LtS().brIf(0);
  f.end();
  f.i32Increment(p, 1).br(0);
  f.end();
  f.end();
  f.i32Increment(row, PANEL_ROWS).br(0);
  f.end();
  f.end();
  return f;
}

/**
 * lstm_token: the gates as gates-module's lstm_fwd computes them, for one row, state in place, in two
 * passes over the units: the first forms Γu, Γf, c̃, Γo and c⟨t⟩ (Γo kept in z's first gate block, whose
 * entries it has read), the second a⟨t⟩ = Γo ∗ tanh(c⟨t⟩). The same operations as one pass; apart, each
 * pass's units are independent chains the CPU overlaps (σ then tanh in one unit was a chain of two
 * activations: ~25 % slower at H 128).
 */
function buildLstmToken(): FunctionBuilder {
  const f = new FunctionBuilder(Array(6).fill(i32));
  const [h, wp, xp, a, c, z] = [0, 1, 2, 3, 4, 5];
  const math = new VectorMath(f);
  const gi = f.local(v128), gf = f.local(v128), gg = f.local(v128);
  recurrentProduct(f, 4, h, wp, a, z);
  math.init();
  const hb = gateBytes(f, h);
  eachUnitVector(f, h, (jb) => {
    const preactivation = (k: number) => { load(f, z, jb, k, hb); load(f, xp, jb, k, hb); f.f32x4Add(); };
    preactivation(0); math.sigmoid(); f.localSet(gi);
    preactivation(1); math.sigmoid(); f.localSet(gf);
    preactivation(2); math.tanh(); f.localSet(gg);
    f.localGet(z).localGet(jb).i32Add();
    preactivation(3); math.sigmoid(); f.v128Store();
    // c = Γu ∗ c̃ + Γf ∗ c⟨t−1⟩
    f.localGet(c).localGet(jb).i32Add();
    f.localGet(gi).localGet(gg).f32x4Mul();
    f.localGet(gf); load(f, c, jb); f.f32x4Mul().f32x4Add();
    f.v128Store();
  });
  // a = Γo ∗ tanh(c)
  eachUnitVector(f, h, (jb) => {
    f.localGet(a).localGet(jb).i32Add();
    load(f, z, jb); load(f, c, jb); math.tanh(); f.f32x4Mul().v128Store();
  });
  return f;
}

/**
 * gru_token: gates-module's gru_fwd for one row (r, u, n; s ← (1 − u) ∗ n + u ∗ s), state in place, in
 * two passes as lstm_token: Γr and Γu first (kept in z's first two gate blocks, whose entries they
 * have read), then n and the new state — the same operations as one pass.
 */
function buildGruToken(): FunctionBuilder {
  const f = new FunctionBuilder(Array(6).fill(i32));
  const [h, wp, ba, xp, s, z] = [0, 1, 2, 3, 4, 5];
  const math = new VectorMath(f);
  const n = f.local(v128);
  recurrentProduct(f, 3, h, wp, s, z);
  math.init();
  const hb = gateBytes(f, h);
  eachUnitVector(f, h, (jb) => {
    for (const k of [0, 1]) {
      f.localGet(z).localGet(jb).i32Add();
      if (k > 0) f.localGet(hb).i32Add();
      load(f, xp, jb, k, hb); load(f, z, jb, k, hb); f.f32x4Add();
      load(f, ba, jb, k, hb); f.f32x4Add();
      math.sigmoid(); f.v128Store();
    }
  });
  eachUnitVector(f, h, (jb) => {
    const r = () => load(f, z, jb), u = () => load(f, z, jb, 1, hb);
    load(f, xp, jb, 2, hb);
    r(); load(f, z, jb, 2, hb); load(f, ba, jb, 2, hb); f.f32x4Add().f32x4Mul().f32x4Add();
    math.tanh(); f.localSet(n);
    f.localGet(s).localGet(jb).i32Add();
    f.localGet(math.one); u(); f.f32x4Sub().localGet(n).f32x4Mul();
    u(); load(f, s, jb); f.f32x4Mul().f32x4Add().v128Store();
  });
  return f;
}

/** rnn_token: a ← tanh(W_a·a + xp) (gates-module's rnn_tanh) or max(W_a·a + xp, 0) (relu ≠ 0). */
function buildRnnToken(): FunctionBuilder {
  const f = new FunctionBuilder(Array(6).fill(i32));
  const [h, wp, xp, a, z, relu] = [0, 1, 2, 3, 4, 5];
  const math = new VectorMath(f);
  const zero = f.local(v128);
  recurrentProduct(f, 1, h, wp, a, z);
  math.init();
  f.f32Const(0).f32x4Splat().localSet(zero);
  f.localGet(relu).if();
  eachUnitVector(f, h, (jb) => {
    // z > 0 ? z : 0, as the js kernel (a NaN becomes 0 there too: pmax(0, NaN) = 0)
    f.localGet(a).localGet(jb).i32Add();
    f.localGet(zero); load(f, z, jb); load(f, xp, jb); f.f32x4Add().f32x4Pmax().v128Store();
  });
  f.else();
  eachUnitVector(f, h, (jb) => {
    f.localGet(a).localGet(jb).i32Add();
    load(f, z, jb); load(f, xp, jb); f.f32x4Add(); math.tanh(); f.v128Store();
  });
  f.end();
  return f;
}

/** Build the module over the heap's memory; dense_row multiply-adds as the backend's GEMM (relaxedMadd: the same sums), the recurrent product with mul + add. */
export function buildTokenModule(heap: HeapImport, relaxedMadd: boolean): Uint8Array {
  const m = new ModuleBuilder();
  importHeapMemory(m, heap);
  m.addFunction(buildDenseRow(relaxedMadd), 'dense_row');
  m.addFunction(buildLstmToken(), 'lstm_token');
  m.addFunction(buildGruToken(), 'gru_token');
  m.addFunction(buildRnnToken(), 'rnn_token');
  m.addFunction(buildPackPanels(), 'pack_panels');
  return m.toBytes();
}
