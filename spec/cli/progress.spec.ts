import { describe, expect, it } from 'vitest';
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

  it('elsewhere prints plain lines, one every 5 s, and always the last step', () => {
    const sink = fakeSink(false);
    const p = createProgress({ label: 'eval', total: 3 }, sink);
    p.update(1);
    sink.clock = 1000;
    p.update(2); // within 5 s: skipped
    sink.clock = 1500;
    p.update(3); // the last one is always shown
    expect(sink.out).toEqual(['eval  1/3 steps  33%  0.0s elapsed\n', 'eval  3/3 steps  100%  1.5s elapsed\n']);
    expect(sink.out.join('')).not.toContain('\r');
  });

  it('rejects a bad total', () => {
    expect(() => createProgress({ label: 'x', total: NaN }, fakeSink(false))).toThrow(/total to be a finite number ≥ 0, got NaN/);
  });

  it('formats durations and info', () => {
    expect([4.25, 42, 75, 3725].map(formatDuration)).toEqual(['4.3s', '42s', '1m15s', '1h02m']);
    expect(formatInfo({ loss: 0.000123456, step: 7, lr: 0.001, note: 'ok' })).toBe('loss 1.235e-4  step 7  lr 0.001000  note ok');
  });
});
