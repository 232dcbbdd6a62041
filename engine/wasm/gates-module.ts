/**
 * The fused gate kernels of the recurrent cells as one WebAssembly SIMD module, emitted as bytes by
 * `emitter.ts` (see backend.ts for what each computes). It imports the backend heap's memory. Exports:
 *
 *   lstm_fwd(rows, h, z, ldz, xp, ldxp, cp, ldcp, c, ldc, a, lda, t, ldt)
 *   lstm_bwd(rows, h, g, ldg, t, ldt, cp, ldcp, da, ldda, dc, lddc, dz, lddz, dcp, lddcp)
 *   gru_fwd(rows, h, hp, ldhp, ba, xp, ldxp, hprev, ldhprev, g, ldg, hpn, ldhpn, out, ldout)   (reset-after;
 *       ba: the one bias row)
 *   gru_bwd(rows, h, g, ldg, hpn, ldhpn, hprev, ldhprev, dh, lddh, dxp, lddxp, dhp, lddhp, dhprev, lddhprev)
 *   rnn_tanh(rows, h, a, lda, xp, ldxp)
 *   rnn_tanh_bwd(rows, h, a, lda, da, ldda, dz, lddz)   dz = da ∗ (1 − a²) (f32 arithmetic)
 *   gru_full_gates_fwd(rows, h, g, ldg, xp, ldxp, cp, ldcp, rs, ldrs)   (the notes' full GRU, both halves
 *   gru_full_cand_fwd(rows, h, g, ldg, xp, ldxp, cp, ldcp, c, ldc)        of its step; see types.ts)
 *   exp_f32x4(src, dst, n)          dst[i] = exp(src[i]), n a multiple of 4 (for the tests)
 * Pointers and row strides in bytes; h (units per gate) a multiple of 4; four units per f32x4.
 *
 * WebAssembly has no exp, so it is built here (Cephes' expf, single precision):
 *   x ← clamp(x, −87.3, 88.3);  t = x·log₂e + 1.5·2²³ (adding 1.5·2²³ rounds to an integer n, held in t's
 *   low mantissa bits);  n = t − 1.5·2²³;  r = x − n·C1 − n·C2   (C1 + C2 = ln 2, split so n·C1 is exact);
 *   e^r ≈ 1 + r + r²·P(r) (degree-5 P, |r| ≤ ln2/2);  2ⁿ = (bits(t) + 127) << 23 (the exponent field;
 *   the high bits of 1.5·2²³ shift out).
 * The clamp uses pmax / pmin (one instruction each, with the argument order that keeps a NaN), the
 * rounding an add instead of nearest + trunc_sat — V8 expands NaN-exact min / max and trunc_sat into
 * long sequences, which made the gate kernels several times slower.
 * Relative error under 1 ulp as measured against float64 Math.exp on [−87, 88] (the tests allow 2); the
 * clamp keeps n in [−126, 127] (normal numbers, no inf, no NaN; NaN stays NaN).
 * Then σ(z) = 1 / (1 + e^(−z)) and tanh(z) = 1 − 2 / (e^(2z) + 1): errors ≤ ~2·10⁻⁷ absolute —
 * against the js kernels (float64 Math.exp / Math.tanh, rounded to float32) the parity tests allow 1e−5.
 */
import { FunctionBuilder, ModuleBuilder, ValType } from './emitter.js';
import type { HeapImport } from './heap.js';
import { importHeapMemory } from './sgemm-module.js';

const EXP_CONSTANTS = {
  lo: -87.3,
  hi: 88.3,
  log2e: Math.LOG2E,
  /** 1.5·2²³: adding it rounds to an integer (to nearest, ties to even) kept in the low mantissa bits. */
  round: 12582912,
  c1: 0.693359375,
  c2: -2.12194440e-4,
  p: [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1],
};

/**
 * The v128 constants and scratch locals the math helpers share within one function; constants are
 * splatted once at the function's start (`init`), so the loops only read locals.
 */
