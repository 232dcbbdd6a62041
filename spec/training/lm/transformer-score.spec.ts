/** `score` for the Transformer LM: the chain rule over its causal forward pass. */
import { describe, expect, it } from 'vitest';
import { logSoftmax } from '../../../engine/softmax.js';
import { Matrix } from '../../../engine/matrix.js';
import { DROPOUT_OFF } from '../../../layers/dropout.js';
import { prepareLmCorpus } from '../../../training/lm/train.js';
import { createTransformerLanguageModel, createTransformerLmWorkspace, transformerLmForward } from '../../../training/lm/transformer-model.js';
import { sentenceLogProb } from '../../../training/lm/use.js';
import { EOS } from '../../../training/text/vocab.js';

const data = prepareLmCorpus(Array.from({ length: 30 }, () => 'abcdefg').join('\n'), { level: 'char', valFraction: 0.2 });

describe('sentenceLogProb on the Transformer LM', () => {
  it('equals the log-softmax of one causal forward pass over [<EOS>, y⟨1⟩ … y⟨T−1⟩] read at y⟨1⟩ … y⟨T⟩', () => {
    const model = createTransformerLanguageModel({ dModel: 8, numHeads: 2, layers: 2, maxLength: 12, seed: 3, dtype: 'float64', vocab: data.vocab });
    const score = sentenceLogProb(model, 'cafe');
    expect(score.tokens).toEqual(['c', 'a', 'f', 'e', EOS]);
    const targets = score.tokens.map((t) => model.vocab.id(t));
    const inputs = [model.vocab.id(EOS), ...targets.slice(0, -1)];
    const ws = createTransformerLmWorkspace(model, inputs.length, 1);
    ws.inputIds.set(inputs);
    const logits = transformerLmForward(model, ws, DROPOUT_OFF);
    const logp = logSoftmax(Matrix.zeros(logits.rows, logits.cols, 'float64'), logits);
    targets.forEach((y, t) => expect(score.tokenLogProbs[t]).toBeCloseTo(logp.get(t, y), 12));
    expect(score.logProb).toBeCloseTo(score.tokenLogProbs.reduce((s, v) => s + v, 0), 12);
    expect(score.bits).toBeCloseTo(-score.logProb / Math.LN2, 12);
  });

  it('scores a sentence longer than the context (the window slides, as in sampling)', () => {
    const model = createTransformerLanguageModel({ dModel: 8, numHeads: 2, layers: 1, maxLength: 4, seed: 3, vocab: data.vocab });
    const score = sentenceLogProb(model, 'abcdefgab');
    expect(score.tokenLogProbs).toHaveLength(10);
    for (const v of score.tokenLogProbs) expect(v).toBeLessThan(0);
  });
});
