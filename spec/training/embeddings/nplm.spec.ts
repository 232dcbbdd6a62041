import { describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/rng.js';
import { createNplm, createNplmWorkspace, evaluateNplm, holdOutDocumentTails, nplmForward, trainNplm } from '../../../training/embeddings/nplm.js';
import { groupSeparation, syntheticSentences } from './synthetic.js';

describe('neural language model (Bengio 2003)', () => {
  it('forward equals a plain-loop computation of −log softmax(U·tanh(H·[e…] + d) + b)[target]', () => {
    const model = createNplm({ vocabSize: 5, contextSize: 2, dim: 3, hidden: 4 }, { rng: new Rng(1), dtype: 'float64' });
    const ws = createNplmWorkspace(model, 2);
    const contexts = [1, 4, 0, 1];
    const targets = [2, 3];
    const E = model.embedding.weight.toArray();
    const H = model.hiddenLayer.params.W.toArray();
    const d = model.hiddenLayer.params.b!.toArray()[0];
    const U = model.outputLayer.params.W.toArray();
    const b = model.outputLayer.params.b!.toArray()[0];
    let expected = 0;
    for (let row = 0; row < 2; row++) {
      const x = [...E[contexts[2 * row]], ...E[contexts[2 * row + 1]]];
      const a = H.map((h, k) => Math.tanh(h.reduce((s, w, j) => s + w * x[j], d[k])));
      const z = U.map((u, v) => u.reduce((s, w, k) => s + w * a[k], b[v]));
      const logZ = Math.log(z.reduce((s, v) => s + Math.exp(v), 0));
      expected += logZ - z[targets[row]];
    }
    expect(nplmForward(ws, model, contexts, targets)).toBeCloseTo(expected, 12);
  });

  it('learns a deterministic sequence: perplexity falls from ≈ V to ≈ 1', () => {
    // "a b c d e f" repeated: the previous two words determine the next
    const words = ['a', 'b', 'c', 'd', 'e', 'f'];
    const doc = Array.from({ length: 600 }, (_, i) => words[i % 6]);
    const r = trainNplm([doc], { contextSize: 2, dim: 8, hidden: 16, epochs: 10, lr: 0.5, batchSize: 16, seed: 1 });
    expect(r.epochLosses[0]).toBeGreaterThan(r.epochLosses[r.epochLosses.length - 1]); // it starts near log 7 (6 words + <UNK>)
    expect(Math.exp(r.epochLosses[r.epochLosses.length - 1])).toBeLessThan(1.2);
  });

  it('scores held-out text: an untrained model is near the uniform perplexity V; after training the validation perplexity of the cycle is ≈ 1', () => {
    const words = ['a', 'b', 'c', 'd', 'e', 'f'];
    const doc = Array.from({ length: 700 }, (_, i) => words[i % 6]);
    const [train, validation] = holdOutDocumentTails([doc], 1 / 7);
    expect(train[0]).toHaveLength(600);
    expect(validation[0]).toHaveLength(100);
    expect(validation[0].slice(0, 3)).toEqual(['a', 'b', 'c']); // position 600 = 6·100
    const epochs: number[] = [];
    const r = trainNplm(train, { contextSize: 2, dim: 8, hidden: 16, epochs: 10, lr: 0.5, batchSize: 16, seed: 1, validation, onEpoch: (e) => epochs.push(e.validation!.perplexity) });
    expect(r.validation).toHaveLength(10);
    expect(r.validation.map((v) => v.perplexity)).toEqual(epochs);
    expect(r.validation[9].words).toBe(98); // 100 words, the first 2 only as context
    expect(r.validation[9].perplexity).toBeLessThan(1.2);
    // Untrained: E, H, U small ⇒ logits ≈ 0 ⇒ perplexity ≈ V = 7 (6 words + <UNK>); unknown words count as <UNK>.
    const fresh = createNplm({ vocabSize: r.vocab.size, contextSize: 2, dim: 8, hidden: 16 }, { rng: new Rng(2) });
    const score = evaluateNplm(fresh, r.vocab, [['a', 'b', 'zebra', 'c']]);
    expect(score.words).toBe(2);
    expect(Math.abs(score.perplexity - 7)).toBeLessThan(0.5);
    expect(score.perplexity).toBeCloseTo(Math.exp(score.loss), 12);
  });

  it('its embedding matrix puts words that share contexts closer', () => {
    const r = trainNplm(syntheticSentences(6, 500), { contextSize: 2, dim: 8, hidden: 16, epochs: 8, lr: 0.1, batchSize: 16, seed: 6 });
    const { gap, nearestInGroup } = groupSeparation(r.vocab.tokens, r.model.embedding.weight);
    expect(nearestInGroup).toBe(8);
    expect(gap).toBeGreaterThan(0.2);
  });

  it('rejects a batch that does not match the workspace', () => {
    const model = createNplm({ vocabSize: 5, contextSize: 2 }, { rng: new Rng(1) });
    const ws = createNplmWorkspace(model, 2);
    expect(() => nplmForward(ws, model, [1, 2, 3], [0, 1])).toThrow(/nplmForward: expected B·n = 2·2 = 4 context ids, got 3/);
    expect(() => nplmForward(ws, model, [1, 2, 3, 4, 0, 0], [0, 1, 2])).toThrow(/expected 1 … 2 targets/);
  });
});
