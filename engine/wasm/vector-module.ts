/**
 * The vector kernels of the backend seam (kernels/types.ts) as one WebAssembly SIMD module over the
 * backend heap's memory, emitted as bytes by `emitter.ts`. Pointers and row strides in bytes; each
 * row is done four floats at a time, then its last cols mod 4 one by one. Exports:
 *
 *   bias_add(rows, cols, out, ldo, x, ldx, b)          out = x + b (b one row)        — f32 adds: the js bits
 *   sum_rows(rows, cols, out, x, ldx, accumulate)      out (+)= Σ_r x[r, :] in row order — the js bits
 *   gather_rows(rows, cols, out, ldo, table, ldt, ids, b, withBias)
 *                                                      out[r] = table[ids[r]] (+ b); ids i32 — the js bits
 *   scatter_add_rows(rows, cols, table, ldt, ids, x, ldx, skip)
 *                                                      table[ids[r]] += x[r] in row order, ids[r] ≠ skip — the js bits
 *   add_rows(rows, cols, out, ldo, x, ldx)             out += x                         — the js bits
 *   softmax_rows(rows, cols, out, ldo, x, ldx, invT)   out = softmax(x·invT) per row (SIMD exp)
 *   ce_rows(rows, cols, x, ldx, d, ldd, targets, weights, stats, flags)
 *       per row r with w = weights[r] (f32; flags & 4, else 1) ≠ 0: m = max x, s = Σ e^(x − m) and
 *       stats[r] = (s, x_y − m) (f32 pairs; the host forms the loss w·(log s − (x_y − m)) in float64);
 *       with flags & 1 the gradient d = w·(e^(x − m)/s − [j = y]) is written (flags & 2: added). A
 *       row with w = 0 gets d = 0 (written) or is left (added). d may be x (written, not added):
 *       x_y is read before, and e^(x − m) is stored into d and then scaled.
 *   sum_squares(rows, cols, x, ldx) → f64               Σ x² in float64 lanes
 *   scale(rows, cols, x, ldx, factor: f64)              x = f32(f64(x)·factor)          — the js bits
 *   clamp(rows, cols, x, ldx, m: f64) → i32             x = clamp(x, −m, m) compared in float64 — the js bits
 *   update_sgd / _momentum / _rmsprop / _adam / _adagrad(rows, cols, p, ldp, g, ldg, a, b, hyper)
 *       one optimizer update (training/core/optimizers.ts) in float64 lanes with the js kernel's
 *       operations in its order — so the same bits; a, b contiguous slot buffers (cols floats per
 *       row); hyper points at the f64 constants `HYPER` lists.
 *
 * Float32 results that come from one f32 operation on f32 inputs (bias add, row sums) equal the
 * js kernels' float64-then-round results exactly; the float64-lane kernels repeat the js
 * arithmetic, rounding to f32 exactly where the js code stores into the array.
 */
import { FunctionBuilder, ModuleBuilder, ValType } from './emitter.js';
import { VectorMath } from './gates-module.js';
import type { HeapImport } from './heap.js';
import { importHeapMemory } from './sgemm-module.js';

const i32 = ValType.i32, f32 = ValType.f32, f64 = ValType.f64, v128 = ValType.v128;

/** The f64 constants of an optimizer update, in this order at `hyper` (8 bytes each). */
export const HYPER = [
  'lr', 'l2', 'shrink', 'momentum', 'oneMinusDampening', 'alpha', 'oneMinusAlpha',
  'beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'eps', 'c1', 'sqrtC2', 'first', 'nesterov',
] as const;
const H = (name: (typeof HYPER)[number]) => 8 * HYPER.indexOf(name);

/**
 * For each of `rows` rows: `vec(jb)` for every whole f32x4 at byte offset jb of the row, then
 * `scalar(jb)` for the last cols mod 4 floats; the row pointers advance by their strides.
 */
