/**
 * Using a trained language model (Sequence Models week 1):
 *
 * - Sentence probability by the chain rule. With y⟨0⟩ = `<EOS>` (what precedes every line in
 *   training) and the sentence's tokens y⟨1⟩ … y⟨T⟩ followed by `<EOS>`:
 *     P(y⟨1⟩ … y⟨T⟩) = Π_t P(y⟨t⟩ | y⟨0⟩ … y⟨t−1⟩),   log P = Σ_t log softmax(z⟨t⟩)[y⟨t⟩]
 *   so "The apple and pear salad" and "The apple and pair salad" can be compared token by token.
 * - Sampling novel sequences: feed `<EOS>`, draw y⟨1⟩ from ŷ⟨1⟩, feed it back, … until `<EOS>` or
 *   a length limit; with temperature, top-k, and never `<UNK>` (the notes' option).
 * - Greedy decoding (argmax at every step) and beam decoding (training/beam.ts) over the model's
 *   step function (state, token) → (log-probabilities, state).
 */
import { type Matrix, copyInto } from '../../engine/matrix.js';
import { logSoftmaxRow } from '../../engine/softmax.js';
import { Rng } from '../../engine/rng.js';
import { beamSearch, beamSearchBatch, type BatchStepModel, type LengthPenalty } from '../decode/beam.js';
import {
  createLmWorkspace, lmCopyState, lmForward, lmResetState, lmSetState, type LanguageModel, type LmWorkspace,
} from './model.js';
import { sampleStream, type StepFunction, type TokenStream } from '../decode/sampling.js';
import { createLmTokenSampler } from './token-sampler.js';
import { createTransformerLmStepper, type TransformerLanguageModel } from './transformer-model.js';
import { EOS, UNK, detokenize, tokenizeText } from '../text/vocab.js';

/** The recurrent state of a model for one sequence: per layer [a] or [a, c], each [1, H]. */
export type LmState = Matrix[][];

export interface LmStepper {
  /** The zero state (the start of a stream). */
  initialState(): LmState;
  /** Feed `token` in `state`: log P(next | …) over the vocabulary (float64, reused buffer) and the new state. */
  step: StepFunction<LmState>;
}

/**
 * The model as a step function for sampling and beam search. The state passed in is never
 * changed (a beam extends one parent state several times); each call returns a fresh state.
 * The returned log-probability row is one buffer, overwritten by the next call.
 */
export function createLmStepper(model: LanguageModel): LmStepper {
  const ws = createLmWorkspace(model, 1, 1);
  const V = model.vocab.size;
  const logProbs = new Float64Array(V);
  return {
    initialState(): LmState {
      lmResetState(ws);
      return lmCopyState(ws);
    },
    step(state: LmState, token: number) {
      if (!Number.isInteger(token) || token < 0 || token >= V) {
        throw new Error(`lmStep: expected a token id in [0, ${V}), got ${token}`);
      }
      lmSetState(ws, state);
      ws.inputIds[0] = token;
      const logits = lmForward(model, ws, 1);
      logSoftmaxRow(logProbs, 0, logits.data, logits.offset, V);
      return { logProbs, state: lmCopyState(ws) };
    },
  };
}

/** Either language model: the recurrent one (model.ts) or the causal Transformer (transformer-model.ts). */
export type AnyLanguageModel = LanguageModel | TransformerLanguageModel;

/** The step function of either kind of model (its state is opaque to sampling and beam search). */
function stepperFor(model: AnyLanguageModel): { initialState(): unknown; step: StepFunction<unknown> } {
  if ('encoder' in model) return createTransformerLmStepper(model) as { initialState(): unknown; step: StepFunction<unknown> };
  return createLmStepper(model) as unknown as { initialState(): unknown; step: StepFunction<unknown> };
}

function eosId(model: AnyLanguageModel): number {
  if (!model.vocab.has(EOS)) throw new Error(`language model: its vocabulary has no ${EOS} token`);
  return model.vocab.id(EOS);
}

/** The model's tokens of `text` (same level and lower-casing as training), unknown ones as `<UNK>`. */
export function lmTokenize(model: AnyLanguageModel, text: string): string[] {
  const tokens = tokenizeText(text, { level: model.config.level, lowercase: model.config.lowercase });
  return tokens.map((t) => (model.vocab.has(t) ? t : UNK));
}

