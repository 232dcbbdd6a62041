/**
 * `seqgrad gradflow`: ‖∂L/∂a⟨t⟩‖ for every step t when the loss sits at the last step, for the RNN,
 * GRU and LSTM — the notes' vanishing gradient (and exploding one, with a recurrent scale, ReLU,
 * IRNN or orthogonal initialisation), printed and plotted on one log-scale chart.
 * Thin: parses flags, calls training/check/gradflow.ts.
 */
import { deprecated, parseArgs, printHelp, UsageError, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import type { CellKind } from '../../layers/cells/cell.js';
import { formatGradFlowTable, gradFlowSvg, gradientFlow } from '../../training/check/gradflow.js';
import { writeFileAtomic } from '../../training/io/files.js';
import { planOutputs } from '../../training/io/outputs.js';

const CELLS: Record<string, CellKind[]> = { rnn: ['rnn'], gru: ['gru'], lstm: ['lstm'], all: ['rnn', 'gru', 'lstm'] };

const spec: Record<string, FlagSpec> = {
  cell: { type: 'string', description: 'which cell(s)', default: 'all', choices: Object.keys(CELLS) },
  steps: { type: 'int', description: 'sequence length T (the loss sits at step T)', min: 1, default: 100 },
  hidden: { type: 'int', description: 'hidden size H (input size D = H)', min: 1, default: 32 },
  batch: { type: 'int', description: 'sequences averaged per norm', min: 1, default: 8 },
  seed: { type: 'int', description: 'seed of the weights (PyTorch default init), inputs and loss direction', default: 1 },
  'forget-bias': { type: 'number', description: 'LSTM: set b_f to this after init (default: PyTorch init unchanged)' },
  'recurrent-scale': { type: 'number', description: 'multiply W_a by this after init (> 1: toward exploding gradients)', default: 1 },
  activation: { type: 'string', description: "the RNN's g (relu with --init irnn and --recurrent-scale > 1 explodes)", choices: ['tanh', 'relu'], default: 'tanh' },
  init: { type: 'string', description: 'pytorch: U(±1/√H); orthogonal: W_a blocks orthogonal; irnn: W_aa = I (--cell rnn)', choices: ['pytorch', 'orthogonal', 'irnn'], default: 'pytorch' },
  plot: { type: 'string', description: 'the SVG chart (log scale)', default: 'gradflow.svg' },
  out: deprecated('plot'),
  every: { type: 'int', description: 'table: every N-th step (plus the first and last)', min: 1, default: 10 },
  json: { type: 'boolean', description: 'print every norm as JSON instead of the table' },
  help: { type: 'boolean', description: '' },
};

export const gradflowCommand: Command = {
  name: 'gradflow',
  summary: 'vanishing and exploding gradients: ‖∂L/∂a⟨t⟩‖ per step for RNN, GRU, LSTM (table + log-scale SVG)',
  run(argv) {
    const { flags } = parseArgs('gradflow', argv, spec);
    if (flags.help) return printHelp('seqgrad gradflow [--cell rnn|gru|lstm|all] [--steps 100] [--hidden 32] [--recurrent-scale 1] [--activation tanh|relu] [--init pytorch|orthogonal|irnn] [--plot gradflow.svg] [--json]', this.summary, spec);
    if (flags.init === 'irnn' && flags.cell !== 'rnn') throw new UsageError(`gradflow: --init irnn is for --cell rnn, got --cell ${String(flags.cell)}`);
    planOutputs({ command: 'gradflow', outputs: { '--plot': flags.plot as string } });
    const results = CELLS[flags.cell as string].map((cell) => gradientFlow({
      cell,
      steps: flags.steps as number,
      hidden: flags.hidden as number,
      batch: flags.batch as number,
      seed: flags.seed as number,
      forgetBias: cell === 'lstm' ? (flags['forget-bias'] as number | undefined) : undefined,
      recurrentScale: flags['recurrent-scale'] as number,
      activation: cell === 'rnn' ? (flags.activation as 'tanh' | 'relu') : undefined,
      init: flags.init as 'pytorch' | 'orthogonal' | 'irnn',
    }));
    const out = flags.plot as string;
    writeFileAtomic(out, gradFlowSvg(results));
    if (flags.json) {
      console.log(JSON.stringify({ svg: out, results }, null, 2));
      return 0;
    }
    const { steps, hidden, batch, seed } = results[0];
    const setting = `${flags.init} init${flags['recurrent-scale'] !== 1 ? `, W_a × ${String(flags['recurrent-scale'])}` : ''}${flags.activation !== 'tanh' ? `, RNN g = ${String(flags.activation)}` : ''}`;
    console.log(`‖∂L/∂a⟨t⟩‖ (mean over ${batch} sequences), loss L = w·a⟨${steps}⟩ at the last step only; H = ${hidden}, float64, ${setting}, seed ${seed}\n`);
    console.log(formatGradFlowTable(results, flags.every as number));
    const change = results.map((r) => {
      const orders = Math.log10(Math.max(r.norms[0], Number.MIN_VALUE) / r.norms[steps]);
      return `${r.cell} ${orders >= 0 ? '+' : ''}${orders.toFixed(1)} (${orders > 1 ? 'exploding' : orders < -1 ? 'vanishing' : 'kept'})`;
    });
    console.log(`\norders of magnitude from t = ${steps} to t = 0: ${change.join(', ')}`);
    console.log(`chart: ${out}`);
    return 0;
  },
};
