/**
 * A tiny WebAssembly binary emitter: just enough of the format (LEB128 integers, the type,
 * function, memory, export and code sections, structured control flow, i32 arithmetic, loads and
 * stores, and the SIMD128 ops the kernels use) to build seqgrad's kernels as bytes at load time —
 * no compiler toolchain, no package, no eval.
 *
 * The format is that of the WebAssembly core specification 2.0 (binary format, chapter 5), the
 * threads proposal's shared memory type and the relaxed-SIMD proposal: a module is the magic
 * `\0asm`, version 1, then sections `id · size · contents`, each vector prefixed by its length as
 * unsigned LEB128.
 */

/** Value types (spec 5.3.1). */
export const ValType = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

/** Unsigned LEB128: 7 bits per byte, low bits first, high bit set on every byte but the last. */
export function writeUleb128(out: number[], value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`writeUleb128: expected an integer in [0, 2^32), got ${value}`);
  }
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
}

/** Signed LEB128 (two's complement): stop once the rest is all sign bits and bit 6 agrees. */
export function writeSleb128(out: number[], value: number): void {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new Error(`writeSleb128: expected a 32-bit signed integer, got ${value}`);
  }
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const signBitClear = (byte & 0x40) === 0;
    if ((value === 0 && signBitClear) || (value === -1 && !signBitClear)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

/** Push every byte of `bytes` (a loop, not a spread: bodies can outgrow the argument limit). */
function append(out: number[], bytes: readonly number[]): void {
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]);
}

function writeName(out: number[], name: string): void {
  const bytes = new TextEncoder().encode(name);
  writeUleb128(out, bytes.length);
  for (const b of bytes) out.push(b);
}

/** Opcodes of the core instruction set that the kernels use (spec 5.4). */
const Op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f,
  drop: 0x1a, select: 0x1b,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, f32Load: 0x2a, f64Load: 0x2b, i32Store: 0x36, f32Store: 0x38, f64Store: 0x39,
  i32Const: 0x41, f32Const: 0x43, f64Const: 0x44,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32LtU: 0x49, i32GtS: 0x4a, i32GtU: 0x4b,
  i32LeS: 0x4c, i32GeS: 0x4e,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32And: 0x71, i32Shl: 0x74, i32ShrU: 0x76,
  f32Eq: 0x5b, f32Ne: 0x5c, f32Lt: 0x5d, f32Gt: 0x5e,
  f64Ne: 0x62, f64Lt: 0x63, f64Gt: 0x64,
  f32Add: 0x92, f32Sub: 0x93, f32Mul: 0x94, f32Div: 0x95, f32Min: 0x96, f32Max: 0x97,
  f64Add: 0xa0, f64Sub: 0xa1, f64Mul: 0xa2, f64Div: 0xa3, f64Sqrt: 0x9f,
  f32DemoteF64: 0xb6, f64PromoteF32: 0xbb,
  simdPrefix: 0xfd,
} as const;

/** SIMD128 opcodes (after the 0xFD prefix, as unsigned LEB128), spec 5.4.8 and relaxed SIMD. */
export const SimdOp = {
  v128Load: 0x00,
  v128Load32Splat: 0x09,
  v128Store: 0x0b,
  i8x16Shuffle: 0x0d,
  i32x4Splat: 0x11,
  f32x4Splat: 0x13,
  f64x2Splat: 0x14,
  f32x4ExtractLane: 0x1f,
  f64x2ExtractLane: 0x21,
  f32x4Eq: 0x41,
  f32x4Gt: 0x44,
  v128And: 0x4e,
  v128AndNot: 0x4f,
  v128Or: 0x50,
  v128Bitselect: 0x52,
  v128Store32Lane: 0x5a,
  v128Store64Lane: 0x5b,
  v128Load32Zero: 0x5c,
  v128Load64Zero: 0x5d,
  f32x4DemoteF64x2Zero: 0x5e,
  f64x2PromoteLowF32x4: 0x5f,
  f32x4Nearest: 0x6a,
  i32x4Shl: 0xab,
  i32x4Add: 0xae,
  f32x4Abs: 0xe0,
  f32x4Neg: 0xe1,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Min: 0xe8,
  f32x4Max: 0xe9,
  f32x4Pmin: 0xea,
  f32x4Pmax: 0xeb,
  f64x2Sqrt: 0xef,
  f64x2Add: 0xf0,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
  f64x2Div: 0xf3,
  i32x4TruncSatF32x4S: 0xf8,
  /** relaxed SIMD: a·b + c, fused or not at the engine's choice (one rounding on FMA hardware). */
  f32x4RelaxedMadd: 0x105,
} as const;

