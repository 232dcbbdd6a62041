import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import {
  createEncoder, createEncoderWorkspace, createManyToMany, createManyToManyWorkspace, createManyToOne,
  createManyToOneWorkspace, createOneToMany, createOneToManyWorkspace, encoderForward, manyToManyForward,
  manyToOneForward, manyToOneLogits, modelParameters, modelZeroGrads, oneToManyBackward, oneToManyForward,
  oneToManyGenerate, oneToManyStepFunction, trainableParameters,
} from '../../layers/architectures.js';
import type { CellKind, RecurrentCell } from '../../layers/cells/cell.js';
import { createCell } from '../../layers/cells/create-cell.js';
import { createEmbedding, type Embedding } from '../../layers/embedding.js';
import { createHeadWorkspace, createOutputHead, headForward, type OutputHead } from '../../layers/heads.js';
import { createStack, createStackedRnn } from '../../layers/stacked.js';
import { beamSearch } from '../../training/decode/beam.js';
import { sampleSequence } from '../../training/decode/sampling.js';
import { createOptimizer, optimizerStep } from '../../training/core/optimizers.js';
import { matVec, refGru, refLstm, refRnn, rowOf, uniformMatrix, type Vec } from './cells-reference.js';

const T = 5, B = 3;
const LENGTHS = [5, 2, 3];

function makeCell(kind: CellKind, D: number, H: number, rng: Rng): RecurrentCell {
  const cell = createCell({ kind, inputSize: D, hiddenSize: H }, { rng, dtype: 'float64' });
  for (const p of Object.values(cell.params)) p.data.set(uniformMatrix(rng, p.rows, p.cols, 0.8).data);
  return cell;
}

function lengthMask(lengths: number[], steps = T): Matrix {
  return Matrix.fromArray(Array.from({ length: steps }, (_, t) => lengths.map((len) => (t < len ? 1 : 0))), 'float64');
}

function softmaxHead(H: number, K: number, rng: Rng): OutputHead {
  const head = createOutputHead({ kind: 'softmax', inputSize: H, outputSize: K }, { rng, dtype: 'float64' });
  head.dense.params.W.data.set(uniformMatrix(rng, K, H, 1).data);
  return head;
}

/** −log softmax(W a + b)[y], by hand. */
function nll(head: OutputHead, a: Vec, y: number): number {
  const b = head.dense.params.b?.toArray()[0] ?? [];
  const z = matVec(head.dense.params.W.toArray(), a).map((v, k) => v + b[k]);
  const m = Math.max(...z);
  const logSum = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
  return logSum - z[y];
}

function embed(emb: Embedding, id: number): Vec {
  return emb.weight.toArray()[id];
}

describe('architectures: heads compute the notes\' per-step losses', () => {
  const rng = new Rng(3);
  const H = 3, K = 4;
  const inputs = uniformMatrix(rng, T * B, H, 2);
  const mask = lengthMask(LENGTHS);
  const valid = (r: number): boolean => Math.floor(r / B) < LENGTHS[r % B];

  it('softmax head: L = Σ_t Σ_b m · (−log ŷ⟨t⟩[y⟨t⟩]), padded targets (−1) ignored', () => {
    const head = softmaxHead(H, K, rng);
    const targets = Array.from({ length: T * B }, (_, r) => (valid(r) ? r % K : -1));
    let want = 0;
    for (let r = 0; r < T * B; r++) if (valid(r)) want += nll(head, inputs.toArray()[r], targets[r]);
    expect(headForward(head, createHeadWorkspace(head, T * B), inputs, targets, { mask })).toBeCloseTo(want, 11);
  });

  it('sigmoid head: L = Σ m · BCE(σ(W a + b), y) over every label', () => {
    const head = createOutputHead({ kind: 'sigmoid', inputSize: H, outputSize: 2 }, { rng, dtype: 'float64' });
    const labels = Matrix.fromArray(Array.from({ length: T * B }, (_, r) => [r % 2, (r >> 1) % 2]), 'float64');
    const W = head.dense.params.W.toArray(), bias = (head.dense.params.b as Matrix).toArray()[0];
    let want = 0;
    for (let r = 0; r < T * B; r++) {
      if (!valid(r)) continue;
      matVec(W, inputs.toArray()[r]).forEach((v, k) => {
        const p = 1 / (1 + Math.exp(-(v + bias[k])));
        const y = labels.get(r, k);
        want -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
      });
    }
    expect(headForward(head, createHeadWorkspace(head, T * B), inputs, labels, { mask })).toBeCloseTo(want, 11);
  });

  it('errors name the op', () => {
    const head = softmaxHead(H, K, rng);
    const ws = createHeadWorkspace(head, T * B);
    expect(() => headForward(head, ws, Matrix.zeros(T * B, H + 1, 'float64'), [])).toThrow(/headForward: expected inputs \[N, 3\]/);
    expect(() => headForward(head, ws, inputs, Matrix.zeros(T * B, K, 'float64'))).toThrow(/headForward: expected class ids/);
  });
});