export class VectorMath {
  readonly one: number;
  readonly two: number;
  private readonly lo: number;
  private readonly hi: number;
  private readonly log2e: number;
  private readonly round: number;
  private readonly bias: number;
  private readonly c1: number;
  private readonly c2: number;
  private readonly p: number[];
  private readonly fx: number;
  private readonly r: number;
  private readonly y: number;
  private readonly t: number;

  constructor(private readonly f: FunctionBuilder) {
    const v = () => f.local(ValType.v128);
    this.one = v(); this.two = v(); this.lo = v(); this.hi = v(); this.log2e = v(); this.c1 = v(); this.c2 = v();
    this.round = v(); this.bias = v();
    this.p = EXP_CONSTANTS.p.map(() => v());
    this.fx = v(); this.r = v(); this.y = v(); this.t = v();
  }

  init(): void {
    const f = this.f;
    const splat = (value: number, local: number) => f.f32Const(value).f32x4Splat().localSet(local);
    splat(1, this.one); splat(2, this.two);
    splat(EXP_CONSTANTS.lo, this.lo); splat(EXP_CONSTANTS.hi, this.hi); splat(EXP_CONSTANTS.log2e, this.log2e);
    splat(EXP_CONSTANTS.c1, this.c1); splat(EXP_CONSTANTS.c2, this.c2);
    splat(EXP_CONSTANTS.round, this.round);
    f.i32Const(127).i32x4Splat().localSet(this.bias);
    EXP_CONSTANTS.p.forEach((c, i) => splat(c, this.p[i]));
  }

  /** Stack: x → e^x (see the header). */
  exp(): void {
    const f = this.f;
    const { fx, r, y, t } = this;
    // r = clamp(x): pmax(x, lo) = x < lo ? lo : x and pmin(·, hi) = hi < · ? hi : · keep a NaN x
    f.localGet(this.lo).f32x4Pmax().localGet(this.hi).f32x4Pmin().localSet(r);
    f.localGet(r).localGet(this.log2e).f32x4Mul().localGet(this.round).f32x4Add().localTee(t);
    f.localGet(this.round).f32x4Sub().localSet(fx); // n = round(x·log₂e), as a float
    f.localGet(r).localGet(fx).localGet(this.c1).f32x4Mul().f32x4Sub();
    f.localGet(fx).localGet(this.c2).f32x4Mul().f32x4Sub().localSet(r);
    f.localGet(this.p[0]);
    for (let i = 1; i < this.p.length; i++) f.localGet(r).f32x4Mul().localGet(this.p[i]).f32x4Add();
    f.localGet(r).f32x4Mul().localGet(r).f32x4Mul().localGet(r).f32x4Add().localGet(this.one).f32x4Add().localSet(y);
    // 2ⁿ: the exponent field n + 127 (n sits in t's low bits), shifted into place
    f.localGet(t).localGet(this.bias).i32x4Add().i32Const(23).i32x4Shl();
    f.localGet(y).f32x4Mul();
  }

  /** Stack: z → σ(z) = 1 / (1 + e^(−z)). */
  sigmoid(): void {
    const f = this.f;
    f.f32x4Neg();
    this.exp();
    f.localGet(this.one).f32x4Add().localSet(this.y);
    f.localGet(this.one).localGet(this.y).f32x4Div();
  }

  /** Stack: z → tanh(z) = 1 − 2 / (e^(2z) + 1). */
  tanh(): void {
    const f = this.f;
    f.localGet(this.two).f32x4Mul();
    this.exp();
    f.localGet(this.one).f32x4Add().localSet(this.y);
    f.localGet(this.one).localGet(this.two).localGet(this.y).f32x4Div().f32x4Sub();
  }
}

/**
 * A loop over `rows` rows × `h` units in steps of four: each of `bodies` runs, in its own loop over the
 * row's units, with the byte offset of the current four units (local `jb`) inside each row;
 * `rowPointers` are advanced by their strides.
 */
