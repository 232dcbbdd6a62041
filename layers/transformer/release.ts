/**
 * Explicit release of the Transformer's workspaces. On the wasm backend a workspace's matrices live in
 * the WebAssembly memory, and a dropped one comes back only when the garbage collector runs its
 * finalizers — never inside one long synchronous loop. A trainer or decoder that moves on from a shape
 * (T, B) calls the matching `release…` so the next shape reuses the blocks at once and a long run over
 * many shapes does not grow the memory.
 *
 * Each function lists the matrices its workspace allocated itself (never a view of them, never the
 * layer's parameters, never the caller's inputs it keeps a reference to) and releases each once
 * (releaseMatrix, engine/matrix.ts). A released workspace must not be used again; releasing it a second
 * time does nothing (a second releaseMatrix of the same array could free a block handed out since).
 * On backends without a heap (js, float64) release does nothing and the garbage collector frees as before.
 */
import { releaseMatrix, type Matrix } from '../../engine/matrix.js';
import type { MhaWorkspace } from '../attention/multihead.js';
import type { DropoutWorkspace } from '../dropout.js';
import type { LayerNormWorkspace } from '../norm.js';
import type { DecoderLayerWorkspace } from './decoder-layer.js';
import type { TransformerDecoderWorkspace } from './decoder.js';
import type { EncoderLayerWorkspace } from './encoder-layer.js';
import type { TransformerEncoderWorkspace } from './encoder.js';
import type { FeedForwardWorkspace } from './feedforward.js';
import type { ResidualWorkspace } from './residual.js';

const released = new WeakSet<object>();

/** Release `matrices` (the ones `owner` allocated) unless `owner` was released already. */
export function releaseMatrices(owner: object, matrices: readonly Matrix[]): void {
  if (released.has(owner)) return;
  released.add(owner);
  const seen = new Set<unknown>();
  for (const m of matrices) {
    if (seen.has(m.data)) continue;
    seen.add(m.data);
    releaseMatrix(m);
  }
}

export function releaseLayerNormWorkspace(ws: LayerNormWorkspace): void {
  releaseMatrices(ws, [ws.normalized]);
}

export function releaseDropoutWorkspace(ws: DropoutWorkspace): void {
  releaseMatrices(ws, [ws.mask]);
}

export function releaseResidualWorkspace(ws: ResidualWorkspace): void {
  releaseLayerNormWorkspace(ws.norm);
  releaseDropoutWorkspace(ws.dropout);
  releaseMatrices(ws, [ws.normed, ws.subOut, ws.sum, ws.dNormed, ws.dSubOut, ws.dSum]);
}

export function releaseFeedForwardWorkspace(ws: FeedForwardWorkspace): void {
  releaseDropoutWorkspace(ws.dropout);
  releaseMatrices(ws, [ws.hidden, ws.activated, ws.dropped, ws.dDropped, ws.dActivated]);
}

export function releaseMhaWorkspace(ws: MhaWorkspace): void {
  releaseMatrices(ws, [
    ws.sdpa.attn, ws.sdpa.dProbs, ws.qProj, ws.kProj, ws.vProj, ws.dqProj, ws.dkProj, ws.dvProj, ws.concat, ws.dConcat,
  ]);
}

export function releaseEncoderLayerWorkspace(ws: EncoderLayerWorkspace): void {
  releaseMhaWorkspace(ws.attn);
  releaseFeedForwardWorkspace(ws.ffn);
  releaseResidualWorkspace(ws.res1);
  releaseResidualWorkspace(ws.res2);
  releaseMatrices(ws, [ws.hidden, ws.dHidden]);
}

export function releaseDecoderLayerWorkspace(ws: DecoderLayerWorkspace): void {
  releaseMhaWorkspace(ws.selfAttn);
  releaseMhaWorkspace(ws.crossAttn);
  releaseFeedForwardWorkspace(ws.ffn);
  for (const res of [ws.res1, ws.res2, ws.res3]) releaseResidualWorkspace(res);
  releaseMatrices(ws, [ws.hidden1, ws.hidden2, ws.dHidden1, ws.dHidden2]);
}

export function releaseTransformerEncoderWorkspace(ws: TransformerEncoderWorkspace): void {
  ws.layers.forEach(releaseEncoderLayerWorkspace);
  if (ws.norm) releaseLayerNormWorkspace(ws.norm);
  releaseMatrices(ws, [...ws.outputs, ...ws.dOutputs, ws.dInputScratch]);
}

export function releaseTransformerDecoderWorkspace(ws: TransformerDecoderWorkspace): void {
  ws.layers.forEach(releaseDecoderLayerWorkspace);
  if (ws.norm) releaseLayerNormWorkspace(ws.norm);
  releaseMatrices(ws, [...ws.outputs, ...ws.dOutputs, ws.dInputScratch]);
}
