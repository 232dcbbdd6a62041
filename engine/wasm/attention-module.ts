/**
 * The additive (Bahdanau) attention kernels as one WebAssembly SIMD module, emitted as bytes by
 * `emitter.ts` (the formulas are at AdditiveScoresKernel in ../kernels/types.ts). It imports the
 * backend heap's memory. Exports (pointers and row strides in bytes, n in floats, a multiple of 4):
 *
 *   additive_scores(rows, count, n, q, ldq, k, ldk, v, hid, ldhid, storeHidden, s, lds)
 *       s[r, i] = Σ_j v_j·tanh(q[r, j] + k[i, j]); with storeHidden ≠ 0 also hid[r·count + i, :] = the tanh row
 *   additive_scores_bwd(rows, count, n, hid, ldhid, ds, lds, v, dv, dk, ldk, dq, ldq)
 *       dv += Σ ds·hid;  dz = ds·v·(1 − hid²);  dk[i] += Σ_r dz;  dq[r] += Σ_i dz   (ds = 0 skipped)
 *
 * Four units j per f32x4. tanh is a rational function (Eigen's float tanh): z clamped to ±7.9053,
 * tanh z ≈ z·P(z²) / Q(z²), P of degree 6 and Q of degree 3 in z² — no exp, one division; measured
 * against float64 Math.tanh on [−12, 12]: at most 3.6·10⁻⁷ absolute (the tests allow 1e−6). The
 * polynomials use relaxed_madd (a fused multiply-add) where relaxed SIMD is on. A score's four
 * partial sums are added at the end of its row (lanes 0 + 1, 2 + 3, then the two), in float32 — the
 * js reference sums in float64, so scores agree to float32 rounding. Two keys per pass share the
 * loads of q and v.
 */
import { FunctionBuilder, ModuleBuilder, ValType } from './emitter.js';
import type { HeapImport } from './heap.js';
import { importHeapMemory } from './sgemm-module.js';

/** Eigen's generic_fast_tanh_float: the clamp, the odd numerator's and the even denominator's coefficients (low degree first). */
const TANH = {
  clamp: 7.905311107635498,
  p: [4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05, 5.12229709037114e-08,
    -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16],
  q: [4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06],
};

/** The rational tanh on f32x4s: constants splatted into locals once (`init`), then `tanh()` maps the stack top. */
class RationalTanh {
  private readonly lo: number;
  private readonly hi: number;
  private readonly p: number[];
  private readonly q: number[];
  private readonly z: number;
  private readonly z2: number;
  private readonly num: number;

  constructor(private readonly f: FunctionBuilder, private readonly relaxedMadd: boolean) {
    const v = () => f.local(ValType.v128);
    this.lo = v(); this.hi = v();
    this.p = TANH.p.map(() => v());
    this.q = TANH.q.map(() => v());
    this.z = v(); this.z2 = v(); this.num = v();
  }

  init(): void {
    const f = this.f;
    const splat = (value: number, local: number) => f.f32Const(value).f32x4Splat().localSet(local);
    splat(-TANH.clamp, this.lo); splat(TANH.clamp, this.hi);
    TANH.p.forEach((c, i) => splat(c, this.p[i]));
    TANH.q.forEach((c, i) => splat(c, this.q[i]));
  }

  /** Stack: acc → acc·z² + c (one fused multiply-add where relaxed SIMD is on). */
  private madd(c: number): void {
    const f = this.f;
    if (this.relaxedMadd) f.localGet(this.z2).localGet(c).f32x4RelaxedMadd();
    else f.localGet(this.z2).f32x4Mul().localGet(c).f32x4Add();
  }

  /** Stack: z → tanh(z). pmax / pmin keep a NaN z (NaN in, NaN out). */
  tanh(): void {
    const f = this.f;
    f.localGet(this.lo).f32x4Pmax().localGet(this.hi).f32x4Pmin().localTee(this.z);
    f.localGet(this.z).f32x4Mul().localSet(this.z2);
    f.localGet(this.p[6]);
    for (let i = 5; i >= 0; i--) this.madd(this.p[i]);
    f.localGet(this.z).f32x4Mul().localSet(this.num);
    f.localGet(this.q[3]);
    for (let i = 2; i >= 0; i--) this.madd(this.q[i]);
    f.localSet(this.z).localGet(this.num).localGet(this.z).f32x4Div();
  }
}

