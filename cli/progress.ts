/**
 * Progress reporting for long CLI jobs (training, evaluation).
 *
 * On a terminal (stderr is a TTY) it redraws one line in place: a bar, done/total, rate and the
 * caller's numbers (loss, tokens/s, …), at most ten times a second. Elsewhere (a pipe, CI, a log
 * file) it prints a plain line every few seconds, so logs stay readable — and never the same line
 * twice: the last step's line is printed by `finish` (with the latest info and its message), and a
 * `finish` after a line already printed for the same step adds only its message. It writes to stderr only,
 * so `--json` output on stdout stays clean.
 */

export interface ProgressOptions {
  label: string;
  total: number;
  /** Name of what is counted ("steps", "batches"); default "steps". */
  unit?: string;
}

export interface Progress {
  /** Report that `done` of `total` units are finished; `info` is shown as `key value` pairs. */
  update(done: number, info?: Record<string, number | string>): void;
  /**
   * End the bar (a final line, with `message` when given). Further updates are ignored. Off a TTY
   * the last step's line waits for finish, so every caller ends with finish.
   */
  finish(message?: string): void;
}

/** Where and how progress is written; tests pass their own. */
export interface ProgressSink {
  write(text: string): void;
  isTTY: boolean;
  /** Terminal width in columns (TTY only). */
  columns?: number;
  /** Milliseconds clock (default Date.now). */
  now?: () => number;
}

const TTY_INTERVAL_MS = 100;
const LOG_INTERVAL_MS = 5000;
const BAR_WIDTH = 24;

export function createProgress(opts: ProgressOptions, sink: ProgressSink = stderrSink()): Progress {
  if (!opts || typeof opts.label !== 'string') throw new Error('createProgress: expected { label: string, total: number }');
  if (!Number.isFinite(opts.total) || opts.total < 0) {
    throw new Error(`createProgress: expected total to be a finite number ≥ 0, got ${opts.total}`);
  }
  const unit = opts.unit ?? 'steps';
  const now = sink.now ?? Date.now;
  const start = now();
  let lastDraw = -Infinity;
  let lastLine = '';
  let finished = false;
  let lastDone = 0;
  let lastInfo: Record<string, number | string> | undefined;
  /** The done count and info of the last plain line printed (off a TTY): `finish` does not repeat it. */
  let printed: { done: number; info: string } | null = null;

  const render = (done: number, info?: Record<string, number | string>): string => {
    const elapsedS = Math.max(1e-9, (now() - start) / 1000);
    const fraction = opts.total > 0 ? Math.min(1, Math.max(0, done / opts.total)) : 1;
    const rate = done / elapsedS;
    // An estimate from less than half a second of work is noise: show none until then.
    const eta = elapsedS >= 0.5 && rate > 0 && opts.total > done ? (opts.total - done) / rate : 0;
    const pieces = [
      opts.label,
      sink.isTTY ? bar(fraction) : '',
      `${done}/${opts.total} ${unit}`,
      `${(fraction * 100).toFixed(0)}%`,
      `${formatDuration(elapsedS)} elapsed`,
      eta > 0 ? `eta ${formatDuration(eta)}` : '',
      formatInfo(info),
    ].filter((p) => p.length > 0);
    return pieces.join('  ');
  };

  return {
    update(done, info) {
      if (finished) return;
      lastDone = done;
      lastInfo = info;
      const t = now();
      const interval = sink.isTTY ? TTY_INTERVAL_MS : LOG_INTERVAL_MS;
      if (t - lastDraw < interval && done < opts.total) return;
      if (!sink.isTTY && done >= opts.total) return; // finish prints it, with the info as it is then
      lastDraw = t;
      const line = render(done, info);
      if (sink.isTTY) {
        const fitted = fit(line, sink.columns);
        sink.write(`\r${fitted}${' '.repeat(Math.max(0, lastLine.length - fitted.length))}`);
        lastLine = fitted;
      } else {
        sink.write(line + '\n');
        printed = { done, info: formatInfo(info) };
      }
    },
    finish(message) {
      if (finished) return;
      finished = true;
      const line = render(lastDone, lastInfo) + (message ? `  ${message}` : '');
      if (sink.isTTY) {
        const fitted = fit(line, sink.columns);
        sink.write(`\r${fitted}${' '.repeat(Math.max(0, lastLine.length - fitted.length))}\n`);
      } else if (printed?.done === lastDone && printed.info === formatInfo(lastInfo)) {
        if (message) sink.write(`${opts.label}  ${message}\n`);
      } else {
        sink.write(line + '\n');
      }
    },
  };
}

function stderrSink(): ProgressSink {
  return {
    write: (text) => process.stderr.write(text),
    isTTY: Boolean(process.stderr.isTTY),
    columns: process.stderr.columns,
  };
}

function bar(fraction: number): string {
  const filled = Math.round(fraction * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
}

/** `loss 1.234  tok/s 5120`: numbers with four significant digits, integers as they are. */
export function formatInfo(info?: Record<string, number | string>): string {
  if (!info) return '';
  return Object.entries(info)
    .map(([key, value]) => `${key} ${typeof value === 'number' ? formatNumber(value) : value}`)
    .join('  ');
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1e5 || Math.abs(value) < 1e-3 ? value.toExponential(3) : value.toPrecision(4);
}

/** 75 → "1m15s", 3725 → "1h02m", 4.2 → "4.2s". */
export function formatDuration(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function fit(line: string, columns?: number): string {
  if (!columns || columns <= 1 || line.length < columns) return line;
  return line.slice(0, columns - 1);
}
