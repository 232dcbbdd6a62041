/**
 * The model suites of `seqgrad bench` (workloads in ../workloads.ts, the same work in every peer):
 *
 *   cells   one recurrent layer + dense head + softmax CE at every step: forward + backward, ms
 *   train   the full training step of a one-layer language model (+ the optimizer update), ms; and
 *           the char-LM of the Tiny Shakespeare race (one-hot V 65, LSTM H 256, T 100, B 32, Adam,
 *           clip 5), tokens/s; one row per --threads count (threads > 1: wasm only; the CPU clock
 *           then counts every thread's time, so compare those rows on the wall clock)
 *   sample  batch-1 generation, µs per token
 *
 * Shapes from the bench flags (`WorkloadOptions`): --cell rnn,gru,lstm, --batch B, --seq-len T,
 * --input D, --vocab V, --tokens, --optimizer; `--sizes` are the hidden sizes H (default 128; the
 * sample suite 128 and 256). The issue's reference case is train lstm B=32 T=50 D=64 H=128 V=64.
 * One work object per case serves every seqgrad backend (same weights, same data).
 */
import {
  DEFAULT_WORKLOAD, microsPer, millis, onBackend, perSecond, seqgradWorkload,
  type BenchCase, type Metric, type Suite, type SuiteContext,
} from '../harness.js';
import { benchCellKind, cellsWork, charLmWork, sampleWork, trainWork, type BenchWork } from '../workloads.js';

function hiddenSizes(suite: Suite, ctx: SuiteContext): number[] {
  const sizes = ctx.sizes ?? suite.defaultSizes!;
  for (const h of sizes) {
    if (!Number.isInteger(h) || h < 1) throw new Error(`bench ${suite.name}: expected hidden sizes to be positive integers, got ${h}`);
  }
  return sizes;
}

/** A case whose seqgrad workload on each backend is `make()`'s call, built on that backend. */
function modelCase(
  suite: string, name: string, params: Record<string, number | string>, metric: Metric, make: () => BenchWork,
): BenchCase {
  return {
    suite,
    name,
    params,
    metric,
    // Worker threads share the wasm backend's memory: a threaded row has no js (or gpu) run.
    ...(Number(params.threads ?? 1) > 1 ? { onlyBackends: ['wasm'] } : {}),
    ours(backend) {
      const w = onBackend(backend, make);
      return seqgradWorkload(backend, () => w.call(), w.dispose && (() => w.dispose!()));
    },
  };
}

export const cellsSuite: Suite = {
  name: 'cells',
  summary: 'one recurrent layer + dense head + softmax CE at every step, forward + backward, ms (float32)',
  sizesHelp: 'hidden sizes H',
  defaultSizes: [128],
  cases(ctx) {
    const w = ctx.workload ?? DEFAULT_WORKLOAD;
    return hiddenSizes(this, ctx).flatMap((H) => w.cells.map((cell) => {
      benchCellKind('bench cells', cell);
      const params = { cell, B: w.batch, T: w.steps, D: w.input, H, V: w.vocab };
      return modelCase('cells', `${cell} B=${w.batch} T=${w.steps} D=${w.input} H=${H} V=${w.vocab}`, params, millis(), () => cellsWork(params));
    }));
  },
};

export const trainSuite: Suite = {
  name: 'train',
  summary: 'training step: embedding → cell → dense → softmax CE, BPTT, optimizer update, ms (float32)',
  sizesHelp: 'hidden sizes H',
  defaultSizes: [128],
  cases(ctx) {
    const w = ctx.workload ?? DEFAULT_WORKLOAD;
    const threads = w.threads ?? [1];
    for (const n of threads) if (!(Number.isInteger(n) && n >= 1)) throw new Error(`bench train: expected thread counts ≥ 1, got ${n}`);
    const suffix = (n: number): string => (threads.length === 1 && n === 1 ? '' : ` threads=${n}`);
    const steps = hiddenSizes(this, ctx).flatMap((H) => w.cells.flatMap((cell) => threads.map((n) => {
      benchCellKind('bench train', cell);
      const params = { cell, B: w.batch, T: w.steps, D: w.input, H, V: w.vocab, optimizer: w.optimizer, threads: n };
      const name = `${cell} B=${w.batch} T=${w.steps} D=${w.input} H=${H} V=${w.vocab}${w.optimizer === 'sgd' ? '' : ` ${w.optimizer}`}${suffix(n)}`;
      return modelCase('train', name, params, millis(), () => trainWork(params));
    })));
    // The Tiny Shakespeare race's model and step (fixed shape), in tokens per second.
    const charLm = threads.map((n) => {
      const params = { model: 'charlm', B: 32, T: 100, H: 256, V: 65, threads: n };
      const name = `char-LM lstm one-hot V=65 H=256 T=100 B=32 adam clip 5${suffix(n)}`;
      // wasm only: the race is about the fast path (a js step of this size takes seconds)
      return { ...modelCase('train', name, params, perSecond(32 * 100, 'tokens'), () => charLmWork(params)), onlyBackends: ['wasm'] };
    });
    return [...steps, ...charLm];
  },
};

export const sampleSuite: Suite = {
  name: 'sample',
  summary: 'batch-1 sampling: embedding → cell step → dense → softmax → draw, µs/token (float32)',
  sizesHelp: 'hidden sizes H',
  defaultSizes: [128, 256],
  cases(ctx) {
    const w = ctx.workload ?? DEFAULT_WORKLOAD;
    return hiddenSizes(this, ctx).flatMap((H) => w.cells.map((cell) => {
      benchCellKind('bench sample', cell);
      const params = { cell, D: w.input, H, V: w.vocab, tokens: w.tokens };
      return modelCase('sample', `${cell} D=${w.input} H=${H} V=${w.vocab}`, params, microsPer(w.tokens, 'token'), () => sampleWork(params));
    }));
  },
};
