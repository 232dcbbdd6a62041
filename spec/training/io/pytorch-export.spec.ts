/**
 * `seqgrad export --format pytorch`: model.py must reproduce seqgrad's logits (≤ 1e−5) for every
 * cell kind, uni- and bidirectional, every-step and last-step readouts; train_ddp.py must run 3
 * steps under `torchrun --nproc_per_node 2` (CPU, gloo) and write a file `seqgrad import` reads.
 * Needs /usr/bin/python3 with torch (Debian: apt-get install python3-torch libopenblas0-openmp).
 */
import { spawnSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/rng.js';
import type { CellKind } from '../../../layers/cells/cell.js';
import { CELL_KINDS } from '../../../layers/cells/create-cell.js';
import { TRAIN_DDP_PY, writePytorchFolder } from '../../../training/io/pytorch-export.js';
import { createSequenceNet, exportable, sequenceNetLogits, type NetDescription } from '../../../training/io/sequence-net.js';
import { lmExportable, loadLanguageModelSafetensors } from '../../../training/lm/export.js';
import { createLanguageModel, lmParameters } from '../../../training/lm/model.js';
import { buildLmVocabulary, tokenizeCorpus } from '../../../training/lm/train.js';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const TORCHRUN = '/usr/bin/torchrun';
const hasTorchrun = hasTorch && fs.existsSync(TORCHRUN);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-pytorch-export-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The environment of a PyTorch child process: one thread, the machine's OpenBLAS tuning unset. */
function torchEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: torchEnv() });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Every cell kind twice: 2 layers one way at every step, and bidirectional read out on the last step. */
function descriptions(): NetDescription[] {
  const base = { vocabSize: 9, hidden: 5, outputSize: 4, head: 'softmax' as const, dtype: 'float32' as const };
  return CELL_KINDS.flatMap((cell: CellKind): NetDescription[] => {
    const activation = cell === 'rnn' ? { activation: 'relu' as const } : {};
    return [
      { ...base, ...activation, cell, embeddingDim: cell === 'gru' ? 0 : 3, layers: 2, bidirectional: false, readout: 'every-step' },
      { ...base, ...activation, cell, embeddingDim: 3, layers: cell === 'lstm-peephole' ? 2 : 1, bidirectional: true, readout: 'last-step', head: 'sigmoid' },
    ];
  });
}

describe('seqgrad export --format pytorch', () => {
  it.skipIf(!hasTorch)('model.py reproduces seqgrad’s logits to 1e-5 for every cell kind, train_ddp.py tokenizes as seqgrad train (skips without /usr/bin/python3 + torch)', async () => {
    const T = 6, B = 3;
    const rng = new Rng(17);
    const cases = descriptions().map((desc, i) => {
      const net = createSequenceNet(desc, { rng: new Rng(100 + i) });
      const folder = path.join(dir, `net-${i}`);
      writePytorchFolder(folder, exportable('test', net, {}));
      const ids = Array.from({ length: T * B }, () => rng.int(desc.vocabSize));
      return { desc, net, folder, ids };
    });
    const driver = path.join(dir, 'driver.py');
    fs.writeFileSync(driver, [
      'import json, sys, torch',
      `sys.path.insert(0, ${JSON.stringify(cases[0].folder)})`,
      'from model import load',
      'out = []',
      'for case in json.load(open(sys.argv[1])):',
      '    net = load(case["file"])',
      '    with torch.no_grad():',
      '        logits = net(torch.tensor(case["ids"]).reshape(case["T"], case["B"]))',
      '    out.append(logits.reshape(-1, logits.shape[-1]).tolist())',
      'from train_ddp import tokenize_corpus',
      'text = open(sys.argv[2], encoding="utf-8").read()',
      'tokens = [tokenize_corpus(text, level, lowercase) for level in ("char", "word") for lowercase in (False, True)]',
      'print(json.dumps({"logits": out, "tokens": tokens}))',
    ].join('\n'));
    // train_ddp.py must read a corpus as `seqgrad train` does (tokenizeCorpus).
    fs.writeFileSync(path.join(cases[0].folder, 'train_ddp.py'), TRAIN_DDP_PY);
    const corpus = path.join(dir, 'corpus.txt');
    const text = "Don't stop—the well-known café's 3.5 items!\r\nsnake_case  x²\n\n   \nÉLAN Ωmega 2026.\nlast line without newline";
    fs.writeFileSync(corpus, text);
    const input = path.join(dir, 'cases.json');
    fs.writeFileSync(input, JSON.stringify(cases.map((c) => ({ file: path.join(c.folder, 'model.safetensors'), ids: c.ids, T, B }))));
    const result = await run(PYTHON, [driver, input, corpus], dir);
    expect(result.stderr).toBe('');
    const { logits: torchLogits, tokens } = JSON.parse(result.stdout) as { logits: number[][][]; tokens: string[][] };
    const ours = (['char', 'word'] as const).flatMap((level) => [false, true].map((lowercase) => tokenizeCorpus(text, { level, lowercase })));
    expect(tokens).toEqual(ours);
    cases.forEach((c, i) => {
      const ours = sequenceNetLogits(c.net, c.ids, T, B);
      const theirs = torchLogits[i];
      expect([theirs.length, theirs[0].length], c.desc.cell).toEqual([ours.rows, ours.cols]);
      let worst = 0;
      for (let r = 0; r < ours.rows; r++) for (let k = 0; k < ours.cols; k++) worst = Math.max(worst, Math.abs(ours.get(r, k) - theirs[r][k]));
      expect(worst, `${c.desc.cell} ${c.desc.bidirectional ? 'bidirectional' : ''}`).toBeLessThanOrEqual(1e-5);
    });
  });

  it.skipIf(!hasTorchrun)('train_ddp.py runs 3 steps under torchrun --nproc_per_node 2 (gloo) and seqgrad imports the result (skips without torch)', async () => {
    const text = fs.readFileSync('data/dinos.txt', 'utf8');
    const vocab = buildLmVocabulary(tokenizeCorpus(text, { level: 'char', lowercase: true }));
    const model = createLanguageModel({
      level: 'char', lowercase: true, cell: 'lstm', hidden: 16, embeddingDim: 8, vocab,
    }, { rng: new Rng(5) });
    const folder = path.join(dir, 'lm');
    expect(writePytorchFolder(folder, lmExportable(model)).files).toEqual(['model.safetensors', 'model.py', 'train_ddp.py']);
    const port = await freePort();
    const result = await run(TORCHRUN, [
      // --redirects/--tee 1: Debian's torch 1.13 on Python 3.11 cannot parse their default '0'.
      '--nproc_per_node', '2', '--master_port', String(port), '--redirects', '1', '--tee', '1', 'train_ddp.py',
      '--data', path.resolve('data/dinos.txt'), '--steps', '3', '--seq-len', '12', '--batch', '4', '--out', 'trained.safetensors',
    ], folder);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/step 3\/3 {2}loss \d+\.\d+ {2}\(2 process\(es\)/);
    const trained = loadLanguageModelSafetensors(path.join(folder, 'trained.safetensors'));
    expect(trained.config).toEqual(model.config);
    expect(trained.vocab.tokens).toEqual(model.vocab.tokens);
    const before = lmParameters(model)['head.W'], after = lmParameters(trained)['head.W'];
    expect(after.data).not.toEqual(before.data); // three Adam steps moved the weights
  });
});
