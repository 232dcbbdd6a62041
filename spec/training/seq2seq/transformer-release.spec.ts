/**
 * Explicit release of the Transformer's buffers on the wasm backend, whose matrices live in one
 * WebAssembly memory: a dropped workspace comes back only when the garbage collector runs its
 * finalizers, which never happens inside one synchronous loop. A training run that switches between
 * many batch shapes (TransformerSeq2SeqWorkspaces, holding `keep` shapes) and repeated decoding of
 * sources of many lengths (TransformerSeq2SeqDecoder.release) must not grow the memory.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../../engine/backend.js';
import { Rng } from '../../../engine/rng.js';
import { initWasmBackend, type WasmBackend } from '../../../engine/wasm/index.js';
import { DROPOUT_OFF } from '../../../layers/dropout.js';
import { buildSourceVocabulary, buildTargetVocabulary, makeSeq2SeqBatch } from '../../../training/seq2seq/model.js';
import {
  TransformerSeq2SeqDecoder, TransformerSeq2SeqWorkspaces, batchView, createTransformerSeq2Seq, createTransformerSeq2SeqWorkspace,
  releaseTransformerSeq2SeqWorkspace, transformerSeq2SeqBackward, transformerSeq2SeqForward, transformerTranslateManyIds,
} from '../../../training/seq2seq/transformer-model.js';

let backend: WasmBackend;
beforeAll(async () => { backend = (await initWasmBackend()) as WasmBackend; });
afterEach(() => { setBackend('js'); });

function setup() {
  setBackend(backend.name);
  const sourceVocab = buildSourceVocabulary('abcdef'.split(''));
  const targetVocab = buildTargetVocabulary('uvwxyz'.split(''));
  const model = createTransformerSeq2Seq({ dModel: 16, numHeads: 2, encoderLayers: 1, decoderLayers: 1, dimFeedforward: 32, maxLength: 64, seed: 2 }, sourceVocab, targetVocab);
  const rng = new Rng(3);
  const ids = (n: number, vocab: number) => Array.from({ length: n }, () => 1 + Math.floor(rng.uniform() * (vocab - 1)));
  /** A batch of B pairs, sources of Tx tokens, targets of Ty − 1 (so T_y = Ty with <EOS>). */
  const batch = (Tx: number, Ty: number, B: number) => makeSeq2SeqBatch(batchView(model), Array.from({ length: B }, () => ({
    source: ids(Tx, sourceVocab.size), target: targetVocab.encode(ids(Ty - 1, 6).map((i) => 'uvwxyz'[i - 1])),
  })));
  return { model, batch, ids, heap: backend.heap };
}

describe('explicit release of Transformer buffers (wasm memory)', () => {
  it('a workspace made and released gives back exactly the bytes it took', () => {
    const { model, heap } = setup();
    const before = heap.bytesInUse;
    const ws = createTransformerSeq2SeqWorkspace(model, 20, 12, 8);
    expect(heap.bytesInUse).toBeGreaterThan(before + 4 * 20 * 8 * 16 * 10); // many [T·B, d] buffers
    releaseTransformerSeq2SeqWorkspace(ws);
    expect(heap.bytesInUse).toBe(before);
    releaseTransformerSeq2SeqWorkspace(ws); // a second release does nothing
    expect(heap.bytesInUse).toBe(before);
  });

  it('training over 40 batch shapes holds `keep` of them: the memory does not grow after the first rounds; without release it would', () => {
    const { model, batch, heap } = setup();
    const shapes = [[5, 4], [9, 7], [14, 3], [21, 10], [30, 6]].map(([Tx, Ty]) => batch(Tx, Ty, 6));
    const workspaces = new TransformerSeq2SeqWorkspaces(model, 2);
    const train = () => {
      for (const b of shapes) {
        const ws = workspaces.get(b);
        transformerSeq2SeqForward(model, ws, b, DROPOUT_OFF);
        transformerSeq2SeqBackward(model, ws);
      }
    };
    train();
    train(); // warm-up: the kernels' scratch reaches its size
    const memoryAfterOne = heap.memoryBytes, inUseAfterOne = heap.bytesInUse;
    for (let round = 0; round < 6; round++) train(); // 40 shape changes in all (keep 2 of 5: every get makes a new one)
    expect(workspaces.size).toBe(2);
    expect(heap.memoryBytes).toBe(memoryAfterOne);
    expect(heap.bytesInUse).toBe(inUseAfterOne);
    workspaces.release();
    const released = heap.bytesInUse;
    expect(released).toBeLessThan(inUseAfterOne - 4 * 30 * 6 * 16 * 10); // the two largest workspaces came back
    train();
    workspaces.release();
    expect(heap.bytesInUse).toBe(released);
    // the same 40 shapes dropped without release: every one is still held (no finalizer runs in this loop)
    for (let i = 0; i < 40; i++) createTransformerSeq2SeqWorkspace(model, shapes[i % 5].srcSteps, shapes[i % 5].tgtSteps, 6);
    expect(heap.bytesInUse - released).toBeGreaterThan(7 * (inUseAfterOne - released));
  });

  it('decoding rounds of sources of many lengths, each followed by decoder.release(), hold nothing between rounds', () => {
    const { model, ids, heap } = setup();
    const decoder = new TransformerSeq2SeqDecoder(model);
    const round = (r: number) => {
      const sources = Array.from({ length: 12 }, (_, i) => ids(1 + ((i * 7 + r * 5) % 40), model.sourceVocab.size));
      const out = transformerTranslateManyIds(decoder, sources, { beamWidth: 1 + (r % 3), maxLength: 8 }, 5);
      decoder.release();
      return out;
    };
    round(0);
    const inUse = heap.bytesInUse, memory = heap.memoryBytes;
    for (let r = 1; r < 12; r++) expect(round(r).length).toBe(12);
    expect(heap.bytesInUse).toBe(inUse);
    expect(heap.memoryBytes).toBe(memory);
  });
});
