import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Matrix, Rng } from '../../../engine/index.js';
import { beamSearch, scoreSequence } from '../../../training/decode/beam.js';
import {
  Seq2SeqDecoder, attributeError, buildSourceVocabulary, buildTargetVocabulary, createSeq2Seq, createSeq2SeqWorkspace,
  makeSeq2SeqBatch, scoreTarget, seq2seqBackward, seq2seqExampleLosses, seq2seqForward,
  seq2seqParameters, seq2seqZeroGrad, translate, translateIds, type Seq2SeqExample, type Seq2SeqModel, type Seq2SeqOptions,
} from '../../../training/seq2seq/model.js';
import { loadSeq2Seq, saveSeq2Seq } from '../../../training/seq2seq/model-file.js';
import { Seq2SeqTrainer, evaluateSeq2Seq, prepareSeq2SeqData } from '../../../training/seq2seq/train.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seq2seq-model-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tinyModel(opts: Seq2SeqOptions, seed = 5): Seq2SeqModel {
  const src = buildSourceVocabulary(['a', 'b', 'c', 'd', 'e', 'f']);
  const tgt = buildTargetVocabulary(['x', 'y', 'z', 'w']);
  return createSeq2Seq({ embeddingDim: 4, encoderHidden: 3, decoderHidden: 5, attentionSize: 4, dtype: 'float64', ...opts, sourceVocab: src, targetVocab: tgt }, { rng: new Rng(seed) });
}

function randomExamples(rng: Rng, lengths: [number, number][]): Seq2SeqExample[] {
  // source ids 2…7 (a–f), target ids 4…7 (x, y, z, w): never a special token
  return lengths.map(([sl, tl]) => ({
    source: Array.from({ length: sl }, () => 2 + rng.int(6)),
    target: Array.from({ length: tl }, () => 4 + rng.int(4)),
  }));
}

describe('seq2seq: a tiny copy task', () => {
  it('learns to copy held-out length-3 strings over a 4-letter alphabet (100% exact match, greedy)', () => {
    const letters = 'abcd';
    const rng = new Rng(7);
    const all: string[] = [];
    for (const a of letters) for (const b of letters) for (const c of letters) all.push(a + b + c);
    const test = rng.permutation(64).slice(0, 16).map((i) => all[i]);
    const held = new Set(test);
    const train: { source: string; target: string }[] = [];
    while (train.length < 600) {
      const n = 2 + rng.int(4);
      let s = '';
      for (let k = 0; k < n; k++) s += letters[rng.int(4)];
      if (!held.has(s)) train.push({ source: s, target: s });
    }
    const data = prepareSeq2SeqData(train, { level: 'char', valFraction: 0 });
    const model = createSeq2Seq({ cell: 'gru', embeddingDim: 8, encoderHidden: 16, attention: 'bahdanau', seed: 3, sourceVocab: data.sourceVocab, targetVocab: data.targetVocab });
    const before = evaluateSeq2Seq(model, test.map((s) => ({ source: s, target: s })));
    expect(before.exactMatch).toBeLessThan(0.2); // an untrained decoder does not copy
    const trainer = new Seq2SeqTrainer(model, data, { batch: 16, optimizer: { kind: 'adam', lr: 0.02 }, clipNorm: 5 });
    trainer.run({ maxSteps: 300, maxEvalExamples: 0 });
    const after = evaluateSeq2Seq(model, test.map((s) => ({ source: s, target: s })), { beamWidth: 1 });
    expect(after.exactMatch).toBe(1);
    expect(after.tokenAccuracy).toBe(1);
    // (BLEU-4 of 3-token outputs is 0 without smoothing: a 3-token sentence has no 4-gram.)
    const decoder = new Seq2SeqDecoder(model);
    expect(translate(decoder, 'dcb')[0].text).toBe('dcb');
  });
});

