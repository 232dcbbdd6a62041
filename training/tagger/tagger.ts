/**
 * A per-step tagger, the notes' named-entity example: for each word x⟨t⟩ of a sentence, y⟨t⟩ = 1
 * when it is part of a person's name ("Harry Potter and Hermione Granger invented a new spell"
 * → 1 1 0 1 1 0 0 0 0 0).
 *
 * Data (`generateTaggedSentences`): a seeded generator of sentences with person names drawn from
 * the lists shipped in data/names/ (first.txt, last.txt), in varied contexts where the same word
 * can be a name or not. Case is kept, so most non-initial names are easy (capitalised); the hard
 * case is the notes' one, the first word: "Teddy bears are on sale" vs "Teddy Roosevelt was a
 * great president". Both start with the capitalised "Teddy"; only the words *after* it decide.
 * Other ambiguities: months (April, May, June), cities (Austin, Madison, Charlotte, Washington),
 * lower-case common words mid-sentence (will, mark, bill, grant).
 *
 * Model (`createTagger`), time-major batches of B sentences padded to T words, mask m [T, B]:
 *   x⟨t⟩ = E[id⟨t⟩]                                  [T·B, d]     embedding
 *   a⟨t⟩ = LSTM(a⟨t−1⟩, x⟨t⟩)                         [T·B, H]     unidirectional, or
 *   a⟨t⟩ = [a→⟨t⟩, a←⟨t⟩]                            [T·B, 2H]    bidirectional (the notes' BRNN)
 *   ŷ⟨t⟩ = σ(W_y a⟨t⟩ + b_y)                          [T·B, 1]     sigmoid head per step
 *   L = (1/Σm) Σ_t Σ_b m⟨t⟩_b · BCE(ŷ⟨t⟩_b, y⟨t⟩_b)
 * (layers/architectures.ts createManyToMany, assembled by the Model API: a tagger is a many-to-many
 * `Model` of training/model/ with its vocabulary, trained by Model.fit — the worker threads plug in
 * as its gradient hook — and saved as the Model's file with the vocabulary and tags beside it;
 * files of the format before, "seqgrad.tagger", still load). A unidirectional model decides ŷ⟨1⟩ from x⟨1⟩
 * alone, so on an ambiguous first word it can at best guess the majority reading; the
 * bidirectional one sees a←⟨1⟩, which has read the whole sentence.
 *
 * Evaluation: token-level precision/recall/F1 of the name class (ŷ > 0.5), on all held-out
 * tokens and on the sentences whose first word is ambiguous (plus the accuracy on that first
 * word alone).
 *
 * The user's own data (`loadConllFile`, format in conll.ts): a tag-set model, the same network with
 * a softmax head over the file's K tags, ŷ⟨t⟩ = softmax(W_y a⟨t⟩ + b_y) [T·B, K], and
 * L = (1/Σm) Σ_t Σ_b m⟨t⟩_b · (−log ŷ⟨t⟩_b[y⟨t⟩_b]); the tag names are saved in the model's config
 * and evaluation (`evaluateTagSet`) reports token accuracy and per-tag precision/recall/F1 by name.
 */
import { nodePath } from '../io/node-builtins.js';
import { Matrix, copyInto, shapeOf } from '../../engine/matrix.js';
import { resolveRnnRegularization, withoutInertDropout, type RnnRegularization } from '../core/rnn-regularization.js';
import type { Rng } from '../../engine/rng.js';
import { createManyToMany, modelParameters, type ManyToManyModel } from '../../layers/architectures.js';
import type { CellKind } from '../../layers/cells/cell.js';
import { isStackedRnn } from '../../layers/interchange.js';
import { readJsonFile, readTextFile, shippedDataPath, writeFileAtomic } from '../io/files.js';
import { layerFromJSON, type LayerJSON } from '../io/layer-json.js';
import type { LoopControls, StopReason } from '../core/loop.js';
import { TaggerParallelStep } from './parallel.js';
import { matrixFromJSON, type MatrixJSON } from '../io/tensors.js';
import { checkModelSize, storedWeightCount } from '../io/weights-json.js';
import { precisionRecall, type PrecisionRecall } from '../metrics/detection.js';
import { PAD, UNK, Vocabulary, type VocabularyJSON } from '../text/vocab.js';
import { InputError } from '../core/errors.js';
import { conllTagIds, conllTagSet, parseConll } from './conll.js';
import { resolveCreateOptions, type CreateOptions } from '../../engine/create.js';
import { NO_INIT } from '../../engine/init.js';
import type { ModelConfig } from '../model/config.js';
import { createModel, MODEL_FILE_KIND, modelFromJSON, type FitResult, type Model, type ModelJSON } from '../model/model.js';

export interface TaggedSentence {
  tokens: string[];
  /** y⟨t⟩ ∈ {0, 1}, one per token. */
  labels: number[];
}


// =============================================================================================
// Names and the sentence generator

export interface NameLists {
  first: string[];
  last: string[];
}

/** data/names of the package (found from the module, so any current folder works). */
export function shippedNamesDir(): string {
  return shippedDataPath('names');
}