/** Stack: f32x4 → the f32 sum of its lanes ((0 + 1) + (2 + 3)). */
function horizontalSum(f: FunctionBuilder, vector: number): void {
  f.localGet(vector).f32x4ExtractLane(0).localGet(vector).f32x4ExtractLane(1).f32Add();
  f.localGet(vector).f32x4ExtractLane(2).localGet(vector).f32x4ExtractLane(3).f32Add().f32Add();
}

function buildScores(relaxedMadd: boolean): FunctionBuilder {
  const i32 = ValType.i32, v128 = ValType.v128;
  const f = new FunctionBuilder(Array(13).fill(i32));
  const [rows, count, n, q, ldq, k, ldk, v, hid, ldhid, storeHidden, s, lds] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const math = new RationalTanh(f, relaxedMadd);
  const nb = f.local(i32), r = f.local(i32), i = f.local(i32), jb = f.local(i32);
  const kRow = f.local(i32), kNext = f.local(i32), hRow = f.local(i32), hNext = f.local(i32), sRow = f.local(i32);
  const qv = f.local(v128), vv = f.local(v128), acc0 = f.local(v128), acc1 = f.local(v128), t = f.local(v128);
  math.init();
  f.localGet(rows).i32Eqz().localGet(count).i32Eqz().i32Add().if().return().end();
  f.localGet(n).i32Const(2).i32Shl().localSet(nb);
  f.localGet(hid).localSet(hRow);

  /** acc += v·tanh(qv + load(row + jb)), storing the tanh at hidden + jb when asked. */
  const term = (keyRow: number, hiddenRow: number, acc: number, store: boolean) => {
    if (store) f.localGet(hiddenRow).localGet(jb).i32Add();
    f.localGet(qv).localGet(keyRow).localGet(jb).i32Add().v128Load().f32x4Add();
    math.tanh();
    if (store) f.localTee(t).v128Store().localGet(t);
    f.localGet(vv).f32x4Mul().localGet(acc).f32x4Add().localSet(acc);
  };
  /** The keys of row r: two at a time, then the last one. */
  const keys = (store: boolean) => {
    f.localGet(k).localSet(kRow).i32Const(0).localSet(i);
    f.block();
    f.loop();
    f.localGet(i).i32Const(2).i32Add().localGet(count).i32GtS().brIf(1);
    f.localGet(kRow).localGet(ldk).i32Add().localSet(kNext);
    f.localGet(hRow).localGet(ldhid).i32Add().localSet(hNext);
    f.f32Const(0).f32x4Splat().localTee(acc0).localSet(acc1).i32Const(0).localSet(jb);
    f.loop();
    f.localGet(q).localGet(jb).i32Add().v128Load().localSet(qv);
    f.localGet(v).localGet(jb).i32Add().v128Load().localSet(vv);
    term(kRow, hRow, acc0, store);
    term(kNext, hNext, acc1, store);
    f.i32Increment(jb, 16).localGet(jb).localGet(nb).i32LtS().brIf(0);
    f.end();
    f.localGet(sRow).localGet(i).i32Const(2).i32Shl().i32Add();
    horizontalSum(f, acc0);
    f.f32Store();
    f.localGet(sRow).localGet(i).i32Const(2).i32Shl().i32Add();
    horizontalSum(f, acc1);
    f.f32Store(4);
    f.localGet(kNext).localGet(ldk).i32Add().localSet(kRow);
    f.localGet(hNext).localGet(ldhid).i32Add().localSet(hRow);
    f.i32Increment(i, 2).br(0);
    f.end();
    f.end();
    f.localGet(i).localGet(count).i32LtS();
    f.if();
    f.f32Const(0).f32x4Splat().localSet(acc0).i32Const(0).localSet(jb);
    f.loop();
    f.localGet(q).localGet(jb).i32Add().v128Load().localSet(qv);
    f.localGet(v).localGet(jb).i32Add().v128Load().localSet(vv);
    term(kRow, hRow, acc0, store);
    f.i32Increment(jb, 16).localGet(jb).localGet(nb).i32LtS().brIf(0);
    f.end();
    f.localGet(sRow).localGet(i).i32Const(2).i32Shl().i32Add();
    horizontalSum(f, acc0);
    f.f32Store();
    f.localGet(hRow).localGet(ldhid).i32Add().localSet(hRow);
    f.end();
  };

  f.localGet(s).localSet(sRow).i32Const(0).localSet(r);
  f.loop();
  f.localGet(storeHidden);
  f.if();
  keys(true);
  f.else();
  keys(false);
  f.end();
  f.localGet(q).localGet(ldq).i32Add().localSet(q);
  f.localGet(sRow).localGet(lds).i32Add().localSet(sRow);
  f.i32Increment(r, 1).localGet(r).localGet(rows).i32LtS().brIf(0);
  f.end();
  return f;
}

