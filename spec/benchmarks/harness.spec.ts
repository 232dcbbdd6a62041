import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  formatTable, gflops, measureInterleaved, median, millis, speedRatio, type BenchCase, type BenchResult, type Workload,
} from '../../benchmarks/harness.js';
import { benchCommand } from '../../cli/commands/bench.js';
import { UsageError } from '../../cli/args.js';

/** A workload whose every call "takes" msPerCall (it reports that, no real time passes). */
function fake(impl: string, ours: boolean, msPerCall: number, log: string[]): Workload {
  return {
    impl,
    ours,
    before: () => { log.push(`before ${impl}`); },
    run: (reps) => { log.push(`run ${impl}`); return reps * msPerCall; },
  };
}

function fakeCase(metric = gflops(2e6)): BenchCase {
  return { suite: 'x', name: 'case', params: {}, metric, ours: () => { throw new Error('unused'); } };
}

describe('bench harness', () => {
  afterEach(() => vi.restoreAllMocks());

  it('median of odd and even counts', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('times the workloads round-robin after warming each up, and converts ms to the metric', async () => {
    const log: string[] = [];
    const results = await measureInterleaved(fakeCase(), [fake('a', true, 2, log), fake('b', false, 4, log)], { runs: 5, warmupMs: 0, minRunMs: 10 });
    // warm-up: at least 2 calls each, a's before b's; then timed runs alternate a, b, a, b, …
    const timed = log.slice(8).filter((l) => l.startsWith('run'));
    expect(timed).toEqual(['run a', 'run b', 'run a', 'run b', 'run a', 'run b', 'run a', 'run b', 'run a', 'run b']);
    expect(log.slice(0, 4)).toEqual(['before a', 'run a', 'before a', 'run a']);
    // 2e6 flops in 2 ms = 1 GFLOP/s; 4 ms = 0.5
    expect(results[0].wall.median).toBeCloseTo(1, 12);
    expect(results[1].wall.median).toBeCloseTo(0.5, 12);
    expect(results[0].reps).toBe(5); // 10 ms per run / 2 ms per call
    expect(results[0].wall.msPerCall).toHaveLength(5);
    expect(results[0].cpu).toBeNull(); // the fake reports wall time only
  });

  it('speed ratios point the same way for throughput and time (> 1 = seqgrad faster)', () => {
    const stats = (value: number) => ({ median: value, min: value, max: value, msPerCall: [] });
    const row = (impl: string, ours: boolean, value: number, higherIsBetter: boolean, cpu?: number): BenchResult => ({
      suite: 'x', case: 'c', params: {}, impl, ours, unit: 'u', higherIsBetter, reps: 1,
      wall: stats(value), cpu: cpu === undefined ? null : stats(cpu),
    });
    expect(speedRatio(row('s', true, 40, true), row('p', false, 20, true))).toBe(2);
    expect(speedRatio(row('s', true, 10, false), row('p', false, 30, false))).toBe(3);
    // on the CPU clock: 40 vs 10 → 4; a peer without CPU time falls back to its wall time
    expect(speedRatio(row('s', true, 20, true, 40), row('p', false, 5, true, 10), 'cpu')).toBe(4);
    expect(speedRatio(row('s', true, 20, true, 40), row('p', false, 5, true), 'cpu')).toBe(8);
    const table = formatTable([row('seqgrad wasm', true, 40, true), row('tfjs wasm', false, 20, true)]);
    expect(table).toMatch(/seqgrad wasm.*tfjs wasm 2\.000/);
    expect(millis().fromMs(3)).toBe(3);
  });
});

describe('seqgrad bench', () => {
  afterEach(() => vi.restoreAllMocks());

  it('runs the gemm suite on js and wasm and writes the JSON results', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqgrad-bench-'));
    const file = join(dir, 'bench.json');
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => { printed.push(line); });
    vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const code = await benchCommand.run(['gemm', '--sizes', '24,40', '--backend', 'js,wasm', '--runs', '5', '--warmup-ms', '0', '--min-run-ms', '1', '--json-file', file]);
      expect(code).toBe(0);
      const out = JSON.parse(readFileSync(file, 'utf8'));
      expect(out.machine.backends).toEqual(['js', 'wasm']);
      expect(out.machine.node).toBe(process.version);
      expect(out.results.map((r: BenchResult) => `${r.case} ${r.impl}`)).toEqual([
        'n=24 seqgrad js', 'n=24 seqgrad wasm', 'n=40 seqgrad js', 'n=40 seqgrad wasm',
      ]);
      for (const r of out.results as BenchResult[]) {
        expect(r.unit).toBe('GFLOP/s');
        for (const s of [r.wall, r.cpu!]) {
          expect(s.msPerCall).toHaveLength(5);
          expect(s.min).toBeLessThanOrEqual(s.median);
          expect(s.median).toBeLessThanOrEqual(s.max);
        }
      }
      expect(printed.join('\n')).toMatch(/machine: .*\d+ cores?.*Node v\d+.*V8/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--json prints the results on stdout (tables to stderr); the former --json FILE still writes the file, with one notice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqgrad-bench-'));
    const file = join(dir, 'old.json');
    const stdout: string[] = [];
    const stderr: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { stdout.push(String(chunk)); return true; });
    vi.spyOn(console, 'log').mockImplementation((line: string) => { stdout.push(line); });
    vi.spyOn(console, 'error').mockImplementation((line: string) => { stderr.push(line); });
    const quick = ['gemm', '--sizes', '8', '--backend', 'js', '--runs', '1', '--warmup-ms', '0', '--min-run-ms', '1'];
    try {
      expect(await benchCommand.run([...quick, '--json'])).toBe(0);
      const printed = JSON.parse(stdout.join(''));
      expect(printed.results.map((r: BenchResult) => `${r.case} ${r.impl}`)).toEqual(['n=8 seqgrad js']);
      expect(stderr.join('\n')).toMatch(/machine: /);
      stderr.length = 0;
      expect(await benchCommand.run([...quick, '--json', file])).toBe(0);
      expect(JSON.parse(readFileSync(file, 'utf8')).results).toHaveLength(1);
      expect(stderr.filter((l) => /deprecated/.test(l))).toEqual(['seqgrad bench: --json FILE is deprecated, use --json-file FILE (--json prints to stdout)']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects an unknown suite, a bad size and a backend that is not built', async () => {
    await expect(benchCommand.run(['nope'])).rejects.toThrow(UsageError);
    await expect(benchCommand.run(['gemm', '--sizes', '0'])).rejects.toThrow(/--sizes expects positive integers/);
    await expect(benchCommand.run(['gemm', '--backend', 'cuda'])).rejects.toThrow(/--backend expects js\|wasm\|gpu/);
  });
});
