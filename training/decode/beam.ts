/**
 * The beam decoder as a plain function over any step function, and the matching sequence scorer.
 *
 *   step(state, token) → { logProbs, state }
 *
 * feeds `token` to a model in `state` and returns log P(next token | everything fed so far) over
 * the whole vocabulary, and the new state. The step function must not mutate `state` (several
 * hypotheses extend the same parent state); it may return the same logProbs buffer every call
 * (it is read before the next call).
 *
 * Beam search (Sequence Models week 3, "Beam search"): keep the B most probable partial
 * sequences. At step t every live hypothesis y⟨1..t−1⟩ is extended by every token; of all
 * extensions the B with the highest Σ log P are kept (all extensions at one step have the same
 * length, so that is also the order under length normalisation). A kept extension that ends in
 * `eosToken` is finished and leaves the beam (the beam shrinks); the others go on. At maxLength
 * the remaining live hypotheses are finished as they are. B = 1 is greedy decoding.
 *
 * Length rule: T_y counts the output tokens, **including the final `<EOS>`** when there is one,
 * and never the start token. Scores of finished hypotheses (the notes' normalised objective):
 *   none:  Σ_t log P(y⟨t⟩ | x, y⟨<t⟩)
 *   notes: (1 / T_y^α) · Σ_t log P(…)                      (α default 0.7, as in the notes)
 *   gnmt:  Σ_t log P(…) / ((5 + T_y) / 6)^α                (Wu et al. 2016; α default 0.6)
 * The n-best list is sorted by this score; ties keep the order in which hypotheses finished.
 */
import type { ScoreRow, StepFunction } from './sampling.js';

export type { StepFunction } from './sampling.js';

export interface LengthPenalty {
  kind: 'none' | 'notes' | 'gnmt';
  /** Exponent α (defaults: notes 0.7, gnmt 0.6; ignored by none). */
  alpha?: number;
}

export interface BeamSearchOptions<S> {
  step: StepFunction<S>;
  initialState: S;
  /** Fed at the first step (not part of the output). */
  startToken: number;
  eosToken: number;
  /** B ≥ 1; 1 is greedy. */
  beamWidth: number;
  /** Longest output, in tokens (the EOS included), ≥ 1. */
  maxLength: number;
  /** Default { kind: 'none' }. */
  lengthPenalty?: LengthPenalty;
  /** How many hypotheses to return (default 1). */
  nBest?: number;
  /** Token id(s) never to emit (e.g. `<UNK>`, `<PAD>`). */
  forbid?: number | readonly number[];
}

export interface Hypothesis {
  /** Output tokens, ending with eosToken unless maxLength cut the hypothesis. */
  tokens: number[];
  /** Σ log P of the tokens. */
  logProb: number;
  /** logProb under the length penalty; the sort key. */
  score: number;
  /** True when the hypothesis ended with eosToken. */
  finished: boolean;
}

/** The normalised score of a sequence of `length` tokens with total log-probability `logProb`. */
export function lengthNormalizedScore(logProb: number, length: number, penalty: LengthPenalty = { kind: 'none' }): number {
  switch (penalty.kind) {
    case 'none':
      return logProb;
    case 'notes':
      return logProb / length ** (penalty.alpha ?? 0.7);
    case 'gnmt':
      return logProb / ((5 + length) / 6) ** (penalty.alpha ?? 0.6);
    default:
      throw new Error(`lengthNormalizedScore: expected kind none|notes|gnmt, got ${JSON.stringify((penalty as { kind: unknown }).kind)}`);
  }
}

interface Live<S> {
  tokens: number[];
  logProb: number;
  state: S;
}

/**
 * The B best extensions of one beam at one step, sorted by Σ log P (descending); ties keep scan
 * order (parents in beam order, tokens in id order). Shared by beamSearch and beamSearchBatch, so
 * both choose exactly the same hypotheses from the same rows. Candidates go through a min-heap
 * (TopK), so keeping the best B of B·V candidates costs O(log B) each, not O(B).
 */
