/**
 * `--max-eval-tokens` (issue 12): validation reads at most DEFAULT_MAX_EVAL_TOKENS tokens unless
 * told otherwise (0 = the whole split), so a very large corpus's split does not dominate the run;
 * the summary says how many were read and under which cap.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { trainCommand } from '../../../cli/commands/train.js';
import { createLanguageModel } from '../../../training/lm/model.js';
import { createLmTrainer, DEFAULT_MAX_EVAL_TOKENS, prepareLmCorpus } from '../../../training/lm/train.js';

describe('validation token cap', () => {
  it('the default caps a split larger than it; 0 reads the whole split; an explicit cap is kept', () => {
    // 600,000 characters, half held out: a 300,000-token validation split (above the default cap).
    const corpus = prepareLmCorpus('abcdefghi\n'.repeat(60_000), { level: 'char', valFraction: 0.5 });
    expect(corpus.validation.length).toBeGreaterThan(DEFAULT_MAX_EVAL_TOKENS + 50_000);
    const model = createLanguageModel({ level: 'char', cell: 'rnn', hidden: 2, embeddingDim: 2, seed: 1, vocab: corpus.vocab });
    const trainer = createLmTrainer(model, corpus, { seqLen: 50, batch: 100, optimizer: { kind: 'sgd', lr: 0.1 }, clip: null });
    const tokensRead = (maxEvalTokens?: number): number => {
      const result = trainer.run({ maxSteps: trainer.position.step + 1, ...(maxEvalTokens === undefined ? {} : { maxEvalTokens }) });
      return (result.lastEvaluation as { tokens: number }).tokens;
    };
    // B = 100 streams of ⌊cap/B⌋ + 1 tokens each, one fewer prediction than tokens per stream.
    expect(tokensRead()).toBe(DEFAULT_MAX_EVAL_TOKENS);
    const B = 100, L = Math.floor(corpus.validation.length / B);
    expect(tokensRead(0)).toBe(B * (L - 1));
    expect(tokensRead(5_000)).toBe(5_000);
  }, 60_000);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-evalcap-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function train(extra: string[]): Promise<string> {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await trainCommand.run(['--data', path.join(dir, 'c.txt'), '--steps', '2', '--hidden', '4', '--backend', 'js', '--out', path.join(dir, 'm.json'), ...extra]);
    } finally {
      vi.restoreAllMocks();
    }
    return lines.join('\n');
  }

  it('the help states the default and the summary reports the cap used', async () => {
    fs.writeFileSync(path.join(dir, 'c.txt'), 'hello world\n'.repeat(200));
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      await trainCommand.run(['--help']);
    } finally {
      vi.restoreAllMocks();
    }
    expect(lines.join('\n')).toMatch(new RegExp(`--max-eval-tokens[^\\n]*default ${DEFAULT_MAX_EVAL_TOKENS}; 0 = the whole validation split`));
    expect(await train([])).toMatch(new RegExp(`\\(\\d+ of 240 tokens; --max-eval-tokens ${DEFAULT_MAX_EVAL_TOKENS}\\)`));
    expect(await train(['--max-eval-tokens', '0'])).toMatch(/\(\d+ of 240 tokens; --max-eval-tokens all\)/);
    const json = JSON.parse(await train(['--max-eval-tokens', '7', '--json']));
    expect(json.validation).toMatchObject({ maxEvalTokens: 7 });
  }, 60_000);
});
