import { deprecationNotice, helpText, parseArgs, parseDecimalInt, UsageError, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { listBackends } from '../../engine/backend.js';
import { initWasmBackend, type WasmBackend } from '../../engine/wasm/index.js';
import {
  DEFAULT_WORKLOAD, formatHeader, formatTable, machineInfo, runCase,
  type BenchResult, type Clock, type Peer, type SuiteContext, type WorkloadOptions,
} from '../../benchmarks/harness.js';
import { loadPeers } from '../../benchmarks/load-peers.js';
import { suites } from '../../benchmarks/suites/index.js';
import { writeFileAtomic } from '../../training/io/files.js';
import { planOutputs } from '../../training/io/outputs.js';

const BACKENDS = ['js', 'wasm', 'gpu'];

const spec: Record<string, FlagSpec> = {
  sizes: { type: 'list', description: 'workload sizes (gemm: n; cells, train, sample, memory: hidden sizes H)' },
  backend: { type: 'list', description: `seqgrad backends to run, side by side (${BACKENDS.join('|')})`, default: ['js', 'wasm'] },
  'require-gpu': { type: 'boolean', description: 'gpu: fail unless gpu.js really runs WebGL (instead of its WebAssembly/CPU fallback)' },
  cell: { type: 'list', description: `cells of the model suites (${DEFAULT_WORKLOAD.cells.join('|')}; gru-reset-after = PyTorch's GRU)`, default: DEFAULT_WORKLOAD.cells },
  batch: { type: 'int', description: 'model suites: batch B', min: 1, default: DEFAULT_WORKLOAD.batch },
  'seq-len': { type: 'int', description: 'model suites: time steps T', min: 1, default: DEFAULT_WORKLOAD.steps },
  input: { type: 'int', description: 'model suites: input / embedding width D', min: 1, default: DEFAULT_WORKLOAD.input },
  vocab: { type: 'int', description: 'model suites: vocabulary V (the dense head\'s width)', min: 1, default: DEFAULT_WORKLOAD.vocab },
  tokens: { type: 'int', description: 'sample: tokens per timed call', min: 1, default: DEFAULT_WORKLOAD.tokens },
  sources: { type: 'int', description: 'decode: date sources decoded per timed call', min: 1, default: DEFAULT_WORKLOAD.sources },
  threads: { type: 'list', description: 'train: thread counts, one row each (seqgrad data-parallel on the wasm backend, PyTorch torch.set_num_threads); default 1' },
  optimizer: { type: 'string', choices: ['sgd', 'adam'], description: 'train: the update rule', default: DEFAULT_WORKLOAD.optimizer },
  'heap-steps': { type: 'int', description: 'memory: training steps to watch the heap over', min: 1, default: DEFAULT_WORKLOAD.heapSteps },
  runs: { type: 'int', description: 'timed runs per row (median and min–max over them)', min: 1, default: 5 },
  'warmup-ms': { type: 'int', description: 'untimed warm-up per row, milliseconds', default: 300 },
  'min-run-ms': { type: 'int', description: 'a timed run repeats the call until it lasts this long', default: 100 },
  'relaxed-simd': { type: 'string', choices: ['auto', 'on', 'off'], description: 'wasm: f32x4.relaxed_madd (auto = where it validates) or mul + add', default: 'auto' },
  clock: { type: 'string', choices: ['wall', 'cpu'], description: 'the table\'s clock: wall time, or CPU time of the working process (for a busy machine)', default: 'wall' },
  peers: { type: 'boolean', description: 'also run TensorFlow.js (cpu, wasm), brain.js and PyTorch where installed' },
  json: { type: 'boolean', description: 'print the header and every result as JSON on stdout (the tables go to stderr)' },
  'json-file': { type: 'string', description: 'write the header and every result to this JSON file' },
  list: { type: 'boolean', description: 'list the suites and exit' },
};

export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmarks: GFLOP/s and timings per backend, peers side by side (--peers)',
  async run(argv) {
    if (argv.includes('--help')) {
      const names = suites.map((s) => `  ${s.name.padEnd(12)}${s.summary}`).join('\n');
      console.log(`${helpText('seqgrad bench [suite…] [--sizes a,b] [--backend js,wasm,gpu] [--clock cpu] [--peers] [--json] [--json-file FILE]', this.summary, spec)}\n\nsuites:\n${names}\n\nmemory: run node with --expose-gc for a full GC before each heap sample (else it is switched on at run time).`);
      return 0;
    }
    const { flags, positionals } = parseArgs('bench', formerJsonFile(argv), spec);
    const print = flags.json ? console.error : console.log;
    if (flags.list) {
      for (const s of suites) console.log(`${s.name.padEnd(12)}${s.summary}${s.defaultSizes ? ` (sizes ${s.defaultSizes.join(',')})` : ''}`);
      return 0;
    }
    const chosen = positionals.length === 0 ? suites : positionals.map((name) => {
      const suite = suites.find((s) => s.name === name);
      if (!suite) throw new UsageError(`bench: unknown suite '${name}' (one of: ${suites.map((s) => s.name).join(', ')})`);
      return suite;
    });
    const sizes = parseSizes(flags.sizes as string[] | undefined);
    const runs = flags.runs as number;
    const workload = workloadOptions(flags);
    planOutputs({ command: 'bench', outputs: { '--json-file': flags['json-file'] as string | undefined } });
    const { backends, notes, dispose } = await prepareBackends(
      flags.backend as string[], flags['relaxed-simd'] as 'auto' | 'on' | 'off', flags['require-gpu'] === true,
    );

    let peers: Peer[] = [];
    if (flags.peers) {
      const loaded = await loadPeers();
      peers = loaded.peers;
      for (const line of loaded.messages) console.error(line);
    }
    try {
      const ctx: SuiteContext = {
        runs,
        warmupMs: flags['warmup-ms'] as number,
        minRunMs: flags['min-run-ms'] as number,
        backends,
        sizes,
        workload,
        log: (line) => console.error(line),
      };
      const info = machineInfo(backends, notes, peers);
      const clock = flags.clock as Clock;
      print(formatHeader(info, ctx, clock));
      const results: BenchResult[] = [];
      const reports: Record<string, unknown> = {};
      for (const suite of chosen) {
        if (suite.run) {
          const report = await suite.run(ctx);
          print(`\n${suite.name}: ${suite.summary}\n${report.text}`);
          reports[suite.name] = report.results;
          continue;
        }
        const suiteResults: BenchResult[] = [];
        for (const benchCase of await suite.cases(ctx)) {
          ctx.log(`bench: ${suite.name} ${benchCase.name} …`);
          suiteResults.push(...(await runCase(benchCase, ctx, peers)));
        }
        print(`\n${suite.name}: ${suite.summary}\n${formatTable(suiteResults, clock)}`);
        results.push(...suiteResults);
      }
      const options = { runs: ctx.runs, warmupMs: ctx.warmupMs, minRunMs: ctx.minRunMs, clock, workload };
      const document = `${JSON.stringify({ machine: info, options, results, reports }, null, 2)}\n`;
      if (flags.json) process.stdout.write(document);
      if (flags['json-file']) {
        writeFileAtomic(flags['json-file'] as string, document);
        console.error(`bench: results written to ${String(flags['json-file'])}`);
      }
      return 0;
    } finally {
      for (const peer of peers) await peer.close?.();
      await dispose();
    }
  },
};