export interface SentenceScore {
  /** The scored tokens y⟨1⟩ … y⟨T⟩ (`<UNK>` for unknown ones), ending with `<EOS>` unless told otherwise. */
  tokens: string[];
  /** log P(y⟨t⟩ | y⟨<t⟩) for each, natural log. */
  tokenLogProbs: number[];
  /** log P(y⟨1⟩ … y⟨T⟩) = Σ tokenLogProbs. */
  logProb: number;
  /** −log₂ P: the bits the model needs to encode the sentence. */
  bits: number;
  /** logProb / T. */
  logProbPerToken: number;
  /** e^(−logProb / T). */
  perplexity: number;
  /** How many tokens were not in the vocabulary (scored as `<UNK>`). */
  unknownTokens: number;
}

/**
 * log P of a sentence by the chain rule over [<EOS>, y⟨1⟩ … y⟨T−1⟩] predicting [y⟨1⟩ … y⟨T⟩]
 * (y⟨T⟩ = `<EOS>` unless `endWithEos: false`): one forward pass of the recurrent model; the
 * Transformer's step function token by token (its context window slides past maxLength tokens
 * exactly as in sampling and beam search).
 */
export function sentenceLogProb(model: AnyLanguageModel, text: string, opts: { endWithEos?: boolean } = {}): SentenceScore {
  const eos = eosId(model);
  const raw = tokenizeText(text, { level: model.config.level, lowercase: model.config.lowercase });
  const tokens = lmTokenize(model, text);
  const unknownTokens = raw.filter((t) => !model.vocab.has(t)).length;
  if (unknownTokens > 0 && !model.vocab.has(UNK)) {
    throw new Error(`sentenceLogProb: ${unknownTokens} token(s) are not in the vocabulary, which has no ${UNK}`);
  }
  const targets = tokens.map((t) => model.vocab.id(t));
  if (opts.endWithEos !== false) {
    targets.push(eos);
    tokens.push(EOS);
  }
  if (targets.length === 0) throw new Error('sentenceLogProb: expected a text with at least one token, got none');
  const T = targets.length;
  if ('encoder' in model) return scoreByStepping(model, eos, targets, tokens, unknownTokens);
  const ws = createLmWorkspace(model, T, 1);
  ws.inputIds[0] = eos;
  for (let t = 1; t < T; t++) ws.inputIds[t] = targets[t - 1];
  const logits = lmForward(model, ws, T);
  const row = new Float64Array(model.vocab.size);
  const tokenLogProbs: number[] = [];
  let logProb = 0;
  for (let t = 0; t < T; t++) {
    logSoftmaxRow(row, 0, logits.data, logits.offset + t * logits.stride, logits.cols);
    tokenLogProbs.push(row[targets[t]]);
    logProb += row[targets[t]];
  }
  return {
    tokens, tokenLogProbs, logProb, bits: -logProb / Math.LN2, logProbPerToken: logProb / T,
    perplexity: Math.exp(-logProb / T), unknownTokens,
  };
}

/** The Transformer's sentence score: log P(y⟨t⟩ | <EOS>, y⟨<t⟩) from its step function, t = 1 … T. */
function scoreByStepping(model: TransformerLanguageModel, eos: number, targets: number[], tokens: string[], unknownTokens: number): SentenceScore {
  const stepper = createTransformerLmStepper(model);
  let state = stepper.initialState();
  let input = eos;
  const tokenLogProbs: number[] = [];
  for (const target of targets) {
    const r = stepper.step(state, input);
    tokenLogProbs.push(r.logProbs[target]);
    state = r.state;
    input = target;
  }
  const logProb = tokenLogProbs.reduce((s, v) => s + v, 0);
  const T = targets.length;
  return {
    tokens, tokenLogProbs, logProb, bits: -logProb / Math.LN2, logProbPerToken: logProb / T,
    perplexity: Math.exp(-logProb / T), unknownTokens,
  };
}

export interface GenerationOptions {
  /** Longest output in tokens, `<EOS>` included (default 50 for characters, 30 for words). */
  maxLength?: number;
  /** Never emit `<UNK>` (default true, the notes' option). */
  forbidUnk?: boolean;
  /** Text the output continues (fed after `<EOS>`; not part of the result). */
  prefix?: string;
}

export interface SampleOptions extends GenerationOptions {
  /** How many sequences (default 1). */
  count?: number;
  /** τ (default 1); 0 is greedy. */
  temperature?: number;
  topK?: number;
  /** The generator (default: a new one seeded with `seed`, default 0). */
  rng?: Rng;
  seed?: number;
  /** Do not stop at `<EOS>`: draw maxLength tokens, each `<EOS>` a line break in the text (default false). */
  multiline?: boolean;
}

export interface GeneratedText {
  /** The text (tokens up to `<EOS>`, joined as the level says). */
  text: string;
  tokens: string[];
  /** Σ log P of the tokens under the model (τ = 1). */
  logProb: number;
  /** True when it ended with `<EOS>` (not cut at maxLength). */
  finished: boolean;
}

