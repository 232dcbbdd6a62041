import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import type { CellKind } from '../../layers/cells/cell.js';
import { createCell } from '../../layers/cells/create-cell.js';
import { kerasWeights, loadKerasWeights, type KerasRecurrentWeights } from '../../layers/interchange.js';
import { createSequenceWorkspace, sequenceForward } from '../../layers/sequence.js';

// No TensorFlow here, so the reference is a direct transcription of Keras 3's cell equations
// (keras/src/layers/rnn/{simple_rnn,gru,lstm}.py, recurrent_activation='sigmoid'), one sequence at
// a time on plain arrays, with Keras' own layout: kernel (D, G), recurrent_kernel (U, G), gate
// columns [z r h] (GRU) and [i f c o] (LSTM).

type Vec = number[];
type Mat = number[][];
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
/** (v·M)[col0 + j] for j < U: v [n] times columns col0 … col0+U−1 of M [n, G]. */
const vecMat = (v: Vec, m: Mat, col0: number, U: number): Vec =>
  Array.from({ length: U }, (_, j) => v.reduce((s, vi, i) => s + vi * m[i][col0 + j], 0));
const slice = (b: Vec, col0: number, U: number): Vec => b.slice(col0, col0 + U);
const add = (...vs: Vec[]): Vec => vs[0].map((_, j) => vs.reduce((s, v) => s + v[j], 0));

interface KerasArrays { kernel: Mat; recurrent: Mat; bias: Vec | Mat }
interface Trace { outputs: Vec[]; h: Vec; c?: Vec }

/** SimpleRNN: h = act(x·K + h·R + b). */
function kerasSimpleRnn(w: KerasArrays, act: 'tanh' | 'relu', xs: Vec[], h0: Vec): Trace {
  const U = h0.length;
  let h = h0;
  const outputs: Vec[] = [];
  for (const x of xs) {
    const z = add(vecMat(x, w.kernel, 0, U), vecMat(h, w.recurrent, 0, U), w.bias as Vec);
    h = z.map((v) => (act === 'tanh' ? Math.tanh(v) : Math.max(0, v)));
    outputs.push(h);
  }
  return { outputs, h };
}

/** GRU. reset_after=False: hh = tanh(x·K_h + b_h + (r ∗ h)·R_h), one bias (3U).
 *  reset_after=True: bias (2, 3U); hh = tanh(x·K_h + b_ih + r ∗ (h·R_h + b_rh)).
 *  Both: h′ = z ∗ h + (1 − z) ∗ hh. */
function kerasGru(w: KerasArrays, resetAfter: boolean, xs: Vec[], h0: Vec): Trace {
  const U = h0.length;
  const inB = resetAfter ? (w.bias as Mat)[0] : (w.bias as Vec);
  const recB = resetAfter ? (w.bias as Mat)[1] : new Array<number>(3 * U).fill(0);
  let h = h0;
  const outputs: Vec[] = [];
  for (const x of xs) {
    const xz = add(vecMat(x, w.kernel, 0, U), slice(inB, 0, U));
    const xr = add(vecMat(x, w.kernel, U, U), slice(inB, U, U));
    const xh = add(vecMat(x, w.kernel, 2 * U, U), slice(inB, 2 * U, U));
    const z = add(xz, vecMat(h, w.recurrent, 0, U), slice(recB, 0, U)).map(sigmoid);
    const r = add(xr, vecMat(h, w.recurrent, U, U), slice(recB, U, U)).map(sigmoid);
    let hh: Vec;
    if (resetAfter) {
      const inner = add(vecMat(h, w.recurrent, 2 * U, U), slice(recB, 2 * U, U));
      hh = xh.map((v, j) => Math.tanh(v + r[j] * inner[j]));
    } else {
      const rh = h.map((v, j) => r[j] * v);
      hh = add(xh, vecMat(rh, w.recurrent, 2 * U, U)).map(Math.tanh);
    }
    h = h.map((v, j) => z[j] * v + (1 - z[j]) * hh[j]);
    outputs.push(h);
  }
  return { outputs, h };
}

