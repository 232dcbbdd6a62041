/**
 * Gradient-check cases of the wrappers (bidirectional, stacked, output heads) and of the notes'
 * architectures (many-to-many, many-to-one, one-to-many with teacher forcing, encoder → decoder).
 * Every case: T ≥ 5 steps, batch 3 with ragged lengths (a right-padded [T, B] mask), non-zero
 * initial states, parameters of order 1, and every parameter and input checked (x, h0, c0,
 * the first input, embedding rows).
 */
import { Matrix } from '../../../engine/matrix.js';
import type { Rng } from '../../../engine/rng.js';
import {
  createEncoder, createEncoderWorkspace, createManyToMany, createManyToManyWorkspace, createManyToOne,
  createManyToOneWorkspace, createOneToMany, createOneToManyWorkspace, encoderBackward, encoderForward,
  manyToManyBackward, manyToManyForward, manyToOneBackward, manyToOneForward, modelParameters, modelZeroGrads,
  oneToManyBackward, oneToManyForward, concatDirections, splitDirections,
} from '../../../layers/architectures.js';
import {
  bidirectionalBackward, bidirectionalForward, bidirectionalParameters, bidirectionalZeroGrads, createBidirectional,
  createBidirectionalWorkspace,
} from '../../../layers/bidirectional.js';
import type { CellKind, RecurrentCell } from '../../../layers/cells/cell.js';
import { createCell } from '../../../layers/cells/create-cell.js';
import { createEmbedding, type Embedding } from '../../../layers/embedding.js';
import {
  createHeadWorkspace, createOutputHead, headBackward, headForward, headParameters, headZeroGrads, 
} from '../../../layers/heads.js';
import {
  createStack, createStackedRnn, createStackedWorkspace, stackedBackward, stackedForward, stackedParameters,
  stackedZeroGrads, type LayerState, type StackedRnn,
} from '../../../layers/stacked.js';
import { DROPOUT_FIXED, DROPOUT_OFF } from '../../../layers/dropout.js';
import type { GradCheckCase, GradCheckProblem } from '../gradcheck.js';
import { randomMatrix, raggedMask, weightedSum } from './engine-cases.js';

const T = 6;
const B = 3;
const LENGTHS = [T, 4, 1];

function cell(kind: CellKind, inputSize: number, hiddenSize: number, rng: Rng): RecurrentCell {
  return createCell({ kind, inputSize, hiddenSize }, { rng, dtype: 'float64' });
}

/** Replace every parameter by U(−scale, scale) entries, so every path carries gradient. */
function randomize(params: Record<string, Matrix>, rng: Rng, scale = 0.8): void {
  for (const p of Object.values(params)) p.data.set(randomMatrix(rng, p.rows, p.cols, scale).data);
}

function randomState(rng: Rng, c: RecurrentCell): Matrix[] {
  return Array.from({ length: c.stateCount }, () => randomMatrix(rng, B, c.hiddenSize, 0.8));
}

/** Random non-zero initial states for every layer of a stack. */
function randomLayerStates(rng: Rng, stack: StackedRnn): LayerState[] {
  return stack.layers.map((layer) => (layer.unit.kind === 'bidirectional'
    ? { forward: randomState(rng, layer.unit.forward), backward: randomState(rng, layer.unit.backward) }
    : { forward: randomState(rng, layer.unit) }));
}

/** Named entries of per-layer states: `${prefix}l0.a`, `${prefix}l0.c`, `${prefix}l1_reverse.a`, … */
function stateEntries(prefix: string, states: readonly LayerState[]): Record<string, Matrix> {
  const out: Record<string, Matrix> = {};
  const names = ['a', 'c'];
  states.forEach((s, l) => {
    s.forward.forEach((m, k) => { out[`${prefix}l${l}.${names[k]}`] = m; });
    s.backward?.forEach((m, k) => { out[`${prefix}l${l}_reverse.${names[k]}`] = m; });
  });
  return out;
}

