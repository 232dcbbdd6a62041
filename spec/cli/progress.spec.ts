import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { trainCommand } from '../../cli/commands/train.js';
import { createProgress, formatDuration, formatInfo, type ProgressSink } from '../../cli/progress.js';

function fakeSink(isTTY: boolean): ProgressSink & { out: string[]; clock: number } {
  const sink = {
    out: [] as string[],
    clock: 0,
    isTTY,
    columns: 200,
    write(text: string) {
      sink.out.push(text);
    },
    now: () => sink.clock,
  };
  return sink;
}

describe('createProgress', () => {
  it('on a TTY redraws one line in place with a bar, at most every 100 ms', () => {
    const sink = fakeSink(true);
    const p = createProgress({ label: 'train', total: 100, unit: 'batches' }, sink);
    p.update(10, { loss: 2.3456789, 'tok/s': 5120 });
    sink.clock = 50;
    p.update(20); // throttled
    sink.clock = 2000;
    p.update(50, { loss: 1.5 });
    expect(sink.out).toHaveLength(2);
    expect(sink.out[0].startsWith('\r')).toBe(true);
    expect(sink.out[0]).toContain('[##......................]'); // 10% of 24 → 2 marks
    expect(sink.out[0]).toContain('10/100 batches');
    expect(sink.out[0]).toContain('loss 2.346  tok/s 5120');
    expect(sink.out[1]).toContain('[############............]');
    // 50 done in 2 s → 25/s → 50 left take 2 s.
    expect(sink.out[1]).toContain('eta 2.0s');
    expect(sink.out.join('')).not.toContain('\n');
    p.finish('done');
    expect(sink.out[2].endsWith('done\n')).toBe(true);
    p.update(100);
    expect(sink.out).toHaveLength(3);
  });

  it('elsewhere prints plain lines, one every 5 s, and the last step once, by finish', () => {
    const sink = fakeSink(false);
    const p = createProgress({ label: 'eval', total: 3 }, sink);
    p.update(1);
    sink.clock = 1000;
    p.update(2); // within 5 s: skipped
    sink.clock = 1500;
    p.update(3); // the last step: finish prints it, with the info as it is then
    expect(sink.out).toEqual(['eval  1/3 steps  33%  0.0s elapsed\n']);
    p.update(3, { val: 0.5 });
    p.finish('done');
    expect(sink.out).toEqual(['eval  1/3 steps  33%  0.0s elapsed\n', 'eval  3/3 steps  100%  1.5s elapsed  val 0.5000  done\n']);
    expect(sink.out.join('')).not.toContain('\r');
  });

  it('never prints a line twice: a finish right after a printed step adds only its message', () => {
    const sink = fakeSink(false);
    const p = createProgress({ label: 'train', total: 10 }, sink);
    p.update(1, { loss: 2 });
    sink.clock = 6000;
    p.update(4, { loss: 1 }); // printed: 5 s passed
    p.finish('time-limit'); // stopped there: the numbers are on the line above
    expect(sink.out).toEqual(['train  1/10 steps  10%  0.0s elapsed  loss 2\n', 'train  4/10 steps  40%  6.0s elapsed  eta 9.0s  loss 1\n', 'train  time-limit\n']);
    const quiet = fakeSink(false);
    const q = createProgress({ label: 'eval', total: 1 }, quiet);
    q.update(1);
    q.finish();
    expect(quiet.out).toEqual(['eval  1/1 steps  100%  0.0s elapsed\n']);
  });

  it("seqgrad train: the progress line's loss is the summary's bits, and --help names every column once", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-progress-'));
    const stderr: string[] = [];
    const stdout: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { stderr.push(String(chunk)); return true; });
    vi.spyOn(console, 'log').mockImplementation((line: string) => { stdout.push(line); });
    try {
      const data = path.join(dir, 'names.txt');
      fs.writeFileSync(data, Array.from({ length: 60 }, (_, i) => ['abba', 'baab', 'abab'][i % 3]).join('\n') + '\n');
      const code = await trainCommand.run(['--data', data, '--steps', '4', '--seq-len', '5', '--batch', '4', '--hidden', '8', '--clip', '0.5',
        '--eval-every', '2', '--backend', 'js', '--out', path.join(dir, 'm.json'), '--json']);
      expect(code).toBe(0);
      const summary = JSON.parse(stdout.join('\n'));
      const all = stderr.join('').split('\n').filter((l) => l.startsWith('train lstm'));
      const lines = all.filter((l) => l.includes('  4/4 steps  '));
      expect(lines).toHaveLength(1); // the last step once, printed by finish with the stop reason
      expect(lines[0]).toMatch(/ {2}max-steps$/);
      const columns = lines[0].replace(/ {2}max-steps$/, '').split(/ {2}/).slice(1).filter((piece) => !/^\d+\/\d+ steps$|^\d+%$|elapsed$|^eta |^max-steps$/.test(piece));
      const pairs = columns.map((piece) => /^(.*) (\S+)$/.exec(piece) as RegExpExecArray);
      const value = (name: string) => Number(pairs.find((m) => m[1] === name)?.[2]);
      expect(value('train bpc')).toBeCloseTo(summary.trainLoss / Math.LN2, 3);
      expect(value('val bpc')).toBeCloseTo(summary.validation.bitsPerToken, 3);
      expect(value('grad/clip')).toBeGreaterThan(0);
      const help: string[] = [];
      vi.spyOn(console, 'log').mockImplementation((line: string) => { help.push(line); });
      await trainCommand.run(['--help']);
      const text = help.join('\n');
      for (const [, name] of pairs) {
        const named = text.split('\n').filter((l) => l.startsWith(`  ${name}  `) || l.includes(`  ${name.replace('bpc', 'bpc|bpw')}  `));
        expect(named, `column '${name}' in seqgrad train --help`).toHaveLength(1);
      }
      expect(pairs.length).toBeGreaterThanOrEqual(4);
    } finally {
      vi.restoreAllMocks();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a bad total', () => {
    expect(() => createProgress({ label: 'x', total: NaN }, fakeSink(false))).toThrow(/total to be a finite number ≥ 0, got NaN/);
  });

  it('formats durations and info', () => {
    expect([4.25, 42, 75, 3725].map(formatDuration)).toEqual(['4.3s', '42s', '1m15s', '1h02m']);
    expect(formatInfo({ loss: 0.000123456, step: 7, lr: 0.001, note: 'ok' })).toBe('loss 1.235e-4  step 7  lr 0.001000  note ok');
  });
});