describe('seq2seq: ragged batches', () => {
  const variants: [string, Seq2SeqOptions][] = [
    ['Bahdanau, bidirectional LSTM', { cell: 'lstm', attention: 'bahdanau', bidirectional: true }],
    ['no attention (Cho form), 2-layer GRU', { cell: 'gru', attention: 'none', encoderLayers: 2 }],
    ['general, RNN', { cell: 'rnn', attention: 'general' }],
  ];
  for (const [name, opts] of variants) {
    it(`${name}: padding a batch changes neither the per-example losses nor the summed gradients`, () => {
      const model = tinyModel(opts);
      const examples = randomExamples(new Rng(3), [[6, 4], [2, 1], [4, 3], [1, 2]]);
      // Each example alone: no padding at all.
      const alone: number[] = [];
      const { grads } = seq2seqParameters(model);
      const summed: Record<string, Float64Array> = {};
      for (const name of Object.keys(grads)) summed[name] = new Float64Array(grads[name].size);
      for (const ex of examples) {
        const batch = makeSeq2SeqBatch(model, [ex]);
        const ws = createSeq2SeqWorkspace(model, batch.srcSteps, batch.tgtSteps, 1);
        seq2seqZeroGrad(model);
        alone.push(seq2seqForward(model, ws, batch));
        seq2seqBackward(model, ws);
        for (const name of Object.keys(grads)) grads[name].data.forEach((g, i) => { summed[name][i] += g; });
      }
      // All together, padded to T_x = 6, T_y = 5, in a workspace larger still.
      const batch = makeSeq2SeqBatch(model, examples);
      const ws = createSeq2SeqWorkspace(model, 9, 7, examples.length);
      seq2seqZeroGrad(model);
      const total = seq2seqForward(model, ws, batch);
      const perExample = seq2seqExampleLosses(ws);
      seq2seqBackward(model, ws);
      alone.forEach((l, b) => expect(perExample[b]).toBeCloseTo(l, 10));
      expect(total).toBeCloseTo(alone.reduce((a, b) => a + b, 0), 10);
      for (const name of Object.keys(grads)) {
        const g = grads[name].data;
        let diff = 0, norm = 0;
        for (let i = 0; i < g.length; i++) {
          diff = Math.max(diff, Math.abs(g[i] - summed[name][i]));
          norm = Math.max(norm, Math.abs(summed[name][i]));
        }
        expect(diff, name).toBeLessThanOrEqual(1e-12 * Math.max(1, norm));
      }
    });
  }

  it('an example\'s loss is the sum of −log P(y⟨t⟩ | x, y⟨<t⟩) that the step-by-step decoder gives (teacher forcing = scoring)', () => {
    const model = tinyModel({ cell: 'gru', attention: 'dot', decoderHidden: 3 });
    const [ex] = randomExamples(new Rng(9), [[5, 4]]);
    const batch = makeSeq2SeqBatch(model, [ex]);
    const ws = createSeq2SeqWorkspace(model, batch.srcSteps, batch.tgtSteps, 1);
    const loss = seq2seqForward(model, ws, batch);
    const score = scoreTarget(new Seq2SeqDecoder(model), ex.source as number[], ex.target);
    expect(-score.logProb).toBeCloseTo(loss, 10);
    expect(score.tokenLogProbs).toHaveLength(ex.target.length + 1); // the <EOS> is scored too
  });

  it('refuses batches that do not fit the workspace, naming the operation', () => {
    const model = tinyModel({ attention: 'none' });
    const batch = makeSeq2SeqBatch(model, randomExamples(new Rng(1), [[6, 2], [3, 3]]));
    expect(() => seq2seqForward(model, createSeq2SeqWorkspace(model, 4, 5, 2), batch)).toThrow(/seq2seqForward: expected 1 ≤ T_x ≤ 4, got 6/);
    expect(() => seq2seqForward(model, createSeq2SeqWorkspace(model, 6, 5, 3), batch)).toThrow(/expected a batch of B = 3/);
    expect(() => makeSeq2SeqBatch(model, [{ source: [], target: [4] }])).toThrow(/at least one source token/);
    expect(() => tinyModel({ attention: 'dot', decoderHidden: 5 })).toThrow(/dot score needs decoderHidden = the encoder's output width 3/);
  });
});

describe('seq2seq: decoding', () => {
  it('beam search with a beam wide enough to never prune finds the exact best output, and that beats or ties greedy', () => {
    // V = 8 target ids, of which <PAD> and <SOS> are forbidden: 6 candidates per step. With maxLength 3 a
    // beam of 36 = 6² keeps every live prefix, so the search is exhaustive; brute force checks it.
    for (const attention of ['none', 'bahdanau'] as const) {
      const model = tinyModel({ cell: 'lstm', attention, bidirectional: true, decoderHidden: 6 }, 11);
      const decoder = new Seq2SeqDecoder(model);
      const source = [2, 5, 3, 7];
      const allowed = [2, 3, 4, 5, 6, 7]; // <EOS>, <UNK>, x, y, z, w
      const eos = model.ids.eos;
      let best = -Infinity;
      const visit = (prefix: number[]): void => {
        for (const token of allowed) {
          const tokens = [...prefix, token];
          if (token === eos || tokens.length === 3) {
            const stepper = decoder.prepare(source);
            const s = scoreSequence({ step: stepper.step, initialState: stepper.initialState, startToken: model.ids.sos, tokens }).logProb;
            best = Math.max(best, s);
          } else {
            visit(tokens);
          }
        }
      };
      visit([]);
      const exact = translateIds(decoder, source, { beamWidth: 36, maxLength: 3 })[0];
      const greedy = translateIds(decoder, source, { beamWidth: 1, maxLength: 3 })[0];
      expect(exact.logProb).toBeCloseTo(best, 12);
      expect(exact.logProb).toBeGreaterThanOrEqual(greedy.logProb - 1e-12);
    }
  });

  it('beam 5 scores at least as high as greedy on a trained model (every source of a set), and n-best is sorted', () => {
    const letters = 'abcde';
    const rng = new Rng(2);
    const pairs = Array.from({ length: 300 }, () => {
      const s = Array.from({ length: 2 + rng.int(4) }, () => letters[rng.int(5)]).join('');
      return { source: s, target: [...s].reverse().join('') };
    });
    const data = prepareSeq2SeqData(pairs, { level: 'char', valFraction: 0 });
    const model = createSeq2Seq({ cell: 'gru', embeddingDim: 8, encoderHidden: 12, attention: 'none', seed: 4, sourceVocab: data.sourceVocab, targetVocab: data.targetVocab });
    new Seq2SeqTrainer(model, data, { batch: 16, optimizer: { kind: 'adam', lr: 0.01 }, clipNorm: 5 }).run({ maxSteps: 60, maxEvalExamples: 0 });
    const decoder = new Seq2SeqDecoder(model);
    for (const { source } of pairs.slice(0, 30)) {
      const greedy = translate(decoder, source, { beamWidth: 1 })[0];
      const beam = translate(decoder, source, { beamWidth: 5, nBest: 3 });
      // Float32 model: beam (hypotheses batched) and greedy (batch 1) may round differently in the last bits.
      expect(beam[0].score).toBeGreaterThanOrEqual(greedy.score - 1e-5);
      for (let i = 1; i < beam.length; i++) expect(beam[i].score).toBeLessThanOrEqual(beam[i - 1].score);
    }
  });

  it('error analysis: search at fault when P(y*|x) > P(ŷ|x), else the model (hand-built step function)', () => {
    // Tokens: 0 = start, 1 = a, 2 = b, 3 = EOS. After start: P(a) = 0.6, P(b) = 0.4.
    // After a: P(a) = 0.3, P(b) = 0.3, P(EOS) = 0.4.  After b: P(EOS) = 0.9, P(a) = P(b) = 0.05.
    // Greedy: a (0.6), then EOS (0.4): P = 0.24.  y* = b EOS: P = 0.4·0.9 = 0.36 > 0.24 → search at fault.
    const table: Record<number, number[]> = {
      0: [-Infinity, Math.log(0.6), Math.log(0.4), -Infinity],
      1: [-Infinity, Math.log(0.3), Math.log(0.3), Math.log(0.4)],
      2: [-Infinity, Math.log(0.05), Math.log(0.05), Math.log(0.9)],
    };
    const step = (_: null, token: number): { logProbs: number[]; state: null } => ({ logProbs: table[token], state: null });
    const greedy = beamSearch({ step, initialState: null, startToken: 0, eosToken: 3, beamWidth: 1, maxLength: 4 })[0];
    expect(greedy.tokens).toEqual([1, 3]);
    const search = attributeError({ step, initialState: null, startToken: 0, reference: [2, 3], output: greedy.tokens });
    expect(search.verdict).toBe('search');
    expect(search.referenceLogProb).toBeCloseTo(Math.log(0.36), 12);
    expect(search.outputLogProb).toBeCloseTo(Math.log(0.24), 12);
    // y* = a a EOS: 0.6·0.3·0.4 = 0.072 < 0.24 → the model prefers the wrong output: model at fault.
    const model = attributeError({ step, initialState: null, startToken: 0, reference: [1, 1, 3], output: greedy.tokens });
    expect(model.verdict).toBe('model');
    expect(model.referenceLogProb).toBeCloseTo(Math.log(0.072), 12);
    // y* = a b EOS: 0.6·0.3·0.9 = 0.162 < 0.24, so without normalisation the model is at fault; with the
    // notes' (1/T_y^0.7): ln 0.162 / 3^0.7 = −0.843 > ln 0.24 / 2^0.7 = −0.878, so the search is.
    const raw = attributeError({ step, initialState: null, startToken: 0, reference: [1, 2, 3], output: [1, 3] });
    expect(raw.verdict).toBe('model');
    const normalised = attributeError({ step, initialState: null, startToken: 0, reference: [1, 2, 3], output: [1, 3], lengthPenalty: { kind: 'notes' } });
    expect(normalised.referenceScore).toBeCloseTo(Math.log(0.162) / 3 ** 0.7, 12);
    expect(normalised.outputScore).toBeCloseTo(Math.log(0.24) / 2 ** 0.7, 12);
    expect(normalised.verdict).toBe('search');
    const same = attributeError({ step, initialState: null, startToken: 0, reference: [1, 3], output: [1, 3] });
    expect(same.verdict).toBe('correct');
  });
});

describe('seq2seq: the model file', () => {
  it('save → load is an exact round trip (config, vocabularies, every weight bit for bit, the same loss)', () => {
    for (const opts of [
      { cell: 'lstm', attention: 'bahdanau', bidirectional: true, encoderLayers: 2 },
      { cell: 'gru', attention: 'general', dtype: 'float32' },
    ] as Seq2SeqOptions[]) {
      const model = tinyModel(opts, 21);
      const file = path.join(tmp, `m-${opts.cell}.json`);
      saveSeq2Seq(file, model, { note: 'spec' });
      const loaded = loadSeq2Seq(file);
      expect(loaded.config).toEqual(model.config);
      expect(loaded.sourceVocab?.tokens).toEqual(model.sourceVocab?.tokens);
      expect(loaded.targetVocab.tokens).toEqual(model.targetVocab.tokens);
      const a = seq2seqParameters(model).params, b = seq2seqParameters(loaded).params;
      expect(Object.keys(b)).toEqual(Object.keys(a));
      for (const name of Object.keys(a)) expect(Array.from(b[name].data), name).toEqual(Array.from(a[name].data));
      const examples = randomExamples(new Rng(4), [[5, 3], [2, 2]]);
      const lossOf = (m: Seq2SeqModel): number => {
        const batch = makeSeq2SeqBatch(m, examples);
        return seq2seqForward(m, createSeq2SeqWorkspace(m, batch.srcSteps, batch.tgtSteps, 2), batch);
      };
      expect(lossOf(loaded)).toBe(lossOf(model));
    }
  });

  it('the captioning form round-trips and decodes from a feature vector', () => {
    const tgt = buildTargetVocabulary(['x', 'y']);
    const model = createSeq2Seq({ form: 'captioning', featureSize: 3, decoderHidden: 4, embeddingDim: 3, cell: 'gru', targetVocab: tgt }, { rng: new Rng(2) });
    const file = path.join(tmp, 'caption.json');
    saveSeq2Seq(file, model);
    const loaded = loadSeq2Seq(file);
    const f = [0.5, -1, 0.25];
    const a = translateIds(new Seq2SeqDecoder(model), f, { beamWidth: 3, maxLength: 6 })[0];
    const b = translateIds(new Seq2SeqDecoder(loaded), f, { beamWidth: 3, maxLength: 6 })[0];
    expect(b.ids).toEqual(a.ids);
    expect(b.logProb).toBe(a.logProb);
    expect(() => makeSeq2SeqBatch(model, [{ features: [1, 2], target: [4] }])).toThrow(/feature vector of length F = 3, got 2/);
  });

  it('a missing, malformed or foreign model file is an InputError naming the file', () => {
    expect(() => loadSeq2Seq(path.join(tmp, 'none.json'))).toThrow(/model file .*none\.json does not exist/);
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, '{"kind": "seqgrad.language-model", "version": 1}');
    let err: Error | null = null;
    try { loadSeq2Seq(bad); } catch (e) { err = e as Error; }
    expect(err?.name).toBe('InputError');
    expect(err?.message).toMatch(/bad\.json: expected kind "seqgrad\.seq2seq"/);
    const model = tinyModel({ attention: 'none' });
    const file = path.join(tmp, 'trunc.json');
    saveSeq2Seq(file, model);
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { weights: Record<string, unknown> };
    delete parsed.weights['decoder.rnn.l0.W_a'];
    fs.writeFileSync(file, JSON.stringify(parsed));
    expect(() => loadSeq2Seq(file)).toThrow(/lacks weight 'decoder\.rnn\.l0\.W_a' \(expected float64 \[20, 5\]\)/);
  });
});

describe('seq2seq: buffers are reused', () => {
  it('a second forward on the same workspace gives the same loss (no state leaks between batches)', () => {
    const model = tinyModel({ cell: 'lstm', attention: 'bahdanau', bidirectional: true });
    const ws = createSeq2SeqWorkspace(model, 7, 6, 2);
    const first = makeSeq2SeqBatch(model, randomExamples(new Rng(1), [[7, 5], [3, 2]]));
    const second = makeSeq2SeqBatch(model, randomExamples(new Rng(2), [[2, 1], [4, 3]]));
    const l1 = seq2seqForward(model, ws, first);
    seq2seqForward(model, ws, second);
    expect(seq2seqForward(model, ws, first)).toBe(l1);
    const fresh = createSeq2SeqWorkspace(model, 7, 6, 2);
    expect(seq2seqForward(model, fresh, second)).toBe(seq2seqForward(model, ws, second));
    expect(ws.z).toBeInstanceOf(Matrix);
  });
});