/** The empty block type: a block/loop/if that takes and leaves nothing on the stack. */
const VOID_BLOCK = 0x40;

/**
 * One function's body, written instruction by instruction. Locals are numbered after the
 * parameters; `local(type)` declares one and returns its index.
 */
export class FunctionBuilder {
  private readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];
  private depth = 0;

  constructor(readonly params: readonly ValType[], readonly results: readonly ValType[] = []) {}

  /** Declare a local of `type`; returns its index. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  // --- control flow (labels are relative depths, as in the text format) ---
  block(): this { this.depth++; return this.byte(Op.block, VOID_BLOCK); }
  loop(): this { this.depth++; return this.byte(Op.loop, VOID_BLOCK); }
  if(): this { this.depth++; return this.byte(Op.if, VOID_BLOCK); }
  else(): this { return this.byte(Op.else); }
  end(): this {
    if (this.depth === 0) throw new Error('FunctionBuilder.end: no open block, loop or if to end');
    this.depth--;
    return this.byte(Op.end);
  }
  br(depth: number): this { this.byte(Op.br); writeUleb128(this.code, depth); return this; }
  brIf(depth: number): this { this.byte(Op.brIf); writeUleb128(this.code, depth); return this; }
  return(): this { return this.byte(Op.return); }

  // --- locals and constants ---
  localGet(i: number): this { this.byte(Op.localGet); writeUleb128(this.code, i); return this; }
  localSet(i: number): this { this.byte(Op.localSet); writeUleb128(this.code, i); return this; }
  localTee(i: number): this { this.byte(Op.localTee); writeUleb128(this.code, i); return this; }
  i32Const(v: number): this { this.byte(Op.i32Const); writeSleb128(this.code, v | 0); return this; }
  f32Const(v: number): this {
    this.byte(Op.f32Const);
    for (const b of new Uint8Array(new Float32Array([v]).buffer)) this.code.push(b);
    return this;
  }
  f64Const(v: number): this {
    this.byte(Op.f64Const);
    for (const b of new Uint8Array(new Float64Array([v]).buffer)) this.code.push(b);
    return this;
  }
  drop(): this { return this.byte(Op.drop); }
  /** Stack: a, b, condition → condition ≠ 0 ? a : b. */
  select(): this { return this.byte(Op.select); }

  // --- i32 arithmetic and comparisons ---
  i32Add(): this { return this.byte(Op.i32Add); }
  i32Sub(): this { return this.byte(Op.i32Sub); }
  i32Mul(): this { return this.byte(Op.i32Mul); }
  i32And(): this { return this.byte(Op.i32And); }
  i32Shl(): this { return this.byte(Op.i32Shl); }
  i32ShrU(): this { return this.byte(Op.i32ShrU); }
  i32Eqz(): this { return this.byte(Op.i32Eqz); }
  i32Eq(): this { return this.byte(Op.i32Eq); }
  i32Ne(): this { return this.byte(Op.i32Ne); }
  i32LtS(): this { return this.byte(Op.i32LtS); }
  i32LtU(): this { return this.byte(Op.i32LtU); }
  i32GtS(): this { return this.byte(Op.i32GtS); }
  i32GtU(): this { return this.byte(Op.i32GtU); }
  i32LeS(): this { return this.byte(Op.i32LeS); }
  i32GeS(): this { return this.byte(Op.i32GeS); }

  /** `local[i] += delta` (i32). */
  i32Increment(i: number, delta: number): this {
    return this.localGet(i).i32Const(delta).i32Add().localSet(i);
  }

  // --- scalar f32 memory and arithmetic (memarg: alignment exponent, then byte offset) ---
  i32Load(offset = 0): this { this.byte(Op.i32Load); return this.memarg(2, offset); }
  i32Store(offset = 0): this { this.byte(Op.i32Store); return this.memarg(2, offset); }
  f32Load(offset = 0): this { this.byte(Op.f32Load); return this.memarg(2, offset); }
  f32Store(offset = 0): this { this.byte(Op.f32Store); return this.memarg(2, offset); }
  f64Load(offset = 0): this { this.byte(Op.f64Load); return this.memarg(3, offset); }
  f64Store(offset = 0): this { this.byte(Op.f64Store); return this.memarg(3, offset); }
  f32Add(): this { return this.byte(Op.f32Add); }
  f32Sub(): this { return this.byte(Op.f32Sub); }
  f32Mul(): this { return this.byte(Op.f32Mul); }
  f32Div(): this { return this.byte(Op.f32Div); }
  f32Min(): this { return this.byte(Op.f32Min); }
  f32Max(): this { return this.byte(Op.f32Max); }
  f32Eq(): this { return this.byte(Op.f32Eq); }
  f32Ne(): this { return this.byte(Op.f32Ne); }
  f32Lt(): this { return this.byte(Op.f32Lt); }
  f32Gt(): this { return this.byte(Op.f32Gt); }
  f64Ne(): this { return this.byte(Op.f64Ne); }
  f64Lt(): this { return this.byte(Op.f64Lt); }
  f64Gt(): this { return this.byte(Op.f64Gt); }
  f64Add(): this { return this.byte(Op.f64Add); }
  f64Sub(): this { return this.byte(Op.f64Sub); }
  f64Mul(): this { return this.byte(Op.f64Mul); }
  f64Div(): this { return this.byte(Op.f64Div); }
  f64Sqrt(): this { return this.byte(Op.f64Sqrt); }
  f64PromoteF32(): this { return this.byte(Op.f64PromoteF32); }
  f32DemoteF64(): this { return this.byte(Op.f32DemoteF64); }

  // --- SIMD128 ---
  v128Load(offset = 0): this { return this.simd(SimdOp.v128Load).memarg(4, offset); }
  v128Store(offset = 0): this { return this.simd(SimdOp.v128Store).memarg(4, offset); }
  /** Load one f32 and splat it into all four lanes. */
  v128Load32Splat(offset = 0): this { return this.simd(SimdOp.v128Load32Splat).memarg(2, offset); }
  /** Load one f32 (two, for 64) into the low lane(s), zeros above. */
  v128Load32Zero(offset = 0): this { return this.simd(SimdOp.v128Load32Zero).memarg(2, offset); }
  v128Load64Zero(offset = 0): this { return this.simd(SimdOp.v128Load64Zero).memarg(3, offset); }
  /** Stack: address, v128 → store lane `lane` (32 or 64 bits wide). */
  v128Store32Lane(lane: number, offset = 0): this { this.simd(SimdOp.v128Store32Lane).memarg(2, offset); this.code.push(lane); return this; }
  v128Store64Lane(lane: number, offset = 0): this { this.simd(SimdOp.v128Store64Lane).memarg(3, offset); this.code.push(lane); return this; }
  /** Stack: a, b → 16 bytes picked from a (indices 0–15) and b (16–31). */
  i8x16Shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31)) {
      throw new Error(`i8x16Shuffle: expected 16 lane indices in [0, 32), got [${lanes.join(', ')}]`);
    }
    this.simd(SimdOp.i8x16Shuffle);
    for (const l of lanes) this.code.push(l);
    return this;
  }
  /** i8x16.shuffle of whole f32 lanes: lane i of the result is lane lanes[i] of a (0–3) or b (4–7). */
  f32x4Shuffle(lanes: readonly [number, number, number, number]): this {
    const bytes: number[] = [];
    for (const l of lanes) for (let byte = 0; byte < 4; byte++) bytes.push(4 * l + byte);
    return this.i8x16Shuffle(bytes);
  }
  f32x4Splat(): this { return this.simd(SimdOp.f32x4Splat); }
  f64x2Splat(): this { return this.simd(SimdOp.f64x2Splat); }
  f32x4ExtractLane(lane: number): this { this.simd(SimdOp.f32x4ExtractLane); this.code.push(lane); return this; }
  f64x2ExtractLane(lane: number): this { this.simd(SimdOp.f64x2ExtractLane); this.code.push(lane); return this; }
  /** Lane masks (all ones where true). */
  f32x4Eq(): this { return this.simd(SimdOp.f32x4Eq); }
  f32x4Gt(): this { return this.simd(SimdOp.f32x4Gt); }
  v128And(): this { return this.simd(SimdOp.v128And); }
  /** Stack: a, b → a & ~b. */
  v128AndNot(): this { return this.simd(SimdOp.v128AndNot); }
  v128Or(): this { return this.simd(SimdOp.v128Or); }
  /** Stack: a, b, mask → (a & mask) | (b & ~mask). */
  v128Bitselect(): this { return this.simd(SimdOp.v128Bitselect); }
  /** Lanes 0, 1 of f32x4 → f64x2; and back (the upper two f32 lanes zero). */
  f64x2PromoteLowF32x4(): this { return this.simd(SimdOp.f64x2PromoteLowF32x4); }
  f32x4DemoteF64x2Zero(): this { return this.simd(SimdOp.f32x4DemoteF64x2Zero); }
  f32x4Abs(): this { return this.simd(SimdOp.f32x4Abs); }
  f32x4Sqrt(): this { return this.simd(SimdOp.f32x4Sqrt); }
  f64x2Add(): this { return this.simd(SimdOp.f64x2Add); }
  f64x2Sub(): this { return this.simd(SimdOp.f64x2Sub); }
  f64x2Mul(): this { return this.simd(SimdOp.f64x2Mul); }
  f64x2Div(): this { return this.simd(SimdOp.f64x2Div); }
  f64x2Sqrt(): this { return this.simd(SimdOp.f64x2Sqrt); }
  f32x4Add(): this { return this.simd(SimdOp.f32x4Add); }
  f32x4Sub(): this { return this.simd(SimdOp.f32x4Sub); }
  f32x4Mul(): this { return this.simd(SimdOp.f32x4Mul); }
  f32x4Div(): this { return this.simd(SimdOp.f32x4Div); }
  /** Lane-wise minimum / maximum (NaN in either operand gives NaN). */
  f32x4Min(): this { return this.simd(SimdOp.f32x4Min); }
  f32x4Max(): this { return this.simd(SimdOp.f32x4Max); }
  /** Pseudo-minimum / maximum: pmin(a, b) = b < a ? b : a, pmax(a, b) = a < b ? b : a (one x86 instruction; a NaN in a is kept). */
  f32x4Pmin(): this { return this.simd(SimdOp.f32x4Pmin); }
  f32x4Pmax(): this { return this.simd(SimdOp.f32x4Pmax); }
  f32x4Neg(): this { return this.simd(SimdOp.f32x4Neg); }
  /** Round to the nearest integer, ties to even (still f32). */
  f32x4Nearest(): this { return this.simd(SimdOp.f32x4Nearest); }
  /** f32 lanes → i32 lanes, truncating toward zero, saturating at the i32 range (NaN → 0). */
  i32x4TruncSatF32x4S(): this { return this.simd(SimdOp.i32x4TruncSatF32x4S); }
  i32x4Splat(): this { return this.simd(SimdOp.i32x4Splat); }
  i32x4Add(): this { return this.simd(SimdOp.i32x4Add); }
  /** Stack: v128, i32 count → each i32 lane shifted left by count mod 32. */
  i32x4Shl(): this { return this.simd(SimdOp.i32x4Shl); }
  /** Stack: a, b, c → a·b + c. */
  f32x4RelaxedMadd(): this { return this.simd(SimdOp.f32x4RelaxedMadd); }

  /** The body as the code section wants it: size, local declarations (run-length), code, `end`. */
  encode(): number[] {
    if (this.depth !== 0) throw new Error(`FunctionBuilder.encode: ${this.depth} block(s) left open`);
    const body: number[] = [];
    const runs: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    writeUleb128(body, runs.length);
    for (const [count, type] of runs) {
      writeUleb128(body, count);
      body.push(type);
    }
    append(body, this.code);
    body.push(Op.end);
    const out: number[] = [];
    writeUleb128(out, body.length);
    append(out, body);
    return out;
  }

  private byte(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  private simd(op: number): this {
    this.code.push(Op.simdPrefix);
    writeUleb128(this.code, op);
    return this;
  }

  private memarg(alignLog2: number, offset: number): this {
    writeUleb128(this.code, alignLog2);
    writeUleb128(this.code, offset);
    return this;
  }
}