function rowsTimesUnits(
  f: FunctionBuilder, rows: number, h: number, rowPointers: [number, number][], ...bodies: ((jb: number) => void)[]
): void {
  const i32 = ValType.i32;
  const hb = f.local(i32), jb = f.local(i32), left = f.local(i32);
  f.localGet(rows).i32Eqz().localGet(h).i32Eqz().i32Add().if().return().end();
  f.localGet(h).i32Const(2).i32Shl().localSet(hb);
  f.localGet(rows).localSet(left);
  f.loop();
  {
    for (const body of bodies) {
      f.i32Const(0).localSet(jb);
      f.loop();
      body(jb);
      f.i32Increment(jb, 16).localGet(jb).localGet(hb).i32LtS().brIf(0);
      f.end();
    }
    for (const [pointer, stride] of rowPointers) f.localGet(pointer).localGet(stride).i32Add().localSet(pointer);
    f.i32Increment(left, -1).localGet(left).brIf(0);
  }
  f.end();
}

/** The address of the f32x4 at byte jb (+ the gate block's byte offset in local `block`) of the row at `pointer`. */
function addressAt(f: FunctionBuilder, pointer: number, jb: number, block: number | null): void {
  f.localGet(pointer).localGet(jb).i32Add();
  if (block !== null) f.localGet(block).i32Add();
}

/** Push that f32x4. */
function loadAt(f: FunctionBuilder, pointer: number, jb: number, block: number | null): void {
  addressAt(f, pointer, jb, block);
  f.v128Load();
}

/** Locals holding the byte offsets of gate blocks 1, 2, 3 (h·4, 2·h·4, 3·h·4); block 0 is null. */
function gateBlockOffsets(f: FunctionBuilder, h: number): (number | null)[] {
  const blocks: (number | null)[] = [null];
  for (let k = 1; k < 4; k++) {
    const local = f.local(ValType.i32);
    f.localGet(h).i32Const(4 * k).i32Mul().localSet(local);
    blocks.push(local);
  }
  return blocks;
}

function buildLstmForward(): FunctionBuilder {
  const i32 = ValType.i32, v128 = ValType.v128;
  const f = new FunctionBuilder(Array(14).fill(i32));
  const [rows, h, z, ldz, xp, ldxp, cp, ldcp, c, ldc, a, lda, t, ldt] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const math = new VectorMath(f);
  const gi = f.local(v128), gf = f.local(v128), gg = f.local(v128), go = f.local(v128), cn = f.local(v128), tc = f.local(v128);
  math.init();
  const block = gateBlockOffsets(f, h);
  const pointers: [number, number][] = [[z, ldz], [xp, ldxp], [cp, ldcp], [c, ldc], [a, lda], [t, ldt]];
  const store = (pointer: number, jb: number, k: number, value: number) => {
    addressAt(f, pointer, jb, block[k]);
    f.localGet(value).v128Store();
  };
  // Two passes over each row. tanh(c⟨t⟩) waits for all four gates (two exponentials one after the
  // other: the critical path of a fused loop, ~25 dependent operations each, which the core's
  // reorder window cannot overlap with the next units'); apart, each pass's iterations are
  // independent and overlap. The second pass reads back c and Γo while they are in L1. Same operations,
  // same bits.
  rowsTimesUnits(f, rows, h, pointers, (jb) => {
    const preactivation = (k: number) => {
      loadAt(f, z, jb, block[k]);
      loadAt(f, xp, jb, block[k]);
      f.f32x4Add();
    };
    preactivation(0); math.sigmoid(); f.localSet(gi);
    preactivation(1); math.sigmoid(); f.localSet(gf);
    preactivation(2); math.tanh(); f.localSet(gg);
    preactivation(3); math.sigmoid(); f.localSet(go);
    // c = Γu ∗ c̃ + Γf ∗ c⟨t−1⟩
    f.localGet(gi).localGet(gg).f32x4Mul();
    f.localGet(gf); loadAt(f, cp, jb, null); f.f32x4Mul().f32x4Add().localSet(cn);
    store(z, jb, 0, gi); store(z, jb, 1, gf); store(z, jb, 2, gg); store(z, jb, 3, go);
    store(c, jb, 0, cn);
  }, (jb) => {
    // tanh(c), a = Γo ∗ tanh(c)
    loadAt(f, c, jb, null); math.tanh(); f.localSet(tc);
    store(t, jb, 0, tc);
    addressAt(f, a, jb, null);
    loadAt(f, z, jb, block[3]); f.localGet(tc).f32x4Mul().v128Store();
  });
  return f;
}

