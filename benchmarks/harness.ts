/**
 * The benchmark harness behind `seqgrad bench`: suites declare cases (one workload size each);
 * the harness runs seqgrad on every requested backend and every loaded peer on the same case,
 * interleaved run by run (so a noisy neighbour on a shared machine hurts all of them alike),
 * after a warm-up, and reports the median and min–max of ≥ 5 timed runs.
 *
 * A run times `reps` back-to-back calls (reps chosen during warm-up so a run lasts ≥ minRunMs) and
 * records milliseconds per call; a case's metric turns that into its unit (GFLOP/s, ms, µs/token).
 *
 * Two clocks: wall time (the default table) and the process's CPU time (`--clock cpu`). On a shared
 * machine with more runnable processes than cores, wall time mostly measures the neighbours; CPU time
 * (user + system of this process, or of the peer's process) stays close to what an idle machine shows
 * for these one-thread workloads. The header prints the load average so a reader can tell which applies.
 */
import { cpus, loadavg, platform, arch } from 'node:os';
import { createRequire } from 'node:module';
import { setBackend } from '../engine/backend.js';

/** How a case's time per call becomes the number in the table. */
export interface Metric {
  unit: string;
  higherIsBetter: boolean;
  fromMs(msPerCall: number): number;
}

/** Throughput of `flops` floating-point operations per call. */
export function gflops(flops: number): Metric {
  return { unit: 'GFLOP/s', higherIsBetter: true, fromMs: (ms) => flops / (ms * 1e6) };
}

/** Milliseconds per call. */
export function millis(): Metric {
  return { unit: 'ms', higherIsBetter: false, fromMs: (ms) => ms };
}

/** Items per second when one call handles `items` items (e.g. tokens/s). */
export function perSecond(items: number, item: string): Metric {
  return { unit: `${item}/s`, higherIsBetter: true, fromMs: (ms) => (items * 1000) / ms };
}

/** Microseconds per item when one call handles `items` items (e.g. µs/token). */
export function microsPer(items: number, item: string): Metric {
  return { unit: `µs/${item}`, higherIsBetter: false, fromMs: (ms) => (ms * 1000) / items };
}

/** One implementation of one case: seqgrad on a backend, or a peer. */
export interface Workload {
  /** The row label: 'seqgrad js', 'seqgrad wasm', 'tfjs cpu', 'tfjs wasm', 'torch', 'brain.js', … */
  impl: string;
  /** seqgrad's own rows; ratios are computed seqgrad vs every non-own row. */
  ours: boolean;
  /** Called before each timed run, outside the timing (select a backend, …). */
  before?(): void | Promise<void>;
  /** Do the work `reps` times; return the elapsed milliseconds (a peer in another process times itself),
   *  wall clock alone or with the CPU time it used. */
  run(reps: number): number | RunTiming | Promise<number | RunTiming>;
  dispose?(): void | Promise<void>;
}

export interface RunTiming {
  wallMs: number;
  /** CPU time (user + system) of the process doing the work, when known. */
  cpuMs?: number;
}

/** Time `reps` calls of `call` on both clocks. */
export function timeCalls(reps: number, call: () => void): RunTiming {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) call();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** A JS workload timed here: `call` is one unit of work. */
export function timedWorkload(impl: string, ours: boolean, call: () => void, hooks: Pick<Workload, 'before' | 'dispose'> = {}): Workload {
  return {
    impl,
    ours,
    ...hooks,
    run: (reps) => timeCalls(reps, call),
  };
}

/**
 * `make()` run with `backend` selected (restored after): a workload's matrices then come from that
 * backend's allocator — on wasm, its WebAssembly memory, where its kernels use them in place.
 */
export function onBackend<T>(backend: string, make: () => T): T {
  const previous = setBackend(backend);
  try {
    return make();
  } finally {
    setBackend(previous);
  }
}

