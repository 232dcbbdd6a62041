/**
 * GloVe (Pennington, Socher & Manning 2014): word vectors from a weighted least-squares fit to
 * the logarithm of the co-occurrence counts.
 *
 * Counts (the reference cooccur.c): inside each document, after words below minCount are removed,
 * every pair of words at distance d ≤ window adds 1/d to X_ij and to X_ji (symmetric window).
 * X is kept sparse, in an open-addressing hash table of (i, j) → X_ij on typed arrays (a JS Map
 * holds at most 2^24 entries, fewer than a real corpus needs).
 *
 * Objective, over the non-zero entries (the notes' notation; θ and e play symmetric roles):
 *   J = Σ_{ij} f(X_ij)·(θ_iᵀe_j + b_i + b′_j − log X_ij)²,   f(x) = (x/x_max)^α for x < x_max, else 1
 * with x_max = 100, α = 0.75. Gradients (of J): with r = θ_iᵀe_j + b_i + b′_j − log X_ij,
 *   ∂J/∂θ_i = 2f·r·e_j,  ∂J/∂e_j = 2f·r·θ_i,  ∂J/∂b_i = ∂J/∂b′_j = 2f·r.
 *
 * Training follows the reference glove.c: one pass over the entries per epoch in a shuffled order
 * (reshuffled every epoch from the seeded Rng), AdaGrad on ½J (glove.c's cost is ½Σ f·r²) with
 * η = 0.05, its quirks included: the step of a component is u = η·g / √G and then G += (η·g)²,
 * with G starting at 1 (so G accumulates squared *steps*, not squared gradients); vector gradient
 * components g are clipped to ±100 first; an entry whose residual is not finite is skipped.
 * Init as glove.c: every entry of θ, e, b, b′ ~ U(−0.5/d, 0.5/d). Float64 throughout (glove.c's
 * `real` is double). Final vectors: (e + θ)/2 as in the notes ('average', default) or e + θ
 * ('sum', glove.c's -model 2); the same direction either way.
 */
import { Matrix, expectSameDType, shapeOf } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { runTrainingLoop, type LoopControls, type LoopResult, type StopReason } from '../core/loop.js';
import type { GradientJob } from '../parallel/worker-loop.js';
import {
  createHogwildControl, hogwildChunk, hogwildStopRequested, HogwildThreads, passArguments, requestHogwildStop,
  trainClaimedChunks, type HogwildControl,
} from './hogwild.js';
import { buildWord2VecVocabulary, encodeCorpus } from './word2vec.js';
import { stopRequested } from '../core/stop.js';
import { checkDivergence, createDivergenceWatch } from '../core/divergence.js';
import { InputError } from '../core/errors.js';

/** The non-zero entries of X as parallel arrays: X[rows[k], cols[k]] = values[k]. */
export interface Cooccurrences {
  vocabSize: number;
  rows: Int32Array;
  cols: Int32Array;
  values: Float64Array;
  /** Number of entries. */
  size: number;
}

/** (i, j) → value, open addressing with linear probing; keys stored as two Int32Arrays. */
class PairTable {
  private keyI: Int32Array;
  private keyJ: Int32Array;
  private vals: Float64Array;
  private mask: number;
  size = 0;

  constructor(capacityPow2 = 1 << 16) {
    this.keyI = new Int32Array(capacityPow2).fill(-1);
    this.keyJ = new Int32Array(capacityPow2);
    this.vals = new Float64Array(capacityPow2);
    this.mask = capacityPow2 - 1;
  }

  add(i: number, j: number, v: number): void {
    let slot = hashPair(i, j) & this.mask;
    for (;;) {
      const ki = this.keyI[slot];
      if (ki === -1) break;
      if (ki === i && this.keyJ[slot] === j) {
        this.vals[slot] += v;
        return;
      }
      slot = (slot + 1) & this.mask;
    }
    this.keyI[slot] = i;
    this.keyJ[slot] = j;
    this.vals[slot] = v;
    this.size++;
    if (this.size * 10 > this.keyI.length * 7) this.grow();
  }

  private grow(): void {
    const { keyI, keyJ, vals } = this;
    const capacity = keyI.length * 2;
    this.keyI = new Int32Array(capacity).fill(-1);
    this.keyJ = new Int32Array(capacity);
    this.vals = new Float64Array(capacity);
    this.mask = capacity - 1;
    for (let s = 0; s < keyI.length; s++) {
      if (keyI[s] === -1) continue;
      let slot = hashPair(keyI[s], keyJ[s]) & this.mask;
      while (this.keyI[slot] !== -1) slot = (slot + 1) & this.mask;
      this.keyI[slot] = keyI[s];
      this.keyJ[slot] = keyJ[s];
      this.vals[slot] = vals[s];
    }
  }

