/**
 * The layers of a Model, assembled from its config (training/model/config.ts) out of the pieces
 * of layers/architectures.ts — nothing here has its own forward or backward:
 *
 *   many-to-one      createManyToOne:  manyToOneForward / manyToOneBackward
 *   many-to-many     createManyToMany: manyToManyForward / manyToManyBackward
 *   one-to-many      createOneToMany:  oneToManyForward (teacher forcing) / oneToManyBackward
 *   encoder-decoder  createEncoder + createOneToMany: encoderForward → final state (concatDirections
 *                    after a bidirectional encoder) = the decoder's h0 → oneToManyForward; backward:
 *                    oneToManyBackward's ∂L/∂h0 (splitDirections) → encoderBackward as dFinal
 *
 * One-hot inputs (embeddingDim 0) go in as [T·B, V] rows; their gradient is never formed.
 * Parameters are named by `namedParameters` (layers/architectures.ts): embedding.weight, rnn.l{k}.W_x,
 * rnn.l{k}_reverse.…, head.W, head.b — under `encoder.` / `decoder.` for an encoder-decoder.
 * Workspaces are allocated per (longest input, longest target, batch size) and reused.
 */
import type { Matrix } from '../../engine/matrix.js';
import type { Rng } from '../../engine/rng.js';
import {
  concatDirections, createEncoder, createEncoderWorkspace, createManyToMany, createManyToManyWorkspace, createManyToOne,
  createManyToOneWorkspace, createOneToMany, createOneToManyWorkspace, encoderBackward, encoderForward, manyToManyBackward,
  manyToManyForward, manyToManyLogits, manyToOneBackward, manyToOneForward, manyToOneLogits, modelParameters, modelZeroGrads, oneToManyBackward, oneToManyForward,
  splitDirections,
  type EncoderWorkspace, type ManyToManyModel, type ManyToManyWorkspace, type ManyToOneModel, type ManyToOneWorkspace,
  type NamedParameters, type OneToManyModel, type OneToManyWorkspace, type SequenceEncoder,
} from '../../layers/architectures.js';
import { createEmbedding, type Embedding } from '../../layers/embedding.js';
import { createOutputHead, type HeadTargets } from '../../layers/heads.js';
import { createStackedRnn, type LayerState, type StackedRnn } from '../../layers/stacked.js';
import type { DropoutMode } from '../../layers/dropout.js';
import { stackRegularizationOf } from '../core/rnn-regularization.js';
import type { Batch } from './batches.js';
import type { ResolvedModelConfig } from './config.js';

export type Network =
  | { shape: 'many-to-one'; model: ManyToOneModel }
  | { shape: 'many-to-many'; model: ManyToManyModel }
  | { shape: 'one-to-many'; model: OneToManyModel }
  | { shape: 'encoder-decoder'; encoder: SequenceEncoder; decoder: OneToManyModel };

/**
 * How fresh weights are drawn, beyond the layers' defaults (not part of the config: a loaded
 * model has its file's weights). `embeddingStd`: E ~ N(0, std²) (default 1); `forgetBias`: the
 * LSTM cells' initial b_f (default: drawn like the other biases).
 */
export interface NetworkInit {
  embeddingStd?: number;
  forgetBias?: number;
}

function stack(config: ResolvedModelConfig, inputSize: number, hiddenSize: number, bidirectional: boolean, rng: Rng, init: NetworkInit): StackedRnn {
  const { rnn, dtype } = config;
  return createStackedRnn({
    kind: rnn.cell, inputSize, hiddenSize, numLayers: rnn.layers, bidirectional, residual: rnn.residual, rng, dtype,
    ...(rnn.cell === 'rnn' ? { activation: rnn.activation } : {}),
    ...(init.forgetBias !== undefined && rnn.cell.startsWith('lstm') ? { forgetBias: init.forgetBias } : {}),
    ...stackRegularizationOf(rnn),
  });
}

function embedding(vocab: number, dim: number, config: ResolvedModelConfig, rng: Rng, init: NetworkInit): Embedding | null {
  return dim > 0 ? createEmbedding({ vocabSize: vocab, dim, std: init.embeddingStd }, { rng, dtype: config.dtype }) : null;
}