interface FunctionEntry {
  exportName: string | null;
  body: FunctionBuilder;
}

/**
 * A memory the module imports (`module`.`field`). A shared memory needs a maximum; an ordinary one
 * should declare none (null), or the host's memory must declare one at most as large.
 */
export interface MemoryImport {
  module: string;
  field: string;
  minPages: number;
  maxPages: number | null;
  shared: boolean;
}

/**
 * A module of functions over one memory. Functions are indexed in the order they are added. The
 * memory (index 0) is either defined here and exported (`setMemory`), so the host can view and grow
 * it, or imported (`importMemory`), so several modules — and, when shared, several threads — work
 * in one memory.
 */
export class ModuleBuilder {
  private readonly functions: FunctionEntry[] = [];
  private memory: { minPages: number; maxPages: number | null; exportName: string } | null = null;
  private imported: MemoryImport | null = null;

  /** Add a function; returns its index. */
  addFunction(body: FunctionBuilder, exportName: string | null = null): number {
    this.functions.push({ exportName, body });
    return this.functions.length - 1;
  }

  /** Define the module's memory (64 KiB pages) and export it under `exportName`. */
  setMemory(minPages: number, maxPages: number | null, exportName = 'memory'): void {
    if (this.imported) throw new Error('ModuleBuilder.setMemory: the module already imports its memory');
    this.memory = { minPages, maxPages, exportName };
  }