describe('architectures: many-to-one picks each sequence\'s last valid state', () => {
  const rng = new Rng(9);
  const x = uniformMatrix(rng, T * B, 3);
  const mask = lengthMask(LENGTHS);
  const seq = (b: number): Vec[] => Array.from({ length: LENGTHS[b] }, (_, t) => rowOf(x, t, b, B));

  it('unidirectional: summary = a⟨T_b⟩ of the top layer (not a⟨T⟩), logits = W_y a⟨T_b⟩ + b_y', () => {
    const cell = makeCell('lstm', 3, 4, rng);
    const model = createManyToOne({ rnn: createStack([{ cell }]), head: softmaxHead(4, 2, rng) });
    const ws = createManyToOneWorkspace(model, T, B);
    const r = manyToOneForward(model, ws, x, [0, 1, 1], { mask });
    let loss = 0;
    LENGTHS.forEach((_, b) => {
      const ref = refLstm(cell.params, 4, false, seq(b), [0, 0, 0, 0], [0, 0, 0, 0]);
      r.summary.toArray()[b].forEach((v, j) => expect(v).toBeCloseTo(ref.final[0][j], 12));
      loss += nll(model.head, ref.final[0], [0, 1, 1][b]);
    });
    expect(r.loss).toBeCloseTo(loss, 11);
    const logits = manyToOneLogits(model, ws, x, { mask });
    expect(logits.toArray()).toEqual(r.logits.toArray());
  });

  it('bidirectional: summary = [a→⟨T_b⟩, a←⟨1⟩]', () => {
    const fwd = makeCell('rnn', 3, 2, rng), bwd = makeCell('gru', 3, 3, rng);
    const model = createManyToOne({ rnn: createStack([{ cell: fwd, backwardCell: bwd }]), head: softmaxHead(5, 2, rng) });
    const r = manyToOneForward(model, createManyToOneWorkspace(model, T, B), x, [1, 0, 1], { mask });
    LENGTHS.forEach((_, b) => {
      const f = refRnn(fwd.params, 2, 'tanh', seq(b), [0, 0]).final[0];
      const back = refGru(bwd.params, 3, seq(b).reverse(), [0, 0, 0]).final[0];
      r.summary.toArray()[b].forEach((v, j) => expect(v).toBeCloseTo([...f, ...back][j], 12));
    });
  });

  it('rejects a sequence with no valid step', () => {
    const model = createManyToOne({ rnn: createStack([{ cell: makeCell('rnn', 3, 2, rng) }]), head: softmaxHead(2, 2, rng) });
    expect(() => manyToOneForward(model, createManyToOneWorkspace(model, T, B), x, [0, 0, 0], { mask: lengthMask([5, 0, 2]) }))
      .toThrow(/manyToOneForward: expected every sequence to have at least one valid step, sequence 1/);
  });
});