/** Random weights of the same shapes as the states, for a loss term on the final states. */
function randomLike(rng: Rng, states: readonly LayerState[]): LayerState[] {
  return states.map((s) => ({
    forward: s.forward.map((m) => randomMatrix(rng, m.rows, m.cols)),
    backward: s.backward?.map((m) => randomMatrix(rng, m.rows, m.cols)),
  }));
}

function weightedStates(states: readonly LayerState[], w: readonly LayerState[]): number {
  let sum = 0;
  states.forEach((s, l) => {
    s.forward.forEach((m, k) => { sum += weightedSum(m, w[l].forward[k]); });
    s.backward?.forEach((m, k) => { sum += weightedSum(m, (w[l].backward as Matrix[])[k]); });
  });
  return sum;
}

/** Token ids [T·B]; padded positions hold −1 (they must never be read). */
function randomIds(rng: Rng, vocab: number, mask: Matrix | null, steps = T): Int32Array {
  const ids = new Int32Array(steps * B);
  for (let r = 0; r < ids.length; r++) {
    ids[r] = mask && mask.get(Math.floor(r / B), r % B) === 0 ? -1 : rng.int(vocab);
  }
  return ids;
}

function randomEmbedding(rng: Rng, vocab: number, dim: number): Embedding {
  return createEmbedding({ vocabSize: vocab, dim }, { rng, dtype: 'float64' });
}

// ---------------------------------------------------------------------------------------------
// wrappers

/**
 * Bidirectional layer, mixed cells, ragged mask, non-zero h0 of both directions; loss on every
 * output and on both final states: L = Σ w ∗ [a→, a←] + Σ w_F ∗ final→ + Σ w_B ∗ final←.
 */
function bidirectionalCase(op: string, forwardKind: CellKind, backwardKind: CellKind): GradCheckCase {
  return {
    group: 'wrappers',
    op,
    build(rng: Rng): GradCheckProblem {
      const D = 3;
      const layer = createBidirectional(cell(forwardKind, D, 4, rng), cell(backwardKind, D, 3, rng));
      const { params, grads } = bidirectionalParameters(layer, 'bi');
      randomize(params, rng);
      const x = randomMatrix(rng, T * B, D);
      const h0 = { forward: randomState(rng, layer.forward), backward: randomState(rng, layer.backward) };
      const mask = raggedMask(LENGTHS, T);
      const wOut = randomMatrix(rng, T * B, layer.outputSize);
      const [wF, wB] = randomLike(rng, [h0]).map((s) => [s.forward, s.backward as Matrix[]])[0];
      const ws = createBidirectionalWorkspace(layer, T, B);
      const loss = (): number => {
        const r = bidirectionalForward(layer, ws, x, { h0, mask });
        let sum = weightedSum(r.outputs, wOut);
        r.finalState.forward.forEach((s, k) => { sum += weightedSum(s, wF[k]); });
        r.finalState.backward.forEach((s, k) => { sum += weightedSum(s, wB[k]); });
        return sum;
      };
      return {
        params: { ...params, x, ...stateEntries('h0.', [h0]) },
        loss,
        gradients: () => {
          bidirectionalZeroGrads(layer);
          bidirectionalForward(layer, ws, x, { h0, mask });
          const r = bidirectionalBackward(layer, ws, wOut, { dFinal: { forward: wF, backward: wB } });
          return { ...grads, x: r.dx as Matrix, ...stateEntries('h0.', [r.dh0]) };
        },
      };
    },
  };
}

/**
 * A stack with a loss on its outputs and on every layer's final state; x and every h0 checked.
 * A stack with dropout draws its masks once here, then every pass holds them (DROPOUT_FIXED).
 */
