/**
 * word2vec (Mikolov et al. 2013, arXiv:1301.3781 and 1310.4546), trained as the reference C code
 * trains it — plain SGD on Float32Array, the update of each example applied at once; on one thread
 * (the default, reproducible bit for bit), or on N Hogwild threads as word2vec.c's -threads
 * (Word2VecOptions.threads: a region of the corpus per thread trained in chunks, shared tables, no
 * locks, a shared word count for α — not reproducible bit for bit; hogwild.ts explains how the
 * threads spend their time).
 *
 * Pairs. For every position of a sentence the window is shrunk at random: b ~ U{0 … window−1}
 * and the words at distance 1 … window − b on either side are the context (word2vec.c's rule).
 *   skip-gram: every context word c predicts the centre word t: h = e_c, one example per pair
 *              (the C code's direction; the notes' "context → target" with the roles swapped
 *              gives the same pairs over a corpus).
 *   CBOW:      the mean of the context vectors predicts the centre word: h = (1/|C|) Σ_{c∈C} e_c,
 *              and every e_c receives the whole gradient of h (as word2vec.c does).
 * Losses of one example (h, t), each minimised by SGD on E (input vectors e, [V, d]) and the
 * output matrix Θ:
 *   'softmax': −log p(t|h), p(t|h) = exp(θ_tᵀh) / Σ_j exp(θ_jᵀh)      Θ [V, d], O(V·d) per example
 *   'hs':      hierarchical softmax over the Huffman tree of the counts  Θ [V − 1, d], O(log V · d)
 *   'neg':     −log σ(θ_tᵀh) − Σ_k log σ(−θ_{n_k}ᵀh), n_k ~ count^0.75     Θ [V, d], O(k·d)
 * (engine/hierarchical-softmax.ts and engine/negative-sampling.ts hold the last two, with the
 * rule that a negative equal to the target is skipped).
 *
 * As in word2vec.c:
 * - vocabulary: words seen ≥ minCount times, by descending count; rarer words are removed from
 *   the text before windows are formed (they are not replaced by <UNK>);
 * - subsampling: a word with count f among T training words is kept with probability
 *   min(1, (√(f/(s·T)) + 1)·(s·T)/f), s = `sample` (1e−3), drawn when the sentence is read;
 * - sentences longer than 1000 kept words are cut (MAX_SENTENCE_LENGTH); windows never cross a
 *   sentence (here: a document) boundary;
 * - learning rate α = α0·(1 − done/(epochs·T + 1)), floored at α0·1e−4, recomputed when 10,000
 *   words (1% of the run on corpora under a million words) have been read since the last time,
 *   checked once per sentence as word2vec.c does; α0 = 0.025 skip-gram, 0.05 CBOW;
 * - init: e ~ U(−0.5/d, 0.5/d), Θ = 0.
 * Unlike it: σ is exact (no ±6 table and no skipped updates), negatives come from an alias table
 * (engine NegativeSampler), and every random choice — init, subsampling, window shrink, negatives —
 * comes from one seeded Rng, so the same seed gives bit-identical vectors (per kernel) on one thread
 * (with threads: one Rng per thread, the workers' seeded from the first).
 *
 * Kernels: the per-row arithmetic (θᵀh, then e += g·θ and θ += g·h) runs either in the engine's
 * scalar JS kernels or in WebAssembly SIMD emitted at run time (the default where available,
 * about 3× faster, float32 sums). Both apply exactly the same updates; see Word2VecKernel.
 */
import { gemm } from '../../engine/gemm.js';
import { buildHuffmanTree, hierarchicalSoftmaxSgdStep, type HuffmanTree } from '../../engine/hierarchical-softmax.js';
import { Matrix, expectSameDType, shapeOf, type FloatArray } from '../../engine/matrix.js';
import { NegativeSampler, negativeSamplingSgdStep } from '../../engine/negative-sampling.js';
import { crossEntropy, crossEntropyBackward } from '../../engine/cross-entropy.js';
import { Rng } from '../../engine/rng.js';
import { logSoftmaxRow } from '../../engine/softmax.js';
import { FunctionBuilder, ModuleBuilder, ValType } from '../../engine/wasm/emitter.js';
import { instantiate, webAssembly, type WasmMemory } from '../../engine/wasm/webassembly.js';
import { runTrainingLoop, type LoopControls, type LoopResult, type StopReason } from '../core/loop.js';
import type { GradientJob } from '../parallel/worker-loop.js';
import {
  createHogwildControl, hogwildChunk, hogwildStopRequested, HogwildThreads, passArguments, requestHogwildStop,
  trainClaimedChunks, type HogwildControl,
} from './hogwild.js';
import { Vocabulary } from '../text/vocab.js';
import { stopRequested } from '../core/stop.js';
import { InputError } from '../core/errors.js';

export type Word2VecMethod = 'skipgram' | 'cbow';
export type Word2VecLoss = 'softmax' | 'hs' | 'neg';
/**
 * 'js': the engine's scalar kernels (sums in double precision); 'wasm': the same updates with
 * WebAssembly SIMD dot products and row updates (float32 sums, 2–3× faster); 'auto' (default):
 * 'wasm' where the JavaScript engine has WebAssembly SIMD, else 'js'.
 */
export type Word2VecKernel = 'auto' | 'js' | 'wasm';

/**
 * The shared loop's time limit and stop signal (a step of the loop is one epoch over the corpus;
 * the signal is also checked between sentences, so a stop request ends the run there: stop reason
 * 'interrupted') and word2vec's settings.
 */
