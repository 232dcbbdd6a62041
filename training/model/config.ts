/**
 * The configuration of a Model (training/model/model.ts): a plain JSON object that fully describes
 * the structure — saved as is in the model file, so `createModel(config)` and `loadModel(path)`
 * build the same thing. Shapes of the notes (layers/architectures.ts):
 *
 *   many-to-one      ids x⟨1…T_b⟩ → x̂ = E[x] (or one-hot) → stack → a⟨T_b⟩ → head → ŷ      classification
 *   many-to-many     ids x⟨1…T⟩ → stack → a⟨t⟩ → head → ŷ⟨t⟩ at every step              tagging, per-step LM
 *   one-to-many      start token (or ∅) → ŷ⟨1⟩, y⟨t−1⟩ fed back → ŷ⟨t⟩                   generation (teacher forcing)
 *   encoder-decoder  source ids → encoder stack → final state → decoder (one-to-many) → target ids
 *
 *   {
 *     "shape": "many-to-one" | "many-to-many" | "one-to-many" | "encoder-decoder",
 *     "vocabSize": V,              input token ids in [0, V) (the source vocabulary of an encoder-decoder)
 *     "embeddingDim": d,           0 = one-hot inputs of width V (many-to-one and many-to-many only)
 *     "rnn": { "cell": CellKind, "hidden": H, "layers": L, "bidirectional": bool, "residual": bool,
 *              "activation"?: "tanh" | "relu" (rnn only),
 *              "dropout"?: p, "dropoutMode"?: "between" | "variational", "layerNorm"?: true
 *              (training/core/rnn-regularization.ts: written only when set) },
 *     "head": "softmax" | "sigmoid", K = "outputSize" classes or labels (one-to-many: V;
 *              encoder-decoder: the target vocabulary); generating shapes have a softmax head,
 *     "startToken"?: id fed at step 1 of one-to-many (absent: x⟨1⟩ = ∅) and of the decoder (required),
 *     "stopToken"?: id that ends a generated sequence,
 *     "decoderEmbeddingDim"?: d of the decoder's embedding (encoder-decoder; default d),
 *     "dtype": "float32" | "float64"
 *   }
 *
 * An encoder-decoder's decoder has the encoder's cell kind and number of layers and hidden size
 * H (2H after a bidirectional encoder: each layer starts from [a→, a←], concatDirections); it is
 * unidirectional (it generates step by step). `residual` puts a skip connection around every
 * layer l ≥ 1 of each stack (layers/stacked.ts).
 */
import type { DType } from '../../engine/matrix.js';
import type { CellKind } from '../../layers/cells/cell.js';
import { CELL_KINDS } from '../../layers/cells/create-cell.js';
import type { HeadKind } from '../../layers/heads.js';
import { InputError } from '../core/errors.js';
import { resolveRnnRegularization, withoutInertDropout, type RnnRegularization } from '../core/rnn-regularization.js';

export type ModelShape = 'many-to-one' | 'many-to-many' | 'one-to-many' | 'encoder-decoder';

export const MODEL_SHAPES: readonly ModelShape[] = ['many-to-one', 'many-to-many', 'one-to-many', 'encoder-decoder'];

/** The stack; dropout (in fit only) and layer normalisation as the trainers have them (rnn-regularization.ts). */
export interface RecurrentConfig extends RnnRegularization {
  cell: CellKind;
  /** H per direction. */
  hidden: number;
  /** L ≥ 1 (default 1). */
  layers?: number;
  /** Every layer bidirectional (default false; not for one-to-many). */
  bidirectional?: boolean;
  /** A skip connection around every layer l ≥ 1 (default false). */
  residual?: boolean;
  /** 'rnn' only: the non-linearity g (default tanh). */
  activation?: 'tanh' | 'relu';
}

export interface ModelConfig {
  shape: ModelShape;
  vocabSize: number;
  /** 0 = one-hot inputs. */
  embeddingDim: number;
  rnn: RecurrentConfig;
  /** Default 'softmax'. */
  head?: HeadKind;
  /** K; defaults to vocabSize for one-to-many; required otherwise. */
  outputSize?: number;
  startToken?: number;
  stopToken?: number;
  decoderEmbeddingDim?: number;
  /** Default 'float32'; the `dtype` option of createModel sets it too. */
  dtype?: DType;
}

