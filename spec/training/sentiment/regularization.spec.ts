/** The LSTM sentiment model with dropout and layer normalisation: same bits when absent, saved, off at evaluation. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/rng.js';
import { averageModelFactory } from '../../../training/classify/sentence-classifier.js';
import { type LstmSentimentModel, lstmModelFactory } from '../../../training/sentiment/lstm.js';
import { buildSentimentVocabulary, predictSentiment, trainSentiment, type SentimentExample } from '../../../training/sentiment/sentiment.js';

const texts = ['good food', 'bad food', 'not good', 'not bad', 'great place', 'awful place', 'good but bad', 'bad but good'];
const train: SentimentExample[] = texts.map((text, i) => ({ text, label: i % 2 === 0 ? 1 : 0, source: 'toy' }));
const vocab = buildSentimentVocabulary(train);

function trained(extra: { dropout?: number; dropoutMode?: 'between' | 'variational'; layerNorm?: boolean }): { model: LstmSentimentModel; rng: Rng } {
  const model = lstmModelFactory.create(vocab, ['neg', 'pos'], new Rng(1), { dim: 4, hidden: 5, layers: 2, dtype: 'float64', ...extra }) as LstmSentimentModel;
  const rng = new Rng(2);
  trainSentiment(model, train, { epochs: 3, batchSize: 4, optimizer: { kind: 'adam', lr: 0.02 }, rng });
  return { model, rng };
}

const weights = (m: LstmSentimentModel): number[][] => Object.values(m.params()).map((p) => Array.from(p.data));

describe('sentiment LSTM dropout and layer normalisation', () => {
  it('absent or p = 0: the same bits, the same generator state and no `rnn` entry in the file', () => {
    const a = trained({}), b = trained({ dropout: 0, layerNorm: false });
    expect(weights(b.model)).toEqual(weights(a.model));
    expect(b.rng.getState()).toEqual(a.rng.getState());
    expect(a.model.toJSON()).not.toHaveProperty('rnn');
  });

  it('dropout draws from the training generator and changes the weights; evaluation has none; the file keeps it', () => {
    const plain = trained({});
    const { model, rng } = trained({ dropout: 0.4, dropoutMode: 'variational', layerNorm: true });
    expect(rng.getState()).not.toEqual(plain.rng.getState());
    expect(weights(model)).not.toEqual(weights(plain.model));
    const first = predictSentiment(model, texts), again = predictSentiment(model, texts);
    expect(again).toEqual(first); // no masks at evaluation: deterministic
    const json = JSON.parse(JSON.stringify(model.toJSON()));
    expect(json.rnn).toEqual({ dropout: 0.4, dropoutMode: 'variational', layerNorm: true });
    const back = lstmModelFactory.fromJSON(json) as LstmSentimentModel;
    expect(back.regularization).toEqual(json.rnn);
    expect(weights(back)).toEqual(weights(model));
  });

  it('the average model refuses recurrent options', () => {
    expect(() => averageModelFactory.create(vocab, ['neg', 'pos'], new Rng(1), { dim: 3, dropout: 0.2 })).toThrow(/average model has no recurrent layers/);
  });
});
