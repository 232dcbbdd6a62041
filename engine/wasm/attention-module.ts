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
 * Four units j per f32x4; tanh(z) = 1 − 2 / (e^(2z) + 1) with the gate kernels' exp (gates-module.ts:
 * VectorMath, errors ~2·10⁻⁷ absolute). A score's four partial sums are added at the end of its row
 * (lanes 0 + 1, 2 + 3, then the two), in float32 — the js reference sums in float64, so scores agree
 * to float32 rounding. Two keys per pass share the loads of q and v.
 */
import { FunctionBuilder, ModuleBuilder, ValType } from './emitter.js';
import { VectorMath } from './gates-module.js';
import type { HeapImport } from './heap.js';
import { importHeapMemory } from './sgemm-module.js';

/** Stack: f32x4 → the f32 sum of its lanes ((0 + 1) + (2 + 3)). */
function horizontalSum(f: FunctionBuilder, vector: number): void {
  f.localGet(vector).f32x4ExtractLane(0).localGet(vector).f32x4ExtractLane(1).f32Add();
  f.localGet(vector).f32x4ExtractLane(2).localGet(vector).f32x4ExtractLane(3).f32Add().f32Add();
}

function buildScores(): FunctionBuilder {
  const i32 = ValType.i32, v128 = ValType.v128;
  const f = new FunctionBuilder(Array(13).fill(i32));
  const [rows, count, n, q, ldq, k, ldk, v, hid, ldhid, storeHidden, s, lds] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const math = new VectorMath(f);
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

export function buildAttentionModule(heap: HeapImport): Uint8Array {
  const m = new ModuleBuilder();
  importHeapMemory(m, heap);
  m.addFunction(buildScores(), 'additive_scores');
  m.addFunction(buildScoresBackward(), 'additive_scores_bwd');
  return m.toBytes();
}
