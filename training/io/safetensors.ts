/**
 * safetensors (Hugging Face's weight format), read and written without a dependency:
 *
 *   bytes 0 … 8        N, the header's length in bytes, an unsigned 64-bit little-endian integer
 *   bytes 8 … 8 + N    the header, UTF-8 JSON:
 *                        { "__metadata__": { string: string, … },          (optional)
 *                          name: { "dtype": "F32", "shape": [r, c], "data_offsets": [begin, end] }, … }
 *   bytes 8 + N …      the data: every tensor's entries, row-major, little-endian, at
 *                      [begin, end) counted from the start of the data
 * The data must be indexed entirely, without holes or overlaps, and end − begin must equal
 * (Π shape) × the dtype's size. `__metadata__` may only hold strings (the format's rule): seqgrad
 * keeps JSON documents there as strings (training/io/sequence-net.ts).
 *
 * Written: F32 and F64 (the two dtypes of seqgrad's matrices), tensors in the given order, the
 * header padded with spaces to a multiple of 8 bytes so that the data starts 8-aligned (what the
 * Python library does). Read: F32 and F64 as they are, F16 and BF16 converted to float32 (exact:
 * every half and bfloat16 value is a float32). Other dtypes (integers, bool, F8) are refused.
 *
 * Every problem with a file is one InputError naming the source and what was expected: a file
 * shorter than the 8-byte length, a header longer than the file, bad JSON, an unknown dtype,
 * offsets out of range, overlapping or leaving holes, a shape whose size does not match its byte
 * span, data shorter than the offsets say (a truncated file).
 */
import { fs } from './node-builtins.js';
import { writeFileAtomic } from './files.js';
import { InputError } from '../core/errors.js';

/** The dtypes seqgrad writes (and what every tensor is after reading). */
export type SafetensorsFloat = 'F32' | 'F64';

export interface SafeTensor {
  dtype: SafetensorsFloat;
  shape: number[];
  /** Π shape entries, row-major. Float32Array for F32 (and converted F16/BF16), Float64Array for F64. */
  data: Float32Array | Float64Array;
}

export interface SafetensorsFile {
  /** Tensors by name, in the order of their data offsets. */
  tensors: Record<string, SafeTensor>;
  /** `__metadata__` (string values only); {} when absent. */
  metadata: Record<string, string>;
}

/** Bytes per entry of the dtypes seqgrad reads. */
const DTYPE_SIZE: Record<string, number> = { F16: 2, BF16: 2, F32: 4, F64: 8 };

/** The other dtypes of the format: named in the error so a user sees it is a dtype seqgrad refuses. */
const OTHER_DTYPES = ['BOOL', 'U8', 'I8', 'U16', 'I16', 'U32', 'I32', 'U64', 'I64', 'F8_E4M3', 'F8_E5M2'];

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Π shape. */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The file's bytes: 8-byte header length, JSON header (tensors in the order given, metadata
 * first), data. Tensor names must not be `__metadata__`; every tensor's data must hold Π shape
 * entries of its dtype.
 */
