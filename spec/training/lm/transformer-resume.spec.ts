/** Transformer LM checkpoints: K steps + checkpoint + resume + (N − K) steps = N steps straight, bit for bit. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../training/core/errors.js';
import { prepareLmCorpus } from '../../../training/lm/train.js';
import { createTransformerLanguageModel, transformerLmParameters } from '../../../training/lm/transformer-model.js';
import {
  TransformerLmTrainer, readTransformerLmCheckpoint, resumeTransformerLmTrainer,
} from '../../../training/lm/transformer-train.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-tlm-resume-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const text = Array.from({ length: 60 }, (_, i) => 'abcdefghij'.slice(i % 4, 6 + (i % 5))).join('\n');
const data = () => prepareLmCorpus(text, { level: 'char', valFraction: 0.2 });

function trainer(): TransformerLmTrainer {
  const d = data();
  const model = createTransformerLanguageModel({ dModel: 8, numHeads: 2, layers: 1, dimFeedforward: 16, dropout: 0.2, maxLength: 8, seed: 5, vocab: d.vocab });
  return new TransformerLmTrainer(model, d, { seqLen: 8, batch: 4, optimizer: { kind: 'adam', lr: 0.01 }, clip: { mode: 'norm', max: 1 } });
}

function bits(t: TransformerLmTrainer): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, p] of Object.entries(transformerLmParameters(t.model).params)) out[name] = Array.from(p.data);
  for (const [name, slots] of Object.entries(t.optimizer.slots)) {
    for (const [slot, m] of Object.entries(slots)) out[`${name}.${slot}`] = Array.from(m.data);
  }
  return out;
}

describe('Transformer LM checkpoints', () => {
  it('resume bit-identically (dropout masks from the saved generator), across an epoch boundary', () => {
    const straight = trainer();
    const N = straight.stepsPerEpoch + 3, K = straight.stepsPerEpoch - 2;
    straight.run({ maxSteps: N, evalEvery: 3 });
    const file = path.join(dir, 'ck.json');
    trainer().run({ maxSteps: K, evalEvery: 3, checkpointPath: file, corpus: { file: 'x.txt' } });
    const checkpoint = readTransformerLmCheckpoint(file);
    expect(checkpoint.state.step).toBe(K);
    const resumed = resumeTransformerLmTrainer(checkpoint, data());
    expect(resumed.corpus).toEqual({ file: 'x.txt' });
    resumed.run({ maxSteps: N, evalEvery: 3 });
    expect(bits(resumed)).toEqual(bits(straight));
    expect(resumed.lossHistory).toEqual(straight.lossHistory);
    expect(resumed.rng.getState()).toEqual(straight.rng.getState());
    const at = (t: TransformerLmTrainer): number[][] => t.evaluations.filter((e) => e.step !== K).map((e) => [e.step, e.loss]);
    expect(at(resumed)).toEqual(at(straight));
  });

  it('refuse other data and a malformed file, naming them', () => {
    const file = path.join(dir, 'ck2.json');
    trainer().run({ maxSteps: 2, evalEvery: 100, checkpointPath: file });
    const other = prepareLmCorpus(`${text}\nxyz`, { level: 'char', valFraction: 0.2, vocab: readTransformerLmCheckpoint(file).model.vocab });
    expect(() => resumeTransformerLmTrainer(readTransformerLmCheckpoint(file), other)).toThrow(/checkpoint was made on other data/);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ kind: 'seqgrad.lm-checkpoint', version: 1 }));
    expect(() => readTransformerLmCheckpoint(bad)).toThrow(InputError);
    expect(() => readTransformerLmCheckpoint(bad)).toThrow(/expected kind "seqgrad.transformer-lm-checkpoint"/);
  });
});