class TopExtensions {
  private readonly top: TopK;

  constructor(readonly width: number) {
    this.top = new TopK(width);
  }

  /** Offer every token of parent p: row[o + token] = log P(token | p's prefix), base = p's Σ log P. */
  offer(op: string, row: ArrayLike<number>, o: number, V: number, base: number, p: number, forbid: BeamSearchOptions<unknown>['forbid'], t: number): void {
    for (let token = 0; token < V; token++) {
      const lp = row[o + token];
      if (Number.isNaN(lp)) throw new Error(`${op}: step returned NaN log-probability for token ${token} at output position ${t}`);
      if (lp === -Infinity || isForbidden(token, forbid)) continue;
      this.top.offer(base + lp, p, token);
    }
  }

  /**
   * The kept extensions: those ending in eos go to `finished`, the others are returned in rank
   * order (`state(parent)` gives each its state).
   */
  take<S>(live: readonly Live<unknown>[], eos: number, penalty: LengthPenalty, finished: Hypothesis[], state: (parent: number) => S): Live<S>[] {
    const count = this.top.sort();
    const { logProb, parent, token } = this.top;
    const next: Live<S>[] = [];
    for (let i = 0; i < count; i++) {
      const tokens = [...live[parent[i]].tokens, token[i]];
      if (token[i] === eos) finished.push(makeHypothesis(tokens, logProb[i], penalty, true));
      else next.push({ tokens, logProb: logProb[i], state: state(parent[i]) });
    }
    this.top.clear();
    return next;
  }
}

/** The widest beam beamSearch accepts: wider costs B model steps per output token for no gain. */
export const MAX_BEAM_WIDTH = 1000;

/**
 * The k best of a stream of (logProb, parent, token) candidates, better = higher logProb, ties:
 * the earlier offered. A binary min-heap by (logProb, then later-offered first) while collecting;
 * `sort` then orders the kept ones best first in place.
 */
class TopK {
  readonly logProb: Float64Array;
  readonly parent: Int32Array;
  readonly token: Int32Array;
  private readonly order: Float64Array;
  private size = 0;
  private offered = 0;

  constructor(readonly k: number) {
    this.logProb = new Float64Array(k);
    this.parent = new Int32Array(k);
    this.token = new Int32Array(k);
    this.order = new Float64Array(k);
  }

  clear(): void {
    this.size = 0;
    this.offered = 0;
  }

  offer(logProb: number, parent: number, token: number): void {
    const order = this.offered++;
    if (this.size < this.k) {
      this.put(this.size, logProb, parent, token, order);
      this.siftUp(this.size++);
    } else if (logProb > this.logProb[0]) {
      this.put(0, logProb, parent, token, order);
      this.siftDown(0);
    }
  }

  /** Orders the kept candidates best first (ties: earlier offered first); returns how many. */
  sort(): number {
    const n = this.size;
    const idx = Array.from({ length: n }, (_, i) => i);
    idx.sort((a, b) => this.logProb[b] - this.logProb[a] || this.order[a] - this.order[b]);
    const lp = idx.map((i) => this.logProb[i]), pa = idx.map((i) => this.parent[i]), to = idx.map((i) => this.token[i]);
    for (let i = 0; i < n; i++) {
      this.logProb[i] = lp[i];
      this.parent[i] = pa[i];
      this.token[i] = to[i];
    }
    return n;
  }

  /** True when entry a is worse than entry b (lower logProb, or equal and offered later). */
  private worse(a: number, b: number): boolean {
    return this.logProb[a] < this.logProb[b] || (this.logProb[a] === this.logProb[b] && this.order[a] > this.order[b]);
  }

  private put(i: number, logProb: number, parent: number, token: number, order: number): void {
    this.logProb[i] = logProb;
    this.parent[i] = parent;
    this.token[i] = token;
    this.order[i] = order;
  }

