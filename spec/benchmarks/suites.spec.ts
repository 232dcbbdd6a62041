/**
 * The model suites of `seqgrad bench` (cells, train, sample, gradcheck, memory) at tiny sizes: the
 * workloads compute what they claim, the CLI flags shape them, and the JSON carries the results.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { millis, runCase, type BenchCase, type BenchResult } from '../../benchmarks/harness.js';
import { gradcheckSuite } from '../../benchmarks/suites/gradcheck.js';
import { formatHeapTable, traceHeap, type HeapTrace } from '../../benchmarks/suites/memory.js';
import { initWasmBackend } from '../../engine/wasm/index.js';
import { cellsWork, charLmWork, decodeWork, sampleWork, trainWork } from '../../benchmarks/workloads.js';
import { setBackend } from '../../engine/backend.js';
import { runningWorkerThreads } from '../../training/parallel/pool.js';
import { UsageError } from '../../cli/args.js';
import { benchCommand } from '../../cli/commands/bench.js';

const tiny = { B: 3, T: 4, D: 5, H: 8, V: 6 };

describe('bench workloads', () => {
  it('cells: the loss of near-uniform predictions is about T·B·ln V, and it is the same every call', () => {
    for (const cell of ['rnn', 'gru-reset-after', 'lstm']) {
      const work = cellsWork({ cell, ...tiny });
      work.call();
      const first = work.lastLoss();
      // PyTorch-style init keeps the logits small: each of the T·B rows costs close to ln V
      expect(first / (tiny.T * tiny.B * Math.log(tiny.V))).toBeGreaterThan(0.8);
      expect(first / (tiny.T * tiny.B * Math.log(tiny.V))).toBeLessThan(1.25);
      work.call();
      expect(work.lastLoss()).toBe(first); // no update: forward + backward only
    }
  });

  it('train: repeated steps on one batch lower its loss (SGD and Adam)', () => {
    for (const optimizer of ['sgd', 'adam'] as const) {
      const work = trainWork({ cell: 'lstm', ...tiny, optimizer });
      work.call();
      const first = work.lastLoss();
      for (let i = 0; i < 30; i++) work.call();
      expect(work.lastLoss()).toBeLessThan(first);
    }
  });

  it('sample: draws tokens of the vocabulary, the same ones from the same seed', () => {
    const a = sampleWork({ cell: 'gru-reset-after', D: 5, H: 8, V: 6, tokens: 20 });
    const b = sampleWork({ cell: 'gru-reset-after', D: 5, H: 8, V: 6, tokens: 20 });
    const drawn = new Set<number>();
    for (let i = 0; i < 5; i++) {
      a.call();
      b.call();
      expect(a.lastLoss()).toBe(b.lastLoss());
      drawn.add(a.lastLoss());
    }
    for (const token of drawn) expect(token >= 0 && token < 6 && Number.isInteger(token)).toBe(true);
  });

  it('decode: <EOS> unreachable, every hypothesis runs the given number of steps (as the PyTorch peer\'s loop)', () => {
    for (const beam of [1, 3]) {
      const work = decodeWork({ beam, n: 9, steps: 4, chunk: 4 });
      work.call();
      expect(work.lastLoss()).toBe(4); // the best hypothesis of the first source: 4 tokens, unfinished
    }
  });

  it('train and char-LM on 2 threads: the loss falls, and dispose leaves no worker thread', async () => {
    setBackend((await initWasmBackend()).name);
    const work = trainWork({ cell: 'lstm', ...tiny, optimizer: 'adam', threads: 2 });
    try {
      work.call();
      const first = work.lastLoss();
      expect(first / Math.log(tiny.V)).toBeGreaterThan(0.8); // the batch mean: about ln V per prediction
      for (let i = 0; i < 30; i++) work.call();
      expect(work.lastLoss()).toBeLessThan(first);
    } finally {
      work.dispose?.();
    }
    expect(runningWorkerThreads()).toBe(0);
    const charLm = charLmWork({ B: 4, T: 5, H: 8, V: 65, threads: 2 });
    try {
      charLm.call();
      expect(charLm.lastLoss() / Math.log(65)).toBeGreaterThan(0.8);
      expect(charLm.lastLoss() / Math.log(65)).toBeLessThan(1.25);
    } finally {
      charLm.dispose?.();
    }
    expect(runningWorkerThreads()).toBe(0);
  });

  it('rejects a cell it does not know', () => {
    expect(() => cellsWork({ cell: 'transformer', ...tiny })).toThrow(/expected cell rnn\|gru-reset-after\|lstm, got 'transformer'/);
  });
});

describe('bench memory', () => {
  it('traces the heap over the steps and formats a row per backend and cell', async () => {
    const trace = await traceHeap('js', 'rnn', 4, 40, { gc: null, source: 'none' });
    expect(trace.steps).toBe(40);
    expect(trace.warmupSteps).toBe(40);
    expect(trace.samples[0][0]).toBe(0);
    expect(trace.samples[trace.samples.length - 1][0]).toBe(40);
    expect(trace.growthBytes).toBe(trace.samples[trace.samples.length - 1][1] - trace.samples[0][1]);
    expect(Number.isFinite(trace.bytesPerStep)).toBe(true);
    const fake: HeapTrace = {
      ...trace, backend: 'wasm', cell: 'lstm', growthBytes: 2048, bytesPerStep: 1.5, bytesPerStepLate: 0.25, allocatedPerStep: 96,
      wasmBytesAtStart: 4096, wasmGrowthBytes: 0,
    };
    expect(formatHeapTable([fake])).toMatch(/wasm\s+lstm\s+40\s+.*2\.0 KiB\s+1\.50\s+0\.25\s+\d+\s+96\s+4\.0 KiB\s+0\.0 KiB\s/);
    expect(trace.allocatedPerStep).toBeNull(); // no gc() given
    expect(trace.wasmBytesAtStart).toBeNull(); // js has no WebAssembly heap
  });

  it('on wasm the model lives in the WebAssembly heap, and training steps take no more of it', async () => {
    await initWasmBackend();
    const trace = await traceHeap('wasm', 'lstm', 8, 40, { gc: null, source: 'none' });
    expect(trace.wasmBytesAtStart).toBeGreaterThan(4 * (4 * 8 * (8 + 8))); // at least the LSTM's weights and gradients
    expect(trace.wasmGrowthBytes).toBe(0);
  });

  it('with 2 worker threads the steps take no more wasm memory, and the workers are gone after', async () => {
    await initWasmBackend();
    const trace = await traceHeap('wasm', 'lstm', 8, 40, { gc: null, source: 'none' }, 2);
    expect(trace.params.threads).toBe(2);
    expect(trace.wasmGrowthBytes).toBe(0);
    expect(formatHeapTable([trace])).toMatch(/wasm\s+lstm ×2 threads\s+40\s/);
    expect(runningWorkerThreads()).toBe(0);
  });
});

describe('seqgrad bench model suites', () => {
  afterEach(() => vi.restoreAllMocks());

  it('runs cells, train, sample and memory at flag-given sizes and writes them to JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqgrad-bench-'));
    const file = join(dir, 'bench.json');
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => { printed.push(line); });
    vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const code = await benchCommand.run([
        'cells', 'train', 'sample', 'memory', '--cell', 'rnn,lstm', '--batch', '2', '--seq-len', '3', '--input', '4',
        '--vocab', '5', '--sizes', '8', '--tokens', '7', '--heap-steps', '20', '--backend', 'js,wasm',
        '--runs', '1', '--warmup-ms', '0', '--min-run-ms', '1', '--clock', 'cpu', '--json-file', file,
      ]);
      expect(code).toBe(0);
      const out = JSON.parse(readFileSync(file, 'utf8'));
      const rows = (out.results as BenchResult[]).map((r) => `${r.suite} ${r.case} ${r.impl} ${r.unit}`);
      expect(rows).toEqual([
        'cells rnn B=2 T=3 D=4 H=8 V=5 seqgrad js ms', 'cells rnn B=2 T=3 D=4 H=8 V=5 seqgrad wasm ms',
        'cells lstm B=2 T=3 D=4 H=8 V=5 seqgrad js ms', 'cells lstm B=2 T=3 D=4 H=8 V=5 seqgrad wasm ms',
        'train rnn B=2 T=3 D=4 H=8 V=5 seqgrad js ms', 'train rnn B=2 T=3 D=4 H=8 V=5 seqgrad wasm ms',
        'train lstm B=2 T=3 D=4 H=8 V=5 seqgrad js ms', 'train lstm B=2 T=3 D=4 H=8 V=5 seqgrad wasm ms',
        'train char-LM lstm one-hot V=65 H=256 T=100 B=32 adam clip 5 seqgrad wasm tokens/s',
        'sample rnn D=4 H=8 V=5 seqgrad js µs/token', 'sample rnn D=4 H=8 V=5 seqgrad wasm µs/token',
        'sample lstm D=4 H=8 V=5 seqgrad js µs/token', 'sample lstm D=4 H=8 V=5 seqgrad wasm µs/token',
      ]);
      expect(out.results[0].params).toEqual({ cell: 'rnn', B: 2, T: 3, D: 4, H: 8, V: 5 });
      expect(out.options.workload.tokens).toBe(7);
      expect(out.reports.memory.map((t: HeapTrace) => `${t.backend} ${t.cell} ${t.steps}`)).toEqual([
        'js rnn 20', 'js lstm 20', 'wasm rnn 20', 'wasm lstm 20',
      ]);
      expect(printed.join('\n')).toMatch(/memory: heap growth/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gradcheck runs once, on js, whatever other backends are asked for (onlyBackends)', async () => {
    const ctx = { runs: 1, warmupMs: 0, minRunMs: 1, backends: ['wasm', 'js'], sizes: null, log: () => {} };
    const [gradcheck] = await gradcheckSuite.cases(ctx);
    expect(gradcheck.onlyBackends).toEqual(['js']);
    expect((await gradcheckSuite.cases({ ...ctx, backends: ['wasm'] }))[0].onlyBackends).toEqual(['wasm']);
    // the harness honours it: a case limited to js gets no wasm row
    const asked: string[] = [];
    const fakeCase: BenchCase = {
      suite: 'x', name: 'c', params: {}, metric: millis(), onlyBackends: ['js'],
      ours: (backend) => { asked.push(backend); return { impl: `seqgrad ${backend}`, ours: true, run: (reps) => reps }; },
    };
    const results = await runCase(fakeCase, ctx, []);
    expect(asked).toEqual(['js']);
    expect(results.map((r) => r.impl)).toEqual(['seqgrad js']);
  });

  it('rejects bad model flags', async () => {
    await expect(benchCommand.run(['cells', '--cell', 'tcn'])).rejects.toThrow(UsageError);
    await expect(benchCommand.run(['train', '--batch', '0'])).rejects.toThrow('bench: --batch expects an integer ≥ 1, got 0');
    await expect(benchCommand.run(['train', '--optimizer', 'lbfgs'])).rejects.toThrow(UsageError);
  });
});