/** State and start token after `<EOS>` and the prefix: the prefix's last token is the first one fed by the decoder. */
function primed(model: AnyLanguageModel, stepper: ReturnType<typeof stepperFor>, prefix: string | undefined): { state: unknown; start: number } {
  let state = stepper.initialState();
  const start = feedPrefix(model, prefix, (token) => { state = stepper.step(state, token).state; });
  return { state, start };
}

/** Feed `<EOS>` and the prefix but its last token; returns that last token (or `<EOS>`), the first one to feed next. */
function feedPrefix(model: AnyLanguageModel, prefix: string | undefined, feed: (token: number) => void): number {
  const ids = prefix ? lmTokenize(model, prefix).map((t) => model.vocab.id(t)) : [];
  let start = eosId(model);
  for (const id of ids) {
    feed(start);
    start = id;
  }
  return start;
}

/** A stream primed with `<EOS>` and the prefix, which every sequence drawn from it starts again from. */
interface PrimedStream {
  /** The first token to feed. */
  start: number;
  /** Back to the primed state (before each sequence). */
  rewind(): void;
  next: TokenStream;
}

/**
 * What sampleText and greedyText draw from: a recurrent model's token sampler (token-sampler.ts: its
 * state in place, one kernel call per layer and token) where it has one, else the model's step function.
 */
function primedStream(model: AnyLanguageModel, prefix: string | undefined): PrimedStream {
  const sampler = 'encoder' in model ? null : createLmTokenSampler(model);
  if (sampler) {
    sampler.reset();
    const start = feedPrefix(model, prefix, (token) => sampler.step(token));
    const state = sampler.state();
    return { start, rewind: () => sampler.reset(state), next: (token) => sampler.step(token) };
  }
  const stepper = stepperFor(model);
  const { state, start } = primed(model, stepper, prefix);
  let current = state;
  return {
    start,
    rewind: () => { current = state; },
    next: (token) => {
      const out = stepper.step(current, token);
      current = out.state;
      return out.logProbs;
    },
  };
}

function forbidden(model: AnyLanguageModel, forbidUnk: boolean | undefined): number[] {
  return forbidUnk !== false && model.vocab.has(UNK) ? [model.vocab.id(UNK)] : [];
}

function defaultMaxLength(model: AnyLanguageModel): number {
  return model.config.level === 'char' ? 50 : 30;
}

function toText(model: AnyLanguageModel, ids: number[], logProb: number, finished: boolean, multiline = false): GeneratedText {
  const tokens = model.vocab.decode(ids);
  if (!multiline) return { text: detokenize(tokens, model.config.level), tokens, logProb, finished };
  const lines: string[][] = [[]];
  for (const t of tokens) {
    if (t === EOS) lines.push([]);
    else lines[lines.length - 1].push(t);
  }
  return { text: lines.map((line) => detokenize(line, model.config.level)).join('\n'), tokens, logProb, finished };
}

/** Sample novel sequences (the notes' "Sampling novel sequences"). Same rng state, same output. */
export function sampleText(model: AnyLanguageModel, opts: SampleOptions = {}): GeneratedText[] {
  return [...sampleTextStream(model, opts)];
}

/** sampleText one sequence at a time, as each is drawn (memory stays flat for any count). */
export function* sampleTextStream(model: AnyLanguageModel, opts: SampleOptions = {}): Generator<GeneratedText> {
  const count = opts.count ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new Error(`sampleText: expected count to be an integer ≥ 1, got ${count}`);
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const stream = primedStream(model, opts.prefix);
  for (let i = 0; i < count; i++) {
    stream.rewind();
    const s = sampleStream(stream.next, {
      // With multiline, no id is the end token (−1), so only maxLength stops the draw.
      startToken: stream.start, eosToken: opts.multiline ? -1 : eosId(model),
      maxLength: opts.maxLength ?? defaultMaxLength(model), rng,
      temperature: opts.temperature ?? 1, topK: opts.topK, forbid: forbidden(model, opts.forbidUnk),
    });
    yield toText(model, s.tokens, s.logProb, s.finished, opts.multiline);
  }
}

/** Greedy decoding: the most probable token at every step. */
export function greedyText(model: AnyLanguageModel, opts: GenerationOptions = {}): GeneratedText {
  const stream = primedStream(model, opts.prefix);
  const s = sampleStream(stream.next, {
    startToken: stream.start, eosToken: eosId(model),
    maxLength: opts.maxLength ?? defaultMaxLength(model), rng: new Rng(0), greedy: true,
    forbid: forbidden(model, opts.forbidUnk),
  });
  return toText(model, s.tokens, s.logProb, s.finished);
}