function eachRow(
  f: FunctionBuilder, rows: number, cols: number, pointers: [number, number][],
  vec: (jb: number) => void, scalar: (jb: number) => void,
): void {
  const jb = f.local(i32), cb = f.local(i32), cb4 = f.local(i32), left = f.local(i32);
  f.localGet(cols).i32Const(2).i32Shl().localSet(cb);
  f.localGet(cols).i32Const(-4).i32And().i32Const(2).i32Shl().localSet(cb4);
  f.localGet(rows).localSet(left);
  f.block();
  f.loop();
  f.localGet(left).i32Eqz().brIf(1);
  columns(f, jb, cb4, cb, vec, scalar);
  for (const [pointer, stride] of pointers) f.localGet(pointer).localGet(stride).i32Add().localSet(pointer);
  f.i32Increment(left, -1).br(0);
  f.end();
  f.end();
}

/** jb over [0, cb4) in steps of 16 bytes (vec), then over [cb4, cb) in steps of 4 (scalar). */
function columns(f: FunctionBuilder, jb: number, cb4: number, cb: number, vec: (jb: number) => void, scalar: (jb: number) => void): void {
  f.i32Const(0).localSet(jb);
  f.block();
  f.loop();
  f.localGet(jb).localGet(cb4).i32GeS().brIf(1);
  vec(jb);
  f.i32Increment(jb, 16).br(0);
  f.end();
  f.end();
  f.block();
  f.loop();
  f.localGet(jb).localGet(cb).i32GeS().brIf(1);
  scalar(jb);
  f.i32Increment(jb, 4).br(0);
  f.end();
  f.end();
}

/** Push pointer + jb. */
const at = (f: FunctionBuilder, pointer: number, jb: number) => f.localGet(pointer).localGet(jb).i32Add();

function buildBiasAdd(): FunctionBuilder {
  const f = new FunctionBuilder(Array(7).fill(i32));
  const [rows, cols, out, ldo, x, ldx, b] = [0, 1, 2, 3, 4, 5, 6];
  eachRow(f, rows, cols, [[out, ldo], [x, ldx]],
    (jb) => { at(f, out, jb); at(f, x, jb).v128Load(); at(f, b, jb).v128Load(); f.f32x4Add().v128Store(); },
    (jb) => { at(f, out, jb); at(f, x, jb).f32Load(); at(f, b, jb).f32Load(); f.f32Add().f32Store(); });
  return f;
}

/**
 * For each of `rows` rows: `row()` with `src` set to table + ids[r]·ldt (the row's table row), then
 * out += ldo and ids += 4. Shared by the gather and the scatter-add.
 */
function eachIdRow(
  f: FunctionBuilder, rows: number, ids: number, table: number, ldt: number, out: number, ldo: number,
  src: number, row: () => void,
): void {
  const left = f.local(i32);
  f.localGet(rows).localSet(left);
  f.block();
  f.loop();
  f.localGet(left).i32Eqz().brIf(1);
  f.localGet(table).localGet(ids).i32Load().localGet(ldt).i32Mul().i32Add().localSet(src);
  row();
  f.localGet(out).localGet(ldo).i32Add().localSet(out);
  f.i32Increment(ids, 4);
  f.i32Increment(left, -1).br(0);
  f.end();
  f.end();
}

/** gather_rows(rows, cols, out, ldo, table, ldt, ids, b, withBias): out[r] = table[ids[r]] (+ b). */
function buildGatherRows(): FunctionBuilder {
  const f = new FunctionBuilder(Array(9).fill(i32));
  const [rows, cols, out, ldo, table, ldt, ids, b, withBias] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const src = f.local(i32), jb = f.local(i32), cb = f.local(i32), cb4 = f.local(i32);
  f.localGet(cols).i32Const(2).i32Shl().localSet(cb);
  f.localGet(cols).i32Const(-4).i32And().i32Const(2).i32Shl().localSet(cb4);
  eachIdRow(f, rows, ids, table, ldt, out, ldo, src, () => {
    f.localGet(withBias).if();
    columns(f, jb, cb4, cb,
      (j) => { at(f, out, j); at(f, src, j).v128Load(); at(f, b, j).v128Load(); f.f32x4Add().v128Store(); },
      (j) => { at(f, out, j); at(f, src, j).f32Load(); at(f, b, j).f32Load(); f.f32Add().f32Store(); });
    f.else();
    columns(f, jb, cb4, cb,
      (j) => { at(f, out, j); at(f, src, j).v128Load().v128Store(); },
      (j) => { at(f, out, j); at(f, src, j).f32Load().f32Store(); });
    f.end();
  });
  return f;
}

