/**
 * A Model's data and its batches. Data are ragged token sequences (plain arrays, any lengths ≥ 1)
 * with their targets; a batch of B of them is padded to the longest and laid out time-major as
 * everywhere (row t·B + b is step t of sequence b) with a [T, B] mask (1 = real step, right-padded):
 *
 *   many-to-one      inputs[i] ids,      targets[i] a class id (softmax) or K labels in [0, 1] (sigmoid; a number when K = 1)
 *   many-to-many     inputs[i] ids,      targets[i] one class id / label(s) per input token (same length)
 *   one-to-many      no inputs,          targets[i] the token sequence to generate (teacher forcing)
 *   encoder-decoder  inputs[i] source,   targets[i] the target token sequence
 *
 * Padded positions hold id −1 and target −1 (never looked up or scored: the layers skip them).
 * `checkData` validates a whole data set once (an InputError naming the sequence and position);
 * `makeBatch` then fills a batch of chosen sequences (allocating its buffers: one batch per step).
 */
import { Matrix } from '../../engine/matrix.js';
import { InputError } from '../core/errors.js';
import type { ResolvedModelConfig } from './config.js';

/** A sigmoid head's labels of one prediction (a number when K = 1), or a softmax head's class id. */
export type Label = number | readonly number[];

export interface SequenceData {
  /** Input token sequences (ids in [0, vocabSize)); none for one-to-many. */
  inputs?: readonly (readonly number[])[];
  /** See the table above. */
  targets: readonly (Label | readonly Label[])[];
}

export interface Batch {
  /** B: sequences in the batch. */
  size: number;
  /** T_x of the inputs (0 without inputs). */
  inputSteps: number;
  /** T_x·B input ids (−1 at padding). */
  inputIds: Int32Array;
  /** [T_x, B] or null without inputs. */
  inputMask: Matrix | null;
  /** [T_x·B, V] one-hot rows for a model without embedding, else null. */
  oneHot: Matrix | null;
  /** T_y of per-step targets (1 for many-to-one). */
  targetSteps: number;
  /** Softmax targets: T_y·B class ids (−1 at padding); null for a sigmoid head. */
  targetIds: Int32Array | null;
  /** Sigmoid targets [T_y·B, K]; null for a softmax head. */
  targetLabels: Matrix | null;
  /** [T_y, B] for per-step targets, null for many-to-one. */
  targetMask: Matrix | null;
}

function hasInputs(config: ResolvedModelConfig): boolean {
  return config.shape !== 'one-to-many';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : JSON.stringify(value) ?? String(value);
}

/** The number of sequences of valid data for this config; every problem is an InputError naming `what`. */
export function checkData(config: ResolvedModelConfig, data: SequenceData, what: string): number {
  const fail = (msg: string): never => { throw new InputError(`${what}: ${msg}`); };
  if (data === null || typeof data !== 'object') return fail(`expected { inputs, targets }, got ${describe(data)}`);
  const { inputs, targets } = data;
  if (!Array.isArray(targets) || targets.length === 0) return fail(`expected targets to be a non-empty array, got ${describe(targets)}`);
  const n = targets.length;
  if (hasInputs(config)) {
    if (!Array.isArray(inputs) || inputs.length !== n) return fail(`expected inputs to be an array of ${n} token sequences (one per target), got ${describe(inputs)}`);
    inputs.forEach((seq, i) => checkTokens(fail, seq, config.vocabSize, `inputs[${i}]`));
  } else if (inputs !== undefined) {
    fail(`expected no inputs for a one-to-many model (it generates from its start), got ${describe(inputs)}`);
  }
  const K = config.outputSize;
  targets.forEach((target, i) => {
    if (config.shape === 'many-to-one') checkLabel(fail, config, target as Label, `targets[${i}]`);
    else if (config.shape === 'many-to-many') {
      if (!Array.isArray(target) || target.length !== (inputs as number[][])[i].length) {
        fail(`expected targets[${i}] to hold one label per input token (${(inputs as number[][])[i].length}), got ${describe(target)}`);
      }
      (target as Label[]).forEach((label, t) => checkLabel(fail, config, label, `targets[${i}][${t}]`));
    } else checkTokens(fail, target as number[], K, `targets[${i}]`);
  });
  return n;
}

function checkTokens(fail: (msg: string) => never, seq: unknown, V: number, where: string): void {
  if (!Array.isArray(seq) || seq.length === 0) fail(`expected ${where} to be a non-empty array of token ids, got ${describe(seq)}`);
  (seq as unknown[]).forEach((id, t) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= V) fail(`expected ${where}[${t}] to be a token id in [0, ${V}), got ${describe(id)}`);
  });
}

