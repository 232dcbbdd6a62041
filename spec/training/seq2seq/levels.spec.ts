/**
 * Source and target token levels of their own (`--source-level` / `--target-level`): grapheme to
 * phoneme reads letters and writes space-separated phonemes, with no spaces between the letters.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { seq2seqCommand } from '../../../cli/commands/seq2seq.js';
import { runSeqgrad } from '../../cli/helpers.js';
import { Rng } from '../../../engine/rng.js';
import {
  createSeq2Seq, decodeTarget, encodeSource, encodeTarget, resolveLevels, seq2seqFromJSON, seq2seqToJSON,
} from '../../../training/seq2seq/model.js';
import { prepareSeq2SeqData } from '../../../training/seq2seq/train.js';
import { createTransformerSeq2Seq, transformerSeq2SeqFromJSON, transformerSeq2SeqToJSON, transformerTargetText } from '../../../training/seq2seq/transformer-model.js';

/** A toy pronunciation dictionary: each letter has one ARPAbet-like phoneme. */
const PHONEME: Record<string, string> = { a: 'AE1', b: 'B', c: 'K', d: 'D', e: 'IY0', g: 'G', o: 'OW1', t: 'T' };
const WORDS = ['cat', 'dog', 'bad', 'bed', 'cab', 'toe', 'got', 'tea', 'bet', 'ate', 'cod', 'dot', 'act', 'ode', 'tag', 'bag'];
const pairs = WORDS.map((w) => ({ source: w, target: [...w].map((ch) => PHONEME[ch]).join(' ') }));

describe('seq2seq token levels per side', () => {
  it('resolveLevels: --level is the shorthand for both, a side of its own wins, anything else is refused', () => {
    expect(resolveLevels({}, 'op')).toEqual({ sourceLevel: 'char', targetLevel: 'char' });
    expect(resolveLevels({ level: 'word' }, 'op')).toEqual({ sourceLevel: 'word', targetLevel: 'word' });
    expect(resolveLevels({ level: 'word', sourceLevel: 'char' }, 'op')).toEqual({ sourceLevel: 'char', targetLevel: 'word' });
    expect(() => resolveLevels({ targetLevel: 'byte' as 'char' }, 'op')).toThrow(/op: expected targetLevel 'char' or 'word', got "byte"/);
  });

  it('letters in, phonemes out: each side tokenised at its own level', () => {
    const data = prepareSeq2SeqData(pairs, { sourceLevel: 'char', targetLevel: 'word', valFraction: 0 });
    const sourceTokens = data.sourceVocab.tokens.filter((t) => !t.startsWith('<'));
    const targetTokens = data.targetVocab.tokens.filter((t) => !t.startsWith('<'));
    expect(sourceTokens.sort()).toEqual(Object.keys(PHONEME).sort());
    expect(targetTokens.sort()).toEqual(Object.values(PHONEME).sort());
    expect(data.maxSourceLength).toBe(3);
    expect(data.maxTargetLength).toBe(3);
    // One level for both sides would read 'AE1 B' as characters (with the space) at char level.
    const charBoth = prepareSeq2SeqData(pairs, { level: 'char', valFraction: 0 });
    expect(charBoth.targetVocab.has(' ')).toBe(true);
    expect(charBoth.maxTargetLength).toBe(9); // 'T IY0 AE1' (tea): 9 characters with the spaces
  });

  it('the levels are saved in the model file and used to encode and decode; older files with one level still load', () => {
    const data = prepareSeq2SeqData(pairs, { sourceLevel: 'char', targetLevel: 'word', valFraction: 0 });
    const model = createSeq2Seq({ sourceLevel: 'char', targetLevel: 'word', encoderHidden: 4, embeddingDim: 3, sourceVocab: data.sourceVocab, targetVocab: data.targetVocab }, { rng: new Rng(1) });
    const json = seq2seqToJSON(model);
    expect(json.config).toMatchObject({ sourceLevel: 'char', targetLevel: 'word' });
    const loaded = seq2seqFromJSON(JSON.parse(JSON.stringify(json)));
    expect(loaded.config).toMatchObject({ sourceLevel: 'char', targetLevel: 'word' });
    expect(encodeSource(loaded, 'cat')).toEqual(['c', 'a', 't'].map((t) => data.sourceVocab.id(t)));
    const ids = encodeTarget(loaded, 'K AE1 T');
    expect(ids).toEqual(['K', 'AE1', 'T'].map((t) => data.targetVocab.id(t)));
    expect(decodeTarget(loaded, ids)).toBe('K AE1 T');

    const { sourceLevel: _s, targetLevel: _t, ...older } = json.config;
    const old = seq2seqFromJSON({ ...json, config: { ...older, level: 'word' } });
    expect(old.config).toMatchObject({ sourceLevel: 'word', targetLevel: 'word' });

    const transformer = createTransformerSeq2Seq({ sourceLevel: 'char', targetLevel: 'word', dModel: 8, numHeads: 2, encoderLayers: 1, decoderLayers: 1, sourceVocab: data.sourceVocab, targetVocab: data.targetVocab });
    const again = transformerSeq2SeqFromJSON(JSON.parse(JSON.stringify(transformerSeq2SeqToJSON(transformer))));
    expect(again.config).toMatchObject({ sourceLevel: 'char', targetLevel: 'word' });
    expect(transformerTargetText(again, ['K', 'AE1', 'T'].map((t) => data.targetVocab.id(t)))).toBe('K AE1 T');
  });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-s2s-levels-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function run(args: string[]): Promise<{ code: number; stdout: string }> {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      return { code: await seq2seqCommand.run(args), stdout: out.join('\n') };
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  }

  it('`seq2seq train --source-level char --target-level word`: translate and eval read the levels from the model', async () => {
    const file = path.join(dir, 'g2p.tsv');
    fs.writeFileSync(file, pairs.map((p) => `${p.source}\t${p.target}`).join('\n') + '\n');
    const model = path.join(dir, 'g2p.json');
    const train = await run(['train', '--pairs', file, '--source-level', 'char', '--target-level', 'word', '--hidden', '8', '--embedding', '4',
      '--steps', '3', '--batch', '8', '--val-fraction', '0.25', '--backend', 'js', '--out', model, '--json']);
    expect(train.code).toBe(0);
    const saved = JSON.parse(fs.readFileSync(model, 'utf8'));
    expect(saved.config).toMatchObject({ sourceLevel: 'char', targetLevel: 'word' });
    expect(saved.targetVocabulary.tokens).toContain('AE1');
    expect(saved.targetVocabulary.tokens).not.toContain('A');

    const translated = await runSeqgrad(['seq2seq', 'translate', '--model', model, '--beam', '1', '--max-length', '4', '--backend', 'js', '--json'], 'cat\ndog\n');
    expect(translated.code, translated.stderr).toBe(0);
    const phonemes = new Set([...Object.values(PHONEME), '<UNK>']);
    const lines = translated.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.source)).toEqual(['cat', 'dog']);
    // Whatever an untrained model says, it says it in phonemes joined by single spaces.
    for (const line of lines) {
      const text: string = line.outputs[0].text ?? line.outputs[0].output;
      for (const token of text.split(' ').filter((t) => t !== '')) expect(phonemes.has(token), token).toBe(true);
    }

    const evaluated = await run(['eval', '--model', model, '--pairs', file, '--json']);
    expect(evaluated.code).toBe(0);
    const result = JSON.parse(evaluated.stdout);
    expect(result.examples ?? result.pairs ?? result.total).toBe(pairs.length);
  }, 60_000);
});