/** Read first.txt and last.txt (one capitalised name per line; blank lines and # comments skipped). */
export function loadNameLists(dir = shippedNamesDir()): NameLists {
  const read = (file: string): string[] => {
    const path = nodePath.join(dir, file);
    let text: string;
    try {
      text = readTextFile(path, 'name list');
    } catch (err) {
      throw new InputError((err as Error).message);
    }
    const names: string[] = [];
    text.split(/\r?\n/).forEach((line, i) => {
      const name = line.trim();
      if (name === '' || name.startsWith('#')) return;
      if (!/^\p{Lu}[\p{L}'-]*$/u.test(name)) {
        throw new InputError(`loadNameLists: ${path}:${i + 1}: expected one capitalised name per line, got ${JSON.stringify(line)}`);
      }
      names.push(name);
    });
    if (names.length === 0) throw new InputError(`loadNameLists: ${path} holds no names`);
    return names;
  };
  return { first: read('first.txt'), last: read('last.txt') };
}

/**
 * First names that are also ordinary words at the start of a sentence, with continuations that
 * make them ordinary words: "Teddy" + "bears are on sale ." Every key is in data/names/first.txt.
 */
export const AMBIGUOUS_STARTS: Readonly<Record<string, readonly string[]>> = {
  Teddy: ['bears are on sale', 'bears make great gifts for children', 'bear collectors met in the park'],
  Rose: ['petals covered the floor', 'bushes need a lot of sun', 'gardens look beautiful in June'],
  Grant: ['money arrived late this year', 'applications are due next week', 'me one more wish'],
  Will: ['you come to the party', 'it rain tomorrow', 'power alone is not enough'],
  Mark: ['the date on your calendar', 'your answers clearly', 'the boxes before moving'],
  Bill: ['the client for the repairs', 'payments are due every month', 'collectors called again'],
  April: ['showers bring May flowers', 'is usually a rainy month', 'was colder than expected'],
  Jack: ['up the car before changing the tire', 'rabbits run very fast'],
  Frank: ['discussions help everyone', 'advice is hard to find'],
  Pat: ['the dog gently', 'the dough into a circle'],
  Sue: ['the company for the damages', 'them if they refuse to pay'],
  Hope: ['is a good thing', 'springs eternal', 'remains that the rain stops soon'],
  Joy: ['filled the room', 'is contagious'],
  May: ['I help you', 'I borrow your pen', 'is a warm month'],
  June: ['is a warm month', 'weddings are popular'],
  Summer: ['vacation starts next week', 'days are long and hot'],
  Daisy: ['chains are easy to make', 'petals are white'],
  Ray: ['tracing makes images realistic', 'guns only exist in movies'],
  Dawn: ['broke over the hills', 'is the best time to fish'],
  Chase: ['the ball across the yard', 'scenes are exciting to watch'],
  Penny: ['stocks are risky', 'candy was cheap back then'],
  Ginger: ['tea helps with colds', 'cookies smell wonderful'],
  Holly: ['leaves are sharp', 'berries are poisonous'],
  Ivy: ['covered the old walls', 'grows quickly in the shade'],
  Amber: ['lights flashed at the crossing', 'jewelry is quite old'],
  Ruby: ['rings are expensive', 'red is a bright color'],
  Olive: ['oil is healthy', 'trees grow in dry places'],
  Iris: ['flowers bloom in spring', 'scans are used at airports'],
  Bob: ['your head to the music'],
  Sandy: ['beaches line the coast', 'soil drains quickly'],
  Miles: ['of road lay ahead', 'and miles of sand surrounded us'],
  Gene: ['therapy is promising', 'editing raises hard questions'],
  Lily: ['pads float on the pond'],
  Violet: ['flowers grow near the river'],
  Carol: ['singers visited the village'],
  Faith: ['can move mountains', 'in science is important'],
  Grace: ['under pressure is rare', 'and beauty are not the same'],
  Heather: ['grows on the hills'],
  Crystal: ['glasses break easily', 'clear water flowed down the hill'],
  Cliff: ['divers are very brave', 'edges can be dangerous'],
  Hazel: ['nuts are delicious', 'eyes are uncommon'],
  Austin: ['is a big city in Texas', 'traffic is terrible'],
  Jordan: ['is a country in the Middle East'],
  Charlotte: ['is a city in North Carolina'],
  Virginia: ['is a state on the east coast'],
  Chelsea: ['won the match on Sunday'],
};

/**
 * Endings for the ordinary-word sentences ("Teddy bears are on sale at the market"), so that they
 * are not a small closed set that a held-out sample mostly repeats.
 */
const COMMON_SUFFIXES = ['', '', ' in {month}', ' at the {place}', ' in {city}', ' this week', ' near the {place}', ' in {month} again'];

const PLACES = ['station', 'library', 'airport', 'park', 'museum', 'market', 'cafe', 'beach', 'stadium', 'hospital', 'office', 'school'];
const THINGS = ['car', 'phone', 'bicycle', 'house', 'laptop', 'camera', 'guitar', 'watch', 'lamp', 'table', 'book'];
const CITIES = ['Paris', 'London', 'Boston', 'Chicago', 'Denver', 'Seattle', 'Dallas', 'Miami', 'Toronto', 'Berlin', 'Rome', 'Tokyo',
  'Austin', 'Madison', 'Charlotte', 'Victoria', 'Houston', 'Lincoln', 'Jackson', 'Washington'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const TOPICS = ['history', 'music', 'science', 'cooking', 'football', 'painting', 'chess', 'poetry'];
const TITLES = ['President', 'Doctor', 'Professor', 'Captain', 'Senator', 'Judge', 'Coach'];

/**
 * Templates. Slots: {P} a person (first name, sometimes with a last name — all tagged 1),
 * {L} a last name alone (after a title; tagged 1), {place} {thing} {city} {month} {topic} {title}
 * (tagged 0). A template starting with {P} starts with a first name.
 */
const NAME_FIRST_TEMPLATES = [
  '{P} was a great president .',
  '{P} and {P} invented a new spell .',
  '{P} invented a new spell .',
  '{P} met {P} at the {place} .',
  '{P} bought a new {thing} yesterday .',
  '{P} said that the {thing} was broken .',
  '{P} lives in {city} with {P} .',
  '{P} wrote a famous book about {topic} .',
  '{P} arrived late to the meeting .',
  '{P} called {P} last night .',
  '{P} will visit {city} in {month} .',
  '{P} gave {P} a {thing} .',
  '{P} laughed at the joke .',
  '{P} is my best friend .',
  '{P} will pay the bill .',
];

const OTHER_TEMPLATES = [
  'Yesterday {P} met {P} at the {place} .',
  'The {thing} belongs to {P} .',
  'I think {P} is right .',
  'According to {P} , the meeting was canceled .',
  'In {month} , {P} moved to {city} .',
  'We saw {P} at the {place} .',
  '{title} {L} gave a long speech .',
  'My friend {P} loves {topic} .',
  'She will mark the papers tomorrow .',
  'The children love their teddy bears .',
  'They received a grant from the city .',
  'The rose garden opens in {month} .',
  'We moved to {city} last year .',
  'It rained all day in {city} .',
  'The {thing} on the shelf is new .',
  'Everyone at the {place} listened to {title} {L} .',
  'A letter from {P} arrived in {month} .',
];

export interface GeneratorOptions {
  /** Fraction of sentences that start with an ambiguous word (default 0.4; half as a name, half not). */
  ambiguousRate?: number;
  /** Probability that a person gets a last name too (default 0.6). */
  lastNameRate?: number;
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

/** Expand a template into tokens and labels; `firstName` (when given) is the first {P}'s first name. */
function expand(rng: Rng, template: string, names: NameLists, lastNameRate: number, firstName?: string): TaggedSentence {
  const tokens: string[] = [];
  const labels: number[] = [];
  let people = 0;
  for (const piece of template.split(' ')) {
    switch (piece) {
      case '{P}': {
        tokens.push(people === 0 && firstName !== undefined ? firstName : pick(rng, names.first));
        labels.push(1);
        if (rng.uniform() < lastNameRate) {
          tokens.push(pick(rng, names.last));
          labels.push(1);
        }
        people++;
        break;
      }
      case '{L}': tokens.push(pick(rng, names.last)); labels.push(1); break;
      case '{place}': tokens.push(pick(rng, PLACES)); labels.push(0); break;
      case '{thing}': tokens.push(pick(rng, THINGS)); labels.push(0); break;
      case '{city}': tokens.push(pick(rng, CITIES)); labels.push(0); break;
      case '{month}': tokens.push(pick(rng, MONTHS)); labels.push(0); break;
      case '{topic}': tokens.push(pick(rng, TOPICS)); labels.push(0); break;
      case '{title}': tokens.push(pick(rng, TITLES)); labels.push(0); break;
      default: tokens.push(piece); labels.push(0);
    }
  }
  return { tokens, labels };
}

/** True when the sentence's first token is one of the ambiguous words (name or not). */
export function hasAmbiguousFirstWord(sentence: TaggedSentence | string[]): boolean {
  const tokens = Array.isArray(sentence) ? sentence : sentence.tokens;
  return tokens.length > 0 && Object.hasOwn(AMBIGUOUS_STARTS, tokens[0]);
}

/**
 * `count` seeded sentences. With probability `ambiguousRate` a sentence starts with an ambiguous
 * word, used as a first name (in a name-first template) or as an ordinary word (one of its
 * continuations, sometimes with an ending like "in {month}"), each half the time; otherwise any
 * template with random names.
 */
export function generateTaggedSentences(rng: Rng, count: number, names: NameLists, opts: GeneratorOptions = {}): TaggedSentence[] {
  const op = 'generateTaggedSentences';
  const ambiguousRate = opts.ambiguousRate ?? 0.4;
  const lastNameRate = opts.lastNameRate ?? 0.6;
  if (!Number.isInteger(count) || count < 0) throw new Error(`${op}: expected a count ≥ 0, got ${count}`);
  if (!(ambiguousRate >= 0 && ambiguousRate <= 1)) throw new Error(`${op}: expected ambiguousRate in [0, 1], got ${ambiguousRate}`);
  if (!(lastNameRate >= 0 && lastNameRate <= 1)) throw new Error(`${op}: expected lastNameRate in [0, 1], got ${lastNameRate}`);
  if (names.first.length === 0 || names.last.length === 0) throw new Error(`${op}: expected non-empty first and last name lists`);
  const ambiguous = Object.keys(AMBIGUOUS_STARTS);
  const out: TaggedSentence[] = [];
  for (let i = 0; i < count; i++) {
    if (rng.uniform() < ambiguousRate) {
      const word = pick(rng, ambiguous);
      if (rng.uniform() < 0.5) {
        out.push(expand(rng, pick(rng, NAME_FIRST_TEMPLATES), names, lastNameRate, word));
      } else {
        out.push(expand(rng, `${word} ${pick(rng, AMBIGUOUS_STARTS[word])}${pick(rng, COMMON_SUFFIXES)} .`, names, lastNameRate));
      }
    } else {
      const all = rng.uniform() < 0.5 ? NAME_FIRST_TEMPLATES : OTHER_TEMPLATES;
      out.push(expand(rng, pick(rng, all), names, lastNameRate));
    }
  }
  return out;
}

/** Tokens back to a sentence: spaces between words, none before . and , */
export function sentenceText(tokens: readonly string[]): string {
  return tokens.join(' ').replace(/ ([.,!?;:])/g, '$1');
}

// =============================================================================================
// The model

/** The tagger's structure; dropout and layerNorm (training/core/rnn-regularization.ts) only when set. */
export interface TaggerConfig extends RnnRegularization {
  /** Embedding size d (default 32). */
  embeddingDim: number;
  /** Hidden size H per direction (default 32). */
  hidden: number;
  bidirectional: boolean;
  /** Default 'lstm'. */
  cell: CellKind;
  /** Stacked layers (default 1). */
  layers: number;
  /**
   * The tag names of a tag-set model (a CoNLL file's tags): a softmax over them per step, labels are
   * tag ids. Absent: the notes' name tagger, one sigmoid per step (labels 0/1).
   */
  tags?: string[];
}

export interface Tagger {
  readonly vocab: Vocabulary;
  readonly config: TaggerConfig;
  /** The layers (the Model's network). */
  readonly net: ManyToManyModel;
  /** The Model API model (training/model/) that trains, predicts and is saved. */
  readonly model: Model<'many-to-many'>;
}

/** Vocabulary of the training sentences (case kept): `<PAD>` = 0, `<EOS>`, `<UNK>`; words seen fewer than minCount times are `<UNK>`. */
export function buildTaggerVocabulary(sentences: readonly TaggedSentence[], minCount = 2): Vocabulary {
  return Vocabulary.build(sentences.flatMap((s) => s.tokens), { minCount });
}

/** A new tagger over `config.vocab` (buildTaggerVocabulary); sizes default as TaggerConfig says. */
export function createTagger(config: Partial<TaggerConfig> & { vocab: Vocabulary }, options?: CreateOptions): Tagger;
/** @deprecated Use `createTagger({ vocab, ...config }, { rng })`. */
export function createTagger(vocab: Vocabulary, config: Partial<TaggerConfig>, rng: Rng): Tagger;
export function createTagger(
  first: Vocabulary | (Partial<TaggerConfig> & { vocab: Vocabulary }), second?: CreateOptions | Partial<TaggerConfig>, oldRng?: Rng,
): Tagger {
  const op = 'createTagger';
  const { vocab, ...config } = first instanceof Vocabulary ? { ...(second as Partial<TaggerConfig>), vocab: first } : first;
  const { rng } = resolveCreateOptions(op, first instanceof Vocabulary ? { rng: oldRng } : second as CreateOptions | undefined);
  const c: TaggerConfig = {
    embeddingDim: config.embeddingDim ?? 32, hidden: config.hidden ?? 32, bidirectional: config.bidirectional ?? true,
    cell: config.cell ?? 'lstm', layers: config.layers ?? 1,
    ...(config.tags === undefined ? {} : { tags: [...config.tags] }),
  };
  if (c.tags !== undefined && (!Array.isArray(c.tags) || c.tags.length < 2 || new Set(c.tags).size !== c.tags.length || !c.tags.every((t) => typeof t === 'string' && t !== ''))) {
    throw new Error(`${op}: expected tags to be at least 2 distinct non-empty names, got ${JSON.stringify(c.tags).slice(0, 80)}`);
  }
  Object.assign(c, resolveRnnRegularization(op, config, c.cell, c.layers));
  for (const name of ['embeddingDim', 'hidden', 'layers'] as const) {
    if (!Number.isInteger(c[name]) || c[name] < 1) throw new Error(`${op}: expected ${name} to be a positive integer, got ${c[name]}`);
  }
  if (!vocab.has(PAD) || vocab.id(PAD) !== 0 || vocab.unkId < 0) {
    throw new Error(`${op}: expected a vocabulary with ${PAD} at id 0 and ${UNK} (buildTaggerVocabulary), got ${vocab.tokens.slice(0, 3).join(', ')}…`);
  }
  // At least E [V, d], W_a [H, H] and W_x [H, d] per layer and direction, and the head: checked before allocating.
  const directions = c.bidirectional ? 2 : 1, outputs = c.tags?.length ?? 1;
  checkModelSize(op, vocab.size * c.embeddingDim + directions * c.layers * c.hidden * (c.hidden + c.embeddingDim) + outputs * directions * c.hidden,
    `a ${c.cell} tagger of hidden ${c.hidden} × ${c.layers} layer(s), embedding ${c.embeddingDim}, over ${vocab.size} words`);
  // E ~ N(0, 0.3²) and the LSTM's forget-gate bias 1: the tagger's initialisation (drawn in the same order as before the Model API).
  return taggerOver(vocab, c, createModel(taggerModelConfig(vocab, c), { rng, init: { embeddingStd: 0.3, forgetBias: 1 } }));
}

/**
 * The Model API config of a tagger (training/model/): many-to-many over the vocabulary's ids, a
 * sigmoid per step (the name tagger) or a softmax over the tags.
 */
export function taggerModelConfig(vocab: Vocabulary, c: TaggerConfig): ModelConfig & { shape: 'many-to-many' } {
  return {
    shape: 'many-to-many', vocabSize: vocab.size, embeddingDim: c.embeddingDim,
    rnn: { cell: c.cell, hidden: c.hidden, layers: c.layers, bidirectional: c.bidirectional, ...resolveRnnRegularization('tagger', c, c.cell, c.layers) },
    head: c.tags ? 'softmax' : 'sigmoid', outputSize: c.tags?.length ?? 1,
  };
}

/** The tagger around its Model (whose network is the tagger's `net`). */
function taggerOver(vocab: Vocabulary, config: TaggerConfig, model: Model): Tagger {
  const { network } = model;
  if (network.shape !== 'many-to-many' || !network.model.embedding) throw new Error(`tagger: expected a many-to-many model with an embedding, got ${model.summary}`);
  return { vocab, config, net: network.model, model: model as Model<'many-to-many'> };
}

/**
 * Time-major ids [T·B] (PAD after each sentence), labels [T·B, 1] (the sigmoid head's targets) and
 * the same labels as class ids [T·B] (the softmax head's), and the mask [T, B] of a batch.
 */
export interface TaggerBatch {
  ids: Int32Array;
  y: Matrix;
  classes: Int32Array;
  mask: Matrix;
}

export function createBatchBuffers(steps: number, batch: number): TaggerBatch {
  return {
    ids: new Int32Array(steps * batch), y: Matrix.zeros(steps * batch, 1, 'float32'), classes: new Int32Array(steps * batch),
    mask: Matrix.zeros(steps, batch, 'float32'),
  };
}

/** Fill the first T·B entries of the buffers; returns T (the longest sentence of the batch). */
export function fillBatch(buf: TaggerBatch, encoded: readonly Int32Array[], labels: readonly (readonly number[])[] | null): number {
  const B = encoded.length;
  const T = Math.max(...encoded.map((e) => e.length));
  buf.ids.fill(0, 0, T * B);
  buf.y.data.fill(0, 0, T * B);
  buf.classes.fill(0, 0, T * B);
  buf.mask.data.fill(0, 0, T * B);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < encoded[b].length; t++) {
      buf.ids[t * B + b] = encoded[b][t];
      if (labels) {
        buf.y.data[t * B + b] = labels[b][t];
        buf.classes[t * B + b] = labels[b][t];
      }
      buf.mask.data[t * B + b] = 1;
    }
  }
  return T;
}

function encode(tagger: Tagger, tokens: readonly string[]): Int32Array {
  if (tokens.length === 0) throw new Error('tagger: expected sentences of at least one token, got an empty one');
  return Int32Array.from(tokens, (t) => tagger.vocab.id(t));
}

/** The shared loop's controls (time limit, stop signal, progress) and the tagger's budget. */
export interface TaggerTrainOptions extends LoopControls {
  /** Updates (default 1500). */
  steps?: number;
  /** Sentences per update (default 32). */
  batchSize?: number;
  /** Adam's learning rate (default 5e−3). */
  lr?: number;
  /** Clip the global gradient norm to this (default 5). */
  clipNorm?: number;
  /**
   * Threads computing each batch's gradient (default 1): the batch's sentences are cut into N
   * fixed shares, N − 1 worker threads (started for this run, stopped at its end) compute theirs
   * on the same weights, the gradients are summed in worker order and one update follows
   * (training/tagger/parallel.ts): the same N and seed give the same bits; N = 1 is the
   * single-thread path. At most B threads are used. Needs the wasm backend, a float32 tagger and
   * no dropout (see taggerParallelUnsupported).
   */
  threads?: number;
}

/**
 * Why training `tagger` cannot use worker threads (null: it can): dropout masks are drawn from the
 * trainer's generator, which the workers do not share.
 */
export function taggerParallelUnsupported(tagger: Tagger): string | null {
  return tagger.config.dropout ? 'dropout' : null;
}

export interface TaggerTrainResult {
  /** Updates done. */
  steps: number;
  /** The loss of every update. */
  losses: number[];
  seconds: number;
  stopReason: StopReason;
}

/**
 * `steps` Adam updates on batches drawn in a fresh seeded shuffle each pass over the sentences
 * (the same budget for any model: uni- and bidirectional taggers see the same batches given the
 * same rng seed), by Model.fit (training/model/: the shared training loop of training/core/loop.ts).
 */
export function trainTagger(
  tagger: Tagger, sentences: readonly TaggedSentence[], opts: TaggerTrainOptions, rng: Rng,
): TaggerTrainResult {
  const op = 'trainTagger';
  const steps = opts.steps ?? 1500;
  const B = Math.min(opts.batchSize ?? 32, sentences.length);
  if (sentences.length === 0) throw new Error(`${op}: expected at least one training sentence, got none`);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`${op}: expected a positive integer number of steps, got ${steps}`);
  if (!Number.isInteger(B) || B < 1) throw new Error(`${op}: expected a positive integer batch size, got ${opts.batchSize}`);
  const classes = tagger.config.tags?.length ?? 2;
  sentences.forEach((s, i) => {
    if (s.tokens.length !== s.labels.length) throw new Error(`${op}: sentence ${i} has ${s.tokens.length} tokens but ${s.labels.length} labels`);
    if (!s.labels.every((y) => Number.isInteger(y) && y >= 0 && y < classes)) throw new Error(`${op}: sentence ${i} has a label outside 0…${classes - 1}`);
  });
  const encoded = sentences.map((s) => encode(tagger, s.tokens));
  const T = Math.max(...encoded.map((e) => e.length));
  const threads = opts.threads ?? 1;
  if (!(Number.isInteger(threads) && threads >= 1)) throw new InputError(`${op}: expected threads to be an integer ≥ 1, got ${threads}`);
  const unsupported = threads > 1 ? taggerParallelUnsupported(tagger) : null;
  if (unsupported) throw new InputError(`${op}: threads > 1 do not support ${unsupported} yet: expected threads 1, got ${threads}`);
  const parallel = threads > 1
    ? new TaggerParallelStep('tagger train', tagger, { encoded, labels: sentences.map((s) => s.labels.slice()), longest: T }, B, threads)
    : null;
  let result: FitResult;
  try {
    // Model.fit: B sentences per step (dropLast: a fresh shuffle from `rng` when fewer are left), Adam, the
    // global norm clipped; dropout masks from `rng` too. With threads, the pool computes each batch's gradient.
    result = tagger.model.fit({ inputs: encoded.map((e) => Array.from(e)), targets: sentences.map((s) => s.labels) }, {
      maxSteps: steps, batchSize: B, dropLast: true, optimizer: { kind: 'adam', lr: opts.lr ?? 5e-3 },
      clip: { mode: 'norm', max: opts.clipNorm ?? 5 }, rng,
      timeLimitSeconds: opts.timeLimitSeconds, signal: opts.signal, now: opts.now, onProgress: opts.onProgress,
      ...(parallel ? { gradient: (ids: readonly number[]) => parallel.step(ids, ids.reduce((n, i) => n + encoded[i].length, 0)) } : {}),
    });
  } finally {
    parallel?.close(); // no worker thread outlives the run
  }
  return { steps: result.steps, losses: result.losses, seconds: result.seconds, stopReason: result.stopReason };
}