function stackedProblem(rng: Rng, stack: StackedRnn): GradCheckProblem {
  const { params, grads } = stackedParameters(stack);
  randomize(params, rng, 0.7);
  const x = randomMatrix(rng, T * B, stack.inputSize);
  const h0 = randomLayerStates(rng, stack);
  const mask = raggedMask(LENGTHS, T);
  const wOut = randomMatrix(rng, T * B, stack.outputSize);
  const wFinal = randomLike(rng, h0);
  const ws = createStackedWorkspace(stack, T, B);
  const dropout = stack.dropout ? DROPOUT_FIXED : DROPOUT_OFF;
  if (stack.dropout) stackedForward(stack, ws, x, { h0, mask, dropout: { kind: 'sample', rng } });
  return {
    params: { ...params, x, ...stateEntries('h0.', h0) },
    loss: () => {
      const r = stackedForward(stack, ws, x, { h0, mask, dropout });
      return weightedSum(r.outputs, wOut) + weightedStates(r.finalState, wFinal);
    },
    gradients: () => {
      stackedZeroGrads(stack);
      stackedForward(stack, ws, x, { h0, mask, dropout });
      const r = stackedBackward(stack, ws, wOut, { dFinal: wFinal });
      return { ...grads, x: r.dx as Matrix, ...stateEntries('h0.', r.dh0) };
    },
  };
}

/** Depth 3, one cell kind per layer: LSTM 3→4, bidirectional GRU→/RNN← 4→2+2 (residual), reset-after GRU 4→4 (residual). */
const stackedMixedCase: GradCheckCase = {
  group: 'wrappers',
  op: 'stacked depth 3 (LSTM, bi GRU/RNN + skip, GRU-RA + skip), ragged',
  build(rng) {
    const stack = createStack([
      { cell: cell('lstm', 3, 4, rng) },
      { cell: cell('gru', 4, 2, rng), backwardCell: cell('rnn', 4, 2, rng), residual: true },
      { cell: cell('gru-reset-after', 4, 4, rng), residual: true },
    ]);
    return stackedProblem(rng, stack);
  },
};

/** A residual first layer (D = H: the input itself is skipped around layer 0) under a ragged mask. */
const stackedInputSkipCase: GradCheckCase = {
  group: 'wrappers',
  op: 'stacked depth 3 (peephole LSTM + skip from x, simplified GRU, RNN), ragged',
  build(rng) {
    const stack = createStack([
      { cell: cell('lstm-peephole', 3, 3, rng), residual: true },
      { cell: cell('gru-simple', 3, 4, rng) },
      { cell: cell('rnn', 4, 4, rng), residual: true },
    ]);
    return stackedProblem(rng, stack);
  },
};

/** createStackedRnn: 3 bidirectional LSTM layers (PyTorch's num_layers, bidirectional) with skips. */
const stackedUniformCase: GradCheckCase = {
  group: 'wrappers',
  op: 'stacked depth 3, bidirectional LSTM, residual (createStackedRnn), ragged',
  maxEntries: 60,
  build(rng) {
    const stack = createStackedRnn({
      kind: 'lstm', inputSize: 3, hiddenSize: 2, numLayers: 3, bidirectional: true, residual: true,
    }, { rng, dtype: 'float64' });
    return stackedProblem(rng, stack);
  },
};

/** PyTorch's nn.LSTM dropout: layers 0 and 1's outputs dropped per entry (p = 0.4), fixed masks. */
const stackedBetweenDropoutCase: GradCheckCase = {
  group: 'wrappers',
  op: 'stacked depth 3 (LSTM, bi GRU/RNN + skip, GRU-RA), dropout between layers p = 0.4, fixed masks, ragged',
  build(rng) {
    const stack = createStack([
      { cell: cell('lstm', 3, 4, rng) },
      { cell: cell('gru', 4, 2, rng), backwardCell: cell('rnn', 4, 2, rng), residual: true },
      { cell: cell('gru-reset-after', 4, 4, rng) },
    ], { dropout: { p: 0.4, mode: 'between' } });
    return stackedProblem(rng, stack);
  },
};

/**
 * Gal & Ghahramani: per-sequence masks (p = 0.3) on x, on layers 1 and 2's inputs, on the output and
 * on every cell's recurrent state (LSTM, bidirectional RNN/peephole LSTM + skip, RNN), fixed masks.
 */
