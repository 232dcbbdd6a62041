import { describe, expect, it } from 'vitest';
import { runGradCheckCases } from '../../../training/check/gradcheck.js';
import { gradCheckCases } from '../../../training/gradcheck-suite.js';

// Every registered backward pass must match central differences to ≤ 1e−7 (float64).
describe('gradient-check suite', () => {
  for (const testCase of gradCheckCases) {
    it(`${testCase.group}: ${testCase.op}`, () => {
      const rows = runGradCheckCases([testCase]);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row.relError, `${row.op} / ${row.name}`).toBeLessThanOrEqual(1e-7);
      }
    });
  }
});