/** A seqgrad workload on a named backend (selected before each run, restored after). */
export function seqgradWorkload(backend: string, call: () => void, dispose?: () => void): Workload {
  let previous = '';
  return {
    impl: `seqgrad ${backend}`,
    ours: true,
    before() {
      previous = setBackend(backend);
    },
    run(reps) {
      const timing = timeCalls(reps, call);
      setBackend(previous);
      return timing;
    },
    dispose,
  };
}

/** One size of one suite. The seqgrad workloads come per backend; peers add theirs by `suite` and `params`. */
export interface BenchCase {
  suite: string;
  /** Row label, e.g. 'n=512' or 'lstm B=32 T=50'. */
  name: string;
  params: Record<string, number | string>;
  metric: Metric;
  /** seqgrad's workload on `backend` (the harness makes one per requested backend). */
  ours(backend: string): Workload;
  /** Run seqgrad only on these of the requested backends (e.g. float64 work, which always runs on js). */
  onlyBackends?: string[];
}

/** Something else that runs the same workloads: TensorFlow.js, brain.js, PyTorch. */
export interface Peer {
  /** 'tfjs', 'brain.js', 'torch' */
  name: string;
  /** Versions for the header, e.g. '@tensorflow/tfjs 4.22.0'. */
  versions: string[];
  /** The peer's workloads for a case ([] when it has none for this suite). */
  workloads(benchCase: BenchCase): Promise<Workload[]>;
  close?(): Promise<void>;
}

export interface Suite {
  name: string;
  summary: string;
  /** What `--sizes` means for this suite (shown in --help), and its default. */
  sizesHelp?: string;
  defaultSizes?: number[];
  cases(ctx: SuiteContext): BenchCase[] | Promise<BenchCase[]>;
  /**
   * A suite that is not a table of timings (e.g. `memory`) runs itself instead: it returns the text
   * to print and what goes into --json. `cases` is then not called.
   */
  run?(ctx: SuiteContext): Promise<SuiteReport>;
}

export interface SuiteReport {
  text: string;
  results: unknown;
}

/** The workload shape of the model suites (cells, train, sample, memory), from the bench flags. */
export interface WorkloadOptions {
  /** Cells to run: rnn, gru (PyTorch's reset-after GRU), lstm. */
  cells: string[];
  /** B, T, D (input / embedding width) and V (vocabulary, the dense head's width). */
  batch: number;
  steps: number;
  input: number;
  vocab: number;
  /** Tokens per timed call of the sample suite. */
  tokens: number;
  /** Date sources per timed call of the decode suite (the issue's evaluation: 6,000 held-out pairs). */
  sources: number;
  optimizer: 'sgd' | 'adam';
  /** Training steps the memory suite runs. */
  heapSteps: number;
  /** The train suite's thread counts, one row each (seqgrad data-parallel, PyTorch set_num_threads). */
  threads: number[];
}

export const DEFAULT_WORKLOAD: WorkloadOptions = {
  cells: ['rnn', 'gru-reset-after', 'lstm'], batch: 32, steps: 50, input: 64, vocab: 64, tokens: 100, sources: 1000, optimizer: 'sgd', heapSteps: 10000, threads: [1],
};

export type Clock = 'wall' | 'cpu';

export interface RunOptions {
  /** Timed runs per workload (≥ 5 for the table). */
  runs: number;
  /** Warm-up per workload: untimed calls until this many ms passed (and at least 2 calls). */
  warmupMs: number;
  /** A timed run repeats the call until it lasts about this long. */
  minRunMs: number;
}

export interface SuiteContext extends RunOptions {
  /** seqgrad backends to run, e.g. ['js', 'wasm']. */
  backends: string[];
  /** --sizes, or null for the suite's defaults. */
  sizes: number[] | null;
  /** The model suites' shape (flags --cell, --batch, …); DEFAULT_WORKLOAD when absent. */
  workload?: WorkloadOptions;
  /** Progress lines (stderr). */
  log(line: string): void;
}