/** scatter_add_rows(rows, cols, table, ldt, ids, x, ldx, skip): table[ids[r]] += x[r] unless ids[r] = skip. */
function buildScatterAddRows(): FunctionBuilder {
  const f = new FunctionBuilder(Array(8).fill(i32));
  const [rows, cols, table, ldt, ids, x, ldx, skip] = [0, 1, 2, 3, 4, 5, 6, 7];
  const dst = f.local(i32), jb = f.local(i32), cb = f.local(i32), cb4 = f.local(i32);
  f.localGet(cols).i32Const(2).i32Shl().localSet(cb);
  f.localGet(cols).i32Const(-4).i32And().i32Const(2).i32Shl().localSet(cb4);
  // the "out" of eachIdRow is x (advanced by ldx per row); dst is the id's table row
  eachIdRow(f, rows, ids, table, ldt, x, ldx, dst, () => {
    f.localGet(ids).i32Load().localGet(skip).i32Ne().if();
    columns(f, jb, cb4, cb,
      (j) => { at(f, dst, j); at(f, dst, j).v128Load(); at(f, x, j).v128Load(); f.f32x4Add().v128Store(); },
      (j) => { at(f, dst, j); at(f, dst, j).f32Load(); at(f, x, j).f32Load(); f.f32Add().f32Store(); });
    f.end();
  });
  return f;
}

/** add_rows(rows, cols, out, ldo, x, ldx): out += x. */
function buildAddRows(): FunctionBuilder {
  const f = new FunctionBuilder(Array(6).fill(i32));
  const [rows, cols, out, ldo, x, ldx] = [0, 1, 2, 3, 4, 5];
  eachRow(f, rows, cols, [[out, ldo], [x, ldx]],
    (jb) => { at(f, out, jb); at(f, out, jb).v128Load(); at(f, x, jb).v128Load(); f.f32x4Add().v128Store(); },
    (jb) => { at(f, out, jb); at(f, out, jb).f32Load(); at(f, x, jb).f32Load(); f.f32Add().f32Store(); });
  return f;
}

function buildSumRows(): FunctionBuilder {
  const f = new FunctionBuilder(Array(6).fill(i32));
  const [rows, cols, out, x, ldx, accumulate] = [0, 1, 2, 3, 4, 5];
  const zero = f.local(i32), jb = f.local(i32), cb = f.local(i32), cb4 = f.local(i32);
  f.localGet(cols).i32Const(2).i32Shl().localSet(cb);
  f.localGet(cols).i32Const(-4).i32And().i32Const(2).i32Shl().localSet(cb4);
  f.localGet(accumulate).i32Eqz().if();
  f.i32Const(1).localSet(zero);
  columns(f, jb, cb4, cb,
    (j) => { at(f, out, j).f32Const(0).f32x4Splat().v128Store(); },
    (j) => { at(f, out, j).f32Const(0).f32Store(); });
  f.end();
  // out[c] += x[r, c], r = 0, 1, … (row order per column: the js sums)
  eachRow(f, rows, cols, [[x, ldx]],
    (j) => { at(f, out, j); at(f, out, j).v128Load(); at(f, x, j).v128Load(); f.f32x4Add().v128Store(); },
    (j) => { at(f, out, j); at(f, out, j).f32Load(); at(f, x, j).f32Load(); f.f32Add().f32Store(); });
  return f;
}

/** Push max over the row at `x` (cols ≥ 1): f32x4.max across, lanes folded, then the tail. */
function rowMax(f: FunctionBuilder, x: number, cb4: number, cb: number, jb: number, mv: number, m: number): void {
  f.localGet(x).f32Load().localSet(m);
  f.localGet(m).f32x4Splat().localSet(mv);
  columns(f, jb, cb4, cb,
    (j) => { f.localGet(mv); at(f, x, j).v128Load(); f.f32x4Max().localSet(mv); },
    (j) => { f.localGet(m); at(f, x, j).f32Load(); f.f32Max().localSet(m); });
  f.localGet(m);
  for (let lane = 0; lane < 4; lane++) f.localGet(mv).f32x4ExtractLane(lane).f32Max();
}

