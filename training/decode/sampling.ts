/**
 * Choosing the next token from one row of scores: greedy argmax, sampling with temperature,
 * top-k, and the notes' option never to emit a given token (e.g. `<UNK>`, Sequence Models week 1,
 * "Sampling novel sequences"). Plus the sampling loop itself over any step function.
 *
 * The row may hold logits z or log-probabilities log p: both give the same distribution, because
 *   P(i) = exp(z_i / τ) / Σ_j exp(z_j / τ)
 * is unchanged by adding a constant to every z (and log p = z − logsumexp z). With τ = 1 it is
 * the model's own distribution; τ < 1 sharpens it, τ > 1 flattens it, τ = 0 is greedy.
 *
 * Top-k keeps the k highest-scoring allowed tokens (tokens tied with the k-th are all kept) and
 * renormalises over them. Forbidden tokens get probability 0 before top-k, so top-k picks among
 * allowed tokens. All randomness comes from the passed Rng: one `uniform()` per sampled token.
 * With a scratch buffer of at least the row's length, choosing a token allocates nothing.
 */
import type { Rng } from '../../engine/rng.js';
import { logSoftmaxRow } from '../../engine/softmax.js';

export type ScoreRow = ArrayLike<number>;

export interface TokenChoiceOptions {
  /** τ ≥ 0 (default 1); 0 means greedy. */
  temperature?: number;
  /** Keep only the k best tokens (default: all). */
  topK?: number;
  /** Token id(s) never to emit (the notes' "never sample <UNK>"). */
  forbid?: number | readonly number[];
}

/** The allowed token with the highest score (the first such index on ties). */
export function greedyToken(row: ScoreRow, opts: Pick<TokenChoiceOptions, 'forbid'> = {}): number {
  checkRow('greedyToken', row);
  let best = -1;
  let bestScore = -Infinity;
  for (let i = 0; i < row.length; i++) {
    if (isForbidden(i, opts.forbid)) continue;
    const s = row[i];
    if (Number.isNaN(s)) throw new Error(`greedyToken: expected scores, got NaN at token ${i}`);
    if (best < 0 || s > bestScore) {
      best = i;
      bestScore = s;
    }
  }
  if (best < 0 || bestScore === -Infinity) {
    throw new Error(`greedyToken: expected at least one allowed token with a finite score, got none of ${row.length}`);
  }
  return best;
}

/**
 * Fill `probs[0..V)` with the distribution `sampleToken` draws from (exactly: the same code path).
 * `probs` may be longer than the row; it must not alias it.
 */
export function tokenProbabilitiesInto(probs: Float64Array, row: ScoreRow, opts: TokenChoiceOptions = {}): Float64Array {
  probabilitiesInto(probs, row, opts, false);
  return probs;
}

/**
 * What the last probabilitiesInto found: with `scoreAll`, the sum Σ_i e^(s_i − m) over EVERY token in
 * index order when the draw's exponentials were those terms (τ = 1 and the row's maximum m among the
 * kept tokens) — logSoftmaxRow's sum, so (s_y − m) − log(allSum) is its log P(y), bit for bit — else NaN.
 * Module state, not a result object: the sampling loop allocates nothing per token.
 */
const lastPass = { max: 0, allSum: NaN };