  /** The entries in slot order (deterministic for a given sequence of adds). */
  toCooccurrences(vocabSize: number): Cooccurrences {
    const rows = new Int32Array(this.size);
    const cols = new Int32Array(this.size);
    const values = new Float64Array(this.size);
    let k = 0;
    for (let s = 0; s < this.keyI.length; s++) {
      if (this.keyI[s] === -1) continue;
      rows[k] = this.keyI[s];
      cols[k] = this.keyJ[s];
      values[k] = this.vals[s];
      k++;
    }
    return { vocabSize, rows, cols, values, size: this.size };
  }
}

function hashPair(i: number, j: number): number {
  let h = Math.imul(i, 0x9e3779b1) ^ Math.imul(j + 0x7f4a7c15, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}

/**
 * X over documents of word ids (ids in [0, vocabSize)): for every pair at distance
 * d = 1 … window inside a document, X_ij += 1/d and X_ji += 1/d.
 */
export function countCooccurrences(docs: ArrayLike<number>[], vocabSize: number, window = 15): Cooccurrences {
  if (!Number.isInteger(window) || window < 1) throw new Error(`countCooccurrences: expected window to be an integer ≥ 1, got ${window}`);
  const table = new PairTable();
  for (const doc of docs) {
    for (let p = 0; p < doc.length; p++) {
      const w = doc[p];
      if (!Number.isInteger(w) || w < 0 || w >= vocabSize) {
        throw new Error(`countCooccurrences: expected word ids in [0, ${vocabSize}), got ${w} at position ${p}`);
      }
      for (let dist = 1; dist <= window && p - dist >= 0; dist++) {
        const c = doc[p - dist];
        table.add(w, c, 1 / dist);
        table.add(c, w, 1 / dist);
      }
    }
  }
  return table.toCooccurrences(vocabSize);
}

/** f(x) = (x/x_max)^α below x_max, else 1. */
export function gloveWeight(x: number, xMax = 100, alpha = 0.75): number {
  return x < xMax ? Math.pow(x / xMax, alpha) : 1;
}

export interface GloveParams {
  /** θ [V, d] (row i of X) */
  theta: Matrix;
  /** e [V, d] (column j of X) */
  e: Matrix;
  /** b [V, 1] */
  b: Matrix;
  /** b′ [V, 1] */
  bPrime: Matrix;
}

function checkGlove(op: string, p: GloveParams, X: Cooccurrences): void {
  const V = X.vocabSize;
  const d = p.theta.cols;
  const expect = (name: string, m: Matrix, rows: number, cols: number): void => {
    if (m.rows !== rows || m.cols !== cols) throw new Error(`${op}: expected ${name} to be [${rows}, ${cols}], got ${shapeOf(m)}`);
    expectSameDType(op, p.theta, m);
  };
  expect('theta', p.theta, V, d);
  expect('e', p.e, V, d);
  expect('b', p.b, V, 1);
  expect('bPrime', p.bPrime, V, 1);
}

/** r = θ_iᵀe_j + b_i + b′_j − log X_ij for entry k. */
function residual(p: GloveParams, X: Cooccurrences, k: number): number {
  const i = X.rows[k], j = X.cols[k];
  const { theta, e } = p;
  let dot = 0;
  for (let c = 0; c < theta.cols; c++) dot += theta.get(i, c) * e.get(j, c);
  return dot + p.b.get(i, 0) + p.bPrime.get(j, 0) - Math.log(X.values[k]);
}

/** J = Σ_k f(X_k)·r_k² over the entries of X (x_max, α as given). */
export function gloveLoss(p: GloveParams, X: Cooccurrences, xMax = 100, alpha = 0.75): number {
  checkGlove('gloveLoss', p, X);
  let J = 0;
  for (let k = 0; k < X.size; k++) {
    const r = residual(p, X, k);
    J += gloveWeight(X.values[k], xMax, alpha) * r * r;
  }
  return J;
}

/**
 * Backward of gloveLoss, ACCUMULATING into grads (same shapes as params): with g = 2f·r,
 *   dθ_i += g·e_j,  de_j += g·θ_i,  db_i += g,  db′_j += g.
 */
export function gloveBackward(grads: GloveParams, p: GloveParams, X: Cooccurrences, xMax = 100, alpha = 0.75): void {
  checkGlove('gloveBackward', p, X);
  checkGlove('gloveBackward (grads)', grads, X);
  const d = p.theta.cols;
  for (let k = 0; k < X.size; k++) {
    const i = X.rows[k], j = X.cols[k];
    const g = 2 * gloveWeight(X.values[k], xMax, alpha) * residual(p, X, k);
    for (let c = 0; c < d; c++) {
      grads.theta.set(i, c, grads.theta.get(i, c) + g * p.e.get(j, c));
      grads.e.set(j, c, grads.e.get(j, c) + g * p.theta.get(i, c));
    }
    grads.b.set(i, 0, grads.b.get(i, 0) + g);
    grads.bPrime.set(j, 0, grads.bPrime.get(j, 0) + g);
  }
}

/**
 * The shared loop's time limit and stop signal (a step of the loop is one epoch over the entries;
 * the signal is also checked every 1024 entries, so a stop request ends the run there: stop
 * reason 'interrupted') and GloVe's settings.
 */
export interface GloveOptions extends Omit<LoopControls, 'onProgress'> {
  dim?: number;
  /** Symmetric window (default 15, cooccur.c's). */
  window?: number;
  minCount?: number;
  xMax?: number;
  alpha?: number;
  /** AdaGrad η (default 0.05). */
  eta?: number;
  /** Passes over the entries (default 15, the reference demo's). */
  epochs?: number;
  /** Clip of each vector-gradient component (default 100, glove.c's). */
  gradClip?: number;
  /**
   * Threads (default 1). N > 1: Hogwild as glove.c — every epoch the calling thread and N − 1 worker
   * threads each train a region of the shuffled order in chunks of ≤ 16,384 entries, then help with
   * the chunks left at the ends of the others' (hogwild.ts), and update
   * the same vectors at the same time without locks, so such a run is NOT reproducible bit for bit;
   * 1 keeps the single-thread, bit-identical run. Progress reports then count the entries handed out
   * to every thread, with the mean cost of the calling thread's.
   */
  threads?: number;
  seed?: number;
  /** 'average' (default): (e + θ)/2; 'sum': e + θ. */
  combine?: 'average' | 'sum';
  /** Called after counting and after every epoch. */
  onProgress?: (p: GloveProgress) => void;
  /** Called every `progressEvery` entries within an epoch (default 1,000,000). */
  progressEvery?: number;
}

export interface GloveProgress {
  stage: 'count' | 'train';
  epoch: number;
  /** Entries done in this epoch. */
  done: number;
  entries: number;
  /** glove.c's figure: mean of ½f·r² over the entries done in this epoch. */
  cost: number;
  /** Corpus words per second (counting), or entries per second (training). */
  rate: number;
  elapsedSeconds: number;
}

export interface GloveResult {
  words: string[];
  counts: number[];
  /** Final vectors [V, d] float32 ((e + θ)/2 or e + θ). */
  vectors: Matrix;
  params: GloveParams;
  cooccurrences: Cooccurrences;
  /** ½·mean f·r² of every epoch (glove.c's printed cost). */
  epochCosts: number[];
  countSeconds: number;
  trainSeconds: number;
  /** Corpus words (after minCount) per second of the whole run (counting + training). */
  wordsPerSecond: number;
  trainWords: number;
  stopReason: StopReason;
}

/** The mean of `costOf(k)` over entries 0 … n − 1 (0 for none). */
function initialCost(n: number, costOf: (k: number) => number): number {
  let sum = 0;
  for (let k = 0; k < n; k++) sum += costOf(k);
  return n > 0 ? sum / n : 0;
}

/** The arrays one AdaGrad pass works on (in SharedArrayBuffers when several threads share them). */
export interface GloveState {
  /** θ, e [V, d] and the biases b, b̃ [V], row-major. */
  W1: Float64Array;
  W2: Float64Array;
  B1: Float64Array;
  B2: Float64Array;
  /** AdaGrad's sums of squared steps, starting at 1 (glove.c). */
  G1: Float64Array;
  G2: Float64Array;
  GB1: Float64Array;
  GB2: Float64Array;
  /** The entries: X[rows[k], cols[k]], log X and f(X) of each. */
  rows: Int32Array;
  cols: Int32Array;
  logX: Float64Array;
  weight: Float64Array;
  /** This epoch's order of the entries. */
  order: Int32Array;
  d: number;
  eta: number;
  clip: number;
}

/** What the calling thread watches during its pass: a stop request (every 1024 entries) and progress (every `every`). */
interface GloveHooks {
  stop(): boolean;
  progress(done: number, cost: number): void;
}

/**
 * One AdaGrad update per entry order[from … to) (glove.c's, see the module comment); returns the
 * cost Σ ½ f·r² of those entries and the entry index at which `hooks.stop` ended the pass (−1: none).
 */
export function gloveUpdates(s: GloveState, from: number, to: number, hooks?: GloveHooks, every = 1_000_000): { cost: number; stoppedAt: number } {
  const { W1, W2, B1, B2, G1, G2, GB1, GB2, rows, cols, logX, weight, order, d, eta, clip } = s;
  let cost = 0;
  for (let n = from; n < to; n++) {
    if (hooks && (n & 1023) === 0 && hooks.stop()) return { cost, stoppedAt: n };
    const k = order[n];
    const i = rows[k], j = cols[k];
    const l1 = i * d, l2 = j * d;
    let dot = 0;
    for (let c = 0; c < d; c++) dot += W1[l1 + c] * W2[l2 + c];
    const r = dot + B1[i] + B2[j] - logX[k];
    const fr = weight[k] * r;
    if (!Number.isFinite(fr)) continue;
    cost += 0.5 * fr * r;
    // AdaGrad on ½J, glove.c's way (see the module comment). Component c of both vectors is
    // read before either is written, so one pass does what glove.c does in two; its check that
    // the steps are finite always passes here (fr is finite, steps are clipped, G ≥ 1).
    for (let c = 0; c < d; c++) {
      const w1 = W1[l1 + c], w2 = W2[l2 + c];
      let g1 = fr * w2, g2 = fr * w1;
      if (g1 > clip) g1 = clip; else if (g1 < -clip) g1 = -clip;
      if (g2 > clip) g2 = clip; else if (g2 < -clip) g2 = -clip;
      const t1 = g1 * eta, t2 = g2 * eta;
      const q1 = G1[l1 + c], q2 = G2[l2 + c];
      W1[l1 + c] = w1 - t1 / Math.sqrt(q1);
      W2[l2 + c] = w2 - t2 / Math.sqrt(q2);
      G1[l1 + c] = q1 + t1 * t1;
      G2[l2 + c] = q2 + t2 * t2;
    }
    const tb = eta * fr;
    B1[i] -= tb / Math.sqrt(GB1[i]);
    B2[j] -= tb / Math.sqrt(GB2[j]);
    GB1[i] += tb * tb;
    GB2[j] += tb * tb;
    if (hooks && (n + 1) % every === 0) hooks.progress(n + 1, cost);
  }
  return { cost, stoppedAt: -1 };
}

/** The job kind of the worker entry (training/parallel-worker.ts). */
export const GLOVE_HOGWILD_JOB = 'glove-hogwild';

/** What a worker is given: the shared arrays and the threads' control. */
interface GloveWorkerInit {
  state: GloveState;
  control: HogwildControl;
  thread: number;
}

/**
 * A worker's pass: the chunks of this epoch's order it claims (hogwild.ts), on the shared arrays
 * (no lock: Hogwild), watching the stop flag every 1024 entries. A failure sets the stop flag
 * first, so the other threads end their passes and the caller sees the error soon.
 */
export function createGloveHogwildJob(init: unknown): GradientJob {
  const { state, control, thread } = init as GloveWorkerInit;
  const hooks: GloveHooks = { stop: () => hogwildStopRequested(control), progress: () => {} };
  return {
    grads: {},
    run: (args) => {
      const { items, chunk } = passArguments(args);
      let cost = 0;
      try {
        trainClaimedChunks(control, thread, items, chunk, (from, to) => {
          const r = gloveUpdates(state, from, to, hooks, Infinity);
          cost += r.cost;
          return r.stoppedAt < 0;
        });
      } catch (err) {
        requestHogwildStop(control);
        throw err;
      }
      return cost;
    },
  };
}

/** Count co-occurrences in `corpus` and fit GloVe vectors; deterministic for a given seed. */
export function trainGlove(corpus: string[][], opts: GloveOptions = {}): GloveResult {
  const op = 'trainGlove';
  const d = opts.dim ?? 100;
  const window = opts.window ?? 15;
  const minCount = opts.minCount ?? 5;
  const xMax = opts.xMax ?? 100;
  const alpha = opts.alpha ?? 0.75;
  const eta = opts.eta ?? 0.05;
  const epochs = opts.epochs ?? 15;
  const clip = opts.gradClip ?? 100;
  const combine = opts.combine ?? 'average';
  const progressEvery = opts.progressEvery ?? 1_000_000;
  for (const [name, v] of [['dim', d], ['window', window], ['minCount', minCount], ['epochs', epochs]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: expected ${name} to be an integer ≥ 1, got ${v}`);
  }
  for (const [name, v] of [['xMax', xMax], ['alpha', alpha], ['eta', eta], ['gradClip', clip]] as const) {
    if (!(v > 0) || !Number.isFinite(v)) throw new Error(`${op}: expected ${name} to be a positive number, got ${v}`);
  }
  if (combine !== 'average' && combine !== 'sum') throw new Error(`${op}: expected combine 'average' or 'sum', got '${String(combine)}'`);

  const started = performance.now();
  const vocab = buildWord2VecVocabulary(corpus, minCount);
  const V = vocab.size;
  if (V < 2) throw new InputError(`${op}: expected at least 2 words seen ≥ minCount = ${minCount} times, got ${V}`);
  const docs = encodeCorpus(corpus, vocab);
  const trainWords = docs.reduce((s, doc) => s + doc.length, 0);
  const X = countCooccurrences(docs, V, window);
  const countSeconds = (performance.now() - started) / 1000;
  opts.onProgress?.({
    stage: 'count', epoch: 0, done: X.size, entries: X.size, cost: NaN,
    rate: trainWords / Math.max(countSeconds, 1e-9), elapsedSeconds: countSeconds,
  });

  const rng = new Rng(opts.seed ?? 1);
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new InputError(`${op}: expected threads to be an integer ≥ 1, got ${threads}`);
  // With threads, every array the updates touch lives in a SharedArrayBuffer (the workers write them too).
  const floats = (n: number): Float64Array => (threads > 1 ? new Float64Array(new SharedArrayBuffer(8 * n)) : new Float64Array(n));
  const params: GloveParams = {
    theta: new Matrix(V, d, floats(V * d)),
    e: new Matrix(V, d, floats(V * d)),
    b: new Matrix(V, 1, floats(V)),
    bPrime: new Matrix(V, 1, floats(V)),
  };
  for (const m of [params.theta, params.e, params.b, params.bPrime]) {
    for (let i = 0; i < m.data.length; i++) m.data[i] = (rng.uniform() - 0.5) / d;
  }
  const W1 = params.theta.data as Float64Array, W2 = params.e.data as Float64Array;
  const B1 = params.b.data as Float64Array, B2 = params.bPrime.data as Float64Array;
  const G1 = floats(V * d).fill(1), G2 = floats(V * d).fill(1);
  const GB1 = floats(V).fill(1), GB2 = floats(V).fill(1);
  const logX = floats(X.size), weight = floats(X.size);
  for (let k = 0; k < X.size; k++) {
    logX[k] = Math.log(X.values[k]);
    weight[k] = gloveWeight(X.values[k], xMax, alpha);
  }
  const order = threads > 1 ? new Int32Array(new SharedArrayBuffer(4 * X.size)) : new Int32Array(X.size);
  for (let k = 0; k < X.size; k++) order[k] = k;
  const ints = (a: Int32Array): Int32Array => {
    if (threads === 1) return a;
    const shared = new Int32Array(new SharedArrayBuffer(4 * a.length));
    shared.set(a);
    return shared;
  };
  const state: GloveState = { W1, W2, B1, B2, G1, G2, GB1, GB2, rows: ints(X.rows), cols: ints(X.cols), logX, weight, order, d, eta, clip };

  const epochCosts: number[] = [];
  // The cost of the initial vectors (on the first entries) is the start a diverging run climbs far above.
  const divergence = createDivergenceWatch();
  divergence.startLoss = initialCost(Math.min(X.size, 4096), (k) => {
    let dot = 0;
    for (let c = 0; c < d; c++) dot += W1[X.rows[k] * d + c] * W2[X.cols[k] * d + c];
    const r = dot + B1[X.rows[k]] + B2[X.cols[k]] - logX[k];
    return 0.5 * weight[k] * r * r;
  });
  const trainStart = performance.now();
  let epoch = 0;
  let interrupted = false;
  const diverged = (cost: number): void => checkDivergence(divergence, op, cost, epoch + 1, 'lower --eta; no vectors were written', 'epoch');
  // Hogwild (glove.c's threads, see hogwild.ts): every epoch the calling thread and the workers
  // train their regions of the shuffled order in chunks, all at the same time.
  const control = threads > 1 ? createHogwildControl(threads) : null;
  const hogwild = control ? new HogwildThreads(op, threads, GLOVE_HOGWILD_JOB, (thread): GloveWorkerInit => ({ state, control, thread }), control) : null;
  const chunk = hogwildChunk(X.size, threads, 1024, 16384);
  let loop: LoopResult;
  try {
  loop = runTrainingLoop({
    startStep: 0, totalSteps: epochs, budgetReason: 'epochs', timeLimitSeconds: opts.timeLimitSeconds, signal: opts.signal, now: opts.now,
    step: () => {
      rng.shuffle(order);
      const epochStart = performance.now();
      let own = 0, ownDone = 0; // this thread's cost and entries (all of them on one thread)
      const progress = (n: number, sum: number): void => {
        diverged(sum / n);
        if (!opts.onProgress) return;
        const elapsed = (performance.now() - epochStart) / 1000;
        opts.onProgress({
          stage: 'train', epoch, done: n, entries: X.size, cost: sum / n,
          rate: n / Math.max(elapsed, 1e-9), elapsedSeconds: (performance.now() - started) / 1000,
        });
      };
      let completed: boolean;
      if (!hogwild) {
        const r = gloveUpdates(state, 0, X.size, { stop: () => stopRequested(opts.signal), progress }, progressEvery);
        own = r.cost;
        ownDone = r.stoppedAt >= 0 ? r.stoppedAt : X.size;
        completed = r.stoppedAt < 0;
      } else {
        // Progress with threads, between this thread's chunks: the entries handed out to every
        // thread, with the mean cost of this thread's.
        const mean = (): number => (ownDone > 0 ? own / ownDone : 0);
        const hooks: GloveHooks = {
          stop: () => {
            if (stopRequested(opts.signal)) requestHogwildStop(control!);
            return hogwildStopRequested(control!);
          },
          progress: () => {},
        };
        let reported = 0;
        completed = hogwild.pass(X.size, chunk, (from, to) => {
          const r = gloveUpdates(state, from, to, hooks, Infinity);
          own += r.cost;
          ownDone += (r.stoppedAt >= 0 ? r.stoppedAt : to) - from;
          const done = hogwild.handedOut(X.size, chunk);
          if (done - reported >= progressEvery) progress((reported = done), mean() * done);
          return r.stoppedAt < 0 && !hooks.stop(); // (a chunk may end before gloveUpdates' next check)
        });
      }
      let cost = own;
      for (let k = 1; k < threads; k++) cost += hogwild!.result(k);
      if (!completed) {
        interrupted = true; // mid-epoch: the loop ends after this step, as 'interrupted'
        const n = hogwild ? ownDone * threads : ownDone; // (with threads: about as many as this thread's, per thread)
        return { loss: n > 0 ? cost / n : 0, epoch: epoch + n / X.size, units: n };
      }
      diverged(cost / X.size);
      epochCosts.push(cost / X.size);
      const elapsed = (performance.now() - epochStart) / 1000;
      opts.onProgress?.({
        stage: 'train', epoch, done: X.size, entries: X.size, cost: cost / X.size,
        rate: X.size / Math.max(elapsed, 1e-9), elapsedSeconds: (performance.now() - started) / 1000,
      });
      epoch++;
      return { loss: cost / X.size, epoch, units: X.size };
    },
    afterStep: () => (interrupted ? 'interrupted' : undefined),
  });
  } finally {
    hogwild?.close(); // no worker thread outlives the run
  }
  const trainSeconds = (performance.now() - trainStart) / 1000;
  const vectors = Matrix.zeros(V, d, 'float32');
  const scale = combine === 'average' ? 0.5 : 1;
  for (let q = 0; q < V * d; q++) vectors.data[q] = scale * (W1[q] + W2[q]);
  return {
    words: vocab.tokens.slice(),
    counts: vocab.counts.slice(),
    vectors,
    params,
    cooccurrences: X,
    epochCosts,
    countSeconds,
    trainSeconds,
    wordsPerSecond: trainWords / Math.max(countSeconds + trainSeconds, 1e-9),
    trainWords,
    stopReason: loop.stopReason,
  };
}