/** LSTM: z = x·K + h·R + b; i, f, o = σ, c̃ = tanh; c = f ∗ c + i ∗ c̃; h = o ∗ tanh(c). */
function kerasLstm(w: KerasArrays, xs: Vec[], h0: Vec, c0: Vec): Trace {
  const U = h0.length;
  let h = h0, c = c0;
  const outputs: Vec[] = [];
  for (const x of xs) {
    const gate = (k: number) => add(vecMat(x, w.kernel, k * U, U), vecMat(h, w.recurrent, k * U, U), slice(w.bias as Vec, k * U, U));
    const i = gate(0).map(sigmoid), f = gate(1).map(sigmoid), g = gate(2).map(Math.tanh), o = gate(3).map(sigmoid);
    c = c.map((v, j) => f[j] * v + i[j] * g[j]);
    h = c.map((v, j) => o[j] * Math.tanh(v));
    outputs.push(h);
  }
  return { outputs, h, c };
}

const rand = (rng: Rng, rows: number, cols: number, scale: number): Mat =>
  Array.from({ length: rows }, () => Array.from({ length: cols }, () => scale * (2 * rng.uniform() - 1)));

interface KerasCase {
  name: string;
  kind: CellKind;
  gates: number;
  twoBiases?: boolean;
  activation?: 'tanh' | 'relu';
  reference: (w: KerasArrays, xs: Vec[], h0: Vec, c0: Vec) => Trace;
}

const CASES: KerasCase[] = [
  { name: 'SimpleRNN tanh → rnn', kind: 'rnn', gates: 1, activation: 'tanh', reference: (w, xs, h0) => kerasSimpleRnn(w, 'tanh', xs, h0) },
  { name: 'SimpleRNN relu → rnn', kind: 'rnn', gates: 1, activation: 'relu', reference: (w, xs, h0) => kerasSimpleRnn(w, 'relu', xs, h0) },
  { name: "GRU reset_after=False → the notes' gru (Γu = 1 − z)", kind: 'gru', gates: 3, reference: (w, xs, h0) => kerasGru(w, false, xs, h0) },
  { name: 'GRU reset_after=True → gru-reset-after', kind: 'gru-reset-after', gates: 3, twoBiases: true, reference: (w, xs, h0) => kerasGru(w, true, xs, h0) },
  { name: 'LSTM → lstm', kind: 'lstm', gates: 4, reference: kerasLstm },
];

