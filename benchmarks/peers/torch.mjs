// The PyTorch peer: drives torch_peer.py (a JSON-lines server under /usr/bin/python3) so each timed
// run is one request, interleaved with seqgrad's runs like the in-process peers. Needs no npm package.
// createPeer() throws with a one-line reason when python3 or torch is missing.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const PYTHON = process.env.SEQGRAD_BENCH_PYTHON || '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./torch_peer.py', import.meta.url));

class TorchServer {
  constructor() {
    this.child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.pending = [];
    this.stderr = '';
    this.exited = null;
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    this.child.stdin.on('error', () => {}); // a dead python is reported by 'exit' below
    this.child.on('error', (err) => this.fail(err.message));
    this.child.on('exit', (code) => this.fail(`python exited with code ${code}: ${this.stderr.trim().split('\n').pop() ?? ''}`));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const next = this.pending.shift();
      if (!next) return;
      try {
        const reply = JSON.parse(line);
        if (reply.error) next.reject(new Error(`torch peer: ${reply.error}`));
        else next.resolve(reply);
      } catch (err) {
        next.reject(new Error(`torch peer: unreadable reply '${line}'`));
      }
    });
  }

  fail(reason) {
    this.exited = reason;
    for (const p of this.pending.splice(0)) p.reject(new Error(`torch peer: ${reason}`));
  }

  request(message) {
    if (this.exited) return Promise.reject(new Error(`torch peer: ${this.exited}`));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(`${JSON.stringify(message)}\n`);
    });
  }

  close() {
    this.child.stdin.end();
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
  }
}

export async function createPeer() {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found`);
  const server = new TorchServer();
  let hello;
  try {
    hello = await server.request({ cmd: 'hello' });
  } catch (err) {
    await server.close().catch(() => {});
    throw new Error(`PyTorch is not importable by ${PYTHON} (${err.message.replace(/^torch peer: /, '')})`);
  }
  let nextId = 1;
  return {
    name: 'torch',
    versions: [`PyTorch ${hello.torch} (${hello.threads} thread, ${PYTHON}, BLAS ${hello.blas})`],
    async workloads(benchCase) {
      const id = nextId++;
      const setup = await server.request({ cmd: 'setup', id, suite: benchCase.suite, params: benchCase.params });
      if (!setup.ok) return [];
      return [{
        impl: 'torch',
        ours: false,
        async run(reps) {
          const reply = await server.request({ cmd: 'run', id, reps });
          return { wallMs: reply.ms, cpuMs: reply.cpu_ms };
        },
        async dispose() {
          await server.request({ cmd: 'dispose', id });
        },
      }];
    },
    close: () => server.close(),
  };
}