  private swap(i: number, j: number): void {
    const lp = this.logProb[i], pa = this.parent[i], to = this.token[i], or = this.order[i];
    this.put(i, this.logProb[j], this.parent[j], this.token[j], this.order[j]);
    this.put(j, lp, pa, to, or);
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.worse(i, up)) return;
      this.swap(i, up);
      i = up;
    }
  }

  private siftDown(i: number): void {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let worst = i;
      if (l < this.size && this.worse(l, worst)) worst = l;
      if (r < this.size && this.worse(r, worst)) worst = r;
      if (worst === i) return;
      this.swap(i, worst);
      i = worst;
    }
  }
}

/** Checks shared by beamSearch and beamSearchBatch. */
function checkBeamOptions(op: string, B: number, maxLengths: readonly number[], nBest: number, penalty: LengthPenalty): void {
  if (!Number.isInteger(B) || B < 1 || B > MAX_BEAM_WIDTH) {
    throw new Error(`${op}: expected beamWidth to be an integer in [1, ${MAX_BEAM_WIDTH}], got ${B}`);
  }
  for (const m of maxLengths) if (!Number.isInteger(m) || m < 1) throw new Error(`${op}: expected maxLength to be an integer ≥ 1, got ${m}`);
  if (!Number.isInteger(nBest) || nBest < 1) throw new Error(`${op}: expected nBest to be an integer ≥ 1, got ${nBest}`);
  checkPenalty(op, penalty);
}

/** The remaining live hypotheses finish as they are; returns the n best, best first. */
function nBestOf<S>(op: string, finished: Hypothesis[], live: readonly Live<S>[], penalty: LengthPenalty, nBest: number): Hypothesis[] {
  for (const h of live) finished.push(makeHypothesis(h.tokens, h.logProb, penalty, false));
  if (finished.length === 0) {
    throw new Error(`${op}: no hypothesis survived: every token had log-probability −∞ or was forbidden at the first step`);
  }
  // Array.prototype.sort is stable, so ties keep finishing order.
  finished.sort((a, b) => b.score - a.score);
  return finished.slice(0, nBest);
}

/** Beam search over `step`; returns the n-best finished hypotheses, best first. */
export function beamSearch<S>(opts: BeamSearchOptions<S>): Hypothesis[] {
  const op = 'beamSearch';
  const B = opts.beamWidth;
  const nBest = opts.nBest ?? 1;
  const penalty = opts.lengthPenalty ?? { kind: 'none' };
  checkBeamOptions(op, B, [opts.maxLength], nBest, penalty);

  const top = new TopExtensions(B);
  let live: Live<S>[] = [{ tokens: [], logProb: 0, state: opts.initialState }];
  let lastTokens: number[] = [opts.startToken];
  const finished: Hypothesis[] = [];

  for (let t = 0; t < opts.maxLength && live.length > 0; t++) {
    const nextStates: S[] = [];
    for (let p = 0; p < live.length; p++) {
      const out = opts.step(live[p].state, lastTokens[p]);
      nextStates.push(out.state);
      const row = out.logProbs;
      checkRow(op, row, opts.eosToken, t);
      top.offer(op, row, 0, row.length, live[p].logProb, p, opts.forbid, t);
    }
    live = top.take(live, opts.eosToken, penalty, finished, (parent) => nextStates[parent]);
    lastTokens = live.map((h) => h.tokens[h.tokens.length - 1]);
  }
  return nBestOf(op, finished, live, penalty, nBest);
}

/**
 * A model that advances many hypotheses as one batch: `sources` independent inputs, `slots`
 * hypothesis slots each; slot i = s·slots + k belongs to source s. It keeps one decoder state per
 * slot (every slot starts in its source's initial state).
 */