describe('Keras weights in seqgrad cells reproduce Keras equations', () => {
  const D = 3, U = 4, T = 5, B = 2;
  for (const c of CASES) {
    it(`${c.name}: every step of ${B} sequences, from non-zero initial states`, () => {
      const rng = new Rng(77);
      const G = c.gates * U;
      const w: KerasArrays = {
        kernel: rand(rng, D, G, 0.8),
        recurrent: rand(rng, U, G, 0.8),
        bias: c.twoBiases ? rand(rng, 2, G, 0.5) : rand(rng, 1, G, 0.5)[0],
      };
      const xs = Array.from({ length: B }, () => rand(rng, T, D, 1));
      const h0 = rand(rng, B, U, 0.7), c0 = rand(rng, B, U, 0.7);

      const cell = createCell({ kind: c.kind, inputSize: D, hiddenSize: U, activation: c.activation }, { dtype: 'float64', rng });
      loadKerasWeights(cell, [w.kernel, w.recurrent, w.bias]);
      const ws = createSequenceWorkspace(cell, T, B);
      const x = Matrix.zeros(T * B, D, 'float64');
      for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) x.set(t * B + b, d, xs[b][t][d]);
      const state0 = cell.stateCount === 2 ? [Matrix.fromArray(h0, 'float64'), Matrix.fromArray(c0, 'float64')] : [Matrix.fromArray(h0, 'float64')];
      const out = sequenceForward(cell, ws, x, { h0: state0 });

      let worst = 0;
      for (let b = 0; b < B; b++) {
        const ref = c.reference(w, xs[b], h0[b], c0[b]);
        for (let t = 0; t < T; t++) for (let j = 0; j < U; j++) worst = Math.max(worst, Math.abs(out.outputs.get(t * B + b, j) - ref.outputs[t][j]));
        for (let j = 0; j < U; j++) worst = Math.max(worst, Math.abs(out.finalState[0].get(b, j) - ref.h[j]));
        if (ref.c) for (let j = 0; j < U; j++) worst = Math.max(worst, Math.abs(out.finalState[1].get(b, j) - ref.c[j]));
      }
      expect(worst).toBeLessThan(1e-12);
      // The comparison can fail: the final outputs are far from 0.
      expect(Math.max(...out.finalState[0].toArray().flat().map(Math.abs))).toBeGreaterThan(0.1);

      // Saving gives back exactly what was loaded, in both JSON forms.
      const saved = kerasWeights(cell, { nested: true });
      expect(saved).toEqual({ kernel: w.kernel, recurrent_kernel: w.recurrent, bias: w.bias });
      const flat = kerasWeights(cell);
      expect(flat.kernel).toEqual({ shape: [D, G], data: w.kernel.flat() });
      const again = createCell({
        kind: c.kind, inputSize: D, hiddenSize: U, activation: c.activation,
      }, { dtype: 'float64', rng });
      loadKerasWeights(again, flat);
      for (const name of Object.keys(cell.params)) expect(again.params[name].toArray()).toEqual(cell.params[name].toArray());
    });
  }

  it("the notes' gru holds Keras' update-gate block negated in its Γu rows", () => {
    const rng = new Rng(2);
    const cell = createCell({ kind: 'gru', inputSize: 1, hiddenSize: 1 }, { dtype: 'float64', rng });
    // Keras columns [z r h] = [0.25 0.5 0.75]; seqgrad rows [Γr Γu c̃] = [0.5, −0.25, 0.75].
    loadKerasWeights(cell, { kernel: [[0.25, 0.5, 0.75]], recurrent_kernel: [[1, 2, 3]], bias: [-1, -2, -3] });
    expect(cell.params.W_x.toArray()).toEqual([[0.5], [-0.25], [0.75]]);
    expect(cell.params.W_a.toArray()).toEqual([[2], [-1], [3]]);
    expect(cell.params.b.toArray()).toEqual([[-2, 1, -3]]);
  });

  it('errors name the weight, the expected and the actual shape', () => {
    const rng = new Rng(3);
    const ra = createCell({ kind: 'gru-reset-after', inputSize: 3, hiddenSize: 4 }, { rng });
    const ok = kerasWeights(ra);
    expect(() => loadKerasWeights(ra, { ...ok, bias: { shape: [12], data: new Array(12).fill(0) } }))
      .toThrow("loadKerasWeights: key 'bias': expected shape [2, 12] for a gru-reset-after cell (D=3, U=4), got [12]");
    const { recurrent_kernel: _r, ...noRecurrent } = ok;
    expect(() => loadKerasWeights(ra, noRecurrent as KerasRecurrentWeights)).toThrow("loadKerasWeights: missing 'recurrent_kernel' (expected shape [4, 12])");
    expect(() => loadKerasWeights(ra, [ok.kernel, ok.bias])).toThrow('expected get_weights()\'s list [kernel, recurrent_kernel, bias], got 2 arrays');
    expect(() => kerasWeights(createCell({ kind: 'lstm-peephole', inputSize: 2, hiddenSize: 2 }, { rng }))).toThrow(/kerasWeights: expected a cell of kind rnn, gru, gru-reset-after or lstm, got 'lstm-peephole'/);
    expect(() => loadKerasWeights(createCell({ kind: 'gru-simple', inputSize: 2, hiddenSize: 2 }, { rng }), ok)).toThrow(/got 'gru-simple'/);
  });
});