/** tokenProbabilitiesInto, and with `scoreAll` the sum lastPass describes (an extra e^x only for the tokens not kept). */
function probabilitiesInto(probs: Float64Array, row: ScoreRow, opts: TokenChoiceOptions, scoreAll: boolean): void {
  const op = 'tokenProbabilities';
  const V = row.length;
  checkRow(op, row);
  if (probs.length < V) throw new Error(`${op}: expected a buffer of at least ${V} entries, got ${probs.length}`);
  const temperature = opts.temperature ?? 1;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new Error(`${op}: expected temperature to be a finite number ≥ 0, got ${temperature}`);
  }
  const topK = opts.topK ?? V;
  if (!Number.isInteger(topK) || topK < 1) throw new Error(`${op}: expected topK to be an integer ≥ 1, got ${topK}`);

  lastPass.allSum = NaN;
  if (temperature === 0) {
    probs.fill(0, 0, V);
    probs[greedyToken(row, opts)] = 1;
    return;
  }
  // Threshold: the k-th largest allowed score (−∞ keeps every allowed token).
  const threshold = topK < V ? kthLargestAllowed(probs, row, topK, opts.forbid) : -Infinity;
  // Every token kept (no forbidden token, no top-k): the same sums without the per-token tests.
  const everyToken = forbidsNone(opts.forbid) && threshold === -Infinity;
  let max = -Infinity;
  let rowMax = -Infinity;
  for (let i = 0; i < V; i++) {
    const s = row[i];
    if (Number.isNaN(s)) throw new Error(`${op}: expected scores, got NaN at token ${i}`);
    if (s > rowMax) rowMax = s;
    if (!everyToken && !isForbidden(i, opts.forbid) && s >= threshold && s > max) max = s;
  }
  if (everyToken) max = rowMax;
  if (max === -Infinity) throw new Error(`${op}: expected at least one allowed token with a finite score, got none of ${V}`);
  if (max === Infinity) throw new Error(`${op}: expected finite scores, got +Infinity`);
  // (s − m) / 1 is s − m exactly: at τ = 1 a kept token's weight is its logSoftmaxRow term
  const sumAll = scoreAll && temperature === 1 && max === rowMax;
  let total = 0;
  let all = 0;
  if (everyToken) {
    for (let i = 0; i < V; i++) {
      const w = Math.exp((row[i] - max) / temperature);
      probs[i] = w;
      total += w;
    }
    all = total; // every term kept: Σ over every token in index order is the draw's own sum (read when sumAll)
  } else {
    for (let i = 0; i < V; i++) {
      const keep = !isForbidden(i, opts.forbid) && row[i] >= threshold;
      const w = keep ? Math.exp((row[i] - max) / temperature) : 0;
      probs[i] = w;
      total += w;
      if (sumAll) all += keep ? w : Math.exp(row[i] - max);
    }
  }
  for (let i = 0; i < V; i++) probs[i] /= total;
  lastPass.max = max;
  if (sumAll) lastPass.allSum = all;
}

/**
 * Draw a token from `row` (logits or log-probs) with temperature, top-k and forbidden tokens.
 * Pass a `scratch` buffer (length ≥ V) in loops to avoid allocation; it is overwritten.
 */
export function sampleToken(row: ScoreRow, rng: Rng, opts: TokenChoiceOptions = {}, scratch?: Float64Array): number {
  if ((opts.temperature ?? 1) === 0) return greedyToken(row, opts);
  const probs = tokenProbabilitiesInto(scratch ?? new Float64Array(row.length), row, opts);
  return rng.categorical(probs, row.length);
}

// ---- the sampling loop ----------------------------------------------------------------------

/** The step contract shared with the beam decoder: feed `token`, get scores for the next one. */
export type StepFunction<S> = (state: S, token: number) => { logProbs: ScoreRow; state: S };

/**
 * One stream that keeps its own state: feed `token`, get the scores (logits or log-probabilities) of
 * the next one — a row the stream may overwrite at its next call. The fast path of sampling (a
 * language model's LmTokenSampler), with no state object per token.
 */
export type TokenStream = (token: number) => ScoreRow;

export interface SampleStreamOptions extends TokenChoiceOptions {
  /** Fed at the first step (for a language model: `<EOS>` or a start token, or a prompt's last). */
  startToken: number;
  /** Stops the sequence when drawn (it is included in the result). */
  eosToken: number;
  /** At most this many tokens are drawn (≥ 1). */
  maxLength: number;
  /** The generator of the draws; not needed (and not read) when greedy. */
  rng?: Rng;
  /** true: argmax at every step instead of drawing (default false). */
  greedy?: boolean;
}

export interface SampleSequenceOptions<S> extends SampleStreamOptions {
  step: StepFunction<S>;
  initialState: S;
}

export interface SampledSequence {
  /** The drawn tokens, ending with eosToken unless maxLength was reached first. */
  tokens: number[];
  /** Σ log P(token) under the model's own distribution (τ = 1, no top-k), for reference. */
  logProb: number;
  /** True when the sequence ended with eosToken. */
  finished: boolean;
}