function buildScoresBackward(): FunctionBuilder {
  const i32 = ValType.i32, v128 = ValType.v128, f32 = ValType.f32;
  const f = new FunctionBuilder(Array(13).fill(i32));
  const [rows, count, n, hid, ldhid, ds, lds, v, dv, dk, ldk, dq, ldq] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const nb = f.local(i32), r = f.local(i32), i = f.local(i32), jb = f.local(i32);
  const hRow = f.local(i32), dsRow = f.local(i32), dqRow = f.local(i32), hStep = f.local(i32);
  const d = f.local(f32), dv4 = f.local(v128), h = f.local(v128), dz = f.local(v128), one = f.local(v128);
  f.localGet(rows).i32Eqz().localGet(count).i32Eqz().i32Add().if().return().end();
  f.localGet(n).i32Const(2).i32Shl().localSet(nb);
  f.localGet(count).localGet(ldhid).i32Mul().localSet(hStep); // hidden row (r + 1, i) is count rows below (r, i)
  f.f32Const(1).f32x4Splat().localSet(one);
  f.i32Const(0).localSet(i);
  f.loop(); // keys i
  {
    f.localGet(hid).localGet(i).localGet(ldhid).i32Mul().i32Add().localSet(hRow);
    f.localGet(ds).localGet(i).i32Const(2).i32Shl().i32Add().localSet(dsRow);
    f.localGet(dq).localSet(dqRow).i32Const(0).localSet(r);
    f.loop(); // query rows r
    {
      f.localGet(dsRow).f32Load().localTee(d).f32Const(0).f32Ne();
      f.if();
      f.localGet(d).f32x4Splat().localSet(dv4).i32Const(0).localSet(jb);
      f.loop();
      f.localGet(hRow).localGet(jb).i32Add().v128Load().localSet(h);
      // dv += d·h
      f.localGet(dv).localGet(jb).i32Add();
      f.localGet(dv).localGet(jb).i32Add().v128Load().localGet(dv4).localGet(h).f32x4Mul().f32x4Add().v128Store();
      // dz = d·v·(1 − h²)
      f.localGet(dv4).localGet(v).localGet(jb).i32Add().v128Load().f32x4Mul();
      f.localGet(one).localGet(h).localGet(h).f32x4Mul().f32x4Sub().f32x4Mul().localSet(dz);
      f.localGet(dk).localGet(jb).i32Add();
      f.localGet(dk).localGet(jb).i32Add().v128Load().localGet(dz).f32x4Add().v128Store();
      f.localGet(dqRow).localGet(jb).i32Add();
      f.localGet(dqRow).localGet(jb).i32Add().v128Load().localGet(dz).f32x4Add().v128Store();
      f.i32Increment(jb, 16).localGet(jb).localGet(nb).i32LtS().brIf(0);
      f.end();
      f.end();
      f.localGet(hRow).localGet(hStep).i32Add().localSet(hRow);
      f.localGet(dsRow).localGet(lds).i32Add().localSet(dsRow);
      f.localGet(dqRow).localGet(ldq).i32Add().localSet(dqRow);
      f.i32Increment(r, 1).localGet(r).localGet(rows).i32LtS().brIf(0);
    }
    f.end();
    f.localGet(dk).localGet(ldk).i32Add().localSet(dk);
    f.i32Increment(i, 1).localGet(i).localGet(count).i32LtS().brIf(0);
  }
  f.end();
  return f;
}

export function buildAttentionModule(heap: HeapImport, relaxedMadd: boolean): Uint8Array {
  const m = new ModuleBuilder();
  importHeapMemory(m, heap);
  m.addFunction(buildScores(relaxedMadd), 'additive_scores');
  m.addFunction(buildScoresBackward(), 'additive_scores_bwd');
  return m.toBytes();
}
