/**
 * State_dicts written by real PyTorch (spec/fixtures/gen_torch_safetensors.py) as safetensors,
 * imported with the config a user would pass (`seqgrad import --config`): the logits must match
 * PyTorch's to ≤ 1e−6 in float32.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSequenceNet, parseNetDescription, sequenceNetLogits } from '../../../training/io/sequence-net.js';

interface FixtureCase {
  name: string;
  file: string;
  storedDtype: string;
  config: unknown;
  T: number;
  B: number;
  ids: number[];
  logits: number[][];
}

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');
const { cases } = JSON.parse(fs.readFileSync(path.join(fixtures, 'torch-safetensors.json'), 'utf8')) as { cases: FixtureCase[] };

describe('PyTorch state_dicts as safetensors → seqgrad', () => {
  it('covers RNN tanh/relu, GRU, LSTM, 2 layers, bidirectional, one-hot, last-step readout, F16 and BF16 files', () => {
    expect(cases.map((c) => c.name)).toEqual([
      'rnn-tanh', 'rnn-relu', 'gru', 'lstm', 'lstm-2layer', 'gru-2layer-onehot', 'rnn-tanh-bidirectional',
      'gru-bidirectional-2layer', 'lstm-bidirectional-2layer', 'lstm-bidirectional-last-step', 'gru-f16', 'lstm-bf16',
      'lstm-language-model',
    ]);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: logits match PyTorch to 1e-6', (_name, c) => {
    const description = parseNetDescription(c.config, `fixture ${c.name}`);
    const { net } = loadSequenceNet(path.join(fixtures, 'torch-safetensors', c.file), description);
    const logits = sequenceNetLogits(net, c.ids, c.T, c.B);
    const expected = c.logits;
    expect([logits.rows, logits.cols]).toEqual([expected.length, expected[0].length]);
    let worst = 0;
    for (let r = 0; r < logits.rows; r++) for (let k = 0; k < logits.cols; k++) worst = Math.max(worst, Math.abs(logits.get(r, k) - expected[r][k]));
    expect(worst).toBeLessThanOrEqual(1e-6);
  });
});