function buildSoftmaxRows(): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, i32, f32]);
  const [rows, cols, out, ldo, x, ldx, invT] = [0, 1, 2, 3, 4, 5, 6];
  const math = new VectorMath(f);
  const jb = f.local(i32), cb = f.local(i32), cb4 = f.local(i32), left = f.local(i32);
  const m = f.local(f32), mv = f.local(v128), tv = f.local(v128), sv = f.local(v128), e = f.local(v128), s = f.local(f32);
  math.init();
  f.localGet(cols).i32Const(2).i32Shl().localSet(cb);
  f.localGet(cols).i32Const(-4).i32And().i32Const(2).i32Shl().localSet(cb4);
  f.localGet(invT).f32x4Splat().localSet(tv);
  f.localGet(rows).localSet(left);
  f.block();
  f.loop();
  f.localGet(left).i32Eqz().brIf(1);
  rowMax(f, x, cb4, cb, jb, mv, m);
  f.f32x4Splat().localSet(mv);
  f.f32Const(0).f32x4Splat().localSet(sv);
  f.f32Const(0).localSet(s);
  // e = exp((x − m)·invT) into out, and its sum (four lanes, then the tail)
  columns(f, jb, cb4, cb,
    (j) => {
      at(f, x, j).v128Load().localGet(mv).f32x4Sub().localGet(tv).f32x4Mul(); math.exp(); f.localSet(e);
      at(f, out, j).localGet(e).v128Store();
      f.localGet(sv).localGet(e).f32x4Add().localSet(sv);
    },
    (j) => {
      at(f, x, j).v128Load32Splat().localGet(mv).f32x4Sub().localGet(tv).f32x4Mul(); math.exp(); f.localSet(e);
      at(f, out, j).localGet(e).f32x4ExtractLane(0).f32Store();
      f.localGet(s).localGet(e).f32x4ExtractLane(0).f32Add().localSet(s);
    });
  f.localGet(s);
  for (let lane = 0; lane < 4; lane++) f.localGet(sv).f32x4ExtractLane(lane).f32Add();
  f.localSet(s);
  f.f32Const(1).localGet(s).f32Div().localSet(s);
  f.localGet(s).f32x4Splat().localSet(sv);
  columns(f, jb, cb4, cb,
    (j) => { at(f, out, j); at(f, out, j).v128Load().localGet(sv).f32x4Mul().v128Store(); },
    (j) => { at(f, out, j); at(f, out, j).f32Load().localGet(s).f32Mul().f32Store(); });
  f.localGet(out).localGet(ldo).i32Add().localSet(out);
  f.localGet(x).localGet(ldx).i32Add().localSet(x);
  f.i32Increment(left, -1).br(0);
  f.end();
  f.end();
  return f;
}