/** Fresh layers for a (resolved) config, every weight drawn from `rng` in the order input → stack → head. */
export function buildNetwork(config: ResolvedModelConfig, rng: Rng, init: NetworkInit = {}): Network {
  const { dtype, rnn } = config;
  const emb = embedding(config.vocabSize, config.embeddingDim, config, rng, init);
  const inputSize = emb ? config.embeddingDim : config.vocabSize;
  const encoderStack = stack(config, inputSize, rnn.hidden, rnn.bidirectional, rng, init);
  if (config.shape === 'encoder-decoder') {
    const dt = config.decoderEmbeddingDim as number;
    const targetEmbedding = createEmbedding({ vocabSize: config.outputSize, dim: dt, std: init.embeddingStd }, { rng, dtype });
    const decoderStack = stack(config, dt, encoderStack.layers[0].outputSize, false, rng, init);
    const head = createOutputHead({ kind: 'softmax', inputSize: decoderStack.outputSize, outputSize: config.outputSize }, { rng, dtype });
    return {
      shape: 'encoder-decoder', encoder: createEncoder(encoderStack, emb),
      decoder: createOneToMany({ embedding: targetEmbedding, rnn: decoderStack, head }),
    };
  }
  const head = createOutputHead({ kind: config.head, inputSize: encoderStack.outputSize, outputSize: config.outputSize }, { rng, dtype });
  switch (config.shape) {
    case 'many-to-one': return { shape: config.shape, model: createManyToOne({ rnn: encoderStack, head, embedding: emb }) };
    case 'many-to-many': return { shape: config.shape, model: createManyToMany({ rnn: encoderStack, head, embedding: emb }) };
    default: return { shape: 'one-to-many', model: createOneToMany({ rnn: encoderStack, head, embedding: emb as Embedding }) };
  }
}

/** Every parameter and gradient by name (namedParameters' scheme; views of the layers' own buffers). */
export function networkParameters(net: Network): NamedParameters {
  if (net.shape !== 'encoder-decoder') return modelParameters(net.model);
  const enc = modelParameters(net.encoder, 'encoder.');
  const dec = modelParameters(net.decoder, 'decoder.');
  return { params: { ...enc.params, ...dec.params }, grads: { ...enc.grads, ...dec.grads } };
}

export function networkZeroGrads(net: Network): void {
  if (net.shape !== 'encoder-decoder') return modelZeroGrads(net.model);
  modelZeroGrads(net.encoder);
  modelZeroGrads(net.decoder);
}

/** The buffers of one batch size (and capacity): the architecture's workspace(s). */
export type NetworkWorkspace =
  | { shape: 'many-to-one'; ws: ManyToOneWorkspace }
  | { shape: 'many-to-many'; ws: ManyToManyWorkspace }
  | { shape: 'one-to-many'; ws: OneToManyWorkspace }
  | { shape: 'encoder-decoder'; encoder: EncoderWorkspace; decoder: OneToManyWorkspace; finalState: readonly LayerState[] | null };

/** Workspaces for batches of B sequences of at most `inputSteps` inputs and `targetSteps` targets. */
export function createNetworkWorkspace(net: Network, inputSteps: number, targetSteps: number, batch: number): NetworkWorkspace {
  switch (net.shape) {
    case 'many-to-one': return { shape: net.shape, ws: createManyToOneWorkspace(net.model, inputSteps, batch) };
    case 'many-to-many': return { shape: net.shape, ws: createManyToManyWorkspace(net.model, inputSteps, batch) };
    case 'one-to-many': return { shape: net.shape, ws: createOneToManyWorkspace(net.model, targetSteps, batch) };
    default: return {
      shape: net.shape, encoder: createEncoderWorkspace(net.encoder, inputSteps, batch),
      decoder: createOneToManyWorkspace(net.decoder, targetSteps, batch), finalState: null,
    };
  }
}

export interface NetworkLoss {
  /** Σ (reduction 'sum') or mean (reduction 'mean') of the loss over the batch's valid predictions. */
  loss: number;
  /** The head's logits: [B, K] (many-to-one) or [T_y·B, K] (a view into the workspace). */
  logits: Matrix;
}