describe('architectures: many-to-many and one-to-many', () => {
  const rng = new Rng(21);
  const V = 5, d = 3, H = 4;
  const mask = lengthMask(LENGTHS);

  it('many-to-many: ids → E → RNN → softmax at every valid step', () => {
    const emb = createEmbedding({ vocabSize: V, dim: d }, { rng, dtype: 'float64' });
    const cell = makeCell('rnn', d, H, rng);
    const model = createManyToMany({ embedding: emb, rnn: createStack([{ cell }]), head: softmaxHead(H, V, rng) });
    const ids = Array.from({ length: T * B }, (_, r) => (Math.floor(r / B) < LENGTHS[r % B] ? (r * 7) % V : -1));
    const targets = ids.map((id) => (id < 0 ? -1 : (id + 1) % V));
    const r = manyToManyForward(model, createManyToManyWorkspace(model, T, B), ids, targets, { mask });
    let want = 0;
    LENGTHS.forEach((len, b) => {
      const xs = Array.from({ length: len }, (_, t) => embed(emb, ids[t * B + b]));
      refRnn(cell.params, H, 'tanh', xs, [0, 0, 0, 0]).outputs.forEach((a, t) => { want += nll(model.head, a, targets[t * B + b]); });
    });
    expect(r.loss).toBeCloseTo(want, 11);
  });

  const emb = createEmbedding({ vocabSize: V, dim: d }, { rng, dtype: 'float64' });
  const cell = makeCell('gru', d, H, rng);
  const model = createOneToMany({ embedding: emb, rnn: createStack([{ cell }]), head: softmaxHead(H, V, rng) });

  it('one-to-many with teacher forcing feeds input⟨1⟩ = x, input⟨t⟩ = E[y⟨t−1⟩]', () => {
    const first = uniformMatrix(rng, B, d);
    const targets = Array.from({ length: T * B }, (_, r) => (Math.floor(r / B) < LENGTHS[r % B] ? (r * 3) % V : -1));
    const r = oneToManyForward(model, createOneToManyWorkspace(model, T, B), targets, { first, mask });
    let want = 0;
    LENGTHS.forEach((len, b) => {
      const xs = [first.toArray()[b], ...Array.from({ length: len - 1 }, (_, t) => embed(emb, targets[t * B + b]))];
      refGru(cell.params, H, xs, [0, 0, 0, 0]).outputs.forEach((a, t) => { want += nll(model.head, a, targets[t * B + b]); });
    });
    expect(r.loss).toBeCloseTo(want, 11);
  });

  it('greedy generation feeds back its own argmax: teacher forcing on its output reproduces it, and so does the sampling step contract', () => {
    const argmax = (row: ArrayLike<number>): number => {
      let best = 0;
      for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
      return best;
    };
    const steps = 6;
    const [tokens] = oneToManyGenerate(model, { maxSteps: steps, pick: argmax });
    expect(tokens.length).toBe(steps);
    // Teacher forcing with the generated tokens as ground truth: the logits at each step pick the same token.
    const r = oneToManyForward(model, createOneToManyWorkspace(model, steps, 1), tokens);
    for (let t = 0; t < steps; t++) expect(argmax(r.logits.toArray()[t])).toBe(tokens[t]);
    // training/sampling's loop over the step contract (start token −1 = input⟨1⟩ = ∅).
    const sampled = sampleSequence({
      step: oneToManyStepFunction(model), initialState: null, startToken: -1, eosToken: -2, maxLength: steps,
      rng: new Rng(0), greedy: true,
    });
    expect(sampled.tokens).toEqual(tokens);
    // The beam decoder plugs into the same contract: width 1 is greedy (stopping at token 4).
    const [greedyStop] = oneToManyGenerate(model, { maxSteps: steps, pick: argmax, stopToken: 4 });
    const [best] = beamSearch({ step: oneToManyStepFunction(model), initialState: null, startToken: -1, eosToken: 4, beamWidth: 1, maxLength: steps });
    expect(best.tokens).toEqual(greedyStop);
  });

  it('generation stops each sequence at its stop token', () => {
    const stop = oneToManyGenerate(model, { maxSteps: 8, batch: 2, pick: (_, row, step) => (row === 0 && step === 2 ? 4 : 1), stopToken: 4 });
    expect(stop).toEqual([[1, 1, 4], [1, 1, 1, 1, 1, 1, 1, 1]]);
  });

  it('rejects a bidirectional stack and ids without an embedding', () => {
    const bi = createStack([{ cell: makeCell('rnn', d, 2, rng), backwardCell: makeCell('rnn', d, 2, rng) }]);
    expect(() => createOneToMany({ embedding: emb, rnn: bi, head: softmaxHead(4, V, rng) })).toThrow(/createOneToMany: expected a unidirectional stack/);
    const plain = createEncoder(createStack([{ cell: makeCell('rnn', d, 2, rng) }]));
    expect(() => encoderForward(plain, createEncoderWorkspace(plain, T, B), [0, 1, 2])).toThrow(/encoderForward: expected input vectors/);
  });
});