function buildCrossEntropyRows(): FunctionBuilder {
  const f = new FunctionBuilder(Array(10).fill(i32));
  const [rows, cols, x, ldx, d, ldd, targets, weights, stats, flags] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const math = new VectorMath(f);
  const jb = f.local(i32), cb = f.local(i32), cb4 = f.local(i32), left = f.local(i32), y = f.local(i32);
  const hasD = f.local(i32), add = f.local(i32), write = f.local(i32);
  const w = f.local(f32), m = f.local(f32), xy = f.local(f32), s = f.local(f32);
  const mv = f.local(v128), sv = f.local(v128), e = f.local(v128), wv = f.local(v128);
  math.init();
  f.localGet(cols).i32Const(2).i32Shl().localSet(cb);
  f.localGet(cols).i32Const(-4).i32And().i32Const(2).i32Shl().localSet(cb4);
  f.localGet(flags).i32Const(1).i32And().localSet(hasD);
  f.localGet(flags).i32Const(2).i32And().localSet(add);
  f.localGet(hasD).localGet(add).i32Eqz().i32And().localSet(write);
  f.localGet(rows).localSet(left);
  f.block();
  f.loop();
  f.localGet(left).i32Eqz().brIf(1);
  {
    f.f32Const(1).localSet(w);
    f.localGet(flags).i32Const(4).i32And().if().localGet(weights).f32Load().localSet(w).end();
    f.localGet(w).f32Const(0).f32Eq();
    f.if();
    {
      // a row that does not count: its gradient is 0 (written) or left (added)
      f.localGet(write).if();
      columns(f, jb, cb4, cb,
        (j) => { at(f, d, j).f32Const(0).f32x4Splat().v128Store(); },
        (j) => { at(f, d, j).f32Const(0).f32Store(); });
      f.end();
      f.localGet(stats).f32Const(1).f32Store(0).localGet(stats).f32Const(0).f32Store(4);
    }
    f.else();
    {
      f.localGet(targets).i32Load().i32Const(2).i32Shl().localSet(y);
      rowMax(f, x, cb4, cb, jb, mv, m);
      f.localSet(m);
      f.localGet(m).f32x4Splat().localSet(mv);
      f.localGet(x).localGet(y).i32Add().f32Load().localGet(m).f32Sub().localSet(xy); // before d (maybe x) is written
      f.f32Const(0).f32x4Splat().localSet(sv);
      f.f32Const(0).localSet(s);
      columns(f, jb, cb4, cb,
        (j) => {
          at(f, x, j).v128Load().localGet(mv).f32x4Sub(); math.exp(); f.localSet(e);
          f.localGet(write).if(); at(f, d, j).localGet(e).v128Store(); f.end();
          f.localGet(sv).localGet(e).f32x4Add().localSet(sv);
        },
        (j) => {
          at(f, x, j).v128Load32Splat().localGet(mv).f32x4Sub(); math.exp(); f.localSet(e);
          f.localGet(write).if(); at(f, d, j).localGet(e).f32x4ExtractLane(0).f32Store(); f.end();
          f.localGet(s).localGet(e).f32x4ExtractLane(0).f32Add().localSet(s);
        });
      f.localGet(s);
      for (let lane = 0; lane < 4; lane++) f.localGet(sv).f32x4ExtractLane(lane).f32Add();
      f.localSet(s);
      f.localGet(stats).localGet(s).f32Store(0).localGet(stats).localGet(xy).f32Store(4);
      f.localGet(hasD).if();
      {
        // d (+)= (w / s)·e^(x − m), then d_y −= w
        f.localGet(w).localGet(s).f32Div().f32x4Splat().localSet(wv);
        f.localGet(add).if();
        columns(f, jb, cb4, cb,
          (j) => {
            at(f, d, j); at(f, d, j).v128Load();
            at(f, x, j).v128Load().localGet(mv).f32x4Sub(); math.exp(); f.localGet(wv).f32x4Mul().f32x4Add().v128Store();
          },
          (j) => {
            at(f, d, j); at(f, d, j).f32Load();
            at(f, x, j).v128Load32Splat().localGet(mv).f32x4Sub(); math.exp(); f.localGet(wv).f32x4Mul().f32x4ExtractLane(0).f32Add().f32Store();
          });
        f.else();
        columns(f, jb, cb4, cb,
          (j) => { at(f, d, j); at(f, d, j).v128Load().localGet(wv).f32x4Mul().v128Store(); },
          (j) => { at(f, d, j); at(f, d, j).f32Load().localGet(wv).f32x4ExtractLane(0).f32Mul().f32Store(); });
        f.end();
        f.localGet(d).localGet(y).i32Add();
        f.localGet(d).localGet(y).i32Add().f32Load().localGet(w).f32Sub().f32Store();
      }
      f.end();
    }
    f.end();
    f.localGet(x).localGet(ldx).i32Add().localSet(x);
    f.localGet(d).localGet(ldd).i32Add().localSet(d);
    f.i32Increment(targets, 4).i32Increment(weights, 4).i32Increment(stats, 8);
    f.i32Increment(left, -1).br(0);
  }
  f.end();
  f.end();
  return f;
}

