/**
 * Training a character language model inside the page's worker, one step at a time (the worker
 * interleaves steps with the page's other requests). Built from the library's pieces: the model,
 * its forward/BPTT and its JSON file format (training/lm/model.ts), cross-entropy, global-norm
 * clipping and Adam. The CLI's trainer (training/lm/train.ts) also writes checkpoint files, so the
 * page does not bundle it.
 *
 * The corpus has the CLI's layout for `--level char`: every line's characters then `<EOS>`, the
 * vocabulary `<EOS>`, `<UNK>` then characters by frequency, the last 10 % for validation — so a
 * model saved here is a model file `seqgrad sample --model` reads, and the other way round.
 *
 * Batches: B windows of T + 1 tokens at random places of the training split, each from a zero
 * state (the names are short; a live page wants fresh text every step more than an epoch order).
 */
import { clipGradNorm } from '../engine/clip.js';
import { crossEntropy, crossEntropyForwardBackward } from '../engine/cross-entropy.js';
import type { Matrix } from '../engine/matrix.js';
import { Rng } from '../engine/rng.js';
import type { CellKind } from '../layers/cells/cell.js';
import { createOptimizer, optimizerStep, type OptimizerState } from '../training/core/optimizers.js';
import {
  createLanguageModel, createLmWorkspace, languageModelToJSON, lmBackward, lmForward, lmGradients,
  lmParameterCount, lmParameters, lmResetState, lmZeroGrad, type LanguageModel, type LmWorkspace,
} from '../training/lm/model.js';
import { sampleText } from '../training/lm/use.js';
import { EOS, UNK, Vocabulary, tokenizeText } from '../training/text/vocab.js';

/** Every line's characters followed by `<EOS>`; empty lines are skipped. */
export function charCorpusTokens(text: string): string[] {
  const tokens: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const chars = tokenizeText(line, { level: 'char' });
    if (chars.length === 0) continue;
    for (const c of chars) tokens.push(c);
    tokens.push(EOS);
  }
  return tokens;
}

export const VALIDATION_FRACTION = 0.1;
/** PyTorch-style clip_grad_norm_ threshold of every step. */
const CLIP_NORM = 5;
/** Parallel streams of the validation pass. */
const EVAL_STREAMS = 4;

export interface CharModelOptions {
  cell: CellKind;
  hidden: number;
  seqLen: number;
  batch: number;
  lr: number;
  seed?: number;
}

export class CharModelSession {
  readonly model: LanguageModel;
  readonly seqLen: number;
  readonly batch: number;
  readonly train: Int32Array;
  readonly validation: Int32Array;
  steps = 0;
  private readonly ws: LmWorkspace;
  private evalWs: LmWorkspace | null = null;
  private readonly targets: Int32Array;
  private readonly evalTargets: Int32Array;
  private readonly params: Record<string, Matrix>;
  private readonly grads: Record<string, Matrix>;
  private readonly gradList: Matrix[];
  private readonly optimizer: OptimizerState;
  private readonly rng: Rng;
  private readonly sampleRng: Rng;

  /** A new model over the corpus' characters, or `model` (a loaded one: its vocabulary encodes the corpus). */
  constructor(tokens: string[], opts: CharModelOptions, model?: LanguageModel) {
    const seed = opts.seed ?? 1;
    const nVal = Math.floor(tokens.length * VALIDATION_FRACTION);
    const vocab = model?.vocab ?? Vocabulary.build(tokens.slice(0, tokens.length - nVal), { specials: [EOS, UNK] });
    this.model = model ?? createLanguageModel({ level: 'char', cell: opts.cell, hidden: opts.hidden, seed, vocab });
    const ids = Int32Array.from(vocab.encode(tokens));
    this.train = ids.subarray(0, ids.length - nVal);
    this.validation = ids.subarray(ids.length - nVal);
    this.seqLen = opts.seqLen;
    this.batch = opts.batch;
    if (this.train.length < this.seqLen + 2) {
      throw new Error(`training text: expected at least ${this.seqLen + 2} characters for T = ${this.seqLen} after the 10 % validation split, got ${this.train.length}`);
    }
    this.ws = createLmWorkspace(this.model, this.seqLen, this.batch);
    this.targets = new Int32Array(this.seqLen * this.batch);
    this.evalTargets = new Int32Array(this.seqLen * EVAL_STREAMS);
    this.params = lmParameters(this.model);
    this.grads = lmGradients(this.model);
    this.gradList = Object.values(this.grads);
    this.optimizer = createOptimizer({ kind: 'adam', lr: opts.lr }, this.params);
    this.rng = new Rng(seed);
    this.sampleRng = new Rng(seed + 1);
  }