export interface BatchStepModel {
  readonly sources: number;
  readonly slots: number;
  /** V, the width of a log-probability row. */
  readonly vocabSize: number;
  /**
   * One batched step of the `count` live slots live[0 … count): feed tokens[slot] to each and write
   * log P(next token | the slot's prefix) into logProbs[slot·V … slot·V + V). The other slots are
   * not computed (their rows are not read). The slots' states are not advanced until `reorder`.
   */
  step(tokens: Int32Array, logProbs: Float64Array, live: Int32Array, count: number): void;
  /**
   * After a step: slot i takes the state the step produced for slot parents[i] (a slot of the
   * same source), for every slot.
   */
  reorder(parents: Int32Array): void;
}

export interface BeamSearchBatchOptions extends Omit<BeamSearchOptions<unknown>, 'step' | 'initialState' | 'maxLength'> {
  /** Longest output in tokens (the EOS included): one for all sources, or one per source. */
  maxLength: number | readonly number[];
}

/**
 * beamSearch for every source of `model` at once: at each step all live hypotheses of all sources
 * are one batched `model.step`. Each source's search is exactly beamSearch's (the same scan order,
 * ties, lengths and scores), so the n-best lists are those of beamSearch over a step function
 * that gives the same rows. Returns one n-best list per source.
 */
export function beamSearchBatch(model: BatchStepModel, opts: BeamSearchBatchOptions): Hypothesis[][] {
  const op = 'beamSearchBatch';
  const { sources: S, slots: K, vocabSize: V } = model;
  const B = opts.beamWidth;
  const nBest = opts.nBest ?? 1;
  const penalty = opts.lengthPenalty ?? { kind: 'none' };
  const maxLengths = typeof opts.maxLength === 'number' ? new Array<number>(S).fill(opts.maxLength) : opts.maxLength;
  if (maxLengths.length !== S) throw new Error(`${op}: expected one maxLength per source (${S}), got ${maxLengths.length}`);
  checkBeamOptions(op, B, maxLengths, nBest, penalty);
  if (B > K) throw new Error(`${op}: expected beamWidth ≤ the model's ${K} slots per source, got ${B}`);
  if (!Number.isInteger(opts.eosToken) || opts.eosToken < 0 || opts.eosToken >= V) {
    throw new Error(`${op}: expected eosToken to be an id in [0, ${V}), got ${opts.eosToken}`);
  }

  const top = new TopExtensions(B);
  const tokens = new Int32Array(S * K).fill(opts.startToken);
  const parents = new Int32Array(S * K);
  const logProbs = new Float64Array(S * K * V);
  // Hypothesis p of source s sits in slot s·K + p; its `state` is the beam index of its parent.
  const live: Live<number>[][] = [];
  const finished: Hypothesis[][] = [];
  for (let s = 0; s < S; s++) {
    live.push([{ tokens: [], logProb: 0, state: 0 }]);
    finished.push([]);
  }
  const parentIndex = (parent: number): number => parent;
  const liveSlots = new Int32Array(S * K);
  const searching = (s: number, t: number): boolean => live[s].length > 0 && t < maxLengths[s];
  for (let t = 0; live.some((_, s) => searching(s, t)); t++) {
    let count = 0;
    for (let s = 0; s < S; s++) {
      if (searching(s, t)) for (let p = 0; p < live[s].length; p++) liveSlots[count++] = s * K + p;
    }
    model.step(tokens, logProbs, liveSlots, count);
    for (let i = 0; i < parents.length; i++) parents[i] = i;
    for (let s = 0; s < S; s++) {
      if (!searching(s, t)) continue;
      const beam = live[s];
      for (let p = 0; p < beam.length; p++) top.offer(op, logProbs, (s * K + p) * V, V, beam[p].logProb, p, opts.forbid, t);
      const next = top.take(beam, opts.eosToken, penalty, finished[s], parentIndex);
      next.forEach((h, i) => {
        parents[s * K + i] = s * K + h.state;
        tokens[s * K + i] = h.tokens[h.tokens.length - 1];
      });
      live[s] = next;
    }
    model.reorder(parents);
  }
  return live.map((beam, s) => nBestOf(op, finished[s], beam, penalty, nBest));
}