/** The Model's probabilities of every token: [sentence][t][k] (unknown words are `<UNK>`). */
function sentenceProbabilities(tagger: Tagger, sentences: readonly (readonly string[])[], batchSize: number): number[][][] {
  return tagger.model.predict(sentences.map((s) => Array.from(encode(tagger, s))), { batchSize });
}

/** ŷ⟨t⟩ for every token of every sentence, for the name tagger (sigmoid head; unknown words are `<UNK>`). */
export function predictTagger(tagger: Tagger, sentences: readonly (readonly string[])[], batchSize = 64): Float32Array[] {
  if (tagger.config.tags) throw new Error('predictTagger: expected a name tagger (sigmoid), got a tag-set model: use predictTags');
  return sentenceProbabilities(tagger, sentences, batchSize).map((rows) => Float32Array.from(rows, (p) => p[0]));
}

/** A tag-set model's choice for every token: the most probable tag id and its softmax probability. */
export function predictTags(tagger: Tagger, sentences: readonly (readonly string[])[], batchSize = 64): { ids: Int32Array; probabilities: Float32Array }[] {
  const tags = tagger.config.tags;
  if (!tags) throw new Error('predictTags: expected a tag-set model (softmax over tags), got the name tagger: use predictTagger');
  return sentenceProbabilities(tagger, sentences, batchSize).map((rows) => {
    const ids = new Int32Array(rows.length), probabilities = new Float32Array(rows.length);
    rows.forEach((p, t) => {
      let best = 0;
      for (let k = 1; k < p.length; k++) if (p[k] > p[best]) best = k;
      ids[t] = best;
      probabilities[t] = p[best];
    });
    return { ids, probabilities };
  });
}

