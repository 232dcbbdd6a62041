/**
 * The constructor convention `createX(config, { rng?, dtype? })` (engine/create.ts), enforced over the whole
 * public API: every exported `create*` of every package entry is either a constructor below — built from its
 * config alone, with no rng — or named with the reason it is not one (it allocates buffers for, or assembles,
 * what already exists). A new `create*` in neither table fails here until it is placed.
 *
 * For each constructor: two calls `(config)` give the same weights (a fresh generator per call), the same as
 * `(config, { rng: new Rng(DEFAULT_SEED) })` (the documented default seed), and — unless its initial values
 * draw nothing — different from `(config, { rng: new Rng(DEFAULT_SEED + 1) })`, which shows the comparison
 * sees the weights at all.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SEED } from '../../engine/create.js';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { buildSourceVocabulary, buildTargetVocabulary } from '../../training/seq2seq/model.js';
import { Vocabulary } from '../../training/text/vocab.js';
import { repoRoot } from '../cli/helpers.js';
import { packageEntries } from './entries.js';

type Constructor = (config: unknown, options?: { rng?: Rng }) => unknown;

interface ConstructorCase {
  config: () => unknown;
  /** Its initial values are fixed (ones, zeros, sines): another seed gives the same. */
  drawsNothing?: true;
}

const vocab = (): Vocabulary => Vocabulary.build('a b c d'.split(' '));
const sourceVocab = (): Vocabulary => buildSourceVocabulary('abcd'.split(''));
const targetVocab = (): Vocabulary => buildTargetVocabulary('xyz'.split(''));
const cellConfig = { inputSize: 2, hiddenSize: 3 };
const layerConfig = { dModel: 4, numHeads: 2, dimFeedforward: 6 };

/** Every constructor of the public API with a small config. */
const CONSTRUCTORS: Record<string, ConstructorCase> = {
  createAttention: { config: () => ({ score: 'additive', querySize: 3, encoderSize: 4 }) },
  createCell: { config: () => ({ kind: 'lstm', ...cellConfig }) },
  createRnnCell: { config: () => cellConfig },
  createLstmCell: { config: () => cellConfig },
  createPeepholeLstmCell: { config: () => cellConfig },
  createGruCell: { config: () => cellConfig },
  createSimpleGruCell: { config: () => cellConfig },
  createResetAfterGruCell: { config: () => cellConfig },
  createStackedRnn: { config: () => ({ kind: 'gru', ...cellConfig, numLayers: 2, bidirectional: true }) },
  createDense: { config: () => ({ inputSize: 3, outputSize: 2 }) },
  createOutputHead: { config: () => ({ kind: 'softmax', inputSize: 3, outputSize: 2 }) },
  createEmbedding: { config: () => ({ vocabSize: 5, dim: 2 }) },
  createLayerNorm: { config: () => ({ dim: 3 }), drawsNothing: true },
  createMultiheadAttention: { config: () => ({ embedDim: 4, numHeads: 2 }) },
  createLearnedPositionalEmbedding: { config: () => ({ maxLength: 4, dim: 2 }) },
  createTransformerPositions: { config: () => ({ kind: 'learned', maxLength: 4, dim: 2 }) },
  createFeedForward: { config: () => ({ dModel: 4, dimFeedforward: 6 }) },
  createTransformerEncoderLayer: { config: () => layerConfig },
  createTransformerDecoderLayer: { config: () => layerConfig },
  createTransformerEncoder: { config: () => ({ ...layerConfig, numLayers: 2 }) },
  createTransformerDecoder: { config: () => ({ ...layerConfig, numLayers: 2 }) },
  createRecursiveNet: { config: () => ({ vocabSize: 5, dim: 2, classes: 3 }) },
  createModel: { config: () => ({ shape: 'many-to-one', vocabSize: 5, embeddingDim: 2, rnn: { cell: 'gru', hidden: 3 }, outputSize: 2 }) },
  createLanguageModel: { config: () => ({ hidden: 3, vocab: vocab() }) },
  createTransformerLanguageModel: { config: () => ({ ...layerConfig, layers: 1, maxLength: 8, vocab: vocab() }) },
  createNplm: { config: () => ({ vocabSize: 5, contextSize: 2, dim: 2, hidden: 3 }) },
  createSentimentEmbedding: { config: () => ({ vocab: vocab(), dim: 3 }) },
  createLstmSentimentModel: { config: () => ({ vocab: vocab(), classes: ['neg', 'pos'], dim: 3, hidden: 3 }) },
  createTagger: { config: () => ({ vocab: vocab(), embeddingDim: 2, hidden: 3 }) },
  createSeq2Seq: { config: () => ({ embeddingDim: 2, encoderHidden: 3, attention: 'general', sourceVocab: sourceVocab(), targetVocab: targetVocab() }) },
  createTransformerSeq2Seq: {
    config: () => ({ ...layerConfig, encoderLayers: 1, decoderLayers: 1, maxLength: 8, sourceVocab: sourceVocab(), targetVocab: targetVocab() }),
  },
  createTransliteration: { config: () => ({ vocabSize: 6 }) },
  createSequenceNet: {
    config: () => ({
      cell: 'lstm', vocabSize: 5, embeddingDim: 2, hidden: 3, layers: 1, bidirectional: false, outputSize: 2, head: 'softmax', readout: 'last-step',
    }),
  },
  createTriggerModel: { config: () => ({ bands: 3, hidden: 2 }) },
};

