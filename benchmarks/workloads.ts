/**
 * The seqgrad side of the `cells`, `train`, `sample` and `memory` suites: each builder sets up one
 * workload once (weights from a seeded generator, every buffer preallocated) and returns `call`,
 * one unit of work, which the harness times. The peers (benchmarks/peers/) build the same work.
 *
 *   cells  { cell, B, T, D, H, V }  x [T·B, D] → cell over T steps → dense H→V → softmax CE at every
 *                                   step (summed); backward through all of it (∂L/∂x included)
 *   train  { cell, B, T, D, H, V }  ids → embedding V→D → cell → dense → softmax CE summed over time,
 *                                   backward, then one optimizer update of every parameter (SGD with
 *                                   lr 0.1 on the loss / B as the PyTorch peer, or Adam lr 1e−3)
 *   charlm { B, T, H, V }           the Tiny Shakespeare race's step: one-hot ids → LSTM → dense →
 *                                   batch-mean softmax CE, backward, clip 5, Adam 2e−3
 *   sample { cell, D, H, V, tokens } batch 1: `tokens` steps of embedding → cell step → dense →
 *                                   softmax → draw the next token
 *   decode { beam, n, steps, chunk } batched greedy / beam-search decoding of n date sources (decodeWork)
 *
 * train and charlm take `threads` (default 1): N > 1 runs the step data-parallel on N threads
 * (training/lm/parallel.ts), the PyTorch peer with torch.set_num_threads(N).
 *
 * `cell` is one of rnn (tanh), gru (PyTorch's reset-after GRU, as the peers run), lstm.
 *
 * The weights are declared constant (`withConstantOperands`) around each forward + backward — the
 * optimizer update runs outside — so the wasm backend copies them into its memory once per call
 * instead of once per GEMM (where they do not live there already).
 */
import { withConstantOperands } from '../engine/backend.js';
import { crossEntropyForwardBackward } from '../engine/cross-entropy.js';
import { Matrix } from '../engine/matrix.js';
import { Rng } from '../engine/rng.js';
import type { CellKind, RecurrentCell } from '../layers/cells/cell.js';
import { createCell } from '../layers/cells/create-cell.js';
import { createDense, denseBackward, denseForward, denseZeroGrad } from '../layers/dense.js';
import {
  createSequenceWorkspace, sequenceBackward, sequenceForward, zeroGrads,
} from '../layers/sequence.js';
import {
  createLanguageModel, createLmWorkspace, lmBackward, lmForward, lmGradients, lmParameters, lmResetState, lmZeroGrad,
  type LanguageModel,
} from '../training/lm/model.js';
import { clipGradients, type GradientClip } from '../training/core/loop.js';
import { createOptimizer, optimizerStep, type OptimizerConfig, type OptimizerKind } from '../training/core/optimizers.js';
import { LmParallelStep } from '../training/lm/parallel.js';
import { sampleStream } from '../training/decode/sampling.js';
import { createLmTokenSampler } from '../training/lm/token-sampler.js';
import { Vocabulary } from '../training/text/vocab.js';
import { generateDatePairs, type DatePair } from '../training/seq2seq/dates.js';
import {
  buildSourceVocabulary, buildTargetVocabulary, createSeq2Seq, encodeSource, translateManyIds,
} from '../training/seq2seq/model.js';

/**
 * The bench's cell names and the seqgrad cell each one runs: the names of `seqgrad train --cell`,
 * one meaning each (`gru-reset-after` is PyTorch's GRU, the one the peers run; `gru` the notes').
 */
export const BENCH_CELLS: Record<string, CellKind> = { rnn: 'rnn', 'gru-reset-after': 'gru-reset-after', lstm: 'lstm' };

export function benchCellKind(op: string, cell: string): CellKind {
  const kind = BENCH_CELLS[cell];
  if (!kind) throw new Error(`${op}: expected cell ${Object.keys(BENCH_CELLS).join('|')}, got '${cell}'`);
  return kind;
}

export interface BenchWork {
  /** One unit of work (a training step, a forward + backward, `tokens` sampled tokens). */
  call(): void;
  /** The loss of the last call, where there is one (for sanity checks). */
  lastLoss(): number;
  /** Stop what the work started (the worker threads of a threaded training step). */
  dispose?(): void;
}

function randomMatrix(rng: Rng, rows: number, cols: number): Matrix {
  const m = Matrix.zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  return m;
}

function randomIds(rng: Rng, n: number, V: number): Int32Array {
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = Math.floor(rng.uniform() * V);
  return ids;
}

export interface CellsParams {
  cell: string;
  B: number;
  T: number;
  D: number;
  H: number;
  V: number;
}

