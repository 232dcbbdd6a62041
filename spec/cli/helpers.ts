/**
 * Running the `seqgrad` binary from a spec: node with the tsx loader on cli/main.ts (npx costs a
 * second or two per spawn on a busy machine), in the repository root, colours off.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder above spec/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliRun {
  code: number | null;
  stdout: string;
  /** stderr without npm's own warnings about the machine's npm configuration. */
  stderr: string;
}

/** `seqgrad ...args`, with `stdin` (default: nothing) on its standard input. */
export function runSeqgrad(args: string[], stdin?: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({
      code, stdout, stderr: stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('npm warn')).join('\n'),
    }));
    child.stdin.end(stdin ?? '');
  });
}

/**
 * `seqgrad ...args`, sent `signal` (or each of several signals, `gapMs` apart) once its stderr
 * matches `ready` (a progress line: training is under way).
 */
export function runSeqgradSignalled(
  args: string[], ready: RegExp, signal: NodeJS.Signals | NodeJS.Signals[] = 'SIGINT', gapMs = 0,
): Promise<CliRun> {
  const signals = Array.isArray(signal) ? signal : [signal];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '', stderr = '', sent = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!sent && ready.test(stderr)) {
        sent = true;
        signals.forEach((s, i) => setTimeout(() => child.kill(s), i * gapMs));
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