export interface ScoreSequenceOptions<S> {
  step: StepFunction<S>;
  initialState: S;
  startToken: number;
  /** The output to score (y⟨1⟩ … y⟨T_y⟩, usually ending with EOS); at least one token. */
  tokens: readonly number[];
  lengthPenalty?: LengthPenalty;
}

export interface SequenceScore {
  /** Σ_t log P(y⟨t⟩ | x, y⟨<t⟩). */
  logProb: number;
  /** logProb under the length penalty, comparable with beamSearch's scores. */
  score: number;
  /** log P of each token in turn. */
  tokenLogProbs: number[];
}

/**
 * Score a given output under the model, with the same summation and normalisation as
 * beamSearch (so beamSearch's winner and scoreSequence of its tokens agree to the bit). The notes'
 * error analysis compares scoreSequence(y*) with scoreSequence(ŷ): if the human output scores
 * higher, the search is at fault; otherwise the model is.
 */
export function scoreSequence<S>(opts: ScoreSequenceOptions<S>): SequenceScore {
  const op = 'scoreSequence';
  if (!opts.tokens || opts.tokens.length === 0) throw new Error(`${op}: expected at least one token to score, got none`);
  const penalty = opts.lengthPenalty ?? { kind: 'none' };
  checkPenalty(op, penalty);
  let state = opts.initialState;
  let input = opts.startToken;
  let logProb = 0;
  const tokenLogProbs: number[] = [];
  opts.tokens.forEach((token, t) => {
    const out = opts.step(state, input);
    const row = out.logProbs;
    if (!Number.isInteger(token) || token < 0 || token >= row.length) {
      throw new Error(`${op}: expected token ${t} to be an id in [0, ${row.length}), got ${token}`);
    }
    const lp = row[token];
    if (Number.isNaN(lp)) throw new Error(`${op}: step returned NaN log-probability for token ${token} at position ${t}`);
    logProb += lp;
    tokenLogProbs.push(lp);
    state = out.state;
    input = token;
  });
  return { logProb, score: lengthNormalizedScore(logProb, opts.tokens.length, penalty), tokenLogProbs };
}

function makeHypothesis(tokens: number[], logProb: number, penalty: LengthPenalty, finished: boolean): Hypothesis {
  return { tokens, logProb, score: lengthNormalizedScore(logProb, tokens.length, penalty), finished };
}

function checkPenalty(op: string, penalty: LengthPenalty): void {
  if (!penalty || !['none', 'notes', 'gnmt'].includes(penalty.kind)) {
    throw new Error(`${op}: expected lengthPenalty.kind none|notes|gnmt, got ${JSON.stringify(penalty?.kind)}`);
  }
  if (penalty.alpha !== undefined && !(Number.isFinite(penalty.alpha) && penalty.alpha >= 0)) {
    throw new Error(`${op}: expected lengthPenalty.alpha to be a finite number ≥ 0, got ${penalty.alpha}`);
  }
}

function checkRow(op: string, row: ScoreRow, eosToken: number, t: number): void {
  if (!row || row.length === 0) throw new Error(`${op}: step returned an empty log-probability row at output position ${t}`);
  if (!Number.isInteger(eosToken) || eosToken < 0 || eosToken >= row.length) {
    throw new Error(`${op}: expected eosToken to be an id in [0, ${row.length}), got ${eosToken}`);
  }
}

function isForbidden(token: number, forbid: BeamSearchOptions<unknown>['forbid']): boolean {
  if (forbid === undefined) return false;
  if (typeof forbid === 'number') return token === forbid;
  return forbid.includes(token);
}