function buildLstmBackward(): FunctionBuilder {
  const i32 = ValType.i32, v128 = ValType.v128;
  const f = new FunctionBuilder(Array(16).fill(i32));
  const [rows, h, g, ldg, t, ldt, cp, ldcp, da, ldda, dc, lddc, dz, lddz, dcp, lddcp] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const one = f.local(v128);
  const gi = f.local(v128), gf = f.local(v128), gg = f.local(v128), go = f.local(v128);
  const tc = f.local(v128), dA = f.local(v128), dC = f.local(v128);
  f.f32Const(1).f32x4Splat().localSet(one);
  const block = gateBlockOffsets(f, h);
  const pointers: [number, number][] = [[g, ldg], [t, ldt], [cp, ldcp], [da, ldda], [dc, lddc], [dz, lddz], [dcp, lddcp]];
  rowsTimesUnits(f, rows, h, pointers, (jb) => {
    loadAt(f, g, jb, block[0]); f.localSet(gi);
    loadAt(f, g, jb, block[1]); f.localSet(gf);
    loadAt(f, g, jb, block[2]); f.localSet(gg);
    loadAt(f, g, jb, block[3]); f.localSet(go);
    loadAt(f, t, jb, null); f.localSet(tc);
    loadAt(f, da, jb, null); f.localSet(dA);
    /** Push x ∗ (1 − x). */
    const slope = (x: number) => f.localGet(x).localGet(one).localGet(x).f32x4Sub().f32x4Mul();
    // dz_o = da ∗ tanhC ∗ Γo(1 − Γo)
    addressAt(f, dz, jb, block[3]);
    f.localGet(dA).localGet(tc).f32x4Mul(); slope(go); f.f32x4Mul().v128Store();
    // dC = dc + da ∗ Γo ∗ (1 − tanhC²)
    loadAt(f, dc, jb, null);
    f.localGet(dA).localGet(go).f32x4Mul().localGet(one).localGet(tc).localGet(tc).f32x4Mul().f32x4Sub().f32x4Mul();
    f.f32x4Add().localSet(dC);
    // dz_u = dC ∗ c̃ ∗ Γu(1 − Γu)
    addressAt(f, dz, jb, block[0]);
    f.localGet(dC).localGet(gg).f32x4Mul(); slope(gi); f.f32x4Mul().v128Store();
    // dz_f = dC ∗ c⟨t−1⟩ ∗ Γf(1 − Γf)
    addressAt(f, dz, jb, block[1]);
    f.localGet(dC); loadAt(f, cp, jb, null); f.f32x4Mul(); slope(gf); f.f32x4Mul().v128Store();
    // dz_c = dC ∗ Γu ∗ (1 − c̃²)
    addressAt(f, dz, jb, block[2]);
    f.localGet(dC).localGet(gi).f32x4Mul().localGet(one).localGet(gg).localGet(gg).f32x4Mul().f32x4Sub().f32x4Mul().v128Store();
    // dc⟨t−1⟩ = dC ∗ Γf
    addressAt(f, dcp, jb, null);
    f.localGet(dC).localGet(gf).f32x4Mul().v128Store();
  });
  return f;
}