function buildSumSquares(): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, i32], [f64]);
  const [rows, cols, x, ldx] = [0, 1, 2, 3];
  const lo = f.local(v128), hi = f.local(v128), v = f.local(v128), t = f.local(f64), u = f.local(f64);
  f.f64Const(0).f64x2Splat().localTee(lo).localSet(hi);
  f.f64Const(0).localSet(t);
  eachRow(f, rows, cols, [[x, ldx]],
    (j) => {
      at(f, x, j).v128Load().localSet(v);
      f.localGet(lo).localGet(v).f64x2PromoteLowF32x4().localGet(v).f64x2PromoteLowF32x4().f64x2Mul().f64x2Add().localSet(lo);
      f.localGet(v).localGet(v).f32x4Shuffle([2, 3, 0, 1]).f64x2PromoteLowF32x4().localSet(v);
      f.localGet(hi).localGet(v).localGet(v).f64x2Mul().f64x2Add().localSet(hi);
    },
    (j) => {
      at(f, x, j).f32Load().f64PromoteF32().localSet(u);
      f.localGet(t).localGet(u).localGet(u).f64Mul().f64Add().localSet(t);
    });
  f.localGet(lo).localGet(hi).f64x2Add().localSet(lo);
  f.localGet(lo).f64x2ExtractLane(0).localGet(lo).f64x2ExtractLane(1).f64Add().localGet(t).f64Add();
  return f;
}

/** scale(rows, cols, x, ldx, factor): x = f32(f64(x)·factor), two f64 lanes per half of an f32x4. */
function buildScale(): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, i32, f64]);
  const [rows, cols, x, ldx, factor] = [0, 1, 2, 3, 4];
  const fv = f.local(v128), v = f.local(v128), lo = f.local(v128);
  f.localGet(factor).f64x2Splat().localSet(fv);
  eachRow(f, rows, cols, [[x, ldx]],
    (j) => {
      at(f, x, j).v128Load().localSet(v);
      f.localGet(v).f64x2PromoteLowF32x4().localGet(fv).f64x2Mul().f32x4DemoteF64x2Zero().localSet(lo);
      at(f, x, j);
      f.localGet(lo);
      f.localGet(v).localGet(v).f32x4Shuffle([2, 3, 0, 1]).f64x2PromoteLowF32x4().localGet(fv).f64x2Mul().f32x4DemoteF64x2Zero();
      f.f32x4Shuffle([0, 1, 4, 5]).v128Store();
    },
    (j) => {
      at(f, x, j);
      at(f, x, j).f32Load().f64PromoteF32().localGet(factor).f64Mul().f32DemoteF64().f32Store();
    });
  return f;
}

/** clamp(rows, cols, x, ldx, m) → count: the js comparisons, in float64, one entry at a time. */
function buildClamp(): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, i32, f64], [i32]);
  const [rows, cols, x, ldx, m] = [0, 1, 2, 3, 4];
  const low = f.local(f64), v = f.local(f64), count = f.local(i32);
  f.f64Const(0).localGet(m).f64Sub().localSet(low); // +0 rather than −0 when m = 0
  const one = (j: number, off: number) => {
    f.localGet(x).localGet(j).i32Add().f32Load(off).f64PromoteF32().localSet(v);
    f.localGet(v).localGet(m).f64Gt();
    f.if();
    f.localGet(x).localGet(j).i32Add().localGet(m).f32DemoteF64().f32Store(off).i32Increment(count, 1);
    f.else();
    f.localGet(v).localGet(low).f64Lt();
    f.if();
    f.localGet(x).localGet(j).i32Add().localGet(low).f32DemoteF64().f32Store(off).i32Increment(count, 1);
    f.end();
    f.end();
  };
  eachRow(f, rows, cols, [[x, ldx]], (j) => { for (let k = 0; k < 4; k++) one(j, 4 * k); }, (j) => one(j, 0));
  f.localGet(count);
  return f;
}

export type UpdateKind = 'sgd' | 'momentum' | 'rmsprop' | 'adam' | 'adagrad';

