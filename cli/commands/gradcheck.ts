import { parseArgs, printHelp, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { formatGradCheckTable, runGradCheckCases } from '../../training/check/gradcheck.js';
import { gradCheckCases } from '../../training/gradcheck-suite.js';

const spec: Record<string, FlagSpec> = {
  group: { type: 'list', description: 'only these groups (engine, cells, wrappers, …)' },
  op: { type: 'string', description: 'only ops whose name contains this text (case-insensitive)' },
  cell: { type: 'string', description: 'only ops of this cell (ops whose name mentions it)', choices: ['rnn', 'gru', 'lstm'] },
  tolerance: { type: 'number', description: 'pass threshold on the relative error', default: 1e-7 },
  seed: { type: 'int', description: 'seed of the random problems', default: 1234 },
  verbose: { type: 'boolean', description: 'print the worst entries of every row' },
  json: { type: 'boolean', description: 'print the rows as JSON' },
  help: { type: 'boolean', description: '' },
};

export const gradcheckCommand: Command = {
  name: 'gradcheck',
  summary: 'central-difference gradient checks (float64) of every backward pass',
  run(argv) {
    const { flags } = parseArgs('gradcheck', argv, spec);
    if (flags.help) return printHelp('seqgrad gradcheck [--group g] [--cell rnn|gru|lstm] [--op text] [--verbose] [--json]', this.summary, spec);
    const groups = (flags.group as string[] | undefined) ?? [];
    const opText = ((flags.op as string | undefined) ?? '').toLowerCase();
    const cell = flags.cell as string | undefined;
    const mentionsCell = (op: string): boolean => cell === undefined || new RegExp(`\\b${cell}\\b`, 'i').test(op);
    const cases = gradCheckCases.filter(
      (c) => (groups.length === 0 || groups.includes(c.group)) && c.op.toLowerCase().includes(opText) && mentionsCell(c.op),
    );
    if (cases.length === 0) {
      console.error(`seqgrad gradcheck: no op matches (groups: ${[...new Set(gradCheckCases.map((c) => c.group))].join(', ')})`);
      return 2;
    }
    const tolerance = flags.tolerance as number;
    const rows = runGradCheckCases(cases, flags.seed as number, { tolerance });
    const failed = rows.filter((r) => !r.pass).length;
    if (flags.json) console.log(JSON.stringify(rows, null, 2));
    else {
      console.log(formatGradCheckTable(rows, flags.verbose === true, tolerance));
      console.log(`\n${rows.length - failed} passed, ${failed} failed (${cases.length} ops, relative error ‖g − n‖ / (‖g‖ + ‖n‖), float64)`);
    }
    return failed > 0 ? 1 : 0;
  },
};
