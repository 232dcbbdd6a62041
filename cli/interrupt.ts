/**
 * Ctrl-C (SIGINT) and SIGTERM during training: the first one asks the training loop to stop after
 * the step under way, so the command still writes its checkpoint and model, says where, and exits
 * 128 + the signal (130, 143); a second one aborts at once, leaving no partial file behind.
 *
 * Why a worker thread: the training loops are synchronous, and Node runs signal handlers only when
 * the main thread's event loop turns — never during a loop. So a training command runs in a worker
 * thread, and the main thread only waits: it receives the signal and sets a flag in shared memory
 * that the loop reads between steps (`stopFlag`, passed to the trainers as their `signal` option).
 * For the abort, the worker reports the temporary files of saves under way, and the main thread
 * removes those that are left after it has stopped the worker.
 */
import * as fs from 'node:fs';
import { isMainThread, parentPort, workerData, type Worker } from 'node:worker_threads';
import { observeTempFiles } from '../training/io/files.js';
import { startModuleWorker } from '../training/parallel/start-worker.js';
import type { StopFlag } from '../training/core/stop.js';

/** The commands whose work is a training loop, run in a worker (everything else runs in-line). */
export const TRAINING_COMMANDS = new Set(['train', 'start', 'seq2seq', 'word2vec', 'glove', 'sentiment', 'tagger', 'trigger', 'tree']);

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
type StopSignalName = keyof typeof SIGNAL_NUMBERS;

interface WorkerData {
  seqgradArgv: string[];
  stop: SharedArrayBuffer;
  stderr: { isTTY: boolean; columns: number | undefined };
}

/** The signal number asking to stop (0: none), in shared memory in a worker, else local. */
let shared: Int32Array | null = null;
let localSignal = 0;

function signalNumber(): number {
  return shared ? Atomics.load(shared, 0) : localSignal;
}

/** Passed to the trainers as `signal`: true once SIGINT or SIGTERM came. */
export const stopFlag: StopFlag & { readonly stopRequested: boolean } = {
  get stopRequested(): boolean {
    return signalNumber() !== 0;
  },
};

/** Ask to stop as SIGINT would (for in-process callers and tests). */
export function requestStop(signal: StopSignalName = 'SIGINT'): void {
  if (shared) Atomics.store(shared, 0, SIGNAL_NUMBERS[signal]);
  else localSignal = SIGNAL_NUMBERS[signal];
}

/** 130 after SIGINT, 143 after SIGTERM; null when no stop was asked for. */
export function interruptedExitCode(): number | null {
  const n = signalNumber();
  return n === 0 ? null : 128 + n;
}

/** "interrupted by SIGINT" (for the line that says what was saved where). */
export function interruptionNote(): string {
  const n = signalNumber();
  const name = Object.entries(SIGNAL_NUMBERS).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;
  return `interrupted by ${name}`;
}

/**
 * In a worker started by `runInWorker`: wire the stop flag, stderr's terminal properties and the
 * temporary-file reports, and return the arguments to run. Null in the main thread.
 */
export function workerArguments(): string[] | null {
  if (isMainThread || !workerData || !(workerData as WorkerData).seqgradArgv) return null;
  const data = workerData as WorkerData;
  shared = new Int32Array(data.stop);
  // The progress bar draws in place only on a terminal; the worker's stderr is a pipe to the main thread.
  if (data.stderr.isTTY) Object.assign(process.stderr, { isTTY: true, columns: data.stderr.columns });
  observeTempFiles((path, open) => parentPort?.postMessage({ tempFile: path, open }));
  return data.seqgradArgv;
}

/** Report the command's exit code to the main thread (from the worker). */
export function reportExitCode(code: number): void {
  parentPort?.postMessage({ exitCode: code });
}

/**
 * Run `argv` in a worker thread started from `entry` (the CLI's own module), handling SIGINT and
 * SIGTERM as described above. Resolves to the exit code.
 */
export function runInWorker(entry: URL, argv: string[]): Promise<number> {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const data: WorkerData = {
    seqgradArgv: argv, stop: stop.buffer as SharedArrayBuffer,
    stderr: { isTTY: Boolean(process.stderr.isTTY), columns: process.stderr.columns },
  };
  const worker = startModuleWorker(entry, { workerData: data }) as unknown as Worker;
  const tempFiles = new Set<string>();
  let exitCode: number | null = null;
  let aborting = false;

  const onSignal = (name: StopSignalName): void => {
    if (Atomics.load(stop, 0) === 0) {
      Atomics.store(stop, 0, SIGNAL_NUMBERS[name]);
      process.stderr.write(`\nseqgrad: ${name}: finishing the current step, then saving (${name === 'SIGINT' ? 'Ctrl-C' : 'a second signal'} again aborts at once)\n`);
      return;
    }
    if (aborting) return;
    aborting = true;
    const code = 128 + Atomics.load(stop, 0);
    void worker.terminate().then(async () => {
      await new Promise((resolve) => setImmediate(resolve)); // reports already sent are delivered first
      for (const path of tempFiles) fs.rmSync(path, { force: true });
      process.stderr.write(`seqgrad: aborted; nothing was saved by this step\n`);
      process.exit(code);
    });
  };
  const handlers = { SIGINT: () => onSignal('SIGINT'), SIGTERM: () => onSignal('SIGTERM') };
  process.on('SIGINT', handlers.SIGINT);
  process.on('SIGTERM', handlers.SIGTERM);

  return new Promise((resolve) => {
    worker.on('message', (m: { tempFile?: string; open?: boolean; exitCode?: number }) => {
      if (m.tempFile !== undefined) {
        if (m.open) tempFiles.add(m.tempFile);
        else tempFiles.delete(m.tempFile);
      }
      if (m.exitCode !== undefined) exitCode = m.exitCode;
    });
    worker.on('error', (err) => {
      process.stderr.write(`seqgrad: ${err instanceof Error ? err.message : String(err)}\n`);
      exitCode ??= 1;
    });
    worker.on('exit', () => {
      if (aborting) return; // the abort exits the process itself
      process.off('SIGINT', handlers.SIGINT);
      process.off('SIGTERM', handlers.SIGTERM);
      for (const path of tempFiles) fs.rmSync(path, { force: true });
      resolve(exitCode ?? 1);
    });
  });
}

/**
 * After a run a signal stopped: one line on stderr saying what was saved where, and the exit code
 * 130/143. 0 when the run was not interrupted.
 */
export function interrupted(command: string, steps: number | null, saved: (string | undefined)[]): number {
  const code = interruptedExitCode();
  if (code === null) return 0;
  const files = saved.filter((f): f is string => f !== undefined);
  console.error(`seqgrad ${command}: ${interruptionNote()}${steps === null ? '' : ` after step ${steps}`}; saved ${files.length > 0 ? files.join(', ') : 'nothing (no output was asked for)'}`);
  return code;
}
