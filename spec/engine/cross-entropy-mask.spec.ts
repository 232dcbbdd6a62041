import { describe, expect, it } from 'vitest';
import { crossEntropy } from '../../engine/cross-entropy.js';
import { Matrix } from '../../engine/matrix.js';

describe('cross-entropy masks', () => {
  it('names a mask given as a plain array instead of reading it as [undefined, undefined]', () => {
    const logits = Matrix.fromArray([[1, 2], [3, 4]]);
    const mask = [[1], [0]] as unknown as Matrix;
    expect(() => crossEntropy(logits, [0, 1], { mask })).toThrow(/^crossEntropy: expected mask to be a Matrix \[T, B\] \(e\.g\. Matrix\.fromArray\(rows\)\), got an array of length 2$/);
    expect(crossEntropy(logits, [0, 1], { mask: Matrix.fromArray([[1], [0]]) })).toBeCloseTo(Math.log(1 + Math.E), 6);
  });
});
