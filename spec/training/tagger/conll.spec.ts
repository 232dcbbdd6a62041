/**
 * `tagger train --data FILE`: CoNLL files (token<TAB>tag, blank line between sentences), tags
 * learned from the file (a softmax head over them), evaluation and tagging by tag name.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { taggerCommand } from '../../../cli/commands/tagger.js';
import { Rng } from '../../../engine/rng.js';
import { InputError } from '../../../training/core/errors.js';
import { conllTagIds, conllTagSet, parseConll } from '../../../training/tagger/conll.js';
import {
  buildTaggerVocabulary, createTagger, evaluateTagSet, loadConllFile, loadTagger, predictTags, saveTagger, trainTagger,
  type TaggedSentence,
} from '../../../training/tagger/tagger.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-conll-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const at = (name: string): string => path.join(dir, name);

describe('CoNLL files', () => {
  it('token = first column, tag = last; -DOCSTART- and # lines skipped; space-separated lines; CRLF', () => {
    const text = '-DOCSTART- -X- -X- O\r\n\r\nEU\tNNP\tB-NP\tB-ORG\r\nrejects\tVBZ\tB-VP\tO\r\n\r\n# a comment\nPeter NNP B-NP B-PER\nBlackburn  NNP  I-NP  I-PER\n\n\n';
    const sentences = parseConll(text, 'x.conll');
    expect(sentences.map((s) => [s.tokens, s.tags, s.lines])).toEqual([
      [['EU', 'rejects'], ['B-ORG', 'O'], [3, 4]],
      [['Peter', 'Blackburn'], ['B-PER', 'I-PER'], [7, 8]],
    ]);
    expect(conllTagSet(sentences)).toEqual(['O', 'B-ORG', 'B-PER', 'I-PER']);
  });

  it('bad lines and unknown tags: one InputError naming the file and the line', () => {
    expect(() => parseConll('a\tX\n\nlonely\n', 'b.conll')).toThrow(InputError);
    expect(() => parseConll('a\tX\n\nlonely\n', 'b.conll')).toThrow(/CoNLL file b\.conll line 3: expected 'token<TAB>tag', got "lonely"/);
    expect(() => parseConll('a\t\n', 'e.conll')).toThrow(/e\.conll line 1/);
    expect(() => parseConll('\n-DOCSTART- O\n\n', 'n.conll')).toThrow(/n\.conll holds no tagged tokens/);
    const parsed = parseConll('a\tX\nb\tY\n\nc\tZ\n', 'u.conll');
    expect(() => conllTagIds(parsed, ['X', 'Y'], 'u.conll')).toThrow(/u\.conll line 4: tag 'Z' is not one of the model's tags \(X, Y\)/);
  });
});

/**
 * A task a unigram lookup cannot solve: 'run', 'walk' and 'fish' are NOUN after a determiner and
 * VERB after a pronoun, so the tagger has to use the word before.
 */
function ambiguousPos(rng: Rng, count: number): string {
  const pick = <T>(items: T[]): T => items[rng.int(items.length)];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const word = pick(['run', 'walk', 'fish']);
    const sentence = rng.uniform() < 0.5
      ? [[pick(['the', 'a']), 'DET'], [word, 'NOUN'], [pick(['was', 'seemed']), 'VERB'], [pick(['long', 'nice']), 'ADJ']]
      : [[pick(['they', 'we']), 'PRON'], [word, 'VERB'], [pick(['daily', 'often']), 'ADV']];
    lines.push(...sentence.map(([w, t]) => `${w}\t${t}`), '');
  }
  return lines.join('\n');
}