// =============================================================================================
// Scores

export interface TokenScores extends PrecisionRecall {
  tokens: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** (TP + TN) / tokens. */
  accuracy: number;
}

/** Token-level scores of the positive (name) class: predicted and gold are 0/1 per token. */
export function tokenScores(predicted: readonly (ArrayLike<number>)[], gold: readonly (ArrayLike<number>)[]): TokenScores {
  if (predicted.length !== gold.length) throw new Error(`tokenScores: expected as many predicted as gold sentences, got ${predicted.length} and ${gold.length}`);
  let tp = 0, fp = 0, fn = 0, tokens = 0, correct = 0;
  predicted.forEach((p, i) => {
    const g = gold[i];
    if (p.length !== g.length) throw new Error(`tokenScores: sentence ${i} has ${p.length} predictions for ${g.length} gold labels`);
    for (let t = 0; t < g.length; t++) {
      if (p[t] === 1 && g[t] === 1) tp++;
      else if (p[t] === 1) fp++;
      else if (g[t] === 1) fn++;
      if (p[t] === g[t]) correct++;
      tokens++;
    }
  });
  const counts = { truePositives: tp, falsePositives: fp, falseNegatives: fn };
  return { ...counts, ...precisionRecall(counts), tokens, accuracy: tokens ? correct / tokens : 0 };
}

