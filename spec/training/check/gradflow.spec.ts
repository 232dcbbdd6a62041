import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { gradflowCommand } from '../../../cli/commands/gradflow.js';
import { Rng } from '../../../engine/rng.js';
import { createCell } from '../../../layers/cells/create-cell.js';
import {
  formatGradFlowTable, gradFlowSvg, gradFlowTableSteps, gradientFlow, gradientFlowViaRunner,
} from '../../../training/check/gradflow.js';

describe('gradflow: ‖∂L/∂a⟨t⟩‖ with the loss at the last step', () => {
  const rnn = gradientFlow({ cell: 'rnn', steps: 100, hidden: 32, seed: 1 });
  const lstm = gradientFlow({ cell: 'lstm', steps: 100, hidden: 32, seed: 1 });

  it('starts at 1 at t = T (L = w·a⟨T⟩ with a unit w) and has T + 1 entries', () => {
    expect(rnn.norms.length).toBe(101);
    expect(rnn.norms[100]).toBeCloseTo(1, 12);
    expect(lstm.norms[100]).toBeCloseTo(1, 12);
  });

  it('the plain RNN\'s gradient vanishes by many more orders of magnitude than the LSTM\'s over 100 steps', () => {
    const decades = (norms: number[]): number => Math.log10(norms[100] / norms[0]);
    // PyTorch init U(±1/√H): ‖W_aa‖ < 1 and tanh′ ≤ 1 shrink every step; the LSTM's cell path
    // only multiplies by Γf ≈ σ(·).
    expect(decades(rnn.norms)).toBeGreaterThan(20);
    expect(decades(rnn.norms) - decades(lstm.norms)).toBeGreaterThan(5);
  });

  it('with one step, ∂L/∂a⟨0⟩ of an RNN is w·diag(1 − a⟨1⟩²)·W_aa, by hand', () => {
    // Rebuild the same cell and input from the same seed (gradflow's documented draw order).
    const H = 3, D = 2;
    const r = gradientFlow({ cell: 'rnn', steps: 1, hidden: H, inputSize: D, batch: 1, seed: 5 });
    const rng = new Rng(5);
    const cell = createCell({ kind: 'rnn', inputSize: D, hiddenSize: H }, { rng, dtype: 'float64' });
    const x = [rng.normal(0, 1), rng.normal(0, 1)];
    const w = [rng.normal(0, 1), rng.normal(0, 1), rng.normal(0, 1)];
    const wn = Math.hypot(...w);
    const Wx = cell.params.W_x.toArray(), Wa = cell.params.W_a.toArray(), b = cell.params.b.toArray()[0];
    const a1 = Wx.map((row, i) => Math.tanh(row[0] * x[0] + row[1] * x[1] + b[i]));
    const dz = a1.map((a, i) => (w[i] / wn) * (1 - a * a));
    const da0 = [0, 1, 2].map((j) => dz.reduce((s, v, i) => s + v * Wa[i][j], 0));
    expect(r.norms[0]).toBeCloseTo(Math.hypot(...da0), 12);
  });

  it('the step-kernel pass and the runner (dh0 of each suffix after its prefix) agree for every t', () => {
    for (const cell of ['rnn', 'gru', 'lstm'] as const) {
      const a = gradientFlow({ cell, steps: 30, hidden: 8, batch: 3, seed: 2 });
      const b = gradientFlowViaRunner({ cell, steps: 30, hidden: 8, batch: 3, seed: 2 });
      a.norms.forEach((v, t) => expect(Math.abs(v - b.norms[t]) / v).toBeLessThan(1e-12));
    }
  });

  it('formats every 10th step plus the first and last, and plots on a log axis', () => {
    expect(gradFlowTableSteps(100)).toEqual([0, 1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(gradFlowTableSteps(25, 10)).toEqual([0, 1, 10, 20, 25]);
    const table = formatGradFlowTable([rnn, lstm]).split('\n');
    expect(table.length).toBe(2 + 12);
    expect(table[0]).toMatch(/rnn.*lstm/);
    const svg = gradFlowSvg([rnn, lstm]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('1e-30');
  });

  it('rejects bad sizes naming the op', () => {
    expect(() => gradientFlow({ cell: 'rnn', steps: 0 })).toThrow(/gradientFlow: expected steps to be a positive integer, got 0/);
  });
});

describe('seqgrad gradflow', () => {
  it('shows exploding gradients (--init irnn --activation relu --recurrent-scale 1.2) and refuses irnn for gated cells', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradflow-'));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const argv = ['--cell', 'rnn', '--init', 'irnn', '--activation', 'relu', '--recurrent-scale', '1.2', '--steps', '40', '--hidden', '8', '--out', join(dir, 'x.svg')];
      expect(await gradflowCommand.run(argv)).toBe(0);
      const printed = log.mock.calls.map((c) => String(c[0])).join('\n');
      expect(printed).toMatch(/irnn init, W_a × 1\.2, RNN g = relu/);
      expect(printed).toMatch(/orders of magnitude from t = 40 to t = 0: rnn \+\d+\.\d \(exploding\)/);
      await expect(async () => gradflowCommand.run(['--init', 'irnn', '--out', join(dir, 'y.svg')])).rejects.toThrow(/^gradflow: --init irnn is for --cell rnn, got --cell all$/);
    } finally {
      log.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints every norm with --json and writes the three cells into one SVG', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradflow-'));
    const out = join(dir, 'flow.svg');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const code = await gradflowCommand.run(['--steps', '12', '--hidden', '4', '--batch', '2', '--plot', out, '--json']);
      expect(code).toBe(0);
      const printed = JSON.parse(String(log.mock.calls[0][0])) as { results: { cell: string; norms: number[] }[] };
      expect(printed.results.map((r) => r.cell)).toEqual(['rnn', 'gru', 'lstm']);
      expect(printed.results.every((r) => r.norms.length === 13)).toBe(true);
      const svg = readFileSync(out, 'utf8');
      for (const name of ['rnn', 'gru', 'lstm']) expect(svg).toContain(`>${name}<`);
    } finally {
      log.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