describe('architectures: encoder → decoder state passing', () => {
  it('the decoder starts from the encoder\'s final state at each source sequence\'s own last step', () => {
    const rng = new Rng(4);
    const Vs = 6, Vt = 5, d = 3, H = 3, Tx = 4;
    const srcLengths = [4, 1, 3];
    const encoder = createEncoder(createStackedRnn({ kind: 'lstm', inputSize: d, hiddenSize: H }, { rng, dtype: 'float64' }), createEmbedding({
      vocabSize: Vs, dim: d,
    }, { rng, dtype: 'float64' }));
    const decCell = makeCell('lstm', d, H, rng);
    const decoder = createOneToMany({ embedding: createEmbedding({ vocabSize: Vt, dim: d }, { rng, dtype: 'float64' }), rnn: createStack([{ cell: decCell }]), head: softmaxHead(H, Vt, rng) });
    const source = Array.from({ length: Tx * B }, (_, r) => (Math.floor(r / B) < srcLengths[r % B] ? (r * 5) % Vs : -1));
    const targets = Array.from({ length: T * B }, (_, r) => (Math.floor(r / B) < LENGTHS[r % B] ? (r * 2) % Vt : -1));
    const { finalState } = encoderForward(encoder, createEncoderWorkspace(encoder, Tx, B), source, { mask: lengthMask(srcLengths, Tx) });
    const START = 0;
    const r = oneToManyForward(decoder, createOneToManyWorkspace(decoder, T, B), targets, { first: START, h0: finalState, mask: lengthMask(LENGTHS) });

    const encCell = encoder.rnn.layers[0].unit as RecurrentCell;
    const embS = encoder.embedding as Embedding;
    let want = 0;
    LENGTHS.forEach((len, b) => {
      const src = Array.from({ length: srcLengths[b] }, (_, t) => embed(embS, source[t * B + b]));
      const enc = refLstm(encCell.params, H, false, src, [0, 0, 0], [0, 0, 0]);
      const xs = [embed(decoder.embedding, START), ...Array.from({ length: len - 1 }, (_, t) => embed(decoder.embedding, targets[t * B + b]))];
      refLstm(decCell.params, H, false, xs, enc.final[0], enc.final[1]).outputs.forEach((a, t) => { want += nll(decoder.head, a, targets[t * B + b]); });
    });
    expect(r.loss).toBeCloseTo(want, 11);
  });
});