export interface TaggerEvaluation {
  sentences: number;
  all: TokenScores;
  /**
   * Sentences whose first word is ambiguous (a first name and an ordinary word); majorityRate is
   * the first-word accuracy of always answering the more frequent reading (what a model that
   * cannot look ahead can at best do there).
   */
  ambiguousFirst: TokenScores & { sentences: number; firstTokenAccuracy: number; majorityRate: number };
}

export function evaluateTagger(tagger: Tagger, sentences: readonly TaggedSentence[], threshold = 0.5): TaggerEvaluation {
  const probabilities = predictTagger(tagger, sentences.map((s) => s.tokens));
  const predicted = probabilities.map((p) => Array.from(p, (v) => (v > threshold ? 1 : 0)));
  const gold = sentences.map((s) => s.labels);
  const subset = sentences.map((_, i) => i).filter((i) => hasAmbiguousFirstWord(sentences[i]));
  const firstCorrect = subset.filter((i) => predicted[i][0] === gold[i][0]).length;
  const firstNames = subset.filter((i) => gold[i][0] === 1).length;
  return {
    sentences: sentences.length,
    all: tokenScores(predicted, gold),
    ambiguousFirst: {
      ...tokenScores(subset.map((i) => predicted[i]), subset.map((i) => gold[i])),
      sentences: subset.length,
      firstTokenAccuracy: subset.length ? firstCorrect / subset.length : 0,
      majorityRate: subset.length ? Math.max(firstNames, subset.length - firstNames) / subset.length : 0,
    },
  };
}