/** Median and range over the timed runs of one clock, in the case's unit, and the raw ms per call. */
export interface ClockStats {
  median: number;
  min: number;
  max: number;
  msPerCall: number[];
}

export interface BenchResult {
  suite: string;
  case: string;
  params: Record<string, number | string>;
  impl: string;
  ours: boolean;
  unit: string;
  higherIsBetter: boolean;
  /** Calls per timed run. */
  reps: number;
  wall: ClockStats;
  /** null when the workload could not report CPU time. */
  cpu: ClockStats | null;
}

function clockStats(metric: Metric, msPerCall: number[]): ClockStats {
  const values = msPerCall.map((ms) => metric.fromMs(ms));
  return { median: metric.fromMs(median(msPerCall)), min: Math.min(...values), max: Math.max(...values), msPerCall };
}

/** The stats of `clock`, falling back to wall time where CPU time is unknown. */
export function statsOf(r: BenchResult, clock: Clock): ClockStats {
  return clock === 'cpu' && r.cpu ? r.cpu : r.wall;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Warm up every workload, then time them round-robin: run r of each before run r + 1 of any. */
export async function measureInterleaved(benchCase: BenchCase, workloads: Workload[], options: RunOptions): Promise<BenchResult[]> {
  if (options.runs < 1) throw new Error(`bench: expected at least 1 timed run, got ${options.runs}`);
  const reps: number[] = [];
  for (const w of workloads) reps.push(await warmUp(w, options));
  const wall: number[][] = workloads.map(() => []);
  const cpu: (number[] | null)[] = workloads.map(() => []);
  for (let r = 0; r < options.runs; r++) {
    for (let i = 0; i < workloads.length; i++) {
      await workloads[i].before?.();
      const timing = asTiming(await workloads[i].run(reps[i]));
      wall[i].push(timing.wallMs / reps[i]);
      if (timing.cpuMs === undefined) cpu[i] = null;
      else cpu[i]?.push(timing.cpuMs / reps[i]);
    }
  }
  const { metric } = benchCase;
  return workloads.map((w, i) => ({
    suite: benchCase.suite,
    case: benchCase.name,
    params: benchCase.params,
    impl: w.impl,
    ours: w.ours,
    unit: metric.unit,
    higherIsBetter: metric.higherIsBetter,
    reps: reps[i],
    wall: clockStats(metric, wall[i]),
    cpu: cpu[i] ? clockStats(metric, cpu[i]!) : null,
  }));
}

function asTiming(t: number | RunTiming): RunTiming {
  return typeof t === 'number' ? { wallMs: t } : t;
}

/** Untimed calls (at least 2, until warmupMs passed); returns the reps per timed run. */
async function warmUp(w: Workload, options: RunOptions): Promise<number> {
  let calls = 0, spent = 0, last = Infinity;
  const start = performance.now();
  while (calls < 2 || performance.now() - start < options.warmupMs) {
    await w.before?.();
    last = asTiming(await w.run(1)).wallMs;
    spent += last;
    calls++;
    if (calls >= 1000) break;
  }
  const perCall = Math.max(Math.min(last, spent / calls), 1e-4);
  return Math.max(1, Math.round(options.minRunMs / perCall));
}

/** Run one case: seqgrad on every backend plus every peer's workloads, interleaved. */
export async function runCase(benchCase: BenchCase, ctx: SuiteContext, peers: Peer[]): Promise<BenchResult[]> {
  const backends = benchCase.onlyBackends ? ctx.backends.filter((b) => benchCase.onlyBackends!.includes(b)) : ctx.backends;
  const workloads = backends.map((b) => benchCase.ours(b));
  for (const peer of peers) workloads.push(...(await peer.workloads(peerCase(benchCase))));
  try {
    return await measureInterleaved(benchCase, workloads, ctx);
  } finally {
    for (const w of workloads) await w.dispose?.();
  }
}

/** The case as the peers name it: their GRU (PyTorch's, TensorFlow.js's, brain.js's) is called 'gru'. */
function peerCase(benchCase: BenchCase): BenchCase {
  if (benchCase.params.cell !== 'gru-reset-after') return benchCase;
  return { ...benchCase, params: { ...benchCase.params, cell: 'gru' } };
}

// --- reporting ---

export interface MachineInfo {
  cpu: string;
  cores: number;
  os: string;
  node: string;
  v8: string;
  seqgrad: string;
  backends: string[];
  /** Backend details, e.g. 'wasm: SIMD128, relaxed_madd'. */
  backendNotes: string[];
  peers: string[];
  /** 1-minute load average when the run started (compare with `cores`). */
  loadAverage: number;
}

export function machineInfo(backends: string[], backendNotes: string[], peers: Peer[]): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    os: `${platform()} ${arch()}`,
    node: process.version,
    v8: process.versions.v8,
    seqgrad: seqgradVersion(),
    backends,
    backendNotes,
    peers: peers.flatMap((p) => p.versions),
    loadAverage: loadavg()[0],
  };
}

