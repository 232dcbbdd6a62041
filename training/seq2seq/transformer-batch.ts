/**
 * The batches of the Transformer encoder-decoder: model.ts's Seq2SeqBatch (time-major, right-padded,
 * <SOS>/<EOS> added, masks) padded further to T_x′ and T_y′ steps, so a run holds few workspace shapes
 * (see transformer-train.ts): lengths rounded up to a quantum times a power of two, capped by maxLength.
 * A share of a data-parallel step (transformer-parallel.ts) is padded to its whole batch's shape.
 */
import { Matrix } from '../../engine/matrix.js';
import { makeSeq2SeqBatch, type Seq2SeqBatch, type Seq2SeqExample } from './model.js';
import { batchView, type TransformerSeq2SeqModel } from './transformer-model.js';

/** `batch` padded to T_x′ ≥ T_x and T_y′ ≥ T_y steps (time-major: the new steps are appended, all padding). */
export function padSeq2SeqBatch(batch: Seq2SeqBatch, srcSteps: number, tgtSteps: number, srcPad: number, tgtPad: number): Seq2SeqBatch {
  if (srcSteps < batch.srcSteps || tgtSteps < batch.tgtSteps || !batch.srcMask) {
    throw new Error(`padSeq2SeqBatch: expected T_x ≥ ${batch.srcSteps} and T_y ≥ ${batch.tgtSteps} for an encoder-decoder batch, got ${srcSteps} and ${tgtSteps}`);
  }
  const B = batch.batch;
  const extend = (ids: Int32Array, steps: number, pad: number): Int32Array => {
    const out = new Int32Array(steps * B).fill(pad);
    out.set(ids);
    return out;
  };
  const extendMask = (mask: Matrix, steps: number): Matrix => {
    const out = Matrix.zeros(steps, B, mask.dtype);
    for (let t = 0; t < mask.rows; t++) for (let b = 0; b < B; b++) out.set(t, b, mask.get(t, b));
    return out;
  };
  return {
    ...batch, srcSteps, tgtSteps,
    srcIds: extend(batch.srcIds, srcSteps, srcPad), srcMask: extendMask(batch.srcMask, srcSteps),
    tgtIn: extend(batch.tgtIn, tgtSteps, tgtPad), tgtOut: extend(batch.tgtOut, tgtSteps, tgtPad), tgtMask: extendMask(batch.tgtMask, tgtSteps),
  };
}

/** n rounded up to `quantum` times a power of two (quantum, 2·quantum, 4·quantum, …), at most `max`. */
export function paddedSteps(n: number, quantum: number, max: number): number {
  let steps = quantum;
  while (steps < n) steps *= 2;
  return Math.min(steps, max);
}

/**
 * The batch of these examples padded to `shape` (T_x′, T_y′), or with a quantum (a number) to their
 * lengths rounded by paddedSteps.
 */
export function transformerSeq2SeqBatch(
  model: TransformerSeq2SeqModel, examples: readonly Seq2SeqExample[], shape: number | { srcSteps: number; tgtSteps: number },
): Seq2SeqBatch {
  const batch = makeSeq2SeqBatch(batchView(model), examples);
  const max = model.config.maxLength;
  const { srcSteps, tgtSteps } = typeof shape === 'number'
    ? { srcSteps: paddedSteps(batch.srcSteps, shape, max), tgtSteps: paddedSteps(batch.tgtSteps, shape, max) }
    : shape;
  return padSeq2SeqBatch(batch, srcSteps, tgtSteps, model.sourceVocab.id('<PAD>'), model.ids.pad);
}