const stackedVariationalDropoutCase: GradCheckCase = {
  group: 'wrappers',
  op: 'stacked depth 3 (LSTM, bi RNN/peephole + skip, RNN), variational dropout p = 0.3, fixed masks, ragged',
  build(rng) {
    const stack = createStack([
      { cell: cell('lstm', 3, 4, rng) },
      { cell: cell('rnn', 4, 2, rng), backwardCell: cell('lstm-peephole', 4, 2, rng), residual: true },
      { cell: cell('rnn', 4, 3, rng) },
    ], { dropout: { p: 0.3, mode: 'variational' } });
    return stackedProblem(rng, stack);
  },
};

/** createStackedRnn: 2 layer-normalised LSTM layers with variational dropout p = 0.25 (fixed masks). */
const stackedLayerNormDropoutCase: GradCheckCase = {
  group: 'wrappers',
  op: 'stacked depth 2, layer-normalised LSTM, variational dropout p = 0.25 (createStackedRnn), fixed masks, ragged',
  build(rng) {
    const stack = createStackedRnn({
      kind: 'lstm', layerNorm: true, inputSize: 3, hiddenSize: 4, numLayers: 2, dropout: 0.25, dropoutMode: 'variational', rng, dtype: 'float64',
    });
    return stackedProblem(rng, stack);
  },
};