/** The package version: package.json sits one level above both `benchmarks/` and the bundled `dist/`. */
function seqgradVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function formatHeader(info: MachineInfo, options: RunOptions, clock: Clock = 'wall'): string {
  const lines = [
    `seqgrad ${info.seqgrad} bench — backend${info.backends.length > 1 ? 's' : ''} ${info.backends.join(', ')}${info.backendNotes.length ? ` (${info.backendNotes.join('; ')})` : ''}`,
    `machine: ${info.cpu}, ${info.cores} core${info.cores === 1 ? '' : 's'}, ${info.os}; Node ${info.node}, V8 ${info.v8}; one thread; load average ${info.loadAverage.toFixed(2)}`,
  ];
  if (info.peers.length) lines.push(`peers: ${info.peers.join(', ')}`);
  lines.push(`${options.runs} timed runs per row after ≥ ${options.warmupMs} ms warm-up, interleaved; median (min–max) of ${clock === 'cpu' ? 'CPU time (user + system of the working process)' : 'wall time'}`);
  if (clock === 'wall' && info.loadAverage > info.cores) {
    lines.push(`note: the load average exceeds the ${info.cores} cores, so wall times include waiting for other processes (--clock cpu discounts it)`);
  }
  return lines.join('\n');
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 100) return x.toFixed(1);
  if (a >= 10) return x.toFixed(2);
  return x.toFixed(3);
}

/** How many times faster `ours` is than `peer` (> 1: seqgrad faster), whatever the unit's direction. */
export function speedRatio(ours: BenchResult, peer: BenchResult, clock: Clock = 'wall'): number {
  const a = statsOf(ours, clock).median, b = statsOf(peer, clock).median;
  return ours.higherIsBetter ? a / b : b / a;
}

/** The table of one suite: a row per case and implementation, then the seqgrad ÷ peer speed ratios. */
export function formatTable(results: BenchResult[], clock: Clock = 'wall'): string {
  const rows: string[][] = [['case', 'implementation', 'median', 'min–max', 'unit', 'vs peers (×, > 1 = seqgrad faster)']];
  const cases = [...new Set(results.map((r) => r.case))];
  for (const name of cases) {
    const group = results.filter((r) => r.case === name);
    const peers = group.filter((r) => !r.ours);
    for (const r of group) {
      const ratios = r.ours ? peers.map((p) => `${p.impl} ${fmt(speedRatio(r, p, clock))}`).join(', ') : '';
      const s = statsOf(r, clock);
      const mark = clock === 'cpu' && !r.cpu ? ' (wall)' : '';
      rows.push([name, r.impl, fmt(s.median), `${fmt(s.min)}–${fmt(s.max)}`, r.unit + mark, ratios]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 2 || c === 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