  /** Import the memory instead of defining it (limits: flag 0x01 min max, 0x03 when shared). */
  importMemory(memory: MemoryImport): void {
    if (this.memory) throw new Error('ModuleBuilder.importMemory: the module already defines its memory');
    this.imported = memory;
  }

  toBytes(): Uint8Array {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const types = this.functionTypes();
    this.section(out, 1, (s) => {
      writeUleb128(s, types.keys.length);
      for (const key of types.keys) {
        const [params, results] = types.signatures.get(key)!;
        s.push(0x60);
        writeUleb128(s, params.length);
        s.push(...params);
        writeUleb128(s, results.length);
        s.push(...results);
      }
    });
    if (this.imported) {
      const { module, field, minPages, maxPages, shared } = this.imported;
      this.section(out, 2, (s) => {
        writeUleb128(s, 1);
        writeName(s, module);
        writeName(s, field);
        if (shared && maxPages === null) throw new Error('ModuleBuilder.importMemory: a shared memory needs a maximum');
        s.push(0x02, shared ? 0x03 : maxPages === null ? 0x00 : 0x01);
        writeUleb128(s, minPages);
        if (maxPages !== null) writeUleb128(s, maxPages);
      });
    }
    this.section(out, 3, (s) => {
      writeUleb128(s, this.functions.length);
      for (const f of this.functions) writeUleb128(s, types.indexOf(f.body));
    });
    if (this.memory) {
      const { minPages, maxPages } = this.memory;
      this.section(out, 5, (s) => {
        writeUleb128(s, 1);
        if (maxPages === null) {
          s.push(0x00);
          writeUleb128(s, minPages);
        } else {
          s.push(0x01);
          writeUleb128(s, minPages);
          writeUleb128(s, maxPages);
        }
      });
    }
    const exports: [string, number, number][] = [];
    this.functions.forEach((f, i) => { if (f.exportName) exports.push([f.exportName, 0x00, i]); });
    if (this.memory) exports.push([this.memory.exportName, 0x02, 0]);
    this.section(out, 7, (s) => {
      writeUleb128(s, exports.length);
      for (const [name, kind, index] of exports) {
        writeName(s, name);
        s.push(kind);
        writeUleb128(s, index);
      }
    });
    this.section(out, 10, (s) => {
      writeUleb128(s, this.functions.length);
      for (const f of this.functions) append(s, f.body.encode());
    });
    return new Uint8Array(out);
  }

  /** Deduplicated function signatures, keyed by their encoding. */
  private functionTypes(): { keys: string[]; signatures: Map<string, [readonly ValType[], readonly ValType[]]>; indexOf(f: FunctionBuilder): number } {
    const signatures = new Map<string, [readonly ValType[], readonly ValType[]]>();
    const keyOf = (f: FunctionBuilder) => `${f.params.join(',')}->${f.results.join(',')}`;
    for (const f of this.functions) signatures.set(keyOf(f.body), [f.body.params, f.body.results]);
    const keys = [...signatures.keys()];
    return { keys, signatures, indexOf: (f) => keys.indexOf(keyOf(f)) };
  }

  private section(out: number[], id: number, write: (contents: number[]) => void): void {
    const contents: number[] = [];
    write(contents);
    out.push(id);
    writeUleb128(out, contents.length);
    append(out, contents);
  }
}
