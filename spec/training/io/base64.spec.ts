import { afterEach, describe, expect, it, vi } from 'vitest';
import { base64ToBytes, bytesToBase64 } from '../../../training/io/base64.js';

afterEach(() => vi.unstubAllGlobals());

describe('base64 of raw bytes, with and without Node\'s Buffer', () => {
  it('encodes RFC 4648 test vectors both ways', () => {
    const vectors: [string, string][] = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foobar', 'Zm9vYmFy']];
    for (const withBuffer of [true, false]) {
      if (!withBuffer) vi.stubGlobal('Buffer', undefined);
      for (const [plain, encoded] of vectors) {
        const bytes = new TextEncoder().encode(plain);
        expect(bytesToBase64(bytes)).toBe(encoded);
        expect(Array.from(base64ToBytes(encoded))).toEqual(Array.from(bytes));
      }
    }
  });

  it('the browser path agrees with Buffer on every byte value and beyond one chunk, from a view\'s offset', () => {
    const backing = new Uint8Array(70_000 + 3);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 131 + 7) % 256;
    const bytes = backing.subarray(3);
    const withBuffer = bytesToBase64(bytes);
    vi.stubGlobal('Buffer', undefined);
    expect(bytesToBase64(bytes)).toBe(withBuffer);
    expect(base64ToBytes(withBuffer)).toEqual(bytes);
    expect(() => base64ToBytes('not base64!')).toThrow(/base64ToBytes: expected base64 text, got "not base64!"/);
  });
});