function buildGruForward(): FunctionBuilder {
  const i32 = ValType.i32, v128 = ValType.v128;
  const f = new FunctionBuilder(Array(15).fill(i32));
  const [rows, h, hp, ldhp, ba, xp, ldxp, hprev, ldhprev, g, ldg, hpn, ldhpn, out, ldout] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  const math = new VectorMath(f);
  const r = f.local(v128), z = f.local(v128), hn = f.local(v128), n = f.local(v128);
  math.init();
  const block = gateBlockOffsets(f, h);
  // the bias row is the same for every row: its pointer does not move
  const pointers: [number, number][] = [[hp, ldhp], [xp, ldxp], [hprev, ldhprev], [g, ldg], [hpn, ldhpn], [out, ldout]];
  // Two passes over each row, as lstm_fwd: n's tanh waits for r's exponential; apart, the passes'
  // iterations are independent and overlap. The second reads r, z and hpn back from L1. Same bits.
  rowsTimesUnits(f, rows, h, pointers, (jb) => {
    for (const [k, gate] of [[0, r], [1, z]]) {
      loadAt(f, xp, jb, block[k]); loadAt(f, hp, jb, block[k]); f.f32x4Add();
      loadAt(f, ba, jb, block[k]); f.f32x4Add();
      math.sigmoid(); f.localSet(gate);
      addressAt(f, g, jb, block[k]);
      f.localGet(gate).v128Store();
    }
    addressAt(f, hpn, jb, null);
    loadAt(f, hp, jb, block[2]); loadAt(f, ba, jb, block[2]); f.f32x4Add().v128Store();
  }, (jb) => {
    loadAt(f, g, jb, block[0]); f.localSet(r);
    loadAt(f, g, jb, block[1]); f.localSet(z);
    loadAt(f, hpn, jb, null); f.localSet(hn);
    loadAt(f, xp, jb, block[2]); f.localGet(r).localGet(hn).f32x4Mul().f32x4Add();
    math.tanh(); f.localSet(n);
    addressAt(f, g, jb, block[2]);
    f.localGet(n).v128Store();
    // h = (1 − z) ∗ n + z ∗ h⟨t−1⟩
    addressAt(f, out, jb, null);
    f.localGet(math.one).localGet(z).f32x4Sub().localGet(n).f32x4Mul();
    f.localGet(z); loadAt(f, hprev, jb, null); f.f32x4Mul().f32x4Add().v128Store();
  });
  return f;
}

function buildGruBackward(): FunctionBuilder {
  const i32 = ValType.i32, v128 = ValType.v128;
  const f = new FunctionBuilder(Array(16).fill(i32));
  const [rows, h, g, ldg, hpn, ldhpn, hprev, ldhprev, dh, lddh, dxp, lddxp, dhp, lddhp, dhprev, lddhprev] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const one = f.local(v128);
  const r = f.local(v128), z = f.local(v128), n = f.local(v128), gv = f.local(v128);
  const dzn = f.local(v128), dzz = f.local(v128), dzr = f.local(v128);
  f.f32Const(1).f32x4Splat().localSet(one);
  const block = gateBlockOffsets(f, h);
  const pointers: [number, number][] = [
    [g, ldg], [hpn, ldhpn], [hprev, ldhprev], [dh, lddh], [dxp, lddxp], [dhp, lddhp], [dhprev, lddhprev],
  ];
  rowsTimesUnits(f, rows, h, pointers, (jb) => {
    loadAt(f, g, jb, block[0]); f.localSet(r);
    loadAt(f, g, jb, block[1]); f.localSet(z);
    loadAt(f, g, jb, block[2]); f.localSet(n);
    loadAt(f, dh, jb, null); f.localSet(gv);
    // dz_n = dh ∗ (1 − z) ∗ (1 − n²)
    f.localGet(gv).localGet(one).localGet(z).f32x4Sub().f32x4Mul();
    f.localGet(one).localGet(n).localGet(n).f32x4Mul().f32x4Sub().f32x4Mul().localSet(dzn);
    // dz_z = dh ∗ (h⟨t−1⟩ − n) ∗ z(1 − z)
    f.localGet(gv); loadAt(f, hprev, jb, null); f.localGet(n).f32x4Sub().f32x4Mul();
    f.localGet(z).f32x4Mul().localGet(one).localGet(z).f32x4Sub().f32x4Mul().localSet(dzz);
    // dz_r = dz_n ∗ hpn ∗ r(1 − r)
    f.localGet(dzn); loadAt(f, hpn, jb, null); f.f32x4Mul();
    f.localGet(r).f32x4Mul().localGet(one).localGet(r).f32x4Sub().f32x4Mul().localSet(dzr);
    for (const [k, value] of [[0, dzr], [1, dzz], [2, dzn]]) {
      addressAt(f, dxp, jb, block[k]);
      f.localGet(value).v128Store();
      if (k < 2) {
        addressAt(f, dhp, jb, block[k]);
        f.localGet(value).v128Store();
      }
    }
    addressAt(f, dhp, jb, block[2]);
    f.localGet(dzn).localGet(r).f32x4Mul().v128Store();
    addressAt(f, dhprev, jb, null);
    f.localGet(gv).localGet(z).f32x4Mul().v128Store();
  });
  return f;
}