function targetsOf(batch: Batch): HeadTargets {
  return (batch.targetIds ?? batch.targetLabels) as HeadTargets;
}

/**
 * The loss of a batch (and the head's ∂L/∂Z kept for `networkBackward`). `reduction` 'mean'
 * averages over valid predictions (entries for a sigmoid head), 'sum' adds them up. `dropout`:
 * the stacks' dropout in this call (training; off by default).
 */
export function networkForward(
  net: Network, nws: NetworkWorkspace, batch: Batch, config: ResolvedModelConfig, reduction: 'sum' | 'mean', dropout?: DropoutMode,
): NetworkLoss {
  const input = batch.oneHot ?? batch.inputIds;
  const mask = batch.inputMask ?? undefined;
  if (net.shape === 'many-to-one' && nws.shape === 'many-to-one') {
    return manyToOneForward(net.model, nws.ws, input, targetsOf(batch), { mask, reduction, dropout });
  }
  if (net.shape === 'many-to-many' && nws.shape === 'many-to-many') {
    return manyToManyForward(net.model, nws.ws, input, targetsOf(batch), { mask, reduction, dropout });
  }
  const targets = batch.targetIds as Int32Array;
  const targetMask = batch.targetMask ?? undefined;
  if (net.shape === 'one-to-many' && nws.shape === 'one-to-many') {
    return oneToManyForward(net.model, nws.ws, targets, { first: config.startToken, mask: targetMask, reduction, dropout });
  }
  if (net.shape === 'encoder-decoder' && nws.shape === 'encoder-decoder') {
    const { finalState } = encoderForward(net.encoder, nws.encoder, input, { mask, dropout });
    nws.finalState = finalState;
    const h0 = config.rnn.bidirectional ? concatDirections(finalState) : finalState;
    return oneToManyForward(net.decoder, nws.decoder, targets, { first: config.startToken, h0, mask: targetMask, reduction, dropout });
  }
  throw new Error(`networkForward: expected a workspace of this ${net.shape} network, got one of a ${nws.shape} network`);
}

/** Gradients of the last networkForward on `nws`, accumulated (+=) into every parameter's gradient. */
export function networkBackward(net: Network, nws: NetworkWorkspace, config: ResolvedModelConfig): void {
  if (net.shape === 'many-to-one' && nws.shape === 'many-to-one') manyToOneBackward(net.model, nws.ws, { inputGradient: false });
  else if (net.shape === 'many-to-many' && nws.shape === 'many-to-many') manyToManyBackward(net.model, nws.ws, { inputGradient: false });
  else if (net.shape === 'one-to-many' && nws.shape === 'one-to-many') oneToManyBackward(net.model, nws.ws);
  else if (net.shape === 'encoder-decoder' && nws.shape === 'encoder-decoder' && nws.finalState) {
    const { dh0 } = oneToManyBackward(net.decoder, nws.decoder);
    const dFinal = config.rnn.bidirectional ? splitDirections(dh0, nws.finalState) : dh0;
    encoderBackward(net.encoder, nws.encoder, null, { dFinal, inputGradient: false });
  } else {
    throw new Error(`networkBackward: expected a networkForward of this ${net.shape} network on the workspace first`);
  }
}

/**
 * The head's logits of a classifying or tagging network for a batch's inputs, without a loss
 * (prediction): [B, K] for many-to-one, [T·B, K] for many-to-many (views into the workspace).
 */
export function networkLogits(net: Network, nws: NetworkWorkspace, batch: Batch): Matrix {
  const input = batch.oneHot ?? batch.inputIds;
  const mask = batch.inputMask ?? undefined;
  if (net.shape === 'many-to-one' && nws.shape === 'many-to-one') return manyToOneLogits(net.model, nws.ws, input, { mask });
  if (net.shape === 'many-to-many' && nws.shape === 'many-to-many') return manyToManyLogits(net.model, nws.ws, input, { mask }).logits;
  throw new Error(`networkLogits: expected a many-to-one or many-to-many network and its workspace, got a ${net.shape} network`);
}
