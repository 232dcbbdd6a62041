/**
 * A step function (sampling.ts, beam.ts) over a model that decodes incrementally: it keeps ONE sequence
 * in a cache (a Transformer's keys and values) and feeds one token per call, instead of re-running the
 * whole prefix. States are the immutable token lists fed so far, as for the prefix-recomputing step
 * functions, so the two are interchangeable:
 *   - step(state, token) with the state the previous call returned (sampling, greedy decoding, scoring a
 *     sequence): the token is fed at once, one position of work;
 *   - any other state (beam search switching hypotheses): the cache is reset and the state's tokens are
 *     fed again first (correct, as slow as recomputation; beamSearchBatch over a batched cache avoids it);
 *   - a state longer than the cache holds goes to `beyond` (a language model's sliding window).
 */
import type { StepFunction } from './sampling.js';

export interface IncrementalDecoder {
  /** The most positions the cache holds. */
  readonly capacity: number;
  /** Forget every position. */
  reset(): void;
  /**
   * Feed `token` at `position` (the number of tokens fed since the reset) and return
   * log P(next token | every token fed), a row the next call overwrites.
   */
  feed(token: number, position: number): Float64Array;
}

export type TokenState = readonly number[];

/** The step function over `decoder` (see the file comment); `beyond` serves states past its capacity. */
export function incrementalStepFunction(decoder: IncrementalDecoder, beyond?: StepFunction<TokenState>): StepFunction<TokenState> {
  let held: TokenState | null = null;
  return (state, token) => {
    const next = [...state, token];
    if (next.length > decoder.capacity) {
      held = null;
      if (!beyond) throw new Error(`incremental decoding: expected at most ${decoder.capacity} tokens (the cache's capacity), got ${next.length}`);
      return beyond(state, token);
    }
    if (state !== held) {
      decoder.reset();
      for (let t = 0; t < state.length; t++) decoder.feed(state[t], t);
    }
    const logProbs = decoder.feed(token, state.length);
    held = next;
    return { logProbs, state: next };
  };
}