export interface Word2VecOptions extends Omit<LoopControls, 'onProgress'> {
  /** 'skipgram' (default) or 'cbow'. */
  method?: Word2VecMethod;
  /** 'neg' (default), 'hs' or 'softmax' (full softmax: only for small vocabularies). */
  loss?: Word2VecLoss;
  /** Vector size d (default 100). */
  dim?: number;
  /** Largest distance between centre and context word (default 5). */
  window?: number;
  /** Negatives per example for loss 'neg' (default 5). */
  negative?: number;
  /** Words seen fewer times are dropped (default 5). */
  minCount?: number;
  /** Passes over the corpus (default 1). */
  epochs?: number;
  /** Subsampling threshold s (default 1e−3; 0 turns subsampling off). */
  sample?: number;
  /** Starting learning rate α0 (default 0.025 for skip-gram, 0.05 for CBOW). */
  alpha?: number;
  /** Seed of the one Rng behind every random choice (default 1). */
  seed?: number;
  /** Which inner loops run the updates (default 'auto'; see Word2VecKernel). */
  kernel?: Word2VecKernel;
  /** Cut sentences after this many kept words (default 1000, word2vec.c's MAX_SENTENCE_LENGTH). */
  maxSentenceLength?: number;
  /**
   * Threads (default 1). N > 1: Hogwild as word2vec.c's -threads — every epoch the calling thread
   * and N − 1 worker threads train at the same time, thread k on the k-th of N contiguous regions
   * of the corpus, in chunks of ≤ 10,000 words, then on the chunks left at the ends of the others'
   * (hogwild.ts; a worker joins as soon as it has started), all
   * updating the same E and Θ (a shared WebAssembly memory) without locks, each with its own Rng;
   * α decays with the words read by all threads (a shared counter, word2vec.c's word_count_actual).
   * Such a run is NOT reproducible bit for bit (which thread trains which chunk and the
   * interleaving of the updates vary; the seed fixes the init and each thread's random choices);
   * 1 keeps the single-thread, bit-identical run. Needs the 'wasm' kernel.
   */
  threads?: number;
  /** Called every `progressEvery` words with the running figures (with threads: the loss of the calling thread's examples). */
  onProgress?: (progress: Word2VecProgress) => void;
  /** Words between two progress reports (default 10,000). */
  progressEvery?: number;
  /**
   * Called with every sentence as it is trained on (word ids after subsampling, at most
   * maxSentenceLength of them; a view valid during the call) — for inspection and tests. With
   * threads, only the calling thread's sentences (those of the chunks it trained).
   */
  onSentence?: (ids: Int32Array) => void;
}

export interface Word2VecProgress {
  epoch: number;
  /** In-vocabulary words read so far (before subsampling, word2vec.c's word_count), all epochs, all threads. */
  wordsDone: number;
  /** epochs · T */
  totalWords: number;
  /** wordsDone / totalWords */
  progress: number;
  alpha: number;
  /** Mean loss per example (prediction of one target) since the previous report. */
  loss: number;
  wordsPerSecond: number;
  elapsedSeconds: number;
}

export interface Word2VecResult {
  /** The vocabulary, by descending count: row i of `vectors` is words[i]. */
  words: string[];
  counts: number[];
  /** E [V, d]: the input vectors, the word vectors one keeps. */
  vectors: Matrix;
  /** Θ: [V, d] for 'softmax' and 'neg', [V − 1, d] (inner nodes) for 'hs'. */
  output: Matrix;
  /** The Huffman tree, for 'hs'. */
  tree: HuffmanTree | null;
  /** T: in-vocabulary words per epoch. */
  trainWords: number;
  /** Examples (predictions) made over the run. */
  examples: number;
  /** Mean loss per example over the last epoch. */
  finalLoss: number;
  seconds: number;
  /** Words read / seconds (epochs · T / seconds when every epoch ran). */
  wordsPerSecond: number;
  /** The kernel that ran ('js' or 'wasm'). */
  kernel: 'js' | 'wasm';
  /** Threads that trained (see Word2VecOptions.threads). */
  threads: number;
  stopReason: StopReason;
}

interface ResolvedOptions {
  method: Word2VecMethod;
  loss: Word2VecLoss;
  dim: number;
  window: number;
  negative: number;
  minCount: number;
  epochs: number;
  sample: number;
  alpha: number;
  seed: number;
  maxSentenceLength: number;
  progressEvery: number;
  kernel: Word2VecKernel;
}

