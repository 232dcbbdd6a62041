/**
 * ONNX export: the file runs in ONNX Runtime (onnxruntime-node, its own package in
 * spec/onnx-runtime, installed by `npm run onnx:runtime`) and its outputs match seqgrad's forward
 * to ≤ 1e−5 for every cell kind, uni- and bidirectional, both readouts, and for the language model,
 * tagger and sentiment model; python3-onnx's checker accepts it where it is installed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/rng.js';
import type { CellKind } from '../../../layers/cells/cell.js';
import { CELL_KINDS } from '../../../layers/cells/create-cell.js';
import { sequenceNetToOnnx } from '../../../training/io/onnx.js';
import { ProtoWriter } from '../../../training/io/protobuf.js';
import { createSequenceNet, exportable, sequenceNetLogits, type ExportableModel, type NetDescription } from '../../../training/io/sequence-net.js';
import { lmExportable } from '../../../training/lm/export.js';
import { createLanguageModel } from '../../../training/lm/model.js';
import { sentimentExportable } from '../../../training/sentiment/export.js';
import { createLstmSentimentModel } from '../../../training/sentiment/lstm.js';
import { taggerExportable } from '../../../training/tagger/export.js';
import { buildTaggerVocabulary, createTagger } from '../../../training/tagger/tagger.js';
import { Vocabulary } from '../../../training/text/vocab.js';

interface OrtTensor { data: Float32Array; dims: readonly number[] }
interface Ort {
  InferenceSession: { create(bytes: Uint8Array, opts?: object): Promise<{ run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensor>> }> };
  Tensor: new (type: 'int64', data: BigInt64Array, dims: number[]) => unknown;
}

/** onnxruntime-node from its own package, or null when `npm run onnx:runtime` has not installed it. */
function loadOrt(): Ort | null {
  const packageJson = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../onnx-runtime/package.json');
  try {
    return createRequire(packageJson)('onnxruntime-node') as Ort;
  } catch {
    return null;
  }
}
const ort = loadOrt();
const hasOnnxChecker = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-onnx-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function nets(): { name: string; model: ExportableModel }[] {
  const base = { vocabSize: 9, hidden: 5, outputSize: 4, dtype: 'float32' as const };
  const generic = CELL_KINDS.flatMap((cell: CellKind) => {
    const activation = cell === 'rnn' ? { activation: 'relu' as const } : {};
    const descs: NetDescription[] = [
      { ...base, ...activation, cell, embeddingDim: 0, layers: 2, bidirectional: false, head: 'softmax', readout: 'every-step' },
      { ...base, ...activation, cell, embeddingDim: 3, layers: 2, bidirectional: true, head: 'sigmoid', readout: 'every-step' },
      { ...base, ...activation, cell, embeddingDim: 3, layers: 1, bidirectional: true, head: 'softmax', readout: 'last-step' },
    ];
    return descs.map((d, i) => ({ name: `${cell} ${d.bidirectional ? 'bidirectional' : 'forward'} ${d.readout} #${i}`, model: exportable('test', createSequenceNet(d, { rng: new Rng(7 + i) }), {}) }));
  });
  const chars = Vocabulary.build('a stitch in time saves nine'.split(''));
  const words = buildTaggerVocabulary([{ tokens: ['Teddy', 'bears', 'are', 'on', 'sale', 'Teddy'], labels: [0, 0, 0, 0, 0, 0] }], 1);
  const sentimentWords = Vocabulary.build(['good', 'bad', 'not'], { specials: ['<PAD>', '<UNK>'] });
  return [
    ...generic,
    { name: 'language model (one-hot, 2-layer LSTM)', model: lmExportable(createLanguageModel({
      cell: 'lstm', hidden: 6, layers: 2, vocab: chars,
    }, { rng: new Rng(1) })) },
    { name: 'tagger (bidirectional LSTM, sigmoid)', model: taggerExportable(createTagger({
      vocab: words, hidden: 5, embeddingDim: 4,
    }, { rng: new Rng(2) })) },
    { name: 'sentiment (bidirectional LSTM, last step)', model: sentimentExportable(createLstmSentimentModel({
      vocab: sentimentWords, classes: ['negative', 'positive'], dim: 4, hidden: 3, bidirectional: true,
    }, { rng: new Rng(3) })) },
  ];
}

describe('the protobuf encoder', () => {
  it('writes the wire format of the protobuf documentation’s examples', () => {
    expect([...new ProtoWriter().int(1, 150).finish()]).toEqual([0x08, 0x96, 0x01]);
    expect([...new ProtoWriter().string(2, 'testing').finish()]).toEqual([0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
    expect([...new ProtoWriter().message(3, new ProtoWriter().int(1, 150)).finish()]).toEqual([0x1a, 0x03, 0x08, 0x96, 0x01]);
    expect([...new ProtoWriter().int(1, -1).finish()]).toEqual([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect([...new ProtoWriter().float(2, 1).finish()]).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
  });
});

describe('ONNX export', () => {
  it.skipIf(ort === null)('ONNX Runtime reproduces seqgrad’s logits to 1e-5 (skips without `npm run onnx:runtime`)', async () => {
    const rt = ort as Ort;
    const T = 7, B = 3;
    for (const { name, model } of nets()) {
      const V = model.document.net.vocabSize;
      const ids = Array.from({ length: T * B }, (_, i) => (i * 5 + 3) % V);
      const session = await rt.InferenceSession.create(sequenceNetToOnnx(model), { logSeverityLevel: 3 });
      const out = await session.run({ ids: new rt.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [T, B]) });
      const ours = sequenceNetLogits(model.net, ids, T, B);
      expect([...out.logits.dims], name).toEqual(model.net.readout === 'last-step' ? [B, ours.cols] : [T, B, ours.cols]);
      let worst = 0;
      for (let r = 0; r < ours.rows; r++) for (let k = 0; k < ours.cols; k++) worst = Math.max(worst, Math.abs(ours.get(r, k) - out.logits.data[r * ours.cols + k]));
      expect(worst, name).toBeLessThanOrEqual(1e-5);
      const p = out.probabilities.data;
      if (model.net.head.kind === 'softmax') expect(p.slice(0, ours.cols).reduce((a, b) => a + b, 0), name).toBeCloseTo(1, 6);
      else expect(p[0], name).toBeCloseTo(1 / (1 + Math.exp(-out.logits.data[0])), 6);
    }
  });

  it.skipIf(!hasOnnxChecker)('python3-onnx’s checker accepts every exported file, with full shape inference (skips without python3-onnx)', () => {
    const files = nets().map(({ model }, i) => {
      const file = path.join(dir, `net-${i}.onnx`);
      fs.writeFileSync(file, sequenceNetToOnnx(model));
      return file;
    });
    const script = 'import onnx, sys\nfor f in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(f), full_check=True)\nprint(len(sys.argv) - 1, "ok")';
    const result = spawnSync('/usr/bin/python3', ['-c', script, ...files], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(`${files.length} ok`);
  });
});
