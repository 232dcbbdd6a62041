/**
 * Matrices as JSON, exactly: shape, dtype and the raw little-endian bytes of the entries in base64,
 * so a save/load round trip gives the same bits (model files, checkpoints, optimizer state).
 */
import { Matrix, type DType, type FloatArray } from '../../engine/matrix.js';
import { base64ToBytes, bytesToBase64 } from './base64.js';

/** A matrix as JSON: shape, dtype and the raw little-endian bytes in base64 (exact). */
export interface MatrixJSON {
  rows: number;
  cols: number;
  dtype: DType;
  data: string;
}

/** Exact serialisation of a matrix (any stride) as little-endian bytes in base64. */
export function matrixToJSON(m: Matrix): MatrixJSON {
  const bytesPer = m.dtype === 'float64' ? 8 : 4;
  const bytes = new Uint8Array(m.rows * m.cols * bytesPer);
  const view = new DataView(bytes.buffer);
  let i = 0;
  for (let r = 0; r < m.rows; r++) {
    const o = m.offset + r * m.stride;
    for (let c = 0; c < m.cols; c++, i += bytesPer) {
      if (bytesPer === 8) view.setFloat64(i, m.data[o + c], true);
      else view.setFloat32(i, m.data[o + c], true);
    }
  }
  return { rows: m.rows, cols: m.cols, dtype: m.dtype, data: bytesToBase64(bytes) };
}

export function matrixFromJSON(json: MatrixJSON): Matrix {
  const op = 'matrixFromJSON';
  if (!json || !Number.isInteger(json.rows) || !Number.isInteger(json.cols) || typeof json.data !== 'string') {
    throw new Error(`${op}: expected { rows, cols, dtype, data: base64 }, got ${JSON.stringify(json)?.slice(0, 80)}`);
  }
  if (json.dtype !== 'float32' && json.dtype !== 'float64') throw new Error(`${op}: expected dtype float32 or float64, got ${JSON.stringify(json.dtype)}`);
  const bytesPer = json.dtype === 'float64' ? 8 : 4;
  const bytes = base64ToBytes(json.data);
  const n = json.rows * json.cols;
  if (bytes.length !== n * bytesPer) {
    throw new Error(`${op}: expected ${n * bytesPer} bytes for ${json.dtype} [${json.rows}, ${json.cols}], got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data: FloatArray = json.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = bytesPer === 8 ? view.getFloat64(i * 8, true) : view.getFloat32(i * 4, true);
    // A stored weight or optimizer state is never NaN or ±Inf: one would poison every output.
    if (!Number.isFinite(v)) throw new Error(`${op}: expected finite values, got ${v} at [${Math.floor(i / json.cols)}, ${i % json.cols}]`);
    data[i] = v;
  }
  return Matrix.fromData(json.rows, json.cols, data);
}