function resolveOptions(opts: Word2VecOptions): ResolvedOptions {
  const op = 'trainWord2Vec';
  const method = opts.method ?? 'skipgram';
  const loss = opts.loss ?? 'neg';
  if (method !== 'skipgram' && method !== 'cbow') throw new Error(`${op}: expected method 'skipgram' or 'cbow', got '${String(method)}'`);
  if (loss !== 'softmax' && loss !== 'hs' && loss !== 'neg') throw new Error(`${op}: expected loss 'softmax', 'hs' or 'neg', got '${String(loss)}'`);
  const r: ResolvedOptions = {
    method,
    loss,
    dim: opts.dim ?? 100,
    window: opts.window ?? 5,
    negative: opts.negative ?? 5,
    minCount: opts.minCount ?? 5,
    epochs: opts.epochs ?? 1,
    sample: opts.sample ?? 1e-3,
    alpha: opts.alpha ?? (method === 'cbow' ? 0.05 : 0.025),
    seed: opts.seed ?? 1,
    maxSentenceLength: opts.maxSentenceLength ?? 1000,
    progressEvery: opts.progressEvery ?? 10000,
    kernel: opts.kernel ?? 'auto',
  };
  if (r.kernel !== 'auto' && r.kernel !== 'js' && r.kernel !== 'wasm') {
    throw new Error(`${op}: expected kernel 'auto', 'js' or 'wasm', got '${String(r.kernel)}'`);
  }
  const positiveInts: [string, number][] = [
    ['dim', r.dim], ['window', r.window], ['minCount', r.minCount], ['epochs', r.epochs],
    ['maxSentenceLength', r.maxSentenceLength], ['progressEvery', r.progressEvery],
  ];
  for (const [name, v] of positiveInts) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: expected ${name} to be an integer ≥ 1, got ${v}`);
  }
  if (loss === 'neg' && (!Number.isInteger(r.negative) || r.negative < 1)) {
    throw new Error(`${op}: expected negative to be an integer ≥ 1 for loss 'neg', got ${r.negative}`);
  }
  if (!(r.sample >= 0) || !Number.isFinite(r.sample)) throw new Error(`${op}: expected sample ≥ 0, got ${r.sample}`);
  if (!(r.alpha > 0) || !Number.isFinite(r.alpha)) throw new Error(`${op}: expected a positive learning rate alpha, got ${r.alpha}`);
  if (!Number.isInteger(r.seed)) throw new Error(`${op}: expected an integer seed, got ${r.seed}`);
  return r;
}

/**
 * word2vec.c's keep probability of a word seen `count` times among `totalWords`, with threshold
 * s: (√(f/(s·T)) + 1)·(s·T)/f, capped at 1 (1 when s = 0). In terms of the frequency z = f/T it
 * is (√(z/s) + 1)·s/z; the paper's rule keeps with √(s/z) instead.
 */
export function keepProbability(count: number, totalWords: number, sample: number): number {
  if (sample <= 0 || count <= 0) return 1;
  const st = sample * totalWords;
  return Math.min(1, (Math.sqrt(count / st) + 1) * (st / count));
}

/** The work of a full-softmax run, known before it starts (see fullSoftmaxCost). */
export interface FullSoftmaxCost {
  /** V, the words kept (seen ≥ minCount times). */
  vocabulary: number;
  /** Training examples over every epoch (before subsampling, which only lowers it). */
  examples: number;
  /** Multiply-adds: examples · 3·V·d. */
  multiplyAdds: number;
  /** How many times the work of negative sampling with the same settings: V / (negative + 1). */
  timesNegativeSampling: number;
}

/**
 * The cost of `loss: 'softmax'` on `corpus`, for a warning before a long run. Each example costs
 * 3·V·d multiply-adds (the logits Θe, then ∂Θ and ∂e), against 3·(k+1)·d with k negatives. Examples:
 * skip-gram has one per (centre, context) pair — the window is shrunk at random to b ∈ 1…window, so
 * (window + 1) contexts per word on average — CBOW one per centre word.
 */
export function fullSoftmaxCost(corpus: string[][], options: Word2VecOptions = {}): FullSoftmaxCost {
  const o = resolveOptions(options);
  const vocab = buildWord2VecVocabulary(corpus, o.minCount);
  const V = vocab.size;
  const trainWords = vocab.counts.reduce((a, b) => a + b, 0);
  const examples = trainWords * o.epochs * (o.method === 'skipgram' ? o.window + 1 : 1);
  return { vocabulary: V, examples, multiplyAdds: examples * 3 * V * o.dim, timesNegativeSampling: V / (o.negative + 1) };
}

/** The vocabulary of a corpus (minCount, descending count) without specials. */
export function buildWord2VecVocabulary(corpus: string[][], minCount: number): Vocabulary {
  return Vocabulary.build(iterateTokens(corpus), { minCount, specials: [] });
}

function* iterateTokens(corpus: string[][]): Generator<string> {
  for (const doc of corpus) yield* doc;
}

/** Each document as word ids, words outside the vocabulary removed. */
export function encodeCorpus(corpus: string[][], vocab: Vocabulary): Int32Array[] {
  return corpus.map((doc) => {
    const ids = new Int32Array(doc.length);
    let n = 0;
    for (const token of doc) if (vocab.has(token)) ids[n++] = vocab.id(token);
    return ids.slice(0, n);
  });
}

/**
 * One fused SGD step of the full softmax for one example (the 'softmax' loss's kernel): with
 * x_j = θ_jᵀh, p = softmax(x) and g_j = −lr·∂L/∂x_j = lr·([j = t] − p_j),
 *   neu1e += g_j·θ_j   (θ_j before its update),   θ_j += g_j·h      for every j.
 * `scores` is a workspace of ≥ V entries (it ends up holding log p). Returns −log p_t. No checks (hot loop).
 */
export function fullSoftmaxSgdStep(
  neu1e: FloatArray, theta: FloatArray, h: FloatArray, hOffset: number, dim: number,
  vocabSize: number, target: number, lr: number, scores: Float64Array,
): number {
  for (let j = 0; j < vocabSize; j++) {
    const tOff = j * dim;
    let x = 0;
    for (let c = 0; c < dim; c++) x += theta[tOff + c] * h[hOffset + c];
    scores[j] = x;
  }
  logSoftmaxRow(scores, 0, scores, 0, vocabSize); // scores ← log p
  const loss = -scores[target];
  for (let j = 0; j < vocabSize; j++) {
    const p = Math.exp(scores[j]);
    const g = lr * ((j === target ? 1 : 0) - p);
    const tOff = j * dim;
    for (let c = 0; c < dim; c++) {
      neu1e[c] += g * theta[tOff + c];
      theta[tOff + c] += g * h[hOffset + c];
    }
  }
  return loss;
}

/** The arrays and settings every thread of a run reads (structured-cloned to the workers: with threads > 1 every array is in a SharedArrayBuffer). */
interface Word2VecShared {
  o: ResolvedOptions;
  counts: number[];
  /** T: in-vocabulary words per epoch. */
  trainWords: number;
  threads: number;
  /** The corpus, every document's word ids one after the other; document i ends at docEnds[i]. */
  words: Int32Array;
  docEnds: Int32Array;
  /** The wasm kernel's memory (see word2vecLayout), shared with the workers; null for the js kernel (one thread). */
  memory: WasmMemory | null;
  /** [0]: the words read by every thread so far, all epochs (word2vec.c's word_count_actual), added to with Atomics. */
  wordCount: BigInt64Array;
  /** The threads' chunk counter and stop flag (threads > 1; a stop request or a failure ends every thread's pass at its next sentence). */
  control: HogwildControl | null;
  /** Thread k's last pass: [2k] its loss, [2k + 1] its examples. */
  stats: Float64Array;
}

/**
 * Where the tables lie, in floats: syn0 = E [V, d] at 0, syn1 = Θ [thetaRows, d] after it, then, from
 * the next 64-byte boundary, per thread k its neu1 (CBOW's h) and neu1e (−α·∂L/∂h), d floats each,
 * the next thread's 64 bytes further on: no cache line holds a thread's scratch and anything
 * another thread writes (Θ's last row is hs's root, which every example updates). Where the
 * scratch lies changes no result.
 */
function word2vecLayout(V: number, thetaRows: number, d: number, threads: number) {
  const syn1 = V * d;
  const scratch = 16 * Math.ceil((syn1 + thetaRows * d) / 16);
  const perThread = 16 * Math.ceil((2 * d) / 16) + 16;
  return { syn1, neu1: (k: number) => scratch + perThread * k, floats: scratch + perThread * threads };
}

/** The document that word `i` of the corpus lies in: the first d with docEnds[d] > i (binary search). */
function documentAt(docEnds: Int32Array, i: number): number {
  let lo = 0, hi = docEnds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (docEnds[mid] <= i) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What the calling thread adds to its pass: a stop request, progress reports, the sentences. */
interface PassHooks {
  stop(): boolean;
  /** Called between sentences; the thread's figures are its public fields. */
  betweenSentences?(): void;
  onSentence?(ids: Int32Array): void;
}

/**
 * The training of one thread — all of it for a single-thread run — as word2vec.c's TrainModelThread:
 * passes over contiguous word ranges of the corpus with its own Rng (subsampling, window shrink,
 * negatives), SGD on the tables it shares with the other threads without locks (Hogwild), and α
 * recomputed from the words read by every thread (the shared wordCount).
 */
class Word2VecThread {
  /** This thread's words read (before subsampling), all epochs, and how many of them wordCount has. */
  wordsDone = 0;
  private counted = 0;
  private lastAlphaUpdate = 0;
  alpha: number;
  /** Loss and examples of the current pass, since the last report (reset by the reporter), and in all. */
  passLoss = 0;
  passExamples = 0;
  reportLoss = 0;
  reportExamples = 0;
  examples = 0;
  private readonly syn0: Float32Array;
  private readonly syn1: Float32Array;
  private readonly neu1: Float32Array;
  private readonly neu1e: Float32Array;
  /** Byte addresses of the same, for the SIMD kernels. */
  private readonly syn1Ptr: number;
  private readonly neu1Ptr: number;
  private readonly neu1ePtr: number;
  readonly tree: HuffmanTree | null;
  private readonly sampler: NegativeSampler | null;
  private readonly keep: Float64Array;
  private readonly negatives: Int32Array;
  private readonly scores: Float64Array;
  private readonly sentence: Int32Array;
  private readonly alphaEvery: number;
  private readonly totalWords: number;

  constructor(
    private readonly s: Word2VecShared, thread: number, private readonly rng: Rng,
    private readonly simd: SimdKernels | null, floats: Float32Array,
  ) {
    const { o, counts, trainWords } = s;
    const V = counts.length, d = o.dim;
    const thetaRows = o.loss === 'hs' ? V - 1 : V;
    const at = word2vecLayout(V, thetaRows, d, s.threads);
    this.syn0 = floats.subarray(0, V * d);
    this.syn1 = floats.subarray(at.syn1, at.syn1 + thetaRows * d);
    this.neu1 = floats.subarray(at.neu1(thread), at.neu1(thread) + d);
    this.neu1e = floats.subarray(at.neu1(thread) + d, at.neu1(thread) + 2 * d);
    this.syn1Ptr = 4 * at.syn1;
    this.neu1Ptr = 4 * at.neu1(thread);
    this.neu1ePtr = this.neu1Ptr + 4 * d;
    this.tree = o.loss === 'hs' ? buildHuffmanTree(counts) : null;
    this.sampler = o.loss === 'neg' ? new NegativeSampler(counts, 0.75) : null;
    this.keep = new Float64Array(V);
    for (let w = 0; w < V; w++) this.keep[w] = keepProbability(counts[w], trainWords, o.sample);
    // Workspaces: no allocation inside the loops.
    this.negatives = new Int32Array(Math.max(1, o.negative));
    this.scores = o.loss === 'softmax' ? new Float64Array(V) : new Float64Array(0);
    this.sentence = new Int32Array(o.maxSentenceLength);
    this.totalWords = o.epochs * trainWords;
    this.alphaEvery = Math.max(1, Math.min(10000, Math.floor(this.totalWords / 100)));
    this.alpha = o.alpha;
  }

  /** Words read by every thread as far as this one knows: the shared count and its own words not yet in it. */
  globalWordsDone(): number {
    return Number(Atomics.load(this.s.wordCount, 0)) + this.wordsDone - this.counted;
  }

  /** Add this thread's new words to the shared count; returns the count. */
  private countWords(): number {
    const delta = this.wordsDone - this.counted;
    this.counted = this.wordsDone;
    return Number(Atomics.add(this.s.wordCount, 0, BigInt(delta))) + delta;
  }

  /** Start a pass (an epoch): its loss and examples from 0. */
  beginPass(): void {
    this.passLoss = 0;
    this.passExamples = 0;
  }

  /**
   * Train on words [from, to) of the corpus — all of it on one thread, a claimed chunk with threads:
   * sentences of up to maxSentenceLength kept words, inside a document and inside the range.
   * Returns false when `hooks.stop` ended it early.
   */
  train(from: number, to: number, hooks: PassHooks): boolean {
    const { o } = this.s;
    const { words, docEnds } = this.s;
    const { keep, rng, sentence } = this;
    let doc = documentAt(docEnds, from);
    let i = from;
    try {
      while (i < to) {
        while (docEnds[doc] <= i) doc++;
        const end = Math.min(to, docEnds[doc]);
        while (i < end) {
          if (hooks.stop()) return false;
          // Read a sentence: up to maxSentenceLength words that survive subsampling.
          let length = 0;
          while (i < end && length < o.maxSentenceLength) {
            const w = words[i++];
            this.wordsDone++;
            if (keep[w] < 1 && rng.uniform() >= keep[w]) continue;
            sentence[length++] = w;
          }
          if (this.wordsDone - this.lastAlphaUpdate >= this.alphaEvery) {
            this.alpha = Math.max(o.alpha * 1e-4, o.alpha * (1 - this.countWords() / (this.totalWords + 1)));
            this.lastAlphaUpdate = this.wordsDone;
          }
          hooks.betweenSentences?.();
          if (length === 0) continue;
          hooks.onSentence?.(sentence.subarray(0, length));
          this.trainSentence(length);
        }
      }
    } finally {
      this.countWords();
    }
    return true;
  }

  /** Train on sentence[0 … length): every position with its shrunk window. */
  private trainSentence(length: number): void {
    const { o } = this.s;
    const { sentence, syn0, neu1, neu1e, rng } = this;
    const d = o.dim, win = o.window;
    for (let pos = 0; pos < length; pos++) {
      const word = sentence[pos];
      const b = rng.int(win);
      const from = Math.max(0, pos - win + b);
      const to = Math.min(length - 1, pos + win - b);
      let loss = 0, n = 0;
      if (o.method === 'skipgram') {
        for (let c = from; c <= to; c++) {
          if (c === pos) continue;
          const l1 = sentence[c] * d;
          neu1e.fill(0);
          loss += this.trainExample(syn0, l1, 4 * l1, word);
          for (let i = 0; i < d; i++) syn0[l1 + i] += neu1e[i];
          n++;
        }
      } else {
        neu1.fill(0);
        for (let c = from; c <= to; c++) {
          if (c === pos) continue;
          const l1 = sentence[c] * d;
          for (let i = 0; i < d; i++) neu1[i] += syn0[l1 + i];
          n++;
        }
        if (n === 0) continue;
        const inv = 1 / n;
        for (let i = 0; i < d; i++) neu1[i] *= inv;
        neu1e.fill(0);
        loss = this.trainExample(neu1, 0, this.neu1Ptr, word);
        for (let c = from; c <= to; c++) {
          if (c === pos) continue;
          const l1 = sentence[c] * d;
          for (let i = 0; i < d; i++) syn0[l1 + i] += neu1e[i];
        }
        n = 1;
      }
      this.reportLoss += loss;
      this.reportExamples += n;
      this.passLoss += loss;
      this.passExamples += n;
      this.examples += n;
    }
  }

  /**
   * One example: predict `target` from h = h[hOffset …] (at byte address hPtr for the SIMD
   * kernels); neu1e collects −α·∂L/∂h. Returns the example's loss.
   */
  private trainExample(h: Float32Array, hOffset: number, hPtr: number, target: number): number {
    const { simd, tree, sampler, negatives, scores, alpha } = this;
    const d = this.s.o.dim, k = this.s.o.negative, V = this.s.counts.length;
    if (sampler) for (let j = 0; j < k; j++) negatives[j] = sampler.sample(this.rng);
    if (simd) {
      if (tree) return simdHierarchicalSoftmaxStep(simd, this.syn1Ptr, hPtr, this.neu1ePtr, d, tree, target, alpha);
      if (sampler) return simdNegativeSamplingStep(simd, this.syn1Ptr, hPtr, this.neu1ePtr, d, target, negatives, k, alpha);
      return simdFullSoftmaxStep(simd, this.syn1Ptr, hPtr, this.neu1ePtr, d, V, target, alpha, scores);
    }
    if (tree) return hierarchicalSoftmaxSgdStep(this.neu1e, this.syn1, h, hOffset, d, tree, target, alpha);
    if (sampler) return negativeSamplingSgdStep(this.neu1e, this.syn1, h, hOffset, d, target, negatives, 0, k, alpha);
    return fullSoftmaxSgdStep(this.neu1e, this.syn1, h, hOffset, d, V, target, alpha, scores);
  }
}

/** The job kind of the worker entry (training/parallel-worker.ts). */
export const WORD2VEC_HOGWILD_JOB = 'word2vec-hogwild';

/** What worker k is given: the run's shared arrays, its thread index, the seed of its Rng. */
interface Word2VecWorkerInit {
  shared: Word2VecShared;
  thread: number;
  seed: number;
}

/**
 * Worker k's job: each command is one pass, over the chunks of the corpus it claims (hogwild.ts),
 * on the tables in the shared memory (its SIMD module imports that memory), without locks. A
 * failure sets the shared stop flag first, so the other threads end their passes and the caller
 * sees the error soon.
 */
export function createWord2VecHogwildJob(init: unknown): GradientJob {
  const { shared, thread, seed } = init as Word2VecWorkerInit;
  const control = shared.control!;
  const simd = createSimdKernels(0, shared.memory ?? undefined);
  if (!simd) throw new Error(`trainWord2Vec: worker thread ${thread} has no WebAssembly SIMD`);
  const t = new Word2VecThread(shared, thread, new Rng(seed), simd, simd.floats);
  const hooks: PassHooks = { stop: () => hogwildStopRequested(control) };
  return {
    grads: {},
    run: (args) => {
      const { items, chunk } = passArguments(args);
      t.beginPass();
      try {
        trainClaimedChunks(control, thread, items, chunk, (from, to) => t.train(from, to, hooks));
      } catch (err) {
        requestHogwildStop(control);
        throw err;
      }
      shared.stats[2 * thread] = t.passLoss;
      shared.stats[2 * thread + 1] = t.passExamples;
      return t.passLoss;
    },
  };
}

/**
 * Why `threads` > 1 cannot run with `kernel` here, in one line (null when they can): the threads
 * share the SIMD kernel's WebAssembly memory, so they need that kernel and SharedArrayBuffer.
 */
export function word2vecThreadsRefusal(kernel: Word2VecKernel = 'auto'): string | null {
  const op = 'trainWord2Vec';
  if (kernel === 'js') return `${op}: threads > 1 need the wasm kernel (the threads share its WebAssembly memory), got kernel 'js'; use threads 1`;
  if (typeof SharedArrayBuffer !== 'function') return `${op}: threads > 1 need SharedArrayBuffer, which this host does not give; use threads 1`;
  if (!simdModule(true)) return `${op}: threads > 1 need the wasm kernel, and this JavaScript engine has no WebAssembly SIMD (or no shared memory); use threads 1`;
  return null;
}

/** The whole corpus as one array of word ids, and where each document ends (in SharedArrayBuffers when `shared`). */
function flattenCorpus(docs: Int32Array[], shared: boolean): { words: Int32Array; docEnds: Int32Array } {
  const ints = (n: number): Int32Array => (shared ? new Int32Array(new SharedArrayBuffer(4 * n)) : new Int32Array(n));
  const docEnds = ints(docs.length);
  let n = 0;
  docs.forEach((doc, i) => {
    n += doc.length;
    docEnds[i] = n;
  });
  const words = ints(n);
  docs.forEach((doc, i) => words.set(doc, docEnds[i] - doc.length));
  return { words, docEnds };
}

/**
 * Train word vectors on `corpus` (documents of tokens; windows stay inside a document).
 * Returns E, Θ, the vocabulary and the run's figures. Deterministic for a given seed with one
 * thread; see Word2VecOptions.threads for more.
 */
export function trainWord2Vec(corpus: string[][], options: Word2VecOptions = {}): Word2VecResult {
  const o = resolveOptions(options);
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new InputError(`trainWord2Vec: expected threads to be an integer ≥ 1, got ${threads}`);
  const vocab = buildWord2VecVocabulary(corpus, o.minCount);
  const V = vocab.size;
  if (V < 2) {
    throw new InputError(`trainWord2Vec: expected at least 2 words seen ≥ minCount = ${o.minCount} times, got ${V}`);
  }
  const counts = vocab.counts;
  let trainWords = 0;
  for (const c of counts) trainWords += c;

  const rng = new Rng(o.seed);
  const d = o.dim;
  const thetaRows = o.loss === 'hs' ? V - 1 : V;
  const layout = word2vecLayout(V, thetaRows, d, threads);
  const sharing = threads > 1;
  const refusal = sharing ? word2vecThreadsRefusal(o.kernel) : null;
  if (refusal) throw new InputError(refusal);
  // Storage: syn0, syn1 and the threads' neu1, neu1e (word2vecLayout) in the SIMD module's memory
  // for the 'wasm' kernel — with threads, a shared memory the workers' modules import — plain
  // arrays for 'js'.
  const memory = sharing ? sharedMemory(layout.floats) : undefined;
  const simd = o.kernel === 'js' ? null : createSimdKernels(layout.floats, memory);
  if (o.kernel === 'wasm' && !simd) throw new Error("trainWord2Vec: kernel 'wasm' asked for, but this JavaScript engine has no WebAssembly SIMD");
  const floats = simd ? simd.floats : new Float32Array(layout.floats);
  const half = 0.5 / d;
  for (let i = 0; i < V * d; i++) floats[i] = rng.uniformIn(-half, half);

  const { words, docEnds } = flattenCorpus(encodeCorpus(corpus, vocab), sharing);
  const shared: Word2VecShared = {
    o, counts: counts.slice(), trainWords, threads, words, docEnds, memory: memory ?? null,
    wordCount: new BigInt64Array(sharing ? new SharedArrayBuffer(8) : new ArrayBuffer(8)),
    control: sharing ? createHogwildControl(threads) : null,
    stats: new Float64Array(sharing ? new SharedArrayBuffer(16 * threads) : new ArrayBuffer(16)),
  };
  const main = new Word2VecThread(shared, 0, rng, simd, floats);
  const totalWords = o.epochs * trainWords;
  const start = performance.now();
  let epoch = 0;
  let lastReport = 0;
  let epochLoss = 0, epochExamples = 0, examples = 0;

  const report = (): void => {
    const elapsed = (performance.now() - start) / 1000;
    const wordsDone = main.globalWordsDone();
    options.onProgress?.({
      epoch, wordsDone, totalWords, progress: wordsDone / totalWords, alpha: main.alpha,
      loss: main.reportExamples > 0 ? main.reportLoss / main.reportExamples : NaN,
      wordsPerSecond: elapsed > 0 ? wordsDone / elapsed : 0, elapsedSeconds: elapsed,
    });
    main.reportLoss = 0;
    main.reportExamples = 0;
    lastReport = main.wordsDone;
  };
  const hooks: PassHooks = {
    stop: () => {
      const control = shared.control;
      if (!control) return stopRequested(options.signal);
      if (stopRequested(options.signal)) requestHogwildStop(control);
      return hogwildStopRequested(control);
    },
    betweenSentences: options.onProgress
      ? () => {
          if (main.wordsDone - lastReport >= o.progressEvery) report();
        }
      : undefined,
    onSentence: options.onSentence,
  };

  // Hogwild (word2vec.c's threads, see hogwild.ts): every epoch the calling thread and the
  // workers train their regions of the corpus in chunks, all at the same time.
  const hogwild = shared.control
    ? new HogwildThreads('trainWord2Vec', threads, WORD2VEC_HOGWILD_JOB, (k): Word2VecWorkerInit => ({ shared, thread: k, seed: rng.nextUint32() }), shared.control)
    : null;
  const chunk = hogwildChunk(words.length, threads, 1000, 10000);
  let interrupted = false;
  let loop: LoopResult;
  try {
    loop = runTrainingLoop({
      startStep: 0, totalSteps: o.epochs, budgetReason: 'epochs',
      timeLimitSeconds: options.timeLimitSeconds, signal: options.signal, now: options.now,
      step: () => {
        main.beginPass();
        // mid-epoch: the loop ends after this step, as 'interrupted'
        interrupted = hogwild
          ? !hogwild.pass(words.length, chunk, (from, to) => main.train(from, to, hooks))
          : !main.train(0, words.length, hooks);
        epochLoss = main.passLoss;
        epochExamples = main.passExamples;
        for (let k = 1; k < threads; k++) {
          epochLoss += shared.stats[2 * k];
          epochExamples += shared.stats[2 * k + 1];
        }
        examples += epochExamples;
        epoch++;
        return { loss: epochExamples > 0 ? epochLoss / epochExamples : NaN, epoch, units: trainWords };
      },
      afterStep: () => (interrupted ? 'interrupted' : undefined),
    });
  } finally {
    hogwild?.close(); // workers still in a pass end it: no thread outlives the run
  }
  if (options.onProgress) report();
  const seconds = (performance.now() - start) / 1000;
  const wordsDone = Number(shared.wordCount[0]);
  return {
    words: vocab.tokens.slice(),
    counts: counts.slice(),
    // copies, so that the results do not keep the SIMD module's memory alive
    vectors: Matrix.fromData(V, d, floats.slice(0, V * d)),
    output: Matrix.fromData(thetaRows, d, floats.slice(layout.syn1, layout.syn1 + thetaRows * d)),
    tree: main.tree,
    trainWords,
    examples,
    finalLoss: epochExamples > 0 ? epochLoss / epochExamples : NaN,
    seconds,
    wordsPerSecond: seconds > 0 ? wordsDone / seconds : 0,
    kernel: simd ? 'wasm' : 'js',
    threads,
    stopReason: loop.stopReason,
  };
}

// ---------------------------------------------------------------------------------------------
// WebAssembly SIMD kernels (kernel 'wasm'): the per-row arithmetic of the training loop —
//   dot(a, b, n)            → Σ_i a[i]·b[i]                 (two f32x4 accumulators)
//   step(θ, h, e, n, g)     e[i] += g·θ[i]; θ[i] += g·h[i]  (θ read before it is written)
// on f32 arrays at byte addresses in the module's memory — emitted as bytes by engine/wasm's
// emitter (no toolchain, no eval). The σ / softplus of each row stays in JavaScript, exactly as in
// the engine kernels; only the sums run in float32 (word2vec.c's `real` is float too).

interface SimdKernels {
  dot: (a: number, b: number, n: number) => number;
  step: (theta: number, h: number, e: number, n: number, g: number) => void;
  /** The module's memory as floats (its first `floatsNeeded`, or all of a shared one). */
  floats: Float32Array;
}

/** The module with a memory of its own (one thread) and the one that imports a shared memory (threads); null: no SIMD. */
const simdModules: { own?: Uint8Array | null; shared?: Uint8Array | null } = {};

function simdModule(shared: boolean): Uint8Array | null {
  const api = webAssembly();
  if (!api) return null;
  const key = shared ? 'shared' : 'own';
  if (simdModules[key] === undefined) {
    const bytes = buildWord2VecSimdModule(shared);
    simdModules[key] = api.validate(bytes) ? bytes : null;
  }
  return simdModules[key];
}

/**
 * A fresh instance, or null without SIMD: over a memory of its own that holds at least
 * `floatsNeeded` floats, or over `shared` (a shared memory that other threads' instances import too).
 */
function createSimdKernels(floatsNeeded: number, shared?: WasmMemory): SimdKernels | null {
  const bytes = simdModule(shared !== undefined);
  if (!bytes) return null;
  const instance = instantiate(bytes, 'trainWord2Vec', shared);
  const memory = shared ?? (instance.exports.memory as WasmMemory);
  if (!shared) {
    const pages = Math.ceil((4 * floatsNeeded) / 65536);
    const have = memory.buffer.byteLength / 65536;
    if (pages > have) memory.grow(pages - have);
  }
  return {
    dot: instance.exports.dot as SimdKernels['dot'],
    step: instance.exports.step as SimdKernels['step'],
    floats: new Float32Array(memory.buffer, 0, shared ? memory.buffer.byteLength / 4 : floatsNeeded),
  };
}

/** A shared memory for `floats` floats (no more: its maximum is its size); see word2vecThreadsRefusal. */
function sharedMemory(floats: number): WasmMemory {
  const api = webAssembly()!;
  const pages = Math.max(1, Math.ceil((4 * floats) / 65536));
  return new api.Memory({ initial: pages, maximum: pages, shared: true });
}

/** The kernels' module; `shared`: it imports a shared memory (env.memory) instead of defining its own. */
function buildWord2VecSimdModule(shared: boolean): Uint8Array {
  const { i32, f32, v128 } = ValType;

  const dot = new FunctionBuilder([i32, i32, i32], [f32]);
  {
    const f = dot;
    const [a, b, n] = [0, 1, 2];
    const acc0 = f.local(v128), acc1 = f.local(v128), end = f.local(i32), sum = f.local(f32);
    // 8 floats per iteration, two independent accumulators
    f.localGet(a).localGet(n).i32Const(-8).i32And().i32Const(2).i32Shl().i32Add().localSet(end);
    f.block().loop();
    f.localGet(a).localGet(end).i32GeS().brIf(1);
    f.localGet(acc0).localGet(a).v128Load(0).localGet(b).v128Load(0).f32x4Mul().f32x4Add().localSet(acc0);
    f.localGet(acc1).localGet(a).v128Load(16).localGet(b).v128Load(16).f32x4Mul().f32x4Add().localSet(acc1);
    f.i32Increment(a, 32).i32Increment(b, 32).br(0);
    f.end().end();
    f.localGet(acc0).localGet(acc1).f32x4Add().localSet(acc0);
    f.localGet(acc0).f32x4ExtractLane(0).localGet(acc0).f32x4ExtractLane(1).f32Add()
      .localGet(acc0).f32x4ExtractLane(2).localGet(acc0).f32x4ExtractLane(3).f32Add()
      .f32Add().localSet(sum);
    // the last n mod 8 floats one at a time
    f.localGet(end).localGet(n).i32Const(7).i32And().i32Const(2).i32Shl().i32Add().localSet(end);
    f.block().loop();
    f.localGet(a).localGet(end).i32GeS().brIf(1);
    f.localGet(sum).localGet(a).f32Load(0).localGet(b).f32Load(0).f32Mul().f32Add().localSet(sum);
    f.i32Increment(a, 4).i32Increment(b, 4).br(0);
    f.end().end();
    f.localGet(sum);
  }

  const step = new FunctionBuilder([i32, i32, i32, i32, f32]);
  {
    const f = step;
    const [t, h, e, n, g] = [0, 1, 2, 3, 4];
    const gv = f.local(v128), tv = f.local(v128), end = f.local(i32), ts = f.local(f32);
    f.localGet(g).f32x4Splat().localSet(gv);
    f.localGet(t).localGet(n).i32Const(-4).i32And().i32Const(2).i32Shl().i32Add().localSet(end);
    f.block().loop();
    f.localGet(t).localGet(end).i32GeS().brIf(1);
    f.localGet(t).v128Load(0).localSet(tv);
    f.localGet(e).localGet(e).v128Load(0).localGet(gv).localGet(tv).f32x4Mul().f32x4Add().v128Store(0);
    f.localGet(t).localGet(tv).localGet(gv).localGet(h).v128Load(0).f32x4Mul().f32x4Add().v128Store(0);
    f.i32Increment(t, 16).i32Increment(h, 16).i32Increment(e, 16).br(0);
    f.end().end();
    f.localGet(end).localGet(n).i32Const(3).i32And().i32Const(2).i32Shl().i32Add().localSet(end);
    f.block().loop();
    f.localGet(t).localGet(end).i32GeS().brIf(1);
    f.localGet(t).f32Load(0).localSet(ts);
    f.localGet(e).localGet(e).f32Load(0).localGet(g).localGet(ts).f32Mul().f32Add().f32Store(0);
    f.localGet(t).localGet(ts).localGet(g).localGet(h).f32Load(0).f32Mul().f32Add().f32Store(0);
    f.i32Increment(t, 4).i32Increment(h, 4).i32Increment(e, 4).br(0);
    f.end().end();
  }

  const module = new ModuleBuilder();
  module.addFunction(dot, 'dot');
  module.addFunction(step, 'step');
  if (shared) module.importMemory({ module: 'env', field: 'memory', minPages: 1, maxPages: 65536, shared: true });
  else module.setMemory(1, null, 'memory');
  return module.toBytes();
}

/** hierarchicalSoftmaxSgdStep with the SIMD row kernels; Θ at byte address thetaPtr. */
function simdHierarchicalSoftmaxStep(
  k: SimdKernels, thetaPtr: number, hPtr: number, neu1ePtr: number, dim: number,
  tree: HuffmanTree, word: number, lr: number,
): number {
  const { offsets, nodes, codes } = tree;
  let loss = 0;
  for (let p = offsets[word]; p < offsets[word + 1]; p++) {
    const tPtr = thetaPtr + 4 * dim * nodes[p];
    const s = codes[p] === 0 ? 1 : -1;
    const z = s * k.dot(tPtr, hPtr, dim);
    const e = Math.exp(-Math.abs(z));
    loss += (z < 0 ? -z : 0) + Math.log1p(e);
    k.step(tPtr, hPtr, neu1ePtr, dim, lr * s * (z >= 0 ? e / (1 + e) : 1 / (1 + e)));
  }
  return loss;
}

/** negativeSamplingSgdStep with the SIMD row kernels (a negative equal to the target is skipped). */
function simdNegativeSamplingStep(
  k: SimdKernels, thetaPtr: number, hPtr: number, neu1ePtr: number, dim: number,
  target: number, negatives: Int32Array, count: number, lr: number,
): number {
  let loss = 0;
  for (let j = -1; j < count; j++) {
    const row = j < 0 ? target : negatives[j];
    if (j >= 0 && row === target) continue;
    const label = j < 0 ? 1 : 0;
    const tPtr = thetaPtr + 4 * dim * row;
    const x = k.dot(tPtr, hPtr, dim);
    const e = Math.exp(-Math.abs(x));
    const z = label === 1 ? x : -x;
    loss += (z < 0 ? -z : 0) + Math.log1p(e);
    k.step(tPtr, hPtr, neu1ePtr, dim, lr * (label - (x >= 0 ? 1 / (1 + e) : e / (1 + e))));
  }
  return loss;
}

/** fullSoftmaxSgdStep with the SIMD row kernels. */
function simdFullSoftmaxStep(
  k: SimdKernels, thetaPtr: number, hPtr: number, neu1ePtr: number, dim: number,
  vocabSize: number, target: number, lr: number, scores: Float64Array,
): number {
  for (let j = 0; j < vocabSize; j++) scores[j] = k.dot(thetaPtr + 4 * dim * j, hPtr, dim);
  logSoftmaxRow(scores, 0, scores, 0, vocabSize); // scores ← log p
  for (let j = 0; j < vocabSize; j++) {
    const g = lr * ((j === target ? 1 : 0) - Math.exp(scores[j]));
    k.step(thetaPtr + 4 * dim * j, hPtr, neu1ePtr, dim, g);
  }
  return -scores[target];
}

function checkSkipGram(op: string, E: Matrix, theta: Matrix, contexts: ArrayLike<number>, targets: ArrayLike<number>): void {
  if (theta.cols !== E.cols) throw new Error(`${op}: expected theta [V, ${E.cols}] to match E ${shapeOf(E)}, got ${shapeOf(theta)}`);
  expectSameDType(op, E, theta);
  if (contexts.length !== targets.length) {
    throw new Error(`${op}: expected as many contexts as targets, got ${contexts.length} and ${targets.length}`);
  }
  for (let b = 0; b < contexts.length; b++) {
    if (!Number.isInteger(contexts[b]) || contexts[b] < 0 || contexts[b] >= E.rows) {
      throw new Error(`${op}: expected context ids in [0, ${E.rows}), got ${contexts[b]} at ${b}`);
    }
    if (!Number.isInteger(targets[b]) || targets[b] < 0 || targets[b] >= theta.rows) {
      throw new Error(`${op}: expected target ids in [0, ${theta.rows}), got ${targets[b]} at ${b}`);
    }
  }
}

function gatherRows(E: Matrix, ids: ArrayLike<number>): Matrix {
  const H = Matrix.zeros(ids.length, E.cols, E.dtype);
  for (let b = 0; b < ids.length; b++) for (let c = 0; c < E.cols; c++) H.set(b, c, E.get(ids[b], c));
  return H;
}

/**
 * The full-softmax skip-gram loss of a batch of (context, target) pairs, as matrices (for
 * gradient checks and tests; training uses fullSoftmaxSgdStep):
 *   h_b = e_{c_b} (row c_b of E [V, d]),  z_b = Θ h_b ([V]),  L = Σ_b −log softmax(z_b)[t_b]
 * E [V, d], theta [V, d], contexts and targets: B ids each.
 */
export function skipGramSoftmaxLoss(E: Matrix, theta: Matrix, contexts: ArrayLike<number>, targets: ArrayLike<number>): number {
  checkSkipGram('skipGramSoftmaxLoss', E, theta, contexts, targets);
  const H = gatherRows(E, contexts);
  const logits = Matrix.zeros(H.rows, theta.rows, E.dtype);
  gemm(logits, H, theta, false, true);
  return crossEntropy(logits, targets);
}

/**
 * Backward of skipGramSoftmaxLoss, ACCUMULATING: with dZ = softmax(Z) − onehot(t) [B, V],
 *   dTheta += dZᵀ·H,   dE[c_b, :] += (dZ·Θ)[b, :]   (only the context rows of dE change).
 */
export function skipGramSoftmaxBackward(
  dE: Matrix, dTheta: Matrix, E: Matrix, theta: Matrix, contexts: ArrayLike<number>, targets: ArrayLike<number>,
): void {
  const op = 'skipGramSoftmaxBackward';
  checkSkipGram(op, E, theta, contexts, targets);
  if (dE.rows !== E.rows || dE.cols !== E.cols) throw new Error(`${op}: expected dE to be ${shapeOf(E)}, got ${shapeOf(dE)}`);
  if (dTheta.rows !== theta.rows || dTheta.cols !== theta.cols) {
    throw new Error(`${op}: expected dTheta to be ${shapeOf(theta)}, got ${shapeOf(dTheta)}`);
  }
  const H = gatherRows(E, contexts);
  const dZ = Matrix.zeros(H.rows, theta.rows, E.dtype);
  gemm(dZ, H, theta, false, true);
  crossEntropyBackward(dZ, dZ, targets);
  gemm(dTheta, dZ, H, true, false, 1, 1);
  const dH = Matrix.zeros(H.rows, H.cols, E.dtype);
  gemm(dH, dZ, theta);
  for (let b = 0; b < contexts.length; b++) {
    for (let c = 0; c < E.cols; c++) dE.set(contexts[b], c, dE.get(contexts[b], c) + dH.get(b, c));
  }
}

function checkCbow(op: string, E: Matrix, theta: Matrix, contexts: readonly ArrayLike<number>[], targets: ArrayLike<number>): void {
  if (contexts.length !== targets.length) throw new Error(`${op}: expected one context list per target, got ${contexts.length} lists and ${targets.length} targets`);
  contexts.forEach((list, b) => {
    if (list.length === 0) throw new Error(`${op}: expected a non-empty context for example ${b}, got none`);
    checkSkipGram(op, E, theta, list, Array.from({ length: list.length }, () => targets[b]));
  });
}

/** h_b = (1/|C_b|) Σ_{c ∈ C_b} e_c, one row per example. */
function contextMeans(E: Matrix, contexts: readonly ArrayLike<number>[]): Matrix {
  const H = Matrix.zeros(contexts.length, E.cols, E.dtype);
  contexts.forEach((list, b) => {
    for (let i = 0; i < list.length; i++) for (let c = 0; c < E.cols; c++) H.set(b, c, H.get(b, c) + E.get(list[i], c) / list.length);
  });
  return H;
}

/**
 * The full-softmax CBOW loss of a batch of examples, as matrices (for gradient checks; training
 * uses the SGD kernels): h_b = (1/|C_b|) Σ_{c ∈ C_b} e_c (the mean of example b's context rows of
 * E [V, d], a word may repeat), z_b = Θ h_b, L = Σ_b −log softmax(z_b)[t_b].
 */
export function cbowSoftmaxLoss(E: Matrix, theta: Matrix, contexts: readonly ArrayLike<number>[], targets: ArrayLike<number>): number {
  checkCbow('cbowSoftmaxLoss', E, theta, contexts, targets);
  const H = contextMeans(E, contexts);
  const logits = Matrix.zeros(H.rows, theta.rows, E.dtype);
  gemm(logits, H, theta, false, true);
  return crossEntropy(logits, targets);
}

/**
 * Backward of cbowSoftmaxLoss, ACCUMULATING the true gradient: with dZ = softmax(Z) − onehot(t),
 *   dTheta += dZᵀ·H,   dE[c, :] += (dZ·Θ)[b, :] / |C_b| for each c ∈ C_b (once per occurrence).
 * (trainWord2Vec, like word2vec.c, gives every e_c the whole (dZ·Θ)[b, :] instead — |C_b| times
 * this — see the file comment.)
 */
export function cbowSoftmaxBackward(
  dE: Matrix, dTheta: Matrix, E: Matrix, theta: Matrix, contexts: readonly ArrayLike<number>[], targets: ArrayLike<number>,
): void {
  const op = 'cbowSoftmaxBackward';
  checkCbow(op, E, theta, contexts, targets);
  if (dE.rows !== E.rows || dE.cols !== E.cols) throw new Error(`${op}: expected dE to be ${shapeOf(E)}, got ${shapeOf(dE)}`);
  if (dTheta.rows !== theta.rows || dTheta.cols !== theta.cols) {
    throw new Error(`${op}: expected dTheta to be ${shapeOf(theta)}, got ${shapeOf(dTheta)}`);
  }
  const H = contextMeans(E, contexts);
  const dZ = Matrix.zeros(H.rows, theta.rows, E.dtype);
  gemm(dZ, H, theta, false, true);
  crossEntropyBackward(dZ, dZ, targets);
  gemm(dTheta, dZ, H, true, false, 1, 1);
  const dH = Matrix.zeros(H.rows, H.cols, E.dtype);
  gemm(dH, dZ, theta);
  contexts.forEach((list, b) => {
    for (let i = 0; i < list.length; i++) {
      for (let c = 0; c < E.cols; c++) dE.set(list[i], c, dE.get(list[i], c) + dH.get(b, c) / list.length);
    }
  });
}