/** Forward + backward of one recurrent layer with a dense softmax head at every step (issue 3, item 9). */
export function cellsWork(p: CellsParams): BenchWork {
  const kind = benchCellKind('bench cells', p.cell);
  const rng = new Rng(42);
  const cell: RecurrentCell = createCell({ kind, inputSize: p.D, hiddenSize: p.H }, { rng });
  const head = createDense({ inputSize: p.H, outputSize: p.V }, { rng });
  const ws = createSequenceWorkspace(cell, p.T, p.B);
  const x = randomMatrix(rng, p.T * p.B, p.D);
  const targets = randomIds(rng, p.T * p.B, p.V);
  const logits = Matrix.zeros(p.T * p.B, p.V);
  const dTop = Matrix.zeros(p.T * p.B, p.H);
  const weights = [...Object.values(cell.params), head.params.W, head.params.b!].map((m) => m.data);
  let loss = NaN;
  const forwardBackward = () => {
    const { outputs } = sequenceForward(cell, ws, x);
    denseForward(logits, head, outputs);
    loss = crossEntropyForwardBackward(logits, logits, targets); // dlogits overwrite the logits
    denseBackward(head, outputs, logits, dTop);
    sequenceBackward(cell, ws, dTop);
  };
  return {
    call() {
      zeroGrads(cell);
      denseZeroGrad(head);
      withConstantOperands(weights, forwardBackward);
    },
    lastLoss: () => loss,
  };
}

export interface TrainParams extends CellsParams {
  optimizer?: OptimizerKind;
  /** Threads per step (default 1: this thread, the code below; N > 1: training/lm/parallel.ts). */
  threads?: number;
}

/** A vocabulary of V placeholder tokens (the language model needs one; the bench only uses ids). */
function benchVocabulary(V: number): Vocabulary {
  const tokens = Array.from({ length: V }, (_, i) => `t${i}`);
  return new Vocabulary(tokens, tokens.map(() => 1));
}

/** A one-layer language model with a learnt embedding of width D (training/language-model.ts). */
export function benchLanguageModel(cell: string, D: number, H: number, V: number, seed = 42): LanguageModel {
  const kind = benchCellKind('bench', cell);
  return createLanguageModel({ level: 'word', cell: kind, hidden: H, embeddingDim: D, seed, vocab: benchVocabulary(V) });
}

/** One full training step of the language model: forward, loss, BPTT, optimizer update. */
export function trainWork(p: TrainParams): BenchWork {
  const model = benchLanguageModel(p.cell, p.D, p.H, p.V);
  const kind = p.optimizer ?? 'sgd';
  if ((p.threads ?? 1) > 1) {
    // The threaded step takes the batch-mean loss: SGD with lr 0.1·T on it is the peer's step (lr 0.1 on L / B).
    return threadedTrainWork(model, p, { kind, lr: kind === 'sgd' ? 0.1 * p.T : 1e-3 }, null);
  }
  const ws = createLmWorkspace(model, p.T, p.B);
  const rng = new Rng(7);
  ws.inputIds.set(randomIds(rng, p.T * p.B, p.V));
  const targets = randomIds(rng, p.T * p.B, p.V);
  const params = lmParameters(model), grads = lmGradients(model);
  // SGD on L / B with lr 0.1 (the PyTorch peer's step) is SGD on L with lr 0.1 / B
  const opt = createOptimizer({ kind, lr: kind === 'sgd' ? 0.1 / p.B : 1e-3 }, params);
  const weights = Object.values(params).map((m) => m.data);
  let loss = NaN;
  const forwardBackward = () => {
    const logits = lmForward(model, ws);
    loss = crossEntropyForwardBackward(logits, logits, targets);
    lmBackward(model, ws, logits);
  };
  return {
    call() {
      lmResetState(ws); // every step starts from the zero state, as the peers do
      lmZeroGrad(model);
      withConstantOperands(weights, forwardBackward);
      optimizerStep(opt, params, grads);
    },
    lastLoss: () => loss,
  };
}

/**
 * A training step on `p.threads` threads (training/lm/parallel.ts): the batch's streams in fixed
 * shares, one worker per share but the first, gradients summed, then clipping (when `clip`) and the
 * optimizer update on this thread. Every step starts from the zero state, as the peers do.
 */
function threadedTrainWork(
  model: LanguageModel, p: { B: number; T: number; V: number; threads?: number }, optimizer: OptimizerConfig, clip: GradientClip | null,
): BenchWork {
  const rng = new Rng(7);
  const ws = createLmWorkspace(model, 1, p.B); // only its carried state: the shares view their rows of it
  const data = { seqLen: p.T, batch: p.B, streamLength: p.T + 1, train: randomIds(rng, p.B * (p.T + 1), p.V) };
  const step = new LmParallelStep('bench train', model, data, ws.state, p.threads ?? 1);
  const params = lmParameters(model), grads = lmGradients(model), gradList = Object.values(grads);
  const opt = createOptimizer(optimizer, params);
  let loss = NaN;
  return {
    call() {
      lmResetState(ws);
      loss = step.step(0);
      clipGradients(gradList, clip);
      optimizerStep(opt, params, grads);
    },
    lastLoss: () => loss,
    dispose: () => step.close(),
  };
}

/** The char-LM of the race: one-hot input over V characters, one LSTM layer, Adam 2e−3, clip 5. */
export interface CharLmParams {
  B: number;
  T: number;
  H: number;
  V: number;
  threads?: number;
}

