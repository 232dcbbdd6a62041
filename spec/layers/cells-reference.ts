/**
 * Straightforward reference implementations of the cells for the specs, written from the notes'
 * equations (and PyTorch's for the reset-after GRU): one sequence at a time, plain number arrays,
 * each gate with its own matrix W_g = [W_ga | W_gx] applied to the concatenation [a⟨t−1⟩, x⟨t⟩].
 * Nothing here shares code with layers/.
 */
import { Matrix } from '../../engine/matrix.js';
import type { Rng } from '../../engine/rng.js';

export type Vec = number[];
export type Mat = number[][];

const sigma = (v: number): number => 1 / (1 + Math.exp(-v));

export function matVec(w: Mat, v: Vec): Vec {
  return w.map((row) => row.reduce((s, wij, j) => s + wij * v[j], 0));
}
export const add = (...vs: Vec[]): Vec => vs[0].map((_, i) => vs.reduce((s, v) => s + v[i], 0));
export const mul = (a: Vec, b: Vec): Vec => a.map((v, i) => v * b[i]);
const map = (a: Vec, f: (v: number) => number): Vec => a.map(f);

/** Rows [g·H, (g+1)·H) of a fused [G, n] matrix as a nested array. */
export function block(m: Matrix, g: number, H: number): Mat {
  return m.toArray().slice(g * H, (g + 1) * H);
}
/** Entries [g·H, (g+1)·H) of a fused [1, G] bias. */
export function biasBlock(m: Matrix, g: number, H: number): Vec {
  return m.toArray()[0].slice(g * H, (g + 1) * H);
}
/** The notes' W_g = [W_ga | W_gx] for gate block g of the fused W_a and W_x. */
export function notesWeight(params: Record<string, Matrix>, g: number, H: number): Mat {
  const wa = block(params.W_a, g, H), wx = block(params.W_x, g, H);
  return wa.map((row, i) => [...row, ...wx[i]]);
}

export interface RefResult { outputs: Vec[]; final: Vec[] }

/** a⟨t⟩ = g(W_aa a⟨t−1⟩ + W_ax x⟨t⟩ + b_a) */
export function refRnn(p: Record<string, Matrix>, H: number, act: 'tanh' | 'relu', xs: Vec[], a0: Vec): RefResult {
  const waa = block(p.W_a, 0, H), wax = block(p.W_x, 0, H), ba = biasBlock(p.b, 0, H);
  const g = act === 'tanh' ? Math.tanh : (v: number) => Math.max(0, v);
  let a = a0;
  const outputs: Vec[] = [];
  for (const x of xs) {
    a = map(add(matVec(waa, a), matVec(wax, x), ba), g);
    outputs.push(a);
  }
  return { outputs, final: [a] };
}

/** The notes' LSTM, PyTorch gate order [u f c o]; peephole: p_u, p_f see c⟨t−1⟩, p_o sees c⟨t⟩. */
export function refLstm(p: Record<string, Matrix>, H: number, peephole: boolean, xs: Vec[], a0: Vec, c0: Vec): RefResult {
  const [Wu, Wf, Wc, Wo] = [0, 1, 2, 3].map((g) => notesWeight(p, g, H));
  const [bu, bf, bc, bo] = [0, 1, 2, 3].map((g) => biasBlock(p.b, g, H));
  const zero = new Array<number>(H).fill(0);
  const pu = peephole ? p.p_u.toArray()[0] : zero, pf = peephole ? p.p_f.toArray()[0] : zero;
  const po = peephole ? p.p_o.toArray()[0] : zero;
  let a = a0, c = c0;
  const outputs: Vec[] = [];
  for (const x of xs) {
    const ax = [...a, ...x];
    const cTilde = map(add(matVec(Wc, ax), bc), Math.tanh);
    const gu = map(add(matVec(Wu, ax), bu, mul(pu, c)), sigma);
    const gf = map(add(matVec(Wf, ax), bf, mul(pf, c)), sigma);
    c = add(mul(gu, cTilde), mul(gf, c));
    const go = map(add(matVec(Wo, ax), bo, mul(po, c)), sigma);
    a = mul(go, map(c, Math.tanh));
    outputs.push(a);
  }
  return { outputs, final: [a, c] };
}