/**
 * gru_full_gates_fwd(rows, h, g, ldg, xp, ldxp, cp, ldcp, rs, ldrs) — the notes' full GRU, first half:
 * g[:, 0:2H] ← [Γr Γu] = σ(g + xp) (in place), rs = Γr ∗ c⟨t−1⟩.
 */
function buildGruFullGatesForward(): FunctionBuilder {
  const i32 = ValType.i32, v128 = ValType.v128;
  const f = new FunctionBuilder(Array(10).fill(i32));
  const [rows, h, g, ldg, xp, ldxp, cp, ldcp, rs, ldrs] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const math = new VectorMath(f);
  const r = f.local(v128);
  math.init();
  const block = gateBlockOffsets(f, h);
  rowsTimesUnits(f, rows, h, [[g, ldg], [xp, ldxp], [cp, ldcp], [rs, ldrs]], (jb) => {
    addressAt(f, g, jb, null);
    loadAt(f, g, jb, null); loadAt(f, xp, jb, null); f.f32x4Add();
    math.sigmoid(); f.localTee(r).v128Store();
    addressAt(f, g, jb, block[1]);
    loadAt(f, g, jb, block[1]); loadAt(f, xp, jb, block[1]); f.f32x4Add();
    math.sigmoid(); f.v128Store();
    addressAt(f, rs, jb, null);
    f.localGet(r); loadAt(f, cp, jb, null); f.f32x4Mul().v128Store();
  });
  return f;
}

/**
 * gru_full_cand_fwd(rows, h, g, ldg, xp, ldxp, cp, ldcp, c, ldc) — its second half, g[:, 2H:3H] holding
 * (Γr ∗ c⟨t−1⟩)·W_caᵀ: g[:, 2H:3H] ← c̃ = tanh(· + xp_c) (in place), c = Γu ∗ c̃ + (1 − Γu) ∗ c⟨t−1⟩.
 */
function buildGruFullCandidateForward(): FunctionBuilder {
  const i32 = ValType.i32, v128 = ValType.v128;
  const f = new FunctionBuilder(Array(10).fill(i32));
  const [rows, h, g, ldg, xp, ldxp, cp, ldcp, c, ldc] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const math = new VectorMath(f);
  const cand = f.local(v128), u = f.local(v128);
  math.init();
  const block = gateBlockOffsets(f, h);
  rowsTimesUnits(f, rows, h, [[g, ldg], [xp, ldxp], [cp, ldcp], [c, ldc]], (jb) => {
    addressAt(f, g, jb, block[2]);
    loadAt(f, g, jb, block[2]); loadAt(f, xp, jb, block[2]); f.f32x4Add();
    math.tanh(); f.localTee(cand).v128Store();
    loadAt(f, g, jb, block[1]); f.localSet(u);
    addressAt(f, c, jb, null);
    f.localGet(u).localGet(cand).f32x4Mul();
    f.localGet(math.one).localGet(u).f32x4Sub(); loadAt(f, cp, jb, null); f.f32x4Mul().f32x4Add().v128Store();
  });
  return f;
}