/**
 * `--json FILE` once wrote the file (now `--json-file FILE`; `--json` prints to stdout): a `--json`
 * followed by a value that is no suite name, or `--json=FILE`, is still taken as the file, after a notice.
 */
function formerJsonFile(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    const valued = argv[i].startsWith('--json=') && !/^--json=(yes|no|true|false)$/.test(argv[i]);
    const separate = argv[i] === '--json' && next !== undefined && !next.startsWith('--') && !suites.some((s) => s.name === next);
    if (!valued && !separate) {
      out.push(argv[i]);
      continue;
    }
    deprecationNotice('bench', '--json FILE', '--json-file FILE (--json prints to stdout)');
    out.push('--json-file', valued ? argv[i].slice('--json='.length) : argv[++i]);
  }
  return out;
}

/** The model suites' shape from the flags. */
function workloadOptions(flags: Record<string, unknown>): WorkloadOptions {
  const cells = (flags.cell as string[]).map((c) => {
    if (c !== 'gru') return c;
    deprecationNotice('bench', '--cell gru', '--cell gru-reset-after (the notes\' GRU is train\'s gru)');
    return 'gru-reset-after';
  });
  for (const c of cells) {
    if (!DEFAULT_WORKLOAD.cells.includes(c)) throw new UsageError(`bench: --cell expects ${DEFAULT_WORKLOAD.cells.join('|')}, got '${c}'`);
  }
  return {
    cells,
    batch: flags.batch as number,
    steps: flags['seq-len'] as number,
    input: flags.input as number,
    vocab: flags.vocab as number,
    tokens: flags.tokens as number,
    sources: flags.sources as number,
    optimizer: flags.optimizer as 'sgd' | 'adam',
    heapSteps: flags['heap-steps'] as number,
    threads: parseThreads(flags.threads as string[] | undefined),
  };
}

