import { describe, expect, it } from 'vitest';
import { Matrix } from '../../../engine/matrix.js';
import { Rng } from '../../../engine/rng.js';
import { sourceMaskFromLengths } from '../../../layers/attention/attention.js';
import { causalMask } from '../../../layers/attention/multihead.js';
import { DROPOUT_OFF } from '../../../layers/dropout.js';
import { createTransformerDecoderWorkspace, createTransformerDecoder, transformerDecoderForward } from '../../../layers/transformer/decoder.js';
import { createTransformerEncoderWorkspace, createTransformerEncoder, transformerEncoderForward } from '../../../layers/transformer/encoder.js';

function random(rng: Rng, rows: number, cols: number): Matrix {
  const m = Matrix.zeros(rows, cols, 'float64');
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  return m;
}

/** Rows t·B + b of a time-major matrix for t < steps. */
function rowsOf(m: Matrix, b: number, batch: number, steps: number): number[][] {
  return Array.from({ length: steps }, (_, t) => m.toArray()[t * batch + b]);
}

describe('Transformer masks (behaviour, both norm orders)', () => {
  for (const normFirst of [false, true]) {
    it(`${normFirst ? 'pre' : 'post'}-norm encoder: a padded step changes no real step; without the mask it does`, () => {
      const T = 5, B = 2, E = 8, rng = new Rng(3);
      const encoder = createTransformerEncoder({
        dModel: E, numHeads: 2, dimFeedforward: 16, numLayers: 2, normFirst,
      }, { rng, dtype: 'float64' });
      const ws = createTransformerEncoderWorkspace(encoder, T, B);
      const x = random(rng, T * B, E);
      const masks = { keyPaddingMask: sourceMaskFromLengths([5, 3], T, 'float64') };
      const before = transformerEncoderForward(Matrix.zeros(T * B, E, 'float64'), ws, x, masks, DROPOUT_OFF).clone();
      for (let c = 0; c < E; c++) x.set(4 * B + 1, c, x.get(4 * B + 1, c) + 3); // step 4 of row 1 is padding
      const after = transformerEncoderForward(Matrix.zeros(T * B, E, 'float64'), ws, x, masks, DROPOUT_OFF);
      expect(rowsOf(after, 1, B, 3)).toEqual(rowsOf(before, 1, B, 3));
      expect(rowsOf(after, 0, B, 5)).toEqual(rowsOf(before, 0, B, 5)); // other sequences are independent
      const unmasked = transformerEncoderForward(Matrix.zeros(T * B, E, 'float64'), ws, x, {}, DROPOUT_OFF);
      expect(rowsOf(unmasked, 1, B, 3)).not.toEqual(rowsOf(after, 1, B, 3));
    });

    it(`${normFirst ? 'pre' : 'post'}-norm decoder: causal — step t depends on no later target step, padded memory is ignored`, () => {
      const T = 4, S = 3, B = 2, E = 6, rng = new Rng(5);
      const decoder = createTransformerDecoder({
        dModel: E, numHeads: 3, dimFeedforward: 12, numLayers: 2, normFirst, activation: 'gelu',
      }, { rng, dtype: 'float64' });
      const ws = createTransformerDecoderWorkspace(decoder, T, S, B);
      const x = random(rng, T * B, E);
      const memory = random(rng, S * B, E);
      const tgt = { attnMask: causalMask(T, { dtype: 'float64' }) };
      const mem = { keyPaddingMask: sourceMaskFromLengths([3, 2], S, 'float64') };
      const run = (): Matrix => transformerDecoderForward(Matrix.zeros(T * B, E, 'float64'), ws, x, memory, tgt, mem, DROPOUT_OFF).clone();
      const before = run();
      for (let c = 0; c < E; c++) x.set(2 * B, c, x.get(2 * B, c) - 2); // target step 2 of row 0
      for (let c = 0; c < E; c++) memory.set(2 * B + 1, c, 5); // memory step 2 of row 1 is padding
      const after = run();
      expect(rowsOf(after, 0, B, 2)).toEqual(rowsOf(before, 0, B, 2));
      expect(rowsOf(after, 0, B, 3)[2]).not.toEqual(rowsOf(before, 0, B, 3)[2]);
      expect(rowsOf(after, 1, B, 4)).toEqual(rowsOf(before, 1, B, 4));
    });
  }
});