/**
 * update_<kind>(rows, cols, p, ldp, g, ldg, a, b, hyper): the js kernel's arithmetic on two f64
 * lanes (pairs of floats, then a last single one), rounding to f32 where it stores — and reading a
 * stored slot back through that rounding, as the js code reads the Float32Array.
 */
function buildUpdate(kind: UpdateKind): FunctionBuilder {
  const f = new FunctionBuilder(Array(9).fill(i32));
  const [rows, cols, p, ldp, g, ldg, a, b, hyper] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const constant = (name: (typeof HYPER)[number]) => {
    const local = f.local(v128);
    f.localGet(hyper).f64Load(H(name)).f64x2Splat().localSet(local);
    return local;
  };
  const lr = constant('lr'), l2 = constant('l2'), shrink = constant('shrink');
  const mu = kind === 'momentum' ? constant('momentum') : -1, oneMinusDamp = kind === 'momentum' ? constant('oneMinusDampening') : -1;
  const alpha = kind === 'rmsprop' ? constant('alpha') : -1, oneMinusAlpha = kind === 'rmsprop' ? constant('oneMinusAlpha') : -1;
  const beta1 = kind === 'adam' ? constant('beta1') : -1, oneMinusBeta1 = kind === 'adam' ? constant('oneMinusBeta1') : -1;
  const beta2 = kind === 'adam' ? constant('beta2') : -1, oneMinusBeta2 = kind === 'adam' ? constant('oneMinusBeta2') : -1;
  const eps = constant('eps'), c1 = kind === 'adam' ? constant('c1') : -1, sqrtC2 = kind === 'adam' ? constant('sqrtC2') : -1;
  const first = f.local(i32), nesterov = f.local(i32);
  f.localGet(hyper).f64Load(H('first')).f64Const(0).f64Ne().localSet(first);
  f.localGet(hyper).f64Load(H('nesterov')).f64Const(0).f64Ne().localSet(nesterov);
  const pv = f.local(v128), gi = f.local(v128), theta = f.local(v128), delta = f.local(v128), t = f.local(v128), u = f.local(v128);
  const jb = f.local(i32), cb = f.local(i32), cb2 = f.local(i32), left = f.local(i32), so = f.local(i32), rowBytes = f.local(i32);

  /** One pair (pair = true) or one float of every operand at byte offset jb (slots at so + jb). */
  const body = (pair: boolean) => {
    const load = (pointer: number, slot: boolean) => {
      f.localGet(pointer).localGet(slot ? so : jb).i32Add();
      if (slot) f.localGet(jb).i32Add();
      if (pair) f.v128Load64Zero(); else f.v128Load32Zero();
      f.f64x2PromoteLowF32x4();
    };
    /** Store the f64x2 on the stack, rounded to f32; leave the rounded value (as f64x2) in `into`. */
    const storeRounded = (pointer: number, slot: boolean, into: number) => {
      f.f32x4DemoteF64x2Zero().localSet(into);
      f.localGet(pointer).localGet(slot ? so : jb).i32Add();
      if (slot) f.localGet(jb).i32Add();
      f.localGet(into);
      if (pair) f.v128Store64Lane(0); else f.v128Store32Lane(0);
      f.localGet(into).f64x2PromoteLowF32x4().localSet(into);
    };
    load(p, false); f.localSet(pv);
    f.localGet(pv).localGet(shrink).f64x2Mul().localSet(theta);             // θ·shrink
    load(g, false); f.localGet(l2).localGet(pv).f64x2Mul().f64x2Add().localSet(gi); // g + λ·θ
    switch (kind) {
      case 'sgd':
        f.localGet(gi).localSet(delta);
        break;
      case 'momentum':
        // v = t = 1 ? g : μ·v + (1 − dampening)·g;  δ = nesterov ? g + μ·v : v   (v as stored)
        f.localGet(gi);
        f.localGet(mu); load(a, true); f.f64x2Mul().localGet(oneMinusDamp).localGet(gi).f64x2Mul().f64x2Add();
        f.localGet(first).select();
        storeRounded(a, true, t);
        f.localGet(gi).localGet(mu).localGet(t).f64x2Mul().f64x2Add();
        f.localGet(t);
        f.localGet(nesterov).select().localSet(delta);
        break;
      case 'rmsprop':
        // s = α·s + ((1 − α)·g)·g;  δ = g / (√s + ε)
        f.localGet(alpha); load(a, true); f.f64x2Mul().localGet(oneMinusAlpha).localGet(gi).f64x2Mul().localGet(gi).f64x2Mul().f64x2Add();
        storeRounded(a, true, t);
        f.localGet(gi).localGet(t).f64x2Sqrt().localGet(eps).f64x2Add().f64x2Div().localSet(delta);
        break;
      case 'adam':
        // m = β₁·m + (1 − β₁)·g;  v = β₂·v + ((1 − β₂)·g)·g;  δ = m / c₁ / (√v / √c₂ + ε)
        f.localGet(beta1); load(a, true); f.f64x2Mul().localGet(oneMinusBeta1).localGet(gi).f64x2Mul().f64x2Add();
        storeRounded(a, true, t);
        f.localGet(beta2); load(b, true); f.f64x2Mul().localGet(oneMinusBeta2).localGet(gi).f64x2Mul().localGet(gi).f64x2Mul().f64x2Add();
        storeRounded(b, true, u);
        f.localGet(t).localGet(c1).f64x2Div();
        f.localGet(u).f64x2Sqrt().localGet(sqrtC2).f64x2Div().localGet(eps).f64x2Add();
        f.f64x2Div().localSet(delta);
        break;
      case 'adagrad':
        // s = s + g·g;  δ = g / (√s + ε)
        load(a, true); f.localGet(gi).localGet(gi).f64x2Mul().f64x2Add();
        storeRounded(a, true, t);
        f.localGet(gi).localGet(t).f64x2Sqrt().localGet(eps).f64x2Add().f64x2Div().localSet(delta);
        break;
    }
    f.localGet(theta).localGet(lr).localGet(delta).f64x2Mul().f64x2Sub();   // θ − η·δ
    storeRounded(p, false, t);
  };

  f.localGet(cols).i32Const(2).i32Shl().localTee(cb).localSet(rowBytes);
  f.localGet(cols).i32Const(-2).i32And().i32Const(2).i32Shl().localSet(cb2);
  f.i32Const(0).localSet(so);
  f.localGet(rows).localSet(left);
  f.block();
  f.loop();
  f.localGet(left).i32Eqz().brIf(1);
  f.i32Const(0).localSet(jb);
  f.block();
  f.loop();
  f.localGet(jb).localGet(cb2).i32GeS().brIf(1);
  body(true);
  f.i32Increment(jb, 8).br(0);
  f.end();
  f.end();
  f.localGet(jb).localGet(cb).i32LtS().if();
  body(false);
  f.end();
  f.localGet(p).localGet(ldp).i32Add().localSet(p);
  f.localGet(g).localGet(ldg).i32Add().localSet(g);
  f.localGet(so).localGet(rowBytes).i32Add().localSet(so);
  f.i32Increment(left, -1).br(0);
  f.end();
  f.end();
  return f;
}

export const UPDATE_KINDS: readonly UpdateKind[] = ['sgd', 'momentum', 'rmsprop', 'adam', 'adagrad'];

/** Build the module over the heap's memory. */
export function buildVectorModule(heap: HeapImport): Uint8Array {
  const m = new ModuleBuilder();
  importHeapMemory(m, heap);
  m.addFunction(buildBiasAdd(), 'bias_add');
  m.addFunction(buildSumRows(), 'sum_rows');
  m.addFunction(buildGatherRows(), 'gather_rows');
  m.addFunction(buildScatterAddRows(), 'scatter_add_rows');
  m.addFunction(buildAddRows(), 'add_rows');
  m.addFunction(buildSoftmaxRows(), 'softmax_rows');
  m.addFunction(buildCrossEntropyRows(), 'ce_rows');
  m.addFunction(buildSumSquares(), 'sum_squares');
  m.addFunction(buildScale(), 'scale');
  m.addFunction(buildClamp(), 'clamp');
  for (const kind of UPDATE_KINDS) m.addFunction(buildUpdate(kind), `update_${kind}`);
  return m.toBytes();
}