/** --threads 1,2: the train suite's thread counts (default 1). */
function parseThreads(values: string[] | undefined): number[] {
  if (!values || values.length === 0) return [1];
  return values.map((v) => {
    const n = parseDecimalInt(v);
    if (n === null || n < 1) throw new UsageError(`bench: --threads expects thread counts ≥ 1, got '${v}'`);
    return n;
  });
}

function parseSizes(values: string[] | undefined): number[] | null {
  if (!values || values.length === 0) return null;
  return values.map((v) => {
    const n = parseDecimalInt(v) ?? NaN;
    if (!(n >= 1)) throw new UsageError(`bench: --sizes expects positive integers, got '${v}'`);
    return n;
  });
}

/**
 * Initialise the requested backends (wasm and gpu need an explicit init; gpu.js is loaded only
 * when 'gpu' is asked for); a missing one is a usage error. `dispose` releases the gpu backend.
 */
async function prepareBackends(
  requested: string[], relaxedSimd: 'auto' | 'on' | 'off', requireGpu: boolean,
): Promise<{ backends: string[]; notes: string[]; dispose: () => Promise<void> }> {
  const backends: string[] = [];
  const notes: string[] = [];
  let dispose = async () => {};
  for (const name of requested) {
    if (!BACKENDS.includes(name)) throw new UsageError(`bench: --backend expects ${BACKENDS.join('|')}, got '${name}'`);
    let actual = name;
    if (name === 'wasm') {
      const backend = await initWasmBackend({ relaxedSimd });
      actual = backend.name; // 'js' where WebAssembly SIMD is missing (init printed why)
      if (actual === 'wasm') notes.push(`wasm: SIMD128, ${(backend as WasmBackend).relaxedSimd ? 'relaxed_madd (FMA)' : 'mul + add'}, fused gate kernels`);
    }
    if (name === 'gpu') {
      const { initGpuBackend } = await import('../../engine/gpu/index.js');
      let gpu;
      try {
        gpu = await initGpuBackend({ requireGpu });
      } catch (err) {
        throw new UsageError(`bench: --backend gpu: ${err instanceof Error ? err.message : String(err)}`);
      }
      notes.push(`gpu: gpu.js mode ${gpu.mode}${gpu.accelerated ? '' : ` — not a GPU path (${gpu.fallbackReason ?? 'fallback'})`}`);
      dispose = () => gpu.dispose();
    }
    if (!listBackends().includes(actual)) {
      throw new UsageError(`bench: backend '${name}' is not available in this build (registered: ${listBackends().join(', ')})`);
    }
    if (!backends.includes(actual)) backends.push(actual);
  }
  return { backends, notes, dispose };
}