export interface BeamTextOptions extends GenerationOptions {
  beamWidth: number;
  /** How many hypotheses (default 1). */
  nBest?: number;
  lengthPenalty?: LengthPenalty;
}

export interface BeamText extends GeneratedText {
  /** logProb under the length penalty (the ranking key). */
  score: number;
}

/**
 * Beam decoding through decode/beam.ts: the n-best sequences, best first. For the recurrent model the
 * hypotheses of the beam advance as one batch (beamSearchBatch over an LmBeamModel; the n-best list is
 * beamSearch's over createLmStepper's step function, up to float rounding); the Transformer steps each
 * hypothesis through its step function.
 */
export function beamText(model: AnyLanguageModel, opts: BeamTextOptions): BeamText[] {
  if ('encoder' in model) return beamTextByStepper(model, opts);
  const stepper = createLmStepper(model);
  const { state, start } = primed(model, stepper as ReturnType<typeof stepperFor>, opts.prefix);
  if (!Number.isInteger(opts.beamWidth) || opts.beamWidth < 1) throw new Error(`beamSearchBatch: expected beamWidth to be an integer ≥ 1, got ${opts.beamWidth}`);
  const [hyps] = beamSearchBatch(new LmBeamModel(model, state as LmState, opts.beamWidth), {
    startToken: start, eosToken: eosId(model),
    beamWidth: opts.beamWidth, maxLength: opts.maxLength ?? defaultMaxLength(model), nBest: opts.nBest,
    lengthPenalty: opts.lengthPenalty, forbid: forbidden(model, opts.forbidUnk),
  });
  return hyps.map((h) => ({ ...toText(model, h.tokens, h.logProb, h.finished), score: h.score }));
}

/** beamSearch over the model's one-hypothesis step function (the Transformer's path). */
function beamTextByStepper(model: AnyLanguageModel, opts: BeamTextOptions): BeamText[] {
  const stepper = stepperFor(model);
  const { state, start } = primed(model, stepper, opts.prefix);
  const hyps = beamSearch({
    step: stepper.step, initialState: state, startToken: start, eosToken: eosId(model),
    beamWidth: opts.beamWidth, maxLength: opts.maxLength ?? defaultMaxLength(model), nBest: opts.nBest,
    lengthPenalty: opts.lengthPenalty, forbid: forbidden(model, opts.forbidUnk),
  });
  return hyps.map((h) => ({ ...toText(model, h.tokens, h.logProb, h.finished), score: h.score }));
}

/**
 * The language model as beam.ts's BatchStepModel for one sequence: K hypothesis slots are the K
 * rows of one LmWorkspace (T = 1, B = K), so a step advances every hypothesis with one lmForward.
 * Slots without a live hypothesis are computed too (K is small) and ignored.
 */
class LmBeamModel implements BatchStepModel {
  readonly sources = 1;
  readonly slots: number;
  readonly vocabSize: number;
  private readonly ws: LmWorkspace;
  /** The states the last step produced (copied out of ws.state, which reorder refills). */
  private readonly next: Matrix[][];

  constructor(private readonly model: LanguageModel, initial: LmState, slots: number) {
    this.slots = slots;
    this.vocabSize = model.vocab.size;
    this.ws = createLmWorkspace(model, 1, slots);
    this.ws.state.forEach((layer, l) => layer.forEach((m, k) => {
      for (let r = 0; r < slots; r++) copyStateRow(m, r, initial[l][k], 0);
    }));
    this.next = this.ws.state.map((layer) => layer.map((m) => m.clone()));
  }

  step(tokens: Int32Array, logProbs: Float64Array): void {
    const V = this.vocabSize;
    this.ws.inputIds.set(tokens.subarray(0, this.slots));
    const logits = lmForward(this.model, this.ws, 1);
    for (let r = 0; r < this.slots; r++) logSoftmaxRow(logProbs, r * V, logits.data, logits.offset + r * logits.stride, V);
    this.ws.state.forEach((layer, l) => layer.forEach((m, k) => copyInto(this.next[l][k], m)));
  }

  reorder(parents: Int32Array): void {
    this.ws.state.forEach((layer, l) => layer.forEach((m, k) => {
      for (let r = 0; r < this.slots; r++) copyStateRow(m, r, this.next[l][k], parents[r]);
    }));
  }
}

/** out[row, :] = src[srcRow, :] (same widths). */
function copyStateRow(out: Matrix, row: number, src: Matrix, srcRow: number): void {
  const o = out.offset + row * out.stride, s = src.offset + srcRow * src.stride;
  for (let j = 0; j < out.cols; j++) out.data[o + j] = src.data[s + j];
}
