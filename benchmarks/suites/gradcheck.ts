/**
 * `seqgrad bench gradcheck`: the time of one full `seqgrad gradcheck` run — every registered case
 * (training/gradcheck-suite/) at the CLI's default seed and tolerance, float64 central differences.
 * Float64 always runs on the js kernels (the float32 backends hand float64 calls to them), so there
 * is one row, on js (or on the first requested backend when js is not among them). No peer has it.
 */
import { runGradCheckCases } from '../../training/check/gradcheck.js';
import { gradCheckCases } from '../../training/gradcheck-suite.js';
import { millis, seqgradWorkload, type Suite } from '../harness.js';

/** The defaults of `seqgrad gradcheck`. */
const SEED = 1234;
const TOLERANCE = 1e-7;

export const gradcheckSuite: Suite = {
  name: 'gradcheck',
  summary: 'one full `seqgrad gradcheck` run (every case, float64), ms',
  cases(ctx) {
    return [{
      suite: 'gradcheck',
      name: `${gradCheckCases.length} cases`,
      params: { cases: gradCheckCases.length },
      metric: millis(),
      onlyBackends: ctx.backends.includes('js') ? ['js'] : ctx.backends.slice(0, 1),
      ours(backend) {
        return seqgradWorkload(backend, () => {
          const rows = runGradCheckCases(gradCheckCases, SEED, { tolerance: TOLERANCE });
          const failed = rows.filter((r) => !r.pass).length;
          if (failed > 0) throw new Error(`bench gradcheck: ${failed} of ${rows.length} gradient checks failed (run seqgrad gradcheck)`);
        });
      },
    }];
  },
};
