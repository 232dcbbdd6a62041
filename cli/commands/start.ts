import type { Command } from '../command.js';
import { runGradCheckCases } from '../../training/gradcheck.js';
import { gradCheckCases } from '../../training/gradcheck-suite/index.js';

/** `npm start`: the gradient-check tour — one line per op, worst relative error over its tensors. */
export const startCommand: Command = {
  name: 'start',
  summary: 'the main job: gradient-check tour of every op',
  run() {
    console.log('seqgrad gradient-check tour: every backward pass against central differences (float64)\n');
    let failed = 0;
    for (const testCase of gradCheckCases) {
      const rows = runGradCheckCases([testCase]);
      const worst = Math.max(...rows.map((r) => r.relError));
      const ok = rows.every((r) => r.pass);
      if (!ok) failed++;
      console.log(`  ${ok ? 'pass' : 'FAIL'}  ${testCase.group.padEnd(10)} ${testCase.op.padEnd(44)} max rel. error ${worst.toExponential(2)}`);
    }
    console.log(`\n${gradCheckCases.length - failed} passed, ${failed} failed`);
    return failed > 0 ? 1 : 0;
  },
};