/**
 * The notes' sampling of a novel sequence: draw y⟨t⟩ from the model's distribution, feed it back
 * as the next input, stop at `<EOS>` or after maxLength tokens. `greedy: true` takes the argmax and
 * needs no rng; drawing needs one. The loop is sampleStream's, over the step function.
 */
export function sampleSequence<S>(opts: SampleSequenceOptions<S>): SampledSequence {
  let state = opts.initialState;
  const { step } = opts;
  return drawTokens('sampleSequence', (token) => {
    const out = step(state, token);
    state = out.state;
    return out.logProbs;
  }, opts);
}

/** sampleSequence over a stream that keeps its own state (started where the caller left it). */
export function sampleStream(next: TokenStream, opts: SampleStreamOptions): SampledSequence {
  return drawTokens('sampleStream', next, opts);
}

function drawTokens(op: string, next: TokenStream, opts: SampleStreamOptions): SampledSequence {
  if (!Number.isInteger(opts.maxLength) || opts.maxLength < 1) {
    throw new Error(`${op}: expected maxLength to be an integer ≥ 1, got ${opts.maxLength}`);
  }
  const { rng } = opts;
  if (!opts.greedy && !rng) throw new Error(`${op}: expected an rng to draw with (or greedy: true), got none`);
  let token = opts.startToken;
  let scratch: Float64Array | undefined;
  const tokens: number[] = [];
  let logProb = 0;
  const greedy = opts.greedy === true || (opts.temperature ?? 1) === 0;
  for (let t = 0; t < opts.maxLength; t++) {
    const row = next(token);
    if (!scratch || scratch.length < row.length) scratch = new Float64Array(row.length);
    if (greedy) {
      token = greedyToken(row, opts);
    } else {
      // sampleToken's draw, keeping the sum of the log-softmax below when it is the draw's own
      probabilitiesInto(scratch, row, opts, true);
      token = (rng as Rng).categorical(scratch, row.length);
    }
    // the drawn token's log P (the row may be unnormalised logits), logSoftmaxRow's value
    if (greedy || Number.isNaN(lastPass.allSum)) {
      logSoftmaxRow(scratch, 0, row, 0, row.length);
      logProb += scratch[token];
    } else {
      logProb += (row[token] - lastPass.max) - Math.log(lastPass.allSum);
    }
    tokens.push(token);
    if (token === opts.eosToken) return { tokens, logProb, finished: true };
  }
  return { tokens, logProb, finished: false };
}

// ---- helpers -------------------------------------------------------------------------------

/** No token forbidden: none given, or an empty list (sampleText's when the vocabulary has no <UNK>). */
function forbidsNone(forbid: TokenChoiceOptions['forbid']): boolean {
  return forbid === undefined || (typeof forbid !== 'number' && forbid.length === 0);
}

function isForbidden(i: number, forbid: TokenChoiceOptions['forbid']): boolean {
  if (forbid === undefined) return false;
  if (typeof forbid === 'number') return i === forbid;
  for (let k = 0; k < forbid.length; k++) if (forbid[k] === i) return true;
  return false;
}

function checkRow(op: string, row: ScoreRow): void {
  if (!row || typeof row.length !== 'number' || row.length === 0) {
    throw new Error(`${op}: expected a non-empty row of scores, got ${row ? `length ${row.length}` : String(row)}`);
  }
}

/**
 * The k-th largest score among allowed tokens, by quickselect in `buf` (no allocation).
 * Returns −∞ when fewer than k tokens are allowed (keep them all).
 */
function kthLargestAllowed(buf: Float64Array, row: ScoreRow, k: number, forbid: TokenChoiceOptions['forbid']): number {
  let n = 0;
  for (let i = 0; i < row.length; i++) if (!isForbidden(i, forbid)) buf[n++] = row[i];
  if (n <= k) return -Infinity;
  // Quickselect for index k−1 in descending order (deterministic middle pivot).
  let lo = 0;
  let hi = n - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = buf[(lo + hi) >>> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (buf[i] > pivot) i++;
      while (buf[j] < pivot) j--;
      if (i <= j) {
        const tmp = buf[i];
        buf[i] = buf[j];
        buf[j] = tmp;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return buf[target];
}