/** Scores of one tag: token-level precision, recall and F1, and how many gold tokens have it. */
export interface TagScores extends PrecisionRecall {
  support: number;
}

export interface TagSetEvaluation {
  sentences: number;
  tokens: number;
  /** Tokens whose predicted tag is the gold one / tokens. */
  accuracy: number;
  /** Token-level scores per tag, by name. */
  perTag: Record<string, TagScores>;
  /** The mean F1 over the tags other than 'O' that occur in the gold data (over all tags when there is no 'O'). */
  macroF1: number;
}

/** Token-level scores of a tag-set model (per tag and overall; no span matching of B-/I- chunks). */
export function evaluateTagSet(tagger: Tagger, sentences: readonly TaggedSentence[]): TagSetEvaluation {
  const tags = tagger.config.tags;
  if (!tags) throw new Error('evaluateTagSet: expected a tag-set model, got the name tagger: use evaluateTagger');
  const predicted = predictTags(tagger, sentences.map((s) => s.tokens));
  const tp = new Array<number>(tags.length).fill(0), fp = [...tp], fn = [...tp], support = [...tp];
  let tokens = 0, correct = 0;
  sentences.forEach((s, i) => s.labels.forEach((gold, t) => {
    const guess = predicted[i].ids[t];
    tokens++;
    support[gold]++;
    if (guess === gold) {
      correct++;
      tp[gold]++;
    } else {
      fp[guess]++;
      fn[gold]++;
    }
  }));
  const perTag: Record<string, TagScores> = {};
  tags.forEach((tag, k) => {
    perTag[tag] = { ...precisionRecall({ truePositives: tp[k], falsePositives: fp[k], falseNegatives: fn[k] }), support: support[k] };
  });
  const scored = tags.filter((tag, k) => support[k] > 0 && (tag !== 'O' || !tags.includes('O')));
  const macroF1 = scored.length ? scored.reduce((sum, tag) => sum + perTag[tag].f1, 0) / scored.length : 0;
  return { sentences: sentences.length, tokens, accuracy: tokens ? correct / tokens : 0, perTag, macroF1 };
}

