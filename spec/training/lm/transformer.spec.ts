import { describe, expect, it } from 'vitest';
import { Matrix } from '../../../engine/matrix.js';
import { logSoftmax } from '../../../engine/softmax.js';
import { DROPOUT_OFF } from '../../../layers/dropout.js';
import { beamText, greedyText } from '../../../training/lm/use.js';
import { prepareLmCorpus } from '../../../training/lm/train.js';
import {
  createTransformerLanguageModel, createTransformerLmStepper, createTransformerLmWorkspace, transformerLmForward, transformerLmFromJSON, transformerLmToJSON,
} from '../../../training/lm/transformer-model.js';
import { TransformerLmTrainer } from '../../../training/lm/transformer-train.js';

// A periodic corpus: every character is determined by the one before it, so a model that learns
// must approach 0 bits per character (from log2 V ≈ 3.3 untrained).
const periodic = Array.from({ length: 40 }, () => 'abcdefghi').join('');
const data = () => prepareLmCorpus(periodic, { level: 'char', valFraction: 0.2 });

function trainer(seed: number, dropout = 0.1): TransformerLmTrainer {
  const d = data();
  const model = createTransformerLanguageModel({ dModel: 16, numHeads: 2, layers: 1, dimFeedforward: 32, dropout, maxLength: 16, seed, vocab: d.vocab });
  return new TransformerLmTrainer(model, d, { seqLen: 16, batch: 4, optimizer: { kind: 'adam', lr: 0.01 }, clip: { mode: 'norm', max: 1 } });
}

describe('causal Transformer language model', () => {
  it('learns a periodic text: validation falls from ~log2 V to under 0.3 bits/char', () => {
    const t = trainer(1);
    const before = t.evaluate()!;
    expect(before.bitsPerToken).toBeGreaterThan(2);
    const result = t.run({ maxSteps: 60, evalEvery: 60 });
    expect(result.stopReason).toBe('max-steps');
    expect(result.lastEvaluation!.bitsPerToken).toBeLessThan(0.3);
    // …and continues the period from a prefix (greedy and beam through the shared generation code)
    expect(greedyText(t.model, { prefix: 'bcd', maxLength: 7, forbidUnk: true }).text).toBe('efghiab');
    expect(beamText(t.model, { prefix: 'fg', maxLength: 4, beamWidth: 3 })[0].text).toBe('hiab');
  });

  it('the step function gives the log-probabilities of a full causal forward pass at every position', () => {
    const d = data();
    const model = createTransformerLanguageModel({ dModel: 8, numHeads: 2, layers: 2, maxLength: 8, seed: 4, dtype: 'float64', vocab: d.vocab });
    const ids = [2, 5, 3, 3, 7];
    const ws = createTransformerLmWorkspace(model, ids.length, 1);
    ws.inputIds.set(ids);
    const logits = transformerLmForward(model, ws, DROPOUT_OFF);
    const logProbs = logSoftmax(Matrix.zeros(logits.rows, logits.cols, 'float64'), logits).toArray();
    const stepper = createTransformerLmStepper(model);
    let state = stepper.initialState();
    ids.forEach((id, t) => {
      const out = stepper.step(state, id);
      Array.from(out.logProbs).forEach((v, j) => expect(Math.abs(v - logProbs[t][j])).toBeLessThan(1e-12));
      state = out.state;
    });
  });

  it('is causal: the logits of step t ignore every later input', () => {
    const d = data();
    const model = createTransformerLanguageModel({ dModel: 8, numHeads: 2, layers: 2, maxLength: 6, seed: 2, normFirst: true, vocab: d.vocab });
    const ws = createTransformerLmWorkspace(model, 6, 2);
    ws.inputIds.set([2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]);
    const before = transformerLmForward(model, ws, DROPOUT_OFF).toArray();
    ws.inputIds[4 * 2 + 1] = 2; // step 4 of stream 1
    const after = transformerLmForward(model, ws, DROPOUT_OFF).toArray();
    for (let r = 0; r < 8; r++) expect(after[r]).toEqual(before[r]); // steps 0-3
    expect(after[9]).not.toEqual(before[9]);
  });

  it('the same seed gives the same run (dropout masks from the seeded Rng); another seed does not', () => {
    const a = trainer(5).run({ maxSteps: 3 }).lossHistory;
    expect(trainer(5).run({ maxSteps: 3 }).lossHistory).toEqual(a);
    expect(trainer(6).run({ maxSteps: 3 }).lossHistory).not.toEqual(a);
  });

  it('the model file round-trips exactly and names a wrong kind', () => {
    const t = trainer(3);
    t.run({ maxSteps: 2 });
    const json = JSON.parse(JSON.stringify(transformerLmToJSON(t.model)));
    const back = transformerLmFromJSON(json);
    const ws1 = createTransformerLmWorkspace(t.model, 5, 1), ws2 = createTransformerLmWorkspace(back, 5, 1);
    ws1.inputIds.set([2, 3, 4, 5, 6]);
    ws2.inputIds.set([2, 3, 4, 5, 6]);
    expect(transformerLmForward(back, ws2, DROPOUT_OFF).toArray()).toEqual(transformerLmForward(t.model, ws1, DROPOUT_OFF).toArray());
    expect(() => transformerLmFromJSON({ ...json, kind: 'seqgrad.language-model' }, 'model file m.json')).toThrow(
      'model file m.json: expected kind "seqgrad.transformer-language-model", got "seqgrad.language-model"',
    );
  });

  it('rejects a context longer than the model’s maxLength naming the op', () => {
    const d = data();
    const model = createTransformerLanguageModel({ dModel: 8, numHeads: 2, layers: 1, maxLength: 4, vocab: d.vocab });
    expect(() => new TransformerLmTrainer(model, d, { seqLen: 8, batch: 2, optimizer: { kind: 'adam', lr: 0.01 }, clip: null })).toThrow(
      "TransformerLmTrainer: expected seq-len ≤ the model's context 4, got 8",
    );
  });
});