describe('a tag-set tagger', () => {
  fs.writeFileSync(at('pos.conll'), ambiguousPos(new Rng(1), 200));
  fs.writeFileSync(at('pos-test.conll'), ambiguousPos(new Rng(2), 40));

  function trained(bidirectional: boolean): { tagger: ReturnType<typeof createTagger>; train: TaggedSentence[]; tags: string[] } {
    const { tags, sentences } = loadConllFile(at('pos.conll'));
    const tagger = createTagger({ vocab: buildTaggerVocabulary(sentences, 1), embeddingDim: 8, hidden: 8, bidirectional, tags }, { rng: new Rng(3) });
    trainTagger(tagger, sentences, { steps: 150, batchSize: 16, lr: 0.02 }, new Rng(4));
    return { tagger, train: sentences, tags };
  }

  it('learns the file\'s tags, context included, and keeps them in the model file', () => {
    const { tagger, tags } = trained(false);
    expect(tags).toEqual(['ADJ', 'ADV', 'DET', 'NOUN', 'PRON', 'VERB']);
    expect(tagger.net.head.kind).toBe('softmax');
    expect(tagger.net.head.outputSize).toBe(6);
    const [noun, verb] = predictTags(tagger, [['the', 'fish', 'was', 'nice'], ['we', 'fish', 'often']]);
    expect(Array.from(noun.ids, (id) => tags[id])).toEqual(['DET', 'NOUN', 'VERB', 'ADJ']);
    expect(Array.from(verb.ids, (id) => tags[id])).toEqual(['PRON', 'VERB', 'ADV']);
    for (const p of [...noun.probabilities, ...verb.probabilities]) expect(p).toBeGreaterThan(1 / 6);

    saveTagger(at('pos-model.json'), tagger);
    const loaded = loadTagger(at('pos-model.json'));
    expect(loaded.config.tags).toEqual(tags);
    expect(predictTags(loaded, [['the', 'fish', 'was', 'nice']])[0].ids).toEqual(noun.ids);
  });

  it('evaluateTagSet: per-tag scores by name, counted independently of the model on a relabelled copy', () => {
    const { tagger } = trained(true);
    const { tags, sentences } = loadConllFile(at('pos-test.conll'), tagger.config.tags);
    const perfect = evaluateTagSet(tagger, sentences);
    expect(perfect.accuracy).toBe(1);
    expect(perfect.macroF1).toBe(1);
    // Relabel every gold DET as ADJ: the (correct) DET predictions become false positives of DET
    // and misses of ADJ. Expected counts come from the data alone.
    const det = tags.indexOf('DET'), adj = tags.indexOf('ADJ');
    const relabelled = sentences.map((s) => ({ tokens: s.tokens, labels: s.labels.map((y) => (y === det ? adj : y)) }));
    const nDet = sentences.flatMap((s) => s.labels).filter((y) => y === det).length;
    const nAdj = sentences.flatMap((s) => s.labels).filter((y) => y === adj).length;
    const tokens = sentences.flatMap((s) => s.labels).length;
    const e = evaluateTagSet(tagger, relabelled);
    expect(e.tokens).toBe(tokens);
    expect(e.accuracy).toBeCloseTo((tokens - nDet) / tokens, 12);
    expect(e.perTag.DET).toMatchObject({ precision: 0, support: 0 });
    expect(e.perTag.ADJ.precision).toBe(1);
    expect(e.perTag.ADJ.recall).toBeCloseTo(nAdj / (nAdj + nDet), 12);
    expect(e.perTag.ADJ.support).toBe(nAdj + nDet);
    // DET has no gold tokens left, so the macro F1 averages the other five tags (no 'O' here).
    const adjF1 = (2 * nAdj / (nAdj + nDet)) / (1 + nAdj / (nAdj + nDet));
    expect(e.macroF1).toBeCloseTo((4 + adjF1) / 5, 12);
  });

  async function run(argv: string[]): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      return { code: await taggerCommand.run(argv), out: lines.join('\n') };
    } finally {
      vi.restoreAllMocks();
    }
  }

  it('CLI: train --data / --test-data, eval --data and tag print tag names; a tag the model lacks is refused', async () => {
    const train = await run(['train', '--data', at('pos.conll'), '--test-data', at('pos-test.conll'), '--direction', 'bi', '--steps', '150',
      '--batch', '16', '--lr', '0.02', '--dim', '8', '--hidden', '8', '--min-count', '1', '--out', at('cli'), '--json']);
    expect(train.code).toBe(0);
    const report = JSON.parse(train.out);
    expect(report).toMatchObject({ tags: ['ADJ', 'ADV', 'DET', 'NOUN', 'PRON', 'VERB'], train: 200, test: 40 });
    expect(report.models.bi.evaluation.accuracy).toBe(1);

    const evaluated = await run(['eval', '--model', at('cli-bi.json'), '--data', at('pos-test.conll'), '--json']);
    expect(JSON.parse(evaluated.out)).toMatchObject({ sentences: 40, accuracy: 1 });
    const tagged = await run(['tag', '--model', at('cli-bi.json'), 'they walk often', 'a walk seemed long']);
    expect(tagged.out.split('\n')).toEqual(['they/PRON walk/VERB often/ADV', 'a/DET walk/NOUN seemed/VERB long/ADJ']);

    fs.writeFileSync(at('other.conll'), 'the\tDET\nend\tX\n');
    await expect(run(['eval', '--model', at('cli-bi.json'), '--data', at('other.conll')])).rejects.toThrow(/other\.conll line 2: tag 'X' is not one of the model's tags/);
    await expect(run(['eval', '--model', at('cli-bi.json')])).rejects.toThrow(/trained on a CoNLL file; give --data/);
  }, 60_000);
});