function checkLabel(fail: (msg: string) => never, config: ResolvedModelConfig, label: unknown, where: string): void {
  const K = config.outputSize;
  if (config.head === 'softmax') {
    if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || label >= K) fail(`expected ${where} to be a class id in [0, ${K}), got ${describe(label)}`);
    return;
  }
  const values = typeof label === 'number' && K === 1 ? [label] : label;
  if (!Array.isArray(values) || values.length !== K) fail(`expected ${where} to be ${K} label(s) in [0, 1]${K === 1 ? ' (or one number)' : ''}, got ${describe(label)}`);
  for (const v of values as unknown[]) {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(`expected ${where} to hold labels in [0, 1], got ${describe(v)}`);
  }
}

/** [T, B] mask of the given lengths (model dtype). */
function lengthMask(lengths: readonly number[], steps: number, dtype: ResolvedModelConfig['dtype']): Matrix {
  const mask = Matrix.zeros(steps, lengths.length, dtype);
  lengths.forEach((n, b) => { for (let t = 0; t < n; t++) mask.set(t, b, 1); });
  return mask;
}

/** T·B time-major ids of ragged sequences, −1 at padding. */
function timeMajor(seqs: readonly (readonly number[])[], steps: number): Int32Array {
  const B = seqs.length;
  const ids = new Int32Array(steps * B).fill(-1);
  seqs.forEach((seq, b) => { for (let t = 0; t < seq.length; t++) ids[t * B + b] = seq[t]; });
  return ids;
}

/** Labels [rows, K] of a sigmoid head (row r from labels[r]; null rows stay 0: padding). */
function labelMatrix(labels: readonly (Label | null)[], K: number, dtype: ResolvedModelConfig['dtype']): Matrix {
  const m = Matrix.zeros(labels.length, K, dtype);
  labels.forEach((label, r) => {
    if (label === null) return;
    if (typeof label === 'number') m.set(r, 0, label);
    else for (let k = 0; k < K; k++) m.set(r, k, label[k]);
  });
  return m;
}

/** Time-major per-step labels (null at padding). */
function timeMajorLabels(seqs: readonly (readonly Label[])[], steps: number): (Label | null)[] {
  const B = seqs.length;
  const out: (Label | null)[] = new Array(steps * B).fill(null);
  seqs.forEach((seq, b) => { for (let t = 0; t < seq.length; t++) out[t * B + b] = seq[t]; });
  return out;
}

/** The batch of sequences `indices` of (checked) `data`. */
export function makeBatch(config: ResolvedModelConfig, data: SequenceData, indices: readonly number[]): Batch {
  const B = indices.length;
  const { dtype } = config;
  const inputs = hasInputs(config) ? indices.map((i) => (data.inputs as number[][])[i]) : [];
  const inputSteps = inputs.reduce((T, s) => Math.max(T, s.length), 0);
  const inputIds = timeMajor(inputs, inputSteps);
  const inputMask = inputs.length > 0 ? lengthMask(inputs.map((s) => s.length), inputSteps, dtype) : null;
  let oneHot: Matrix | null = null;
  if (inputs.length > 0 && config.embeddingDim === 0) {
    oneHot = Matrix.zeros(inputIds.length, config.vocabSize, dtype);
    inputIds.forEach((id, r) => { if (id >= 0) oneHot?.set(r, id, 1); });
  }
  const batch: Batch = {
    size: B, inputSteps, inputIds, inputMask, oneHot, targetSteps: 1, targetIds: null, targetLabels: null, targetMask: null,
  };
  const targets = indices.map((i) => data.targets[i]);
  if (config.shape === 'many-to-one') {
    if (config.head === 'softmax') batch.targetIds = Int32Array.from(targets as number[]);
    else batch.targetLabels = labelMatrix(targets as Label[], config.outputSize, dtype);
    return batch;
  }
  const seqs = targets as readonly (readonly Label[])[];
  batch.targetSteps = seqs.reduce((T, s) => Math.max(T, s.length), 0);
  batch.targetMask = config.shape === 'many-to-many' ? inputMask : lengthMask(seqs.map((s) => s.length), batch.targetSteps, dtype);
  if (config.head === 'softmax') batch.targetIds = timeMajor(seqs as number[][], batch.targetSteps);
  else batch.targetLabels = labelMatrix(timeMajorLabels(seqs, batch.targetSteps), config.outputSize, dtype);
  return batch;
}

/** The longest input and target sequence of the data (workspace capacities). */
export function longestSequences(config: ResolvedModelConfig, data: SequenceData): { inputSteps: number; targetSteps: number } {
  const longest = (seqs: readonly unknown[] | undefined): number => (seqs ?? []).reduce<number>((T, s) => Math.max(T, Array.isArray(s) ? s.length : 1), 0);
  return {
    inputSteps: hasInputs(config) ? longest(data.inputs) : 0,
    targetSteps: config.shape === 'many-to-one' ? 1 : longest(data.targets),
  };
}