/**
 * A CoNLL file as tagged sentences: with `tags` (a model's), every tag must be one of them;
 * without, the file's own tag set (at least two tags). Errors name the file and the line.
 */
export function loadConllFile(path: string, tags?: readonly string[]): { tags: string[]; sentences: TaggedSentence[] } {
  let text: string;
  try {
    text = readTextFile(path, 'CoNLL file');
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  const parsed = parseConll(text, path);
  const tagSet = tags ? [...tags] : conllTagSet(parsed);
  if (tagSet.length < 2) throw new InputError(`CoNLL file ${path}: expected at least 2 different tags, got ${tagSet.length} ('${tagSet.join("', '")}')`);
  const ids = conllTagIds(parsed, tagSet, path);
  return { tags: tagSet, sentences: parsed.map((s, i) => ({ tokens: s.tokens, labels: ids[i] })) };
}

// =============================================================================================
// Saving and loading

/**
 * A tagger's model file: a Model API file (training/model/: `kind` "seqgrad.model", the config and
 * every weight by name) with the tagger's own part beside it — the vocabulary of its input ids and,
 * for a tag-set model, the tag names. `loadModel` reads it as a plain many-to-many Model.
 */
export interface TaggerJSON extends ModelJSON {
  tagger: { vocab: VocabularyJSON; tags?: string[] };
}

/** The file `tagger train` wrote before the Model API (still read by taggerFromJSON / loadTagger). */
export interface LegacyTaggerJSON {
  format: 'seqgrad.tagger';
  version: 1;
  config: TaggerConfig;
  vocab: VocabularyJSON;
  embedding: MatrixJSON;
  rnn: LayerJSON;
  head: { W: MatrixJSON; b: MatrixJSON };
}

export function taggerToJSON(tagger: Tagger): TaggerJSON {
  const tags = tagger.config.tags;
  return { ...tagger.model.toJSON(), tagger: { vocab: tagger.vocab.toJSON(), ...(tags ? { tags: [...tags] } : {}) } };
}

export function saveTagger(path: string, tagger: Tagger): void {
  writeFileAtomic(path, JSON.stringify(taggerToJSON(tagger)) + '\n');
}

/**
 * Rebuild a tagger from its JSON — a Model API file with its tagger part, or the format before it
 * (LegacyTaggerJSON); every problem is an InputError naming `source` and the field.
 */
export function taggerFromJSON(json: TaggerJSON | LegacyTaggerJSON, source = 'tagger'): Tagger {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if ((json as Partial<LegacyTaggerJSON>)?.format === 'seqgrad.tagger') return legacyTaggerFromJSON(json as LegacyTaggerJSON, source);
  if ((json as Partial<TaggerJSON>)?.kind !== MODEL_FILE_KIND) {
    return fail(`expected a tagger model file (kind "${MODEL_FILE_KIND}" with a "tagger" part, or format "seqgrad.tagger"), got kind ${JSON.stringify((json as Partial<TaggerJSON>)?.kind)}`);
  }
  const part = (json as TaggerJSON).tagger;
  if (part === null || typeof part !== 'object') return fail('expected the tagger part { vocab, tags? } beside the model (a Model API file without it is no tagger: read it with loadModel)');
  const vocab = taggerVocabulary(part.vocab, fail);
  const model = modelFromJSON(json, source);
  const { config } = model;
  if (config.shape !== 'many-to-many' || config.embeddingDim < 1 || config.vocabSize !== vocab.size) {
    fail(`expected a many-to-many model with an embedding of the vocabulary's ${vocab.size} words, got ${model.summary}`);
  }
  const tags = part.tags;
  if (tags !== undefined && !(Array.isArray(tags) && config.head === 'softmax' && tags.length === config.outputSize)) {
    fail(`expected tags to name the ${config.outputSize} classes of the softmax head, got ${JSON.stringify(tags).slice(0, 80)}`);
  }
  if (tags === undefined && !(config.head === 'sigmoid' && config.outputSize === 1)) fail(`expected the name tagger's sigmoid head of 1 output (no tags given), got ${config.head} ${config.outputSize}`);
  const { cell, hidden, layers, bidirectional, dropout, dropoutMode, layerNorm } = config.rnn;
  const taggerConfig: TaggerConfig = {
    embeddingDim: config.embeddingDim, hidden, bidirectional, cell, layers, ...(tags ? { tags: [...tags] } : {}),
    ...resolveRnnRegularization(source, { dropout, dropoutMode, layerNorm }, cell, layers),
  };
  return taggerOver(vocab, taggerConfig, model);
}

function taggerVocabulary(json: VocabularyJSON, fail: (what: string) => never): Vocabulary {
  let vocab: Vocabulary;
  try {
    vocab = Vocabulary.fromJSON(json);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (!vocab.has(PAD) || vocab.id(PAD) !== 0 || vocab.unkId < 0) fail(`expected a vocabulary with ${PAD} at id 0 and ${UNK}, got ${vocab.tokens.slice(0, 3).join(', ')}…`);
  return vocab;
}

/** The format before the Model API: a tagger of its config (no weights drawn), the file's embedding, stack and head copied in. */
function legacyTaggerFromJSON(json: LegacyTaggerJSON, source: string): Tagger {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (json.version !== 1) return fail(`expected format "seqgrad.tagger" version 1, got version ${JSON.stringify(json.version)}`);
  const vocab = taggerVocabulary(json.vocab, fail);
  // The config's sizes must be ones the file's weights can fill: refused before the network is allocated.
  const c = json.config ?? ({} as Partial<TaggerConfig>);
  const [d, H, L] = [Number(c.embeddingDim ?? 32), Number(c.hidden ?? 32), Number(c.layers ?? 1)];
  const needed = vocab.size * d + L * H * (H + d);
  const stored = storedWeightCount({ embedding: json.embedding, W: json.head?.W }) + storedWeightCount((json.rnn as { weights?: unknown } | undefined)?.weights);
  if (Number.isFinite(needed) && needed > stored) return fail(`its config (embedding ${d}, hidden ${H} × ${L} layer(s), ${vocab.size} words) needs at least ${needed} weights, the file holds ${stored}`);
  let tagger: Tagger;
  try {
    tagger = createTagger({ vocab, ...withoutInertDropout(c, L) }, { rng: NO_INIT }); // dropout that never acted: dropped, the same tagger
  } catch (err) {
    return fail((err as Error).message);
  }
  const rnn = layerFromJSON(json.rnn, `${source} (rnn)`);
  if (!isStackedRnn(rnn) || rnn.inputSize !== tagger.net.rnn.inputSize || rnn.outputSize !== tagger.net.rnn.outputSize) {
    return fail(`expected a stacked rnn ${tagger.net.rnn.inputSize} → ${tagger.net.rnn.outputSize} (from the config)`);
  }
  const load = (name: string, into: Matrix, value: MatrixJSON | undefined): void => {
    let m: Matrix;
    try {
      m = matrixFromJSON(value as MatrixJSON);
    } catch (err) {
      return fail(`${name}: ${(err as Error).message}`);
    }
    if (m.rows !== into.rows || m.cols !== into.cols) return fail(`expected ${name} ${shapeOf(into)}, got ${shapeOf(m)}`);
    copyInto(into, m);
  };
  const embedding = tagger.net.embedding as NonNullable<ManyToManyModel['embedding']>;
  load('embedding', embedding.weight, json.embedding);
  load('head.W', tagger.net.head.dense.params.W, json.head?.W);
  load('head.b', tagger.net.head.dense.params.b as Matrix, json.head?.b);
  // The stack's weights by their names (rnn.l{k}.W_x, …): every one of the model's, in the model's shapes.
  const fromFile = modelParameters(createManyToMany({ rnn, head: tagger.net.head, embedding })).params;
  for (const [name, into] of Object.entries(tagger.model.parameters)) {
    if (!name.startsWith('rnn.')) continue;
    const m = fromFile[name];
    if (!m || m.rows !== into.rows || m.cols !== into.cols) return fail(`expected rnn weight '${name}' ${shapeOf(into)} (from the config), got ${m ? shapeOf(m) : 'none'}`);
    copyInto(into, m);
  }
  return tagger;
}

export function loadTagger(path: string): Tagger {
  let json: TaggerJSON | LegacyTaggerJSON;
  try {
    json = readJsonFile<TaggerJSON | LegacyTaggerJSON>(path, 'tagger model file');
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  return taggerFromJSON(json, `tagger model file ${path}`);
}