describe('architectures: first ids as a typed array, frozen embeddings', () => {
  const rng = new Rng(21);
  const V = 6, d = 3, H = 4;
  const build = (frozen = false) => {
    const emb = createEmbedding({ vocabSize: V, dim: d, frozen }, { rng, dtype: 'float64' });
    return createOneToMany({ embedding: emb, rnn: createStack([{ cell: makeCell('lstm', d, H, rng) }]), head: softmaxHead(H, V, rng) });
  };
  const targets = [1, 2, 3, 4, 0, 5, 2, 2, 1];

  it('one-to-many: first ids (Int32Array or number[]) feed E[id] at step 1 and send its gradient to those rows', () => {
    const model = build();
    const ws = createOneToManyWorkspace(model, 3, B);
    const ids = Int32Array.from([4, 0, 4]);
    // The same input given as vectors: the rows E[4], E[0], E[4].
    const gathered = Matrix.fromArray([...ids].map((id) => model.embedding.weight.toArray()[id]), 'float64');
    modelZeroGrads(model);
    const asVectors = oneToManyForward(model, ws, targets, { first: gathered }).loss;
    const dFirst = oneToManyBackward(model, ws).dFirst!.clone();
    const gradVectors = model.embedding.grad.clone();
    modelZeroGrads(model);
    const asIds = oneToManyForward(model, ws, targets, { first: ids }).loss;
    oneToManyBackward(model, ws);
    expect(asIds).toBe(asVectors);
    expect(oneToManyForward(model, ws, targets, { first: [4, 0, 4] }).loss).toBe(asVectors);
    expect(oneToManyForward(model, ws, targets, { first: null }).loss).not.toBe(asVectors);
    // grad(ids) − grad(vectors) = dFirst scattered into rows 4, 0, 4.
    for (let v = 0; v < V; v++) {
      for (let j = 0; j < d; j++) {
        const want = [...ids].reduce((s, id, b) => s + (id === v ? dFirst.get(b, j) : 0), 0);
        expect(model.embedding.grad.get(v, j) - gradVectors.get(v, j)).toBeCloseTo(want, 12);
      }
    }
    expect(Math.abs(dFirst.get(1, 0))).toBeGreaterThan(0);
  });

  it('one-to-many: other typed arrays and a wrong number of ids are rejected with one line', () => {
    const model = build();
    const ws = createOneToManyWorkspace(model, 3, B);
    expect(() => oneToManyForward(model, ws, targets, { first: new Float32Array([1, 2, 3]) as never })).toThrow(
      /^oneToManyForward: expected the first input as a Matrix, a token id, an Int32Array or number\[\] of ids, or null; got Float32Array$/,
    );
    expect(() => oneToManyForward(model, ws, targets, { first: Int32Array.from([1, 2]) })).toThrow(/oneToManyForward: expected 3 first token ids \(one per row\), got 2/);
    expect(oneToManyGenerate(model, { maxSteps: 2, pick: () => 1, first: Int32Array.from([3, 5]) })).toHaveLength(2);
  });

  it('a frozen embedding is left out of trainableParameters: Adam with weight decay 0.1 does not move it', () => {
    const model = build(true);
    const ws = createOneToManyWorkspace(model, 3, B);
    const E0 = model.embedding.weight.clone();
    const W0 = model.head.dense.params.W.clone();
    const step = (named: ReturnType<typeof modelParameters>): void => {
      const opt = createOptimizer({ kind: 'adam', lr: 0.1, weightDecay: 0.1 }, named.params);
      modelZeroGrads(model);
      oneToManyForward(model, ws, targets, { first: Int32Array.from([1, 2, 3]) });
      oneToManyBackward(model, ws);
      optimizerStep(opt, named.params, named.grads);
    };
    const trainable = trainableParameters(model);
    expect(Object.keys(trainable.params)).not.toContain('embedding.weight');
    expect(Object.keys(modelParameters(model).params)).toContain('embedding.weight'); // a model file still saves it
    step(trainable);
    expect(model.embedding.weight.toArray()).toEqual(E0.toArray());
    expect(model.head.dense.params.W.toArray()).not.toEqual(W0.toArray());
    // Handed every parameter instead, Adam's first step moves each entry of E by ≈ lr = 0.1
    // (g = 0 + λθ, m̂/√v̂ = sign θ): the bug the list above avoids.
    step(modelParameters(model));
    const moved = model.embedding.weight.toArray().flat().map((x, i) => Math.abs(x - E0.toArray().flat()[i]));
    for (const m of moved) expect(m).toBeCloseTo(0.1, 6);
  });
});
