/**
 * `seqgrad sample` draws through the language model's token sampler (training/lm/token-sampler.ts)
 * and prints the sequences the generic step gives (sampleSequence over createLmStepper) for the same
 * seed: sampled at two temperatures and greedy, on the default (wasm) backend.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../engine/backend.js';
import { Rng } from '../../engine/rng.js';
import { initWasmBackend } from '../../engine/wasm/index.js';
import { sampleSequence } from '../../training/decode/sampling.js';
import { createLanguageModel, lmParameters, type LanguageModel } from '../../training/lm/model.js';
import { loadLanguageModel, saveLanguageModel } from '../../training/lm/model-file.js';
import { createLmStepper } from '../../training/lm/use.js';
import { EOS, UNK, Vocabulary } from '../../training/text/vocab.js';
import { runSeqgrad } from './helpers.js';

let dir: string;
let file: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-sample-fast-'));
  file = path.join(dir, 'lm.json');
  setBackend((await initWasmBackend()).name);
  const chars = [EOS, UNK, ...'abcdefgh'];
  const model = createLanguageModel({ level: 'char', cell: 'lstm', hidden: 16, seed: 5, vocab: new Vocabulary(chars, chars.map(() => 1)) });
  const rng = new Rng(8);
  for (const p of Object.values(lmParameters(model))) for (let i = 0; i < p.data.length; i++) p.data[i] = rng.uniformIn(-1.2, 1.2);
  saveLanguageModel(file, model);
});
afterAll(() => {
  setBackend('js');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The generic path's n texts (no <UNK>, stopping at <EOS>, at most 50 characters: the CLI's defaults). */
function genericTexts(model: LanguageModel, n: number, seed: number, temperature: number, greedy = false): string[] {
  const stepper = createLmStepper(model);
  const eos = model.vocab.id(EOS);
  const rng = new Rng(seed);
  const state = stepper.initialState();
  return Array.from({ length: n }, () => {
    const { tokens } = sampleSequence({
      step: stepper.step, initialState: state, startToken: eos, eosToken: eos, maxLength: 50, rng, greedy, temperature,
      forbid: [model.vocab.id(UNK)],
    });
    return model.vocab.decode(tokens).filter((t) => t !== EOS).join('');
  });
}

describe('seqgrad sample on the token sampler', () => {
  it('prints the generic path\'s sequences for the seed (τ 1 and 0.7) and its greedy one', async () => {
    const [t1, t07, greedy] = await Promise.all([
      runSeqgrad(['sample', '--model', file, '--n', '6', '--seed', '3', '--json']),
      runSeqgrad(['sample', '--model', file, '--n', '6', '--seed', '4', '--temperature', '0.7', '--json']),
      runSeqgrad(['sample', '--model', file, '--greedy', '--json']),
    ]);
    for (const run of [t1, t07, greedy]) expect(run.code, run.stderr).toBe(0);
    const texts = (run: { stdout: string }) => JSON.parse(run.stdout).sequences.map((s: { text: string }) => s.text);
    const model = loadLanguageModel(file);
    expect(texts(t1)).toEqual(genericTexts(model, 6, 3, 1));
    expect(texts(t07)).toEqual(genericTexts(model, 6, 4, 0.7));
    expect(texts(greedy)).toEqual(genericTexts(model, 1, 0, 1, true));
    expect(new Set(texts(t1)).size).toBeGreaterThan(1); // draws, not one repeated text
  }, 60_000);
});