export function encodeSafetensors(tensors: Record<string, SafeTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const op = 'encodeSafetensors';
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`${op}: expected string metadata values (the format allows no other), got ${typeof v} for '${k}'`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new Error(`${op}: expected tensor names other than '__metadata__'`);
    const want = t.dtype === 'F32' ? Float32Array : t.dtype === 'F64' ? Float64Array : null;
    if (want === null) throw new Error(`${op}: expected dtype F32 or F64 for '${name}', got ${String(t.dtype)}`);
    if (!(t.data instanceof want) || t.data.length !== shapeSize(t.shape)) {
      throw new Error(`${op}: expected '${name}' to hold ${shapeSize(t.shape)} ${t.dtype} entries (shape [${t.shape.join(', ')}]), got ${t.data.length} in a ${t.data.constructor.name}`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  const bytesOf = (s: string): number => Buffer.byteLength(s, 'utf8');
  json += ' '.repeat((8 - (bytesOf(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    out.set(littleEndianBytes(t.data), at);
    at += t.data.byteLength;
  }
  return out;
}

/** The entries' bytes in little-endian order (a view on little-endian machines, a swapped copy otherwise). */
function littleEndianBytes(data: Float32Array | Float64Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return LITTLE_ENDIAN ? bytes : swapBytes(bytes, data.BYTES_PER_ELEMENT);
}

function swapBytes(bytes: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width) for (let k = 0; k < width; k++) out[i + k] = bytes[i + width - 1 - k];
  return out;
}

interface HeaderEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parse a safetensors file's bytes; `source` starts every error message ("safetensors file
 * m.safetensors"). Checks the whole header before decoding any tensor.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsFile {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (bytes.length < 8) fail(`truncated file: expected at least the 8-byte header length, got ${bytes.length} byte(s)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    fail(`header longer than the file: the header length says ${headerLength} bytes, the file has ${bytes.length - 8} after the length`);
  }
  const N = Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + N)));
  } catch (err) {
    return fail(`expected a JSON header of ${N} bytes, could not parse it (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) return fail(`expected the header to be a JSON object, got ${describe(header)}`);
  const metadata = readMetadata((header as Record<string, unknown>).__metadata__, fail);
  const entries = Object.entries(header as Record<string, unknown>)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, value]) => readEntry(name, value, fail));
  const dataStart = 8 + N;
  checkOffsets(entries, bytes.length - dataStart, fail);
  const tensors: Record<string, SafeTensor> = {};
  for (const e of [...entries].sort((a, b) => a.begin - b.begin)) {
    tensors[e.name] = decodeTensor(e, bytes.subarray(dataStart + e.begin, dataStart + e.end));
  }
  return { tensors, metadata };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}

function readMetadata(value: unknown, fail: (what: string) => never): Record<string, string> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail(`expected __metadata__ to be an object of strings, got ${describe(value)}`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail(`expected __metadata__ values to be strings (the format's rule), got ${describe(v)} for '${k}'`);
  }
  return value as Record<string, string>;
}

function readEntry(name: string, value: unknown, fail: (what: string) => never): HeaderEntry {
  const where = `tensor '${name}'`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fail(`expected ${where} to be { dtype, shape, data_offsets }, got ${describe(value)}`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZE)) {
    const known = typeof dtype === 'string' && OTHER_DTYPES.includes(dtype) ? ' (a dtype seqgrad does not read)' : '';
    return fail(`unknown dtype ${describe(dtype)}${known} for ${where}: expected F32, F64, F16 or BF16`);
  }
  const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) return fail(`expected ${where}'s shape to be a list of integers ≥ 0, got ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    return fail(`expected ${where}'s data_offsets to be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const span = shapeSize(shape) * DTYPE_SIZE[dtype];
  if (span !== end - begin) {
    fail(`${where}: shape [${shape.join(', ')}] × ${dtype} (${DTYPE_SIZE[dtype]} bytes) is ${span} bytes, its data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** Offsets must tile [0, dataLength) exactly: no overlap, no hole, nothing past the end. */
function checkOffsets(entries: HeaderEntry[], dataLength: number, fail: (what: string) => never): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous: HeaderEntry | null = null;
  for (const e of sorted) {
    if (e.begin < at && previous) {
      fail(`overlapping offsets: tensor '${e.name}' [${e.begin}, ${e.end}) overlaps '${previous.name}' [${previous.begin}, ${previous.end})`);
    }
    if (e.begin > at) fail(`expected the data to be indexed without holes, bytes [${at}, ${e.begin}) belong to no tensor (before '${e.name}')`);
    at = e.end;
    previous = e;
  }
  if (at > dataLength) {
    fail(`truncated file or offsets out of range: tensor '${previous?.name}' ends at byte ${at} of the data, the file holds ${dataLength} data bytes`);
  }
  if (at < dataLength) fail(`expected the data to end with the last tensor at byte ${at}, the file has ${dataLength - at} more byte(s)`);
}

function decodeTensor(e: HeaderEntry, bytes: Uint8Array): SafeTensor {
  const width = DTYPE_SIZE[e.dtype];
  // Copy into a fresh (aligned) buffer of its own: the data need not start at a multiple of the
  // entry size (and a Buffer's slice() would be a view, not a copy).
  const copy = LITTLE_ENDIAN ? new Uint8Array(bytes) : swapBytes(bytes, width);
  switch (e.dtype) {
    case 'F32': return { dtype: 'F32', shape: e.shape, data: new Float32Array(copy.buffer) };
    case 'F64': return { dtype: 'F64', shape: e.shape, data: new Float64Array(copy.buffer) };
    case 'BF16': return { dtype: 'F32', shape: e.shape, data: bfloat16ToFloat32(new Uint16Array(copy.buffer)) };
    default: return { dtype: 'F32', shape: e.shape, data: halfToFloat32(new Uint16Array(copy.buffer)) };
  }
}

/** bfloat16 is the top half of a float32: shift the 16 bits into place. */
function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

/** IEEE 754 binary16 → float32: sign, 5-bit exponent (bias 15), 10-bit fraction; subnormals, ±∞, NaN. */
function halfToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    if (exponent === 0) out[i] = sign * fraction * 2 ** -24;
    else if (exponent === 31) out[i] = fraction === 0 ? sign * Infinity : NaN;
    else out[i] = sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }
  return out;
}

/** Write a safetensors file atomically (temp file + rename). */
export function writeSafetensorsFile(path: string, tensors: Record<string, SafeTensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Read and check a safetensors file; a missing file or a bad one is an InputError naming it. */
export function readSafetensorsFile(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`safetensors file ${path}: could not read it (${code ?? (err as Error).message})`, { code, cause: err });
  }
  return decodeSafetensors(bytes, `safetensors file ${path}`);
}