/** The notes' full GRU, blocks [r u c]: c̃ = tanh(W_c[Γr ∗ c⟨t−1⟩, x] + b_c), c = Γu c̃ + (1 − Γu) c⟨t−1⟩. */
export function refGru(p: Record<string, Matrix>, H: number, xs: Vec[], c0: Vec): RefResult {
  const [Wr, Wu, Wc] = [0, 1, 2].map((g) => notesWeight(p, g, H));
  const [br, bu, bc] = [0, 1, 2].map((g) => biasBlock(p.b, g, H));
  let c = c0;
  const outputs: Vec[] = [];
  for (const x of xs) {
    const gr = map(add(matVec(Wr, [...c, ...x]), br), sigma);
    const gu = map(add(matVec(Wu, [...c, ...x]), bu), sigma);
    const cTilde = map(add(matVec(Wc, [...mul(gr, c), ...x]), bc), Math.tanh);
    c = add(mul(gu, cTilde), mul(map(gu, (v) => 1 - v), c));
    outputs.push(c);
  }
  return { outputs, final: [c] };
}

/** The notes' simplified GRU, blocks [u c] (Γr ≡ 1). */
export function refGruSimple(p: Record<string, Matrix>, H: number, xs: Vec[], c0: Vec): RefResult {
  const [Wu, Wc] = [0, 1].map((g) => notesWeight(p, g, H));
  const [bu, bc] = [0, 1].map((g) => biasBlock(p.b, g, H));
  let c = c0;
  const outputs: Vec[] = [];
  for (const x of xs) {
    const gu = map(add(matVec(Wu, [...c, ...x]), bu), sigma);
    const cTilde = map(add(matVec(Wc, [...c, ...x]), bc), Math.tanh);
    c = add(mul(gu, cTilde), mul(map(gu, (v) => 1 - v), c));
    outputs.push(c);
  }
  return { outputs, final: [c] };
}

/** PyTorch's nn.GRU (torch docs' equations), rows [r z n], bias_ih = b, bias_hh = b_a. */
export function refGruResetAfter(p: Record<string, Matrix>, H: number, xs: Vec[], h0: Vec): RefResult {
  const [Wir, Wiz, Win] = [0, 1, 2].map((g) => block(p.W_x, g, H));
  const [Whr, Whz, Whn] = [0, 1, 2].map((g) => block(p.W_a, g, H));
  const [bir, biz, bin] = [0, 1, 2].map((g) => biasBlock(p.b, g, H));
  const [bhr, bhz, bhn] = [0, 1, 2].map((g) => biasBlock(p.b_a, g, H));
  let h = h0;
  const outputs: Vec[] = [];
  for (const x of xs) {
    const r = map(add(matVec(Wir, x), bir, matVec(Whr, h), bhr), sigma);
    const z = map(add(matVec(Wiz, x), biz, matVec(Whz, h), bhz), sigma);
    const n = map(add(matVec(Win, x), bin, mul(r, add(matVec(Whn, h), bhn))), Math.tanh);
    h = add(mul(map(z, (v) => 1 - v), n), mul(z, h));
    outputs.push(h);
  }
  return { outputs, final: [h] };
}

/** Step t of sample b of a [T·B, n] matrix as a plain array. */
export function rowOf(m: Matrix, t: number, b: number, B: number): Vec {
  return m.toArray()[t * B + b];
}

/** A [rows, cols] matrix with entries U(−scale, scale) from a seeded generator. */
export function uniformMatrix(rng: Rng, rows: number, cols: number, scale = 1, dtype: 'float32' | 'float64' = 'float64'): Matrix {
  const m = Matrix.zeros(rows, cols, dtype);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniformIn(-scale, scale);
  return m;
}

/** Largest |a − b| between two nested arrays of the same shape. */
export function maxDiff(a: Vec[], b: Vec[]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((v, j) => { m = Math.max(m, Math.abs(v - b[i][j])); }));
  return m;
}