/** The heads alone on [T·B, H] inputs: loss = headForward, gradients = headBackward (W, b, inputs). */
function headCase(op: string, kind: 'softmax' | 'sigmoid', reduction: 'sum' | 'mean'): GradCheckCase {
  return {
    group: 'wrappers',
    op,
    build(rng) {
      const H = 4, K = 5;
      const head = createOutputHead({ kind, inputSize: H, outputSize: K }, { rng, dtype: 'float64' });
      const { params, grads } = headParameters(head);
      randomize(params, rng);
      const inputs = randomMatrix(rng, T * B, H, 1.5);
      const mask = raggedMask(LENGTHS, T);
      let targets: ArrayLike<number> | Matrix;
      if (kind === 'softmax') {
        targets = randomIds(rng, K, mask);
      } else {
        const labels = Matrix.zeros(T * B, K, 'float64');
        for (let i = 0; i < labels.data.length; i++) labels.data[i] = rng.int(2);
        targets = labels;
      }
      const ws = createHeadWorkspace(head, T * B);
      return {
        params: { ...params, inputs },
        loss: () => headForward(head, ws, inputs, targets, { mask, reduction }),
        gradients: () => {
          headZeroGrads(head);
          headForward(head, ws, inputs, targets, { mask, reduction });
          return { ...grads, inputs: headBackward(head, ws) };
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// architectures

/** Many-to-many tagger: ids → embedding → [bi LSTM/GRU, GRU] → softmax head, ragged; h0 of every layer. */
const manyToManyCase: GradCheckCase = {
  group: 'architectures',
  op: 'many-to-many (ids → embedding → bi LSTM/GRU → GRU → softmax), ragged',
  build(rng) {
    const V = 6, d = 3, K = 4;
    const rnn = createStack([
      { cell: cell('lstm', d, 3, rng), backwardCell: cell('gru', d, 2, rng) },
      { cell: cell('gru', 5, 3, rng) },
    ]);
    const model = createManyToMany({ embedding: randomEmbedding(rng, V, d), rnn, head: createOutputHead({
      kind: 'softmax', inputSize: 3, outputSize: K,
    }, { rng, dtype: 'float64' }) });
    const { params, grads } = modelParameters(model);
    randomize(params, rng, 0.8);
    const mask = raggedMask(LENGTHS, T);
    const ids = randomIds(rng, V, mask);
    const targets = randomIds(rng, K, mask);
    const h0 = randomLayerStates(rng, rnn);
    const ws = createManyToManyWorkspace(model, T, B);
    return {
      params: { ...params, ...stateEntries('h0.', h0) },
      loss: () => manyToManyForward(model, ws, ids, targets, { mask, h0 }).loss,
      gradients: () => {
        modelZeroGrads(model);
        manyToManyForward(model, ws, ids, targets, { mask, h0 });
        const r = manyToManyBackward(model, ws);
        return { ...grads, ...stateEntries('h0.', r.dh0) };
      },
    };
  },
};

/** Many-to-many on input vectors with a sigmoid head (named-entity style binary tags), x checked. */
const manyToManySigmoidCase: GradCheckCase = {
  group: 'architectures',
  op: 'many-to-many (x → RNN → reset-after GRU → sigmoid tags), ragged',
  build(rng) {
    const D = 3, K = 2;
    const rnn = createStack([{ cell: cell('rnn', D, 4, rng) }, { cell: cell('gru-reset-after', 4, 3, rng) }]);
    const model = createManyToMany({ rnn, head: createOutputHead({
      kind: 'sigmoid', inputSize: 3, outputSize: K,
    }, { rng, dtype: 'float64' }) });
    const { params, grads } = modelParameters(model);
    randomize(params, rng, 0.8);
    const mask = raggedMask(LENGTHS, T);
    const x = randomMatrix(rng, T * B, D);
    const labels = Matrix.zeros(T * B, K, 'float64');
    for (let i = 0; i < labels.data.length; i++) labels.data[i] = rng.int(2);
    const h0 = randomLayerStates(rng, rnn);
    const ws = createManyToManyWorkspace(model, T, B);
    return {
      params: { ...params, x, ...stateEntries('h0.', h0) },
      loss: () => manyToManyForward(model, ws, x, labels, { mask, h0 }).loss,
      gradients: () => {
        modelZeroGrads(model);
        manyToManyForward(model, ws, x, labels, { mask, h0 });
        const r = manyToManyBackward(model, ws);
        return { ...grads, x: r.dx as Matrix, ...stateEntries('h0.', r.dh0) };
      },
    };
  },
};

/** Many-to-one (sentiment): the last valid output of each ragged sequence → softmax; top layer uni or bi. */
function manyToOneCase(op: string, bidirectionalTop: boolean, withEmbedding: boolean): GradCheckCase {
  return {
    group: 'architectures',
    op,
    build(rng) {
      const V = 7, D = 3, K = 3;
      const rnn = createStack(bidirectionalTop
        ? [{ cell: cell('gru', D, 3, rng) }, { cell: cell('lstm', 3, 2, rng), backwardCell: cell('gru-reset-after', 3, 3, rng) }]
        : [{ cell: cell('lstm-peephole', D, 4, rng) }, { cell: cell('rnn', 4, 4, rng), residual: true }]);
      const head = createOutputHead({ kind: 'softmax', inputSize: rnn.outputSize, outputSize: K }, { rng, dtype: 'float64' });
      const model = createManyToOne({ rnn, head, embedding: withEmbedding ? randomEmbedding(rng, V, D) : null });
      const { params, grads } = modelParameters(model);
      randomize(params, rng, 0.8);
      const mask = raggedMask([T, 3, 1], T);
      const input: Int32Array | Matrix = withEmbedding ? randomIds(rng, V, mask) : randomMatrix(rng, T * B, D);
      const labels = [0, 2, 1];
      const h0 = randomLayerStates(rng, rnn);
      const ws = createManyToOneWorkspace(model, T, B);
      const extra: Record<string, Matrix> = input instanceof Matrix ? { x: input } : {};
      return {
        params: { ...params, ...extra, ...stateEntries('h0.', h0) },
        loss: () => manyToOneForward(model, ws, input, labels, { mask, h0 }).loss,
        gradients: () => {
          modelZeroGrads(model);
          manyToOneForward(model, ws, input, labels, { mask, h0 });
          const r = manyToOneBackward(model, ws);
          const dx: Record<string, Matrix> = input instanceof Matrix ? { x: r.dx as Matrix } : {};
          return { ...grads, ...dx, ...stateEntries('h0.', r.dh0) };
        },
      };
    },
  };
}

/** One-to-many with teacher forcing: a first input vector x, then E[y⟨t−1⟩]; x, E, h0 and all weights checked. */
const oneToManyCase: GradCheckCase = {
  group: 'architectures',
  op: 'one-to-many, teacher forcing (x → LSTM → GRU → softmax over V), ragged',
  build(rng) {
    const V = 5, d = 3;
    const rnn = createStack([{ cell: cell('lstm', d, 3, rng) }, { cell: cell('gru', 3, 4, rng) }]);
    const model = createOneToMany({ embedding: randomEmbedding(rng, V, d), rnn, head: createOutputHead({
      kind: 'softmax', inputSize: 4, outputSize: V,
    }, { rng, dtype: 'float64' }) });
    const { params, grads } = modelParameters(model);
    randomize(params, rng, 0.8);
    const mask = raggedMask(LENGTHS, T);
    const targets = randomIds(rng, V, mask);
    const first = randomMatrix(rng, B, d);
    const h0 = randomLayerStates(rng, rnn);
    const ws = createOneToManyWorkspace(model, T, B);
    return {
      params: { ...params, first, ...stateEntries('h0.', h0) },
      loss: () => oneToManyForward(model, ws, targets, { first, mask, h0 }).loss,
      gradients: () => {
        modelZeroGrads(model);
        oneToManyForward(model, ws, targets, { first, mask, h0 });
        const r = oneToManyBackward(model, ws);
        return { ...grads, first: r.dFirst as Matrix, ...stateEntries('h0.', r.dh0) };
      },
    };
  },
};

/**
 * Encoder → decoder: the encoder (source ids, 2 LSTM layers, ragged T_x = 5) hands its final
 * states to the decoder (one-to-many from a start token, 2 LSTM layers, ragged T_y = 6); the
 * decoder's ∂L/∂h0 comes back as the encoder's dFinal. Both embeddings, both stacks, the head.
 */
const encoderDecoderCase: GradCheckCase = {
  group: 'architectures',
  op: 'encoder → decoder (LSTM×2 final states → LSTM×2 h0), ragged source and target',
  maxEntries: 80,
  build(rng) {
    const Vs = 6, Vt = 5, d = 3, H = 3, Tx = 5, START = 0;
    const encoder = createEncoder(
      createStackedRnn({ kind: 'lstm', inputSize: d, hiddenSize: H, numLayers: 2 }, { rng, dtype: 'float64' }),
      randomEmbedding(rng, Vs, d),
    );
    const decoder = createOneToMany({
      embedding: randomEmbedding(rng, Vt, d),
      rnn: createStackedRnn({ kind: 'lstm', inputSize: d, hiddenSize: H, numLayers: 2 }, { rng, dtype: 'float64' }),
      head: createOutputHead({ kind: 'softmax', inputSize: H, outputSize: Vt }, { rng, dtype: 'float64' }),
    });
    const enc = modelParameters(encoder, 'encoder.');
    const dec = modelParameters(decoder, 'decoder.');
    randomize(enc.params, rng, 0.8);
    randomize(dec.params, rng, 0.8);
    const srcMask = raggedMask([Tx, 2, 4], Tx);
    const tgtMask = raggedMask(LENGTHS, T);
    const source = randomIds(rng, Vs, srcMask, Tx);
    const targets = randomIds(rng, Vt, tgtMask);
    const encWs = createEncoderWorkspace(encoder, Tx, B);
    const decWs = createOneToManyWorkspace(decoder, T, B);
    const forward = (): number => {
      const { finalState } = encoderForward(encoder, encWs, source, { mask: srcMask });
      return oneToManyForward(decoder, decWs, targets, { first: START, h0: finalState, mask: tgtMask }).loss;
    };
    return {
      params: { ...enc.params, ...dec.params },
      loss: forward,
      gradients: () => {
        modelZeroGrads(encoder);
        modelZeroGrads(decoder);
        forward();
        const { dh0 } = oneToManyBackward(decoder, decWs);
        encoderBackward(encoder, encWs, null, { dFinal: dh0 });
        return { ...enc.grads, ...dec.grads };
      },
    };
  },
};

/**
 * A bidirectional encoder bridged to a unidirectional decoder: h0_dec = [a→, a←] of the
 * encoder's bi-GRU (concatDirections), and the decoder's dh0 split back (splitDirections).
 */
const biEncoderDecoderCase: GradCheckCase = {
  group: 'architectures',
  op: 'bi-GRU encoder → concatDirections → GRU decoder (2H), ragged',
  build(rng) {
    const Vs = 5, Vt = 4, d = 3, H = 2, Tx = 5, START = 1;
    const encoder = createEncoder(
      createStack([{ cell: cell('gru', d, H, rng), backwardCell: cell('gru-reset-after', d, H, rng) }]),
      randomEmbedding(rng, Vs, d),
    );
    const decoder = createOneToMany({
      embedding: randomEmbedding(rng, Vt, d),
      rnn: createStack([{ cell: cell('gru', d, 2 * H, rng) }]),
      head: createOutputHead({ kind: 'softmax', inputSize: 2 * H, outputSize: Vt }, { rng, dtype: 'float64' }),
    });
    const enc = modelParameters(encoder, 'encoder.');
    const dec = modelParameters(decoder, 'decoder.');
    randomize(enc.params, rng, 0.8);
    randomize(dec.params, rng, 0.8);
    const srcMask = raggedMask([3, Tx, 1], Tx);
    const tgtMask = raggedMask(LENGTHS, T);
    const source = randomIds(rng, Vs, srcMask, Tx);
    const targets = randomIds(rng, Vt, tgtMask);
    const encWs = createEncoderWorkspace(encoder, Tx, B);
    const decWs = createOneToManyWorkspace(decoder, T, B);
    const forward = (): { loss: number; finalState: readonly LayerState[] } => {
      const { finalState } = encoderForward(encoder, encWs, source, { mask: srcMask });
      const { loss } = oneToManyForward(decoder, decWs, targets, { first: START, h0: concatDirections(finalState), mask: tgtMask });
      return { loss, finalState };
    };
    return {
      params: { ...enc.params, ...dec.params },
      loss: () => forward().loss,
      gradients: () => {
        modelZeroGrads(encoder);
        modelZeroGrads(decoder);
        const { finalState } = forward();
        const { dh0 } = oneToManyBackward(decoder, decWs);
        encoderBackward(encoder, encWs, null, { dFinal: splitDirections(dh0, finalState) });
        return { ...enc.grads, ...dec.grads };
      },
    };
  },
};

export const wrappersCases: GradCheckCase[] = [
  bidirectionalCase('bidirectional (LSTM →, GRU ←), ragged', 'lstm', 'gru'),
  bidirectionalCase('bidirectional (RNN →, peephole LSTM ←), ragged', 'rnn', 'lstm-peephole'),
  stackedMixedCase,
  stackedInputSkipCase,
  stackedUniformCase,
  stackedBetweenDropoutCase,
  stackedVariationalDropoutCase,
  stackedLayerNormDropoutCase,
  headCase('softmax head, per-step cross-entropy summed over time, ragged', 'softmax', 'sum'),
  headCase('sigmoid head, per-step binary labels (mean), ragged', 'sigmoid', 'mean'),
];

export const architecturesCases: GradCheckCase[] = [
  manyToManyCase,
  manyToManySigmoidCase,
  manyToOneCase('many-to-one (ids → GRU → bi LSTM/GRU-RA → softmax), ragged lengths', true, true),
  manyToOneCase('many-to-one (x → peephole LSTM → RNN + skip → softmax), ragged lengths', false, false),
  oneToManyCase,
  encoderDecoderCase,
  biEncoderDecoderCase,
];