/** A config with every default filled in: what a model file stores. */
export interface ResolvedModelConfig extends ModelConfig {
  rnn: Required<Omit<RecurrentConfig, 'activation' | keyof RnnRegularization>> & Pick<RecurrentConfig, 'activation' | keyof RnnRegularization>;
  head: HeadKind;
  outputSize: number;
  dtype: DType;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? 'an object' : String(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Check a config field by field and fill in the defaults. Every problem is one InputError
 * `${source}: …` naming the field, what was expected and what came.
 */
export function resolveModelConfig(json: unknown, source = 'model config'): ResolvedModelConfig {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (!isObject(json)) return fail(`expected an object { shape, vocabSize, embeddingDim, rnn, … }, got ${describe(json)}`);
  const integer = (obj: Record<string, unknown>, name: string, min: number, where = name): number => {
    const v = obj[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(`expected ${where} to be an integer ≥ ${min}, got ${describe(v)}`);
    return v as number;
  };
  const oneOf = <T extends string>(obj: Record<string, unknown>, name: string, allowed: readonly T[], fallback?: T, where = name): T => {
    const v = obj[name] ?? fallback;
    if (typeof v !== 'string' || !allowed.includes(v as T)) fail(`expected ${where} to be one of ${allowed.join(', ')}, got ${describe(obj[name])}`);
    return v as T;
  };
  const flag = (obj: Record<string, unknown>, name: string, where: string): boolean => {
    const v = obj[name] ?? false;
    if (typeof v !== 'boolean') fail(`expected ${where} to be true or false, got ${describe(v)}`);
    return v as boolean;
  };

  const shape = oneOf(json, 'shape', MODEL_SHAPES);
  const vocabSize = integer(json, 'vocabSize', 1);
  const embeddingDim = integer(json, 'embeddingDim', 0);
  if (!isObject(json.rnn)) return fail(`expected rnn to be an object { cell, hidden, layers?, bidirectional?, residual? }, got ${describe(json.rnn)}`);
  const r = json.rnn;
  const cell = oneOf(r, 'cell', CELL_KINDS, undefined, 'rnn.cell');
  const rnn: ResolvedModelConfig['rnn'] = {
    cell,
    hidden: integer(r, 'hidden', 1, 'rnn.hidden'),
    layers: r.layers === undefined ? 1 : integer(r, 'layers', 1, 'rnn.layers'),
    bidirectional: flag(r, 'bidirectional', 'rnn.bidirectional'),
    residual: flag(r, 'residual', 'rnn.residual'),
  };
  if (cell === 'rnn') rnn.activation = oneOf(r, 'activation', ['tanh', 'relu'] as const, 'tanh', 'rnn.activation');
  else if (r.activation !== undefined) fail(`expected no rnn.activation for a '${cell}' cell (only 'rnn' has one), got ${describe(r.activation)}`);
  try {
    Object.assign(rnn, resolveRnnRegularization('rnn', r, cell, rnn.layers, 'rnn.layers'));
  } catch (err) {
    fail((err as Error).message);
  }

  const generates = shape === 'one-to-many' || shape === 'encoder-decoder';
  const head = oneOf(json, 'head', ['softmax', 'sigmoid'] as const, 'softmax');
  const outputSize = json.outputSize === undefined && shape === 'one-to-many' ? vocabSize : integer(json, 'outputSize', 1);
  const dtype = oneOf(json, 'dtype', ['float32', 'float64'] as const, 'float32');
  const config: ResolvedModelConfig = { shape, vocabSize, embeddingDim, rnn, head, outputSize, dtype };

  if (generates) {
    if (head !== 'softmax') fail(`expected head "softmax" for a ${shape} model (it generates tokens), got ${describe(head)}`);
    if (embeddingDim < 1) fail(`expected embeddingDim ≥ 1 for a ${shape} model (generated tokens are fed back through an embedding), got ${embeddingDim}`);
    if (shape === 'one-to-many' && outputSize !== vocabSize) fail(`expected outputSize = vocabSize (${vocabSize}) for a one-to-many model (it feeds its outputs back), got ${outputSize}`);
    if (shape === 'one-to-many' && rnn.bidirectional) fail('expected rnn.bidirectional false for a one-to-many model (it generates step by step), got true');
    const tokens = shape === 'one-to-many' ? vocabSize : outputSize;
    for (const name of ['startToken', 'stopToken'] as const) {
      if (json[name] !== undefined) config[name] = integer(json, name, 0);
      if (config[name] !== undefined && (config[name] as number) >= tokens) fail(`expected ${name} in [0, ${tokens}) (the generated vocabulary), got ${config[name]}`);
    }
    if (shape === 'encoder-decoder') {
      if (config.startToken === undefined) fail('expected startToken (the id the decoder starts from, e.g. <BOS>) for an encoder-decoder model, got none');
      config.decoderEmbeddingDim = json.decoderEmbeddingDim === undefined ? embeddingDim : integer(json, 'decoderEmbeddingDim', 1);
    }
  } else {
    for (const name of ['startToken', 'stopToken', 'decoderEmbeddingDim']) {
      if (json[name] !== undefined) fail(`expected no ${name} for a ${shape} model (only generating models have one), got ${describe(json[name])}`);
    }
  }
  if (rnn.residual && rnn.layers < 2) fail(`expected rnn.layers ≥ 2 with rnn.residual (the skip connections go around layers l ≥ 1), got ${rnn.layers}`);
  return config;
}

/**
 * The config of a model FILE (model file, checkpoint, safetensors document), resolved as a user's config
 * (createModel) except that rnn dropout which never acted — mode 'between' on one layer, saved before
 * resolveModelConfig refused it — is dropped first (withoutInertDropout, training/core/rnn-regularization.ts):
 * the file loads as the same model. Only file readers call this; a config given to createModel is refused.
 */
export function resolveModelFileConfig(json: unknown, source: string): ResolvedModelConfig {
  if (!isObject(json) || !isObject(json.rnn)) return resolveModelConfig(json, source);
  const layers = json.rnn.layers ?? 1; // resolveModelConfig's default
  return resolveModelConfig({ ...json, rnn: withoutInertDropout(json.rnn, layers as number) }, source);
}

/** W per layer of a stack: H, or 2H when bidirectional. */
function stackWidth(rnn: ResolvedModelConfig['rnn']): number {
  return rnn.bidirectional ? 2 * rnn.hidden : rnn.hidden;
}

/**
 * A lower bound on the number of weights the config needs (W_a [H, H] per cell, W_x, the
 * embeddings, the head) — what a file must hold at least before a model is allocated for it.
 */
export function minimumWeights(config: ResolvedModelConfig): number {
  const { rnn } = config;
  const directions = rnn.bidirectional ? 2 : 1;
  const stack = (input: number, H: number, dirs: number): number => {
    let n = 0, width = input;
    for (let l = 0; l < rnn.layers; l++) {
      n += dirs * H * (width + H);
      width = dirs * H;
    }
    return n;
  };
  const input = config.embeddingDim > 0 ? config.embeddingDim : config.vocabSize;
  let n = config.vocabSize * config.embeddingDim + stack(input, rnn.hidden, directions);
  if (config.shape === 'encoder-decoder') {
    const dt = config.decoderEmbeddingDim as number;
    const H = stackWidth(rnn);
    n += config.outputSize * dt + stack(dt, H, 1) + config.outputSize * H;
  } else {
    n += config.outputSize * stackWidth(rnn);
  }
  return n;
}

/** A one-line description ("many-to-one: embedding 50×8 → 2-layer bidirectional lstm H=16 → softmax 3"). */
export function configSummary(config: ResolvedModelConfig): string {
  const { rnn } = config;
  const input = config.embeddingDim > 0 ? `embedding ${config.vocabSize}×${config.embeddingDim}` : `one-hot ${config.vocabSize}`;
  const stack = `${rnn.layers}-layer ${rnn.bidirectional ? 'bidirectional ' : ''}${rnn.residual ? 'residual ' : ''}${rnn.cell}${rnn.activation ? `(${rnn.activation})` : ''} H=${rnn.hidden}`;
  const head = config.shape === 'encoder-decoder' ? `decoder → softmax ${config.outputSize}` : `${config.head} ${config.outputSize}`;
  return `${config.shape}: ${input} → ${stack} → ${head}`;
}
