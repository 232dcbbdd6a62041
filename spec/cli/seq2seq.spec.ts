import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../cli/args.js';
import { seq2seqCommand } from '../../cli/commands/seq2seq.js';
import { parsePairsTsv } from '../../training/seq2seq/tasks.js';
import { toIsoDate } from '../../training/seq2seq/dates.js';
import { runSeqgrad, type CliRun } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-seq2seq-cli-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function seqgrad(args: string[], stdin?: string): Promise<CliRun> {
  return runSeqgrad(['seq2seq', ...args], stdin);
}

/** Run `seqgrad seq2seq …` in this process: its exit code, what it printed, or the error it threw. */
async function inProcess(args: string[]): Promise<{ code: number | null; stdout: string; error: Error | null }> {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await seq2seqCommand.run(args), stdout: out.join('\n'), error: null };
  } catch (e) {
    return { code: null, stdout: out.join('\n'), error: e as Error };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

/** What cli/main.ts turns into exit code 2: a UsageError or an InputError (bad flags, files, values). */
function isBadInput(e: Error | null): boolean {
  return e instanceof UsageError || e?.name === 'InputError';
}

describe('seqgrad seq2seq', () => {
  it('dates → train → eval (error split) / attend (SVG); bad input is a one-line usage or input error', async () => {
    const pairs = path.join(dir, 'dates.tsv');
    const gen = await inProcess(['dates', '--n', '120', '--seed', '4', '--out', pairs]);
    expect(gen.code, String(gen.error)).toBe(0);
    const written = parsePairsTsv(fs.readFileSync(pairs, 'utf8'));
    expect(written).toHaveLength(120);
    for (const p of written) {
      expect(p.target).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      const [y, m, d] = p.target.split('-').map(Number);
      expect(toIsoDate({ year: y, month: m, day: d })).toBe(p.target); // a real calendar date, zero-padded
    }

    const model = path.join(dir, 'm.json');
    const train = await inProcess([
      'train', '--pairs', pairs, '--bidirectional', '--hidden', '8', '--embedding', '4', '--attention-size', '6',
      '--steps', '4', '--batch', '16', '--max-eval', '3', '--backend', 'js', '--out', model, '--json',
    ]);
    expect(train.code, String(train.error)).toBe(0);
    const summary = JSON.parse(train.stdout) as { steps: number; config: { bidirectional: boolean; attention: string; decoderHidden: number }; validation: { decoded: number } };
    expect(summary.steps).toBe(4);
    expect(summary.config).toMatchObject({ bidirectional: true, attention: 'bahdanau', decoderHidden: 16 });
    expect(summary.validation.decoded).toBe(3);

    const ev = await inProcess(['eval', '--model', model, '--pairs', pairs, '--beam', '1,3', '--max', '6', '--json']);
    expect(ev.code, String(ev.error)).toBe(0);
    const evj = JSON.parse(ev.stdout) as { examples: number; results: { beam: number; exactMatch: number; bleu: number; errorAnalysis: { errors: number; search: number; model: number } }[] };
    expect(evj.examples).toBe(6);
    expect(evj.results.map((r) => r.beam)).toEqual([1, 3]);
    for (const r of evj.results) {
      expect(r.errorAnalysis.search + r.errorAnalysis.model).toBe(r.errorAnalysis.errors);
      expect(r.errorAnalysis.errors).toBe(Math.round(6 * (1 - r.exactMatch)));
    }

    const heat = path.join(dir, 'heat.svg');
    const att = await inProcess(['attend', '--model', model, '3 May 1979', '--plot', heat, '--json']);
    expect(att.code, String(att.error)).toBe(0);
    const attj = JSON.parse(att.stdout) as { alpha: number[][]; columns: string[]; rows: string[] };
    expect(attj.columns).toHaveLength('3 May 1979'.length);
    expect(attj.alpha).toHaveLength(attj.rows.length);
    for (const row of attj.alpha) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5); // α is a distribution over the source
    expect(fs.readFileSync(heat, 'utf8')).toMatch(/^<svg/);

    const cases: [string[], RegExp][] = [
      [['train'], /expected --pairs FILE\.tsv/],
      [['eval', '--model', path.join(dir, 'missing.json'), '--pairs', pairs], /model file .*missing\.json does not exist/],
      [['train', '--pairs', pairs, '--attention', 'dot', '--bidirectional', '--hidden', '4', '--decoder-hidden', '5', '--backend', 'js'], /the dot score needs decoderHidden = the encoder's output width 8/],
      [['translat'], /unknown sub-command 'translat'/],
      [['translate', '--model', model, '--beam', '2', '--nbest', '3'], /--nbest 3 exceeds --beam 2/],
      [['generate', '--task', 'reversal', '--min-length', '9', '--max-length', '3', '--out', path.join(dir, 'r.tsv')], /minLength ≤ maxLength/],
    ];
    for (const [args, pattern] of cases) {
      const r = await inProcess(args);
      expect(isBadInput(r.error), `${args.join(' ')}: ${String(r.error)}`).toBe(true);
      expect(r.error?.message).toMatch(pattern);
      expect(r.error?.message.split('\n')).toHaveLength(1);
    }
  }, 60_000);

  it('train --threads: 2 threads on wasm (the summary says so, the Transformer with dropout too); js and RNN dropout refuse N > 1 in one line', async () => {
    const pairs = path.join(dir, 'threads.tsv');
    fs.writeFileSync(pairs, Array.from({ length: 40 }, (_, i) => ['ab\tba', 'abc\tcba', 'b\tb', 'ca\tac'][i % 4]).join('\n') + '\n');
    const common = ['train', '--pairs', pairs, '--hidden', '4', '--embedding', '3', '--steps', '2', '--batch', '8', '--max-eval', '0', '--threads', '2'];
    const wasm = await inProcess([...common, '--backend', 'wasm', '--out', path.join(dir, 't2.json'), '--json']);
    expect(wasm.code, String(wasm.error)).toBe(0);
    expect((JSON.parse(wasm.stdout) as { threads: number }).threads).toBe(2);
    const transformer = await inProcess([...common, '--backend', 'wasm', '--arch', 'transformer', '--heads', '2', '--dropout', '0.1', '--out', path.join(dir, 't2t.json'), '--json']);
    expect(transformer.code, String(transformer.error)).toBe(0);
    expect(JSON.parse(transformer.stdout)).toMatchObject({ arch: 'transformer', threads: 2, steps: 2 });
    const refusals: [string[], RegExp][] = [
      [['--backend', 'js'], /^seq2seq train: --threads > 1 needs the wasm backend .*use --threads 1$/],
      [['--backend', 'wasm', '--layers', '2', '--dropout', '0.2'], /^Seq2SeqTrainer\.run: threads > 1 do not support dropout yet: expected threads 1, got 2$/],
    ];
    for (const [extra, message] of refusals) {
      const r = await inProcess([...common, ...extra, '--out', path.join(dir, 'refused.json')]);
      expect(isBadInput(r.error), String(r.error)).toBe(true);
      expect(r.error?.message).toMatch(message);
    }
  }, 60_000);

  it('as a process: translate reads stdin (n-best, one output per input line); bad input exits with 2 and one line', async () => {
    const pairs = path.join(dir, 'small.tsv');
    fs.writeFileSync(pairs, 'ab\tba\nabc\tcba\nb\tb\n');
    const model = path.join(dir, 'small.json');
    const train = await inProcess(['train', '--pairs', pairs, '--hidden', '4', '--embedding', '3', '--steps', '2', '--val-fraction', '0', '--backend', 'js', '--out', model]);
    expect(train.code, String(train.error)).toBe(0);
    const [tr, bad] = await Promise.all([
      seqgrad(['translate', '--model', model, '--beam', '3', '--nbest', '2', '--json'], 'ab\n\nba\n'),
      seqgrad(['eval', '--model', model, '--pairs', path.join(dir, 'missing.tsv')]),
    ]);
    expect(tr.code, tr.stderr).toBe(0);
    const lines = tr.stdout.trim().split('\n').map((l) => JSON.parse(l) as { source: string; outputs: { score: number }[] });
    // one output line per input line: the empty source gets an empty list
    expect(lines.map((l) => l.source)).toEqual(['ab', '', 'ba']);
    expect(lines[1].outputs).toEqual([]);
    for (const l of [lines[0], lines[2]]) {
      expect(l.outputs).toHaveLength(2);
      expect(l.outputs[0].score).toBeGreaterThanOrEqual(l.outputs[1].score);
    }
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/pairs file .*missing\.tsv does not exist/);

    // unknown characters: one warning for the whole input; a line over --max-source: exit 2 naming the line
    const [unknown, tooLong, wideBeam] = await Promise.all([
      seqgrad(['translate', '--model', model, '--beam', '1'], 'axz\n\nzzq\nba\n'),
      seqgrad(['translate', '--model', model, '--max-source', '5'], 'ab\nabababab\n'),
      seqgrad(['translate', '--model', model, '--beam', '1000000'], 'ab\n'),
    ]);
    expect(unknown.code, unknown.stderr).toBe(0);
    expect(unknown.stdout.split('\n')).toHaveLength(5); // four lines and the final newline
    expect(unknown.stdout.split('\n')[1]).toBe('');
    expect(unknown.stderr).toMatch(/^seq2seq translate: line 1: "x" is not in the model's source vocabulary; unknown tokens are read as <UNK> \(reported once\)$/);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toBe('seqgrad seq2seq translate: line 2 has 8 tokens, more than --max-source 5');
    expect(wideBeam.code).toBe(2);
    expect(wideBeam.stderr).toMatch(/--beam expects a width ≤ 1000, got 1000000$/);
  }, 60_000);
});
