/**
 * The runner declares the cell's weights constant around its time loops (layers/sequence.ts), so
 * on the wasm backend W_a is packed once per pass, not once per step: a forward of T steps packs
 * T operands a⟨t−1⟩ plus W_a once (not 2T), a backward T operands dxp⟨t⟩ plus W_a once; and the
 * scope is closed afterwards (nothing packed or declared is left).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../engine/backend.js';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { initWasmBackend, type WasmBackend } from '../../engine/wasm/index.js';
import { createCell } from '../../layers/cells/create-cell.js';
import { createSequenceWorkspace, sequenceBackward, sequenceForward } from '../../layers/sequence.js';

let wasm: WasmBackend;
beforeAll(async () => {
  wasm = (await initWasmBackend()) as WasmBackend;
});

describe('sequence runner: the weights are constant operands of its time loops', () => {
  for (const kind of ['rnn', 'lstm'] as const) {
    it(`${kind}: W_a packed once per forward and once per backward (T = 6, B = 8)`, () => {
      const previous = setBackend('wasm');
      try {
        const T = 6, B = 8, D = 5, H = 16;
        const rng = new Rng(4);
        const cell = createCell({ kind, inputSize: D, hiddenSize: H }, { rng });
        const ws = createSequenceWorkspace(cell, T, B);
        const x = Matrix.zeros(T * B, D);
        for (let i = 0; i < x.data.length; i++) x.data[i] = rng.normal();
        const dOut = Matrix.zeros(T * B, H);
        dOut.data.fill(0.1);
        const sgemm = wasm.sgemm;
        const before = sgemm.packCount;
        // X·W_xᵀ: both operands packed once (2); then per step a⟨t−1⟩ (T) and W_a once (1)
        sequenceForward(cell, ws, x);
        expect(sgemm.packCount - before).toBe(2 + T + 1);
        const middle = sgemm.packCount;
        sequenceBackward(cell, ws, dOut);
        // per step dxp⟨t⟩ (T) and W_a once (1); dW_a, dW_x, dX: two operands each (6)
        expect(sgemm.packCount - middle).toBe(T + 1 + 6);
        expect(sgemm.packedCount).toBe(0);
        expect(sgemm.residentCount).toBe(0);
      } finally {
        setBackend(previous);
      }
    });
  }
});