  get parameterCount(): number {
    return lmParameterCount(this.model);
  }

  /** One step: forward, mean cross-entropy, BPTT, clip, Adam. Returns the loss (nats per character). */
  step(): number {
    const T = this.seqLen, B = this.batch;
    const inputs = this.ws.inputIds;
    for (let b = 0; b < B; b++) {
      const start = this.rng.int(this.train.length - T);
      for (let t = 0; t < T; t++) {
        inputs[t * B + b] = this.train[start + t];
        this.targets[t * B + b] = this.train[start + t + 1];
      }
    }
    lmResetState(this.ws);
    lmZeroGrad(this.model);
    const logits = lmForward(this.model, this.ws);
    const loss = crossEntropyForwardBackward(logits, logits, this.targets, { reduction: 'mean' });
    if (!Number.isFinite(loss)) throw new Error(`training: the loss became ${loss} at step ${this.steps + 1} (try a smaller learning rate)`);
    lmBackward(this.model, this.ws, logits);
    clipGradNorm(this.gradList, CLIP_NORM);
    optimizerStep(this.optimizer, this.params, this.grads);
    this.steps++;
    return loss;
  }

  /**
   * Mean −log P per character on (the first maxTokens of) the validation split, read as a few
   * parallel streams in chunks of T with the state carried; null when the split is too short.
   */
  validationLoss(maxTokens = 4000): number | null {
    const ids = this.validation.subarray(0, Math.min(this.validation.length, maxTokens + 1));
    const streams = Math.min(EVAL_STREAMS, ids.length - 1);
    if (streams < 1) return null;
    const length = Math.floor((ids.length - 1) / streams);
    if (!this.evalWs || this.evalWs.batch !== streams) this.evalWs = createLmWorkspace(this.model, this.seqLen, streams);
    const ws = this.evalWs;
    lmResetState(ws);
    let total = 0, count = 0;
    for (let from = 0; from < length; from += this.seqLen) {
      const steps = Math.min(this.seqLen, length - from);
      for (let t = 0; t < steps; t++) {
        for (let b = 0; b < streams; b++) {
          const pos = b * length + from + t;
          ws.inputIds[t * streams + b] = ids[pos];
          this.evalTargets[t * streams + b] = ids[pos + 1];
        }
      }
      const logits = lmForward(this.model, ws, steps);
      total += crossEntropy(logits, this.evalTargets.subarray(0, steps * streams), { reduction: 'sum' });
      count += steps * streams;
    }
    return total / count;
  }

  /** `count` sampled lines at temperature τ (the notes' sampling of novel sequences). */
  samples(count: number, temperature: number): string[] {
    return sampleText(this.model, { count, temperature, rng: this.sampleRng, maxLength: 40 }).map((s) => s.text);
  }

  /** The model file (the CLI's format), with a note of how it was trained. */
  toJSON(source: string): string {
    return JSON.stringify(languageModelToJSON(this.model, {
      trainedIn: 'seqgrad playground', corpus: source, steps: this.steps, seqLen: this.seqLen, batch: this.batch,
    }));
  }
}
