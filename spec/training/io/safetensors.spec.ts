import { describe, expect, it } from 'vitest';
import { InputError } from '../../../training/core/errors.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../../../training/io/safetensors.js';

/** A file built by hand: 8-byte LE length, the header text as given, then the data bytes. */
function handMade(header: string, data: number[] | Uint8Array = []): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Little-endian bytes of float32 values. */
function f32Bytes(values: number[]): number[] {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeFloatLE(v, 4 * i));
  return [...b];
}

function decodeError(bytes: Uint8Array): InputError {
  try {
    decodeSafetensors(bytes, 'safetensors file bad.safetensors');
  } catch (err) {
    return err as InputError;
  }
  throw new Error('expected decodeSafetensors to throw');
}

describe('safetensors: the format', () => {
  it('reads a file written byte by byte from the format description', () => {
    const header = '{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]}}';
    const file = decodeSafetensors(handMade(header, f32Bytes([1.5, -2, 0.25, 3])));
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(Object.keys(file.tensors)).toEqual(['a', 'b']); // data order
    expect(file.tensors.a).toEqual({ dtype: 'F32', shape: [2, 1], data: new Float32Array([1.5, -2]) });
    expect([...file.tensors.b.data]).toEqual([0.25, 3]);
  });

  it('writes the 8-byte little-endian header length, a JSON header padded to 8 bytes, and raw little-endian data', () => {
    const bytes = encodeSafetensors({ w: { dtype: 'F64', shape: [1, 2], data: new Float64Array([1, -0.5]) } }, { k: 'v' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
    expect(header).toEqual({ __metadata__: { k: 'v' }, w: { dtype: 'F64', shape: [1, 2], data_offsets: [0, 16] } });
    const data = Buffer.from(bytes.subarray(8 + n));
    expect([data.readDoubleLE(0), data.readDoubleLE(8)]).toEqual([1, -0.5]);
    expect(data.length).toBe(16);
  });

  it('round-trips F32 and F64 bit for bit, including −0, subnormals and extremes', () => {
    const f32 = new Float32Array([-0, 1e-45, 3.4028234663852886e38, Math.fround(0.1), -7]);
    const f64 = new Float64Array([-0, 5e-324, Number.MAX_VALUE, 0.1, 1 / 3]);
    const tensors: Record<string, SafeTensor> = {
      x: { dtype: 'F32', shape: [5], data: f32 },
      y: { dtype: 'F64', shape: [5, 1], data: f64 },
      empty: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    };
    const back = decodeSafetensors(encodeSafetensors(tensors));
    expect(new Uint8Array(back.tensors.x.data.buffer)).toEqual(new Uint8Array(f32.buffer));
    expect(new Uint8Array(back.tensors.y.data.buffer)).toEqual(new Uint8Array(f64.buffer));
    expect(back.tensors.empty.shape).toEqual([0, 3]);
  });

  it('reads F16 and BF16 by converting to float32 (values from the IEEE 754 bit patterns)', () => {
    // binary16: 0x3C00 = 1, 0xC000 = −2, 0x7BFF = 65504, 0x0001 = 2^−24, 0x3555 = 1365/4096, 0xFC00 = −∞
    const f16 = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0xfc00];
    // bfloat16: 0x3F80 = 1, 0x4049 = 3.140625, 0xC2F7 = −123.5
    const bf16 = [0x3f80, 0x4049, 0xc2f7];
    const le16 = (v: number[]): number[] => v.flatMap((x) => [x & 0xff, x >> 8]);
    const header = `{"h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]},"g":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]}}`;
    const file = decodeSafetensors(handMade(header, [...le16(f16), ...le16(bf16)]));
    expect(file.tensors.h.dtype).toBe('F32');
    expect([...file.tensors.h.data]).toEqual([1, -2, 65504, 2 ** -24, 1365 / 4096, -Infinity]);
    expect([...file.tensors.g.data]).toEqual([1, 3.140625, -123.5]);
  });
});

describe('safetensors: bad files give one InputError naming the file', () => {
  const ok = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';

  it.each([
    ['a file shorter than the length field', new Uint8Array([1, 0, 0]), /truncated file: expected at least the 8-byte header length, got 3/],
    ['a header longer than the file', handMade(ok, []).subarray(0, 20), /header longer than the file: the header length says 54 bytes, the file has 12/],
    ['truncated data', handMade(ok, f32Bytes([1])), /truncated file or offsets out of range: tensor 'a' ends at byte 8 of the data, the file holds 4/],
    ['offsets past the end', handMade('{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', f32Bytes([1, 2])), /bytes \[0, 8\) belong to no tensor/],
    ['overlapping offsets', handMade('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32Bytes([1, 2])), /overlapping offsets: tensor '.' \[\d, 8\) overlaps '.'/],
    ['an unknown dtype', handMade('{"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}}', f32Bytes([1, 2])), /unknown dtype "Q7" for tensor 'a': expected F32, F64, F16 or BF16/],
    ['a dtype seqgrad does not read', handMade('{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', f32Bytes([1, 2])), /unknown dtype "I64" \(a dtype seqgrad does not read\)/],
    ['shape × dtype ≠ byte span', handMade('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', f32Bytes([1, 2])), /shape \[3\] × F32 \(4 bytes\) is 12 bytes, its data_offsets \[0, 8\] span 8/],
    ['bytes after the last tensor', handMade(ok, f32Bytes([1, 2, 3])), /the file has 4 more byte/],
    ['a header that is not JSON', handMade('{"a":', []), /expected a JSON header of 5 bytes, could not parse it/],
    ['non-string metadata', handMade('{"__metadata__":{"n":1}}', []), /__metadata__ values to be strings .* got 1 for 'n'/],
    ['begin after end', handMade('{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}', []), /data_offsets to be \[begin, end\] with 0 ≤ begin ≤ end, got \[8,0\]/],
  ])('%s', (_what, bytes, message) => {
    const err = decodeError(bytes);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/^safetensors file bad\.safetensors: /);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('\n');
  });
});
