/** The cell contract's step functions check their shapes once per call (layers/cells/cell.ts checkStepShapes). */
import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { createCell } from '../../layers/cells/create-cell.js';

const H = 3, D = 2, B = 4, T = 2;

describe.each(['rnn', 'gru', 'gru-simple', 'gru-reset-after', 'lstm', 'lstm-peephole'] as const)('%s cell step guards', (kind) => {
  const cell = createCell({ kind, inputSize: D, hiddenSize: H }, { rng: new Rng(1) });
  const ws = cell.createWorkspace(T, B);
  const states = (rows = B, cols = H): Matrix[] => Array.from({ length: cell.stateCount }, () => Matrix.zeros(rows, cols));
  const xp = (rows = B, cols = cell.gateWidth): Matrix => Matrix.zeros(rows, cols);

  it('accepts well-shaped steps', () => {
    expect(() => cell.stepForward(ws, 1, xp(), states(), states())).not.toThrow();
    expect(() => cell.stepBackward(ws, 1, states(), xp(), states(), states(), states())).not.toThrow();
  });

  it('names a wrong xp width, batch, state width or step index', () => {
    const op = `${kind}.stepForward`;
    expect(() => cell.stepForward(ws, 0, xp(B, cell.gateWidth + 1), states(), states())).toThrow(
      `${op}: expected xp [${B}, ${cell.gateWidth}] (the workspace's batch, G), got [${B}, ${cell.gateWidth + 1}]`,
    );
    expect(() => cell.stepForward(ws, 0, xp(B + 1), states(B + 1), states(B + 1))).toThrow(/\(the workspace's batch, G\), got \[5, /);
    expect(() => cell.stepForward(ws, 0, xp(), states(B, H + 1), states())).toThrow(`${op}: expected state tensor 0 to be [${B}, ${H}] (xp's batch, H), got [${B}, ${H + 1}]`);
    expect(() => cell.stepForward(ws, T, xp(), states(), states())).toThrow(`${op}: expected step t in [0, ${T}) of the workspace, got ${T}`);
    expect(() => cell.stepBackward(ws, 0, states(), xp(), states(B - 1), states(), states())).toThrow(/stepBackward: expected state tensor 0 to be \[4, 3\]/);
  });
});