/** The exported `create*` that are not constructors, and why. */
const NOT_CONSTRUCTORS: Record<string, string> = {
  createBidirectional: 'assembles two cells the caller built',
  createEncoder: 'assembles a stack and an embedding the caller built',
  createManyToMany: 'assembles parts the caller built',
  createManyToOne: 'assembles parts the caller built',
  createOneToMany: 'assembles parts the caller built',
  createStack: 'assembles cells the caller built',
  createAttentionMemory: 'buffers of an existing attention layer',
  createAttentionDecodeScratch: 'buffers of an existing attention layer',
  createBatchBuffers: 'batch buffers (ids, labels, mask)',
  createOptimizer: 'optimizer state over existing parameters',
  createUpdate: 'the shared update over existing parameters',
  createDivergenceWatch: 'a loss monitor',
  createLmTrainer: 'a trainer of an existing model',
  createLmStepper: 'the sampling step of an existing model',
  createLmTokenSampler: 'the fused sampling step of an existing model (or null)',
  createWord2VecHogwildJob: 'a worker thread\'s job over shared tables (its init message)',
  createKvCache: 'decoding buffers of an existing Transformer stack (no weights)',
  createCrossMemory: 'cross-attention keys and values projected from an existing decoder and memory',
  createTransformerLmCache: 'the incremental decoder of an existing model (no weights)',
  createTransformerLmStepperUncached: 'the reference step function of an existing model (no weights)',
  createTransformerLmStepper: 'the sampling step of an existing model',
  createGloveHogwildJob: 'a worker thread job',
  createWasmBackend: 'a backend',
  createGpuBackend: 'a backend',
};

/** Buffers sized for something that exists (its dtype comes with it): no weights to draw. */
const isWorkspace = (name: string): boolean => /Workspace$/.test(name);

/** Every exported `create*` function of every public entry, by name. */
async function exportedCreators(): Promise<Map<string, Constructor>> {
  const found = new Map<string, Constructor>();
  for (const entry of packageEntries()) {
    const mod = (await import(path.join(repoRoot, entry.source))) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) if (/^create[A-Z]/.test(name) && typeof value === 'function') found.set(name, value as Constructor);
  }
  return found;
}

/** The numbers and strings reachable from a built object (a Matrix as its entries), in a fixed order. */
function contents(value: unknown, seen = new Set<unknown>()): unknown[] {
  if (value === null || typeof value === 'function') return [];
  if (typeof value !== 'object') return [value];
  if (seen.has(value)) return [];
  seen.add(value);
  if (value instanceof Matrix) return [Array.from({ length: value.rows }, (_, r) => Array.from({ length: value.cols }, (_, c) => value.get(r, c)))];
  if (ArrayBuffer.isView(value)) return (value as unknown as ArrayLike<number>).length <= 1e5 ? [Array.from(value as unknown as ArrayLike<number>)] : [];
  return Object.keys(value).flatMap((key) => [key, ...contents((value as Record<string, unknown>)[key], seen)]);
}

const creators = await exportedCreators();

describe('every exported create* follows createX(config, { rng?, dtype? })', () => {
  it('is a constructor checked below, a workspace, or named with the reason it is not a constructor', () => {
    expect(creators.size).toBeGreaterThan(60);
    const unplaced = [...creators.keys()].filter((name) => !(name in CONSTRUCTORS) && !(name in NOT_CONSTRUCTORS) && !isWorkspace(name));
    expect(unplaced, 'add each to CONSTRUCTORS (with a small config) or NOT_CONSTRUCTORS (with why)').toEqual([]);
    const stale = [...Object.keys(CONSTRUCTORS), ...Object.keys(NOT_CONSTRUCTORS)].filter((name) => !creators.has(name));
    expect(stale, 'no longer exported by any entry').toEqual([]);
  });

  for (const [name, { config, drawsNothing }] of Object.entries(CONSTRUCTORS)) {
    it(`${name}(config) builds the weights of new Rng(DEFAULT_SEED), the same on every call`, () => {
      const create = creators.get(name) as Constructor;
      const first = contents(create(config()));
      expect(first.some((v) => Array.isArray(v) || typeof v === 'string')).toBe(true);
      expect(contents(create(config()))).toEqual(first);
      expect(contents(create(config(), { rng: new Rng(DEFAULT_SEED) }))).toEqual(first);
      const otherSeed = contents(create(config(), { rng: new Rng(DEFAULT_SEED + 1) }));
      if (drawsNothing) expect(otherSeed).toEqual(first);
      else expect(otherSeed).not.toEqual(first);
    });
  }
});
