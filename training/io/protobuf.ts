/**
 * The part of Protocol Buffers' wire format an ONNX file needs to be written (training/io/onnx.ts):
 * a message is a sequence of fields, each a key varint (field number << 3 | wire type) and a value:
 *   wire type 0  varint (int32, int64, enum, bool; negative numbers as 10-byte two's complement)
 *   wire type 2  length-delimited (string, bytes, a nested message): a varint length, then the bytes
 *   wire type 5  fixed32 (float), little-endian
 * Repeated fields are written one field per element (parsers accept this for packed fields too).
 * Only writing: nothing in seqgrad reads protobuf.
 */

const TEXT = new TextEncoder();

export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private key(field: number, wireType: 0 | 2 | 5): void {
    this.pushVarint(BigInt(field * 8 + wireType));
  }

  private pushVarint(value: bigint): void {
    let v = BigInt.asUintN(64, value);
    const bytes: number[] = [];
    while (v >= 0x80n) {
      bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    bytes.push(Number(v));
    this.push(Uint8Array.from(bytes));
  }

  /** A varint field (int32, int64, enum); negative values are 64-bit two's complement. */
  int(field: number, value: number | bigint): this {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new Error(`ProtoWriter.int: expected a safe integer for field ${field}, got ${value}`);
    this.key(field, 0);
    this.pushVarint(BigInt(value));
    return this;
  }

  /** A float field (fixed32, little-endian). */
  float(field: number, value: number): this {
    this.key(field, 5);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.push(bytes);
    return this;
  }

  /** A length-delimited field of raw bytes. */
  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.pushVarint(BigInt(value.length));
    this.push(value);
    return this;
  }

  /** A string field (UTF-8). */
  string(field: number, value: string): this {
    return this.bytes(field, TEXT.encode(value));
  }

  /** A nested message field. */
  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  /** The message's bytes. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