/** rnn_tanh(rows, h, a, lda, xp, ldxp): a ← tanh(a + xp). */
function buildRnnTanh(): FunctionBuilder {
  const i32 = ValType.i32;
  const f = new FunctionBuilder(Array(6).fill(i32));
  const [rows, h, a, lda, xp, ldxp] = [0, 1, 2, 3, 4, 5];
  const math = new VectorMath(f);
  math.init();
  rowsTimesUnits(f, rows, h, [[a, lda], [xp, ldxp]], (jb) => {
    addressAt(f, a, jb, null);
    loadAt(f, a, jb, null); loadAt(f, xp, jb, null); f.f32x4Add();
    math.tanh();
    f.v128Store();
  });
  return f;
}

/** rnn_tanh_bwd(rows, h, a, lda, da, ldda, dz, lddz): dz = da ∗ (1 − a²). */
function buildRnnTanhBackward(): FunctionBuilder {
  const i32 = ValType.i32;
  const f = new FunctionBuilder(Array(8).fill(i32));
  const [rows, h, a, lda, da, ldda, dz, lddz] = [0, 1, 2, 3, 4, 5, 6, 7];
  const math = new VectorMath(f);
  const y = f.local(ValType.v128);
  math.init();
  rowsTimesUnits(f, rows, h, [[a, lda], [da, ldda], [dz, lddz]], (jb) => {
    addressAt(f, dz, jb, null);
    loadAt(f, da, jb, null);
    f.localGet(math.one); loadAt(f, a, jb, null); f.localTee(y).localGet(y).f32x4Mul().f32x4Sub();
    f.f32x4Mul().v128Store();
  });
  return f;
}

/** exp_f32x4(src, dst, n): dst[i] = e^src[i] for i < n (n a multiple of 4), for testing the exp. */
function buildExp(): FunctionBuilder {
  const i32 = ValType.i32;
  const f = new FunctionBuilder([i32, i32, i32]);
  const [src, dst, n] = [0, 1, 2];
  const math = new VectorMath(f);
  const left = f.local(i32);
  math.init();
  f.localGet(n).i32Const(2).i32ShrU().localSet(left);
  f.block();
  f.localGet(left).i32Eqz().brIf(0);
  f.loop();
  f.localGet(dst).localGet(src).v128Load();
  math.exp();
  f.v128Store();
  f.i32Increment(src, 16).i32Increment(dst, 16).i32Increment(left, -1).localGet(left).brIf(0);
  f.end();
  f.end();
  return f;
}

export function buildGatesModule(heap: HeapImport): Uint8Array {
  const m = new ModuleBuilder();
  importHeapMemory(m, heap);
  m.addFunction(buildLstmForward(), 'lstm_fwd');
  m.addFunction(buildLstmBackward(), 'lstm_bwd');
  m.addFunction(buildGruForward(), 'gru_fwd');
  m.addFunction(buildGruBackward(), 'gru_bwd');
  m.addFunction(buildRnnTanh(), 'rnn_tanh');
  m.addFunction(buildRnnTanhBackward(), 'rnn_tanh_bwd');
  m.addFunction(buildGruFullGatesForward(), 'gru_full_gates_fwd');
  m.addFunction(buildGruFullCandidateForward(), 'gru_full_cand_fwd');
  m.addFunction(buildExp(), 'exp_f32x4');
  return m.toBytes();
}