/**
 * One training step of the char-LM: forward over one-hot ids (a row gather of W_x), the batch-mean
 * cross-entropy, BPTT, global-norm clipping at 5, Adam (lr 2e−3) — `seqgrad train`'s defaults with
 * H and T of the Tiny Shakespeare race. On `threads` > 1 threads as the trainer runs it.
 */
export function charLmWork(p: CharLmParams): BenchWork {
  const model = createLanguageModel({ level: 'char', cell: 'lstm', hidden: p.H, embeddingDim: 0, seed: 42, vocab: benchVocabulary(p.V) });
  const optimizer: OptimizerConfig = { kind: 'adam', lr: 2e-3 };
  const clip: GradientClip = { mode: 'norm', max: 5 };
  if ((p.threads ?? 1) > 1) return threadedTrainWork(model, p, optimizer, clip);
  const ws = createLmWorkspace(model, p.T, p.B);
  const rng = new Rng(7);
  ws.inputIds.set(randomIds(rng, p.T * p.B, p.V));
  const targets = randomIds(rng, p.T * p.B, p.V);
  const params = lmParameters(model), grads = lmGradients(model), gradList = Object.values(grads);
  const opt = createOptimizer(optimizer, params);
  let loss = NaN;
  return {
    call() {
      lmResetState(ws);
      lmZeroGrad(model);
      const logits = lmForward(model, ws);
      loss = crossEntropyForwardBackward(logits, logits, targets, { reduction: 'mean' });
      lmBackward(model, ws, logits);
      clipGradients(gradList, clip);
      optimizerStep(opt, params, grads);
    },
    lastLoss: () => loss,
  };
}

export interface SampleParams {
  cell: string;
  D: number;
  H: number;
  V: number;
  tokens: number;
}

/**
 * Batch-1 sampling from a language model as `seqgrad sample` does it (training/lm/use.ts): per token
 * the token sampler's step (training/lm/token-sampler.ts: the embedding's row of the input table
 * E·W_xᵀ + b, one cell step in place, the dense head) and a draw from softmax(z) (sampleStream:
 * float64 probabilities, one uniform per token, and the token's log P). Each call starts a stream from
 * the zero state; the sampler lives as long as the workload (one sampling session: the weights do not
 * change), so its input table is made during the warm-up, as the peers' modules are.
 */
export function sampleWork(p: SampleParams): BenchWork {
  const model = benchLanguageModel(p.cell, p.D, p.H, p.V);
  const sampler = createLmTokenSampler(model);
  if (!sampler) throw new Error(`bench sample: expected a cell with a token step (lstm, gru-reset-after, rnn), got ${p.cell}`);
  const next = (token: number) => sampler.step(token);
  const rng = new Rng(7);
  let last = 0;
  return {
    call() {
      sampler.reset();
      const { tokens } = sampleStream(next, { startToken: 0, eosToken: -1, maxLength: p.tokens, rng });
      last = tokens[tokens.length - 1];
    },
    lastLoss: () => last,
  };
}

export interface DecodeParams {
  /** Beam width (1: greedy). */
  beam: number;
  /** Sources decoded per call. */
  n: number;
  /** Decoder steps of every hypothesis (the dates task's outputs: 10 characters + <EOS>). */
  steps: number;
  /** Sources per decoder batch. */
  chunk: number;
}

/** The n date pairs of the decode suite (seed 3): the seqgrad workload and the PyTorch peer decode the same sources. */
export function decodePairs(n: number): DatePair[] {
  return generateDatePairs(n, new Rng(3));
}

/**
 * Batched seq2seq decoding of n date sources (translateManyIds: greedy or beam search, all live
 * hypotheses of `chunk` sources one decoder batch) with benchmarks/seq2seq_decode_torch.py's model
 * sizes: embedding 32, biGRU encoder 64+64, Bahdanau attention n_att 128, GRU decoder 128, output
 * layer over [h′, e, c]. Random weights (seeded), as the peer's; <EOS> is made unreachable (its output
 * bias −10⁴) so every hypothesis runs exactly `steps` decoder steps, as the peer's fixed-length loop.
 */
export function decodeWork(p: DecodeParams): BenchWork {
  const pairs = decodePairs(p.n);
  const model = createSeq2Seq({
    cell: 'gru', bidirectional: true, encoderHidden: 64, decoderHidden: 128, embeddingDim: 32, attention: 'bahdanau', attentionSize: 128, seed: 1,
    sourceVocab: buildSourceVocabulary(pairs.flatMap((q) => [...q.source])), targetVocab: buildTargetVocabulary(pairs.flatMap((q) => [...q.target])),
  });
  (model.output.params.b as Matrix).data[model.ids.eos] = -1e4;
  const sources = pairs.map((q) => encodeSource(model, q.source));
  let length = 0;
  return {
    call() {
      const out = translateManyIds(model, sources, { beamWidth: p.beam, maxLength: p.steps }, p.chunk);
      length = out[0][0].ids.length;
    },
    lastLoss: () => length,
  };
}
