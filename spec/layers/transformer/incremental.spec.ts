/**
 * Incremental decoding with the key/value cache (layers/transformer/incremental.ts) against the
 * teacher-forced forward of the same stack with the causal mask (encoder.ts, decoder.ts), in float64:
 * step t's output row must be the forward's row t to 1e−12, for ragged sources, batch > 1, slots that do
 * not follow the rows, both norm orders, and after a beam reorder of the cache.
 */
import { describe, expect, it } from 'vitest';
import { Matrix } from '../../../engine/matrix.js';
import { Rng } from '../../../engine/rng.js';
import { causalMask } from '../../../layers/attention/multihead.js';
import { DROPOUT_OFF } from '../../../layers/dropout.js';
import { createTransformerDecoder, createTransformerDecoderWorkspace, transformerDecoderForward } from '../../../layers/transformer/decoder.js';
import { createTransformerEncoder, createTransformerEncoderWorkspace, transformerEncoderForward } from '../../../layers/transformer/encoder.js';
import {
  createCrossMemory, createKvCache, createTransformerStepWorkspace, reorderKvCache, transformerStackStep,
} from '../../../layers/transformer/incremental.js';

const E = 8, H = 2, T = 5, B = 3;
const config = (normFirst: boolean) => ({ dModel: E, numHeads: H, dimFeedforward: 12, dropout: 0, normFirst, numLayers: 2, dtype: 'float64' as const });

function random(rows: number, cols: number, rng: Rng): Matrix {
  const m = Matrix.zeros(rows, cols, 'float64');
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniformIn(-1, 1);
  return m;
}

/** Rows t·B + b of x for the given b's, as an [R, E] step input (R ≥ the rows given; the rest stay 0). */
function stepInput(x: Matrix, t: number, batchRows: number[], R: number): Matrix {
  const out = Matrix.zeros(R, E, 'float64');
  batchRows.forEach((b, r) => { for (let c = 0; c < E; c++) out.set(r, c, x.get(t * B + b, c)); });
  return out;
}

function maxDiffRow(a: Matrix, row: number, b: Matrix, bRow: number): number {
  let worst = 0;
  for (let c = 0; c < a.cols; c++) worst = Math.max(worst, Math.abs(a.get(row, c) - b.get(bRow, c)));
  return worst;
}

describe('Transformer key/value cache', () => {
  for (const normFirst of [false, true]) {
    it(`decoder (${normFirst ? 'pre' : 'post'}-norm): each step equals the teacher-forced causal forward's row, ragged memory, slots out of row order`, () => {
      const rng = new Rng(11);
      const decoder = createTransformerDecoder(config(normFirst), { rng });
      const S = 4, lengths = [4, 2, 3]; // memory of B sources, padded to S steps
      const x = random(T * B, E, rng), memory = random(S * B, E, rng);
      const padMask = Matrix.zeros(S, B, 'float64');
      lengths.forEach((len, b) => { for (let s = 0; s < len; s++) padMask.set(s, b, 1); });
      const ws = createTransformerDecoderWorkspace(decoder, T, S, B);
      const expected = Matrix.zeros(T * B, E, 'float64');
      transformerDecoderForward(expected, ws, x, memory, { attnMask: causalMask(T, { dtype: 'float64' }) }, { keyPaddingMask: padMask }, DROPOUT_OFF);

      const R = 4; // one padding row
      const cache = createKvCache(decoder, { slots: 5, maxSteps: T });
      const cross = createCrossMemory(decoder, memory, lengths);
      const step = createTransformerStepWorkspace(decoder, R, T);
      const order = [2, 0, 1]; // row r carries sequence order[r] …
      const where = { n: 3, position: 0, rowSlots: Int32Array.from([4, 1, 3, 4]), rowSources: Int32Array.from([...order, 0]) }; // … in slot rowSlots[r]
      const y = Matrix.zeros(R, E, 'float64');
      for (let t = 0; t < T; t++) {
        where.position = t;
        transformerStackStep(y, step, stepInput(x, t, order, R), cache, where, cross);
        order.forEach((b, r) => expect(maxDiffRow(y, r, expected, t * B + b)).toBeLessThan(1e-12));
      }
    });
  }

  it('causal encoder (a language model): steps equal the causal forward; after a reorder each slot continues its parent', () => {
    const rng = new Rng(12);
    const encoder = createTransformerEncoder({ ...config(false), activation: 'gelu' }, { rng });
    const x = random(T * B, E, rng);
    const ws = createTransformerEncoderWorkspace(encoder, T, B);
    const expected = Matrix.zeros(T * B, E, 'float64');
    transformerEncoderForward(expected, ws, x, { attnMask: causalMask(T, { dtype: 'float64' }) }, DROPOUT_OFF);

    // Sequence b = rows t·B + b of x. Slots 0, 1, 2 start with sequences 0, 1, 2; after step 2 the beam keeps
    // sequence 2 twice (slots 0 and 1 take slot 2's cache) and sequence 0 (slot 2 takes slot 0's).
    const cache = createKvCache(encoder, { slots: B, maxSteps: T });
    const step = createTransformerStepWorkspace(encoder, B, T);
    const where = { n: B, position: 0, rowSlots: Int32Array.from([0, 1, 2]) };
    const y = Matrix.zeros(B, E, 'float64');
    let held = [0, 1, 2];
    for (let t = 0; t < T; t++) {
      where.position = t;
      transformerStackStep(y, step, stepInput(x, t, held, B), cache, where);
      held.forEach((b, slot) => expect(maxDiffRow(y, slot, expected, t * B + b)).toBeLessThan(1e-12));
      if (t === 2) {
        const parents = Int32Array.from([2, 2, 0]);
        reorderKvCache(cache, parents, t + 1);
        held = Array.from(parents, (p) => held[p]);
      }
    }
    expect(held).toEqual([2, 2, 0]);
  });

  it('rejects a position past the cache and a decoder step without its memory', () => {
    const decoder = createTransformerDecoder(config(false), { rng: new Rng(1) });
    const cache = createKvCache(decoder, { slots: 1, maxSteps: 2 });
    const step = createTransformerStepWorkspace(decoder, 1, 2);
    const x = Matrix.zeros(1, E, 'float64'), y = Matrix.zeros(1, E, 'float64');
    const where = { n: 1, position: 0, rowSlots: Int32Array.from([0]), rowSources: Int32Array.from([0]) };
    expect(() => transformerStackStep(y, step, x, cache, where)).toThrow(/needs the cross memory/);
    const cross = createCrossMemory(decoder, Matrix.zeros(2, E, 'float64'), [2]);
    where.position = 2;
    expect(() => transformerStackStep(y, step, x, cache, where, cross)).toThrow(/position in \[0, 2\)/);
  });
});
