/**
 * Just enough of a WebAssembly binary writer to build our SIMD kernels from TypeScript (no toolchain,
 * no committed .wasm; the resize kernels of src/image/simd/simdKernels.ts): one imported memory, functions with i32 parameters,
 * and the scalar and 128-bit SIMD instructions those kernels use. Encodings follow the WebAssembly
 * core spec (binary format, chapter 5) and the fixed-width SIMD proposal's opcode table.
 */

export type ValType = 'i32' | 'v128';
const VALTYPE: Record<ValType, number> = { i32: 0x7f, v128: 0x7b };

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(s: string): number[] {
  return [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** A local variable (or parameter) of the function being written. */
export interface Local { index: number; type: ValType }

/** Scalar opcodes (core spec 5.4). */
const OP = {
  block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, brIf: 0x0d,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, i32Store: 0x36, i32Const: 0x41, i32Eqz: 0x45, i32LtU: 0x49,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c,
} as const;

/** SIMD opcodes, written as 0xFD then the opcode as a LEB128 u32. */
const SIMD = {
  load: 0x00, store: 0x0b, v128Const: 0x0c, i8x16Shuffle: 0x0d, i16x8Splat: 0x10, i32x4Splat: 0x11, bitselect: 0x52,
  i16x8ShrU: 0x8d, i16x8Add: 0x8e, i16x8Mul: 0x95,
  i8x16NarrowI16x8U: 0x66, i16x8NarrowI32x4S: 0x85,
  i16x8ExtendLowI8x16U: 0x89, i16x8ExtendHighI8x16U: 0x8a,
  i32x4ExtendLowI16x8U: 0xa9, i32x4ExtendHighI16x8U: 0xaa,
  i32x4ShrS: 0xac, i32x4Add: 0xae, i32x4Mul: 0xb5,
} as const;

/** The body of one function: instructions are appended in order, as in the text format. */
export class FunctionWriter<P extends string = string> {
  private readonly code: number[] = [];
  private readonly extraLocals: ValType[] = [];
  /** The i32 parameters by name, in declaration order. */
  readonly params: Readonly<Record<P, Local>>;
  private readonly paramCount: number;

  constructor(readonly exportName: string, paramNames: readonly P[]) {
    this.paramCount = paramNames.length;
    this.params = Object.fromEntries(paramNames.map((n, index) => [n, { index, type: 'i32' }])) as Record<P, Local>;
  }

  local(type: ValType): Local {
    this.extraLocals.push(type);
    return { index: this.paramCount + this.extraLocals.length - 1, type };
  }

  private op(...bytes: number[]): this { this.code.push(...bytes); return this; }
  private simd(opcode: number, ...immediates: number[]): this { return this.op(0xfd, ...uleb(opcode), ...immediates); }

  get(l: Local): this { return this.op(OP.localGet, ...uleb(l.index)); }
  set(l: Local): this { return this.op(OP.localSet, ...uleb(l.index)); }
  tee(l: Local): this { return this.op(OP.localTee, ...uleb(l.index)); }
  i32(n: number): this { return this.op(OP.i32Const, ...sleb(n)); }
  add(): this { return this.op(OP.i32Add); }
  sub(): this { return this.op(OP.i32Sub); }
  mul(): this { return this.op(OP.i32Mul); }
  eqz(): this { return this.op(OP.i32Eqz); }
  ltU(): this { return this.op(OP.i32LtU); }
  /** i32.load / i32.store with alignment hint 1 (the kernels move unaligned groups of 4 bytes). */
  load(offset = 0): this { return this.op(OP.i32Load, 0, ...uleb(offset)); }
  store(offset = 0): this { return this.op(OP.i32Store, 0, ...uleb(offset)); }
  v128Load(offset = 0): this { return this.simd(SIMD.load, 0, ...uleb(offset)); }
  v128Store(offset = 0): this { return this.simd(SIMD.store, 0, ...uleb(offset)); }
  i32x4Splat(): this { return this.simd(SIMD.i32x4Splat); }
  i16x8Splat(): this { return this.simd(SIMD.i16x8Splat); }
  /** v128.const with 16 byte lanes. */
  v128Const(bytes: readonly number[]): this { return this.simd(SIMD.v128Const, ...bytes); }
  /** i8x16.shuffle of the two operands by 16 lane indices (0-15: first operand, 16-31: second). */
  shuffle(lanes: readonly number[]): this { return this.simd(SIMD.i8x16Shuffle, ...lanes); }
  /** v128.bitselect(a, b, mask): bits of a where mask is 1, of b where it is 0. */
  bitselect(): this { return this.simd(SIMD.bitselect); }
  i16x8Add(): this { return this.simd(SIMD.i16x8Add); }
  i16x8Mul(): this { return this.simd(SIMD.i16x8Mul); }
  i16x8ShrU(): this { return this.simd(SIMD.i16x8ShrU); }
  i32x4Add(): this { return this.simd(SIMD.i32x4Add); }
  i32x4Mul(): this { return this.simd(SIMD.i32x4Mul); }
  i32x4ShrS(): this { return this.simd(SIMD.i32x4ShrS); }
  extendLowU8(): this { return this.simd(SIMD.i16x8ExtendLowI8x16U); }
  extendHighU8(): this { return this.simd(SIMD.i16x8ExtendHighI8x16U); }
  extendLowU16(): this { return this.simd(SIMD.i32x4ExtendLowI16x8U); }
  extendHighU16(): this { return this.simd(SIMD.i32x4ExtendHighI16x8U); }
  narrowI32ToI16S(): this { return this.simd(SIMD.i16x8NarrowI32x4S); }
  narrowI16ToU8(): this { return this.simd(SIMD.i8x16NarrowI16x8U); }

  /**
   * `for (counter = 0; counter < limit; counter += step) body()`, as block + loop with the test at
   * both ends (the body never runs when `limit` is 0).
   */
  forRange(counter: Local, limit: Local, step: number, body: () => void): this {
    this.i32(0).set(counter);
    this.op(OP.block, 0x40);
    this.get(counter).get(limit).ltU().eqz().op(OP.brIf, 0);
    this.op(OP.loop, 0x40);
    body();
    this.get(counter).i32(step).add().tee(counter).get(limit).ltU().op(OP.brIf, 0);
    this.op(OP.end, OP.end);
    return this;
  }

  encode(): { type: number[]; body: number[] } {
    const type = [0x60, ...vec(Array.from({ length: this.paramCount }, () => [VALTYPE.i32])), 0];
    const runs: number[][] = [];
    for (const t of this.extraLocals) runs.push([1, VALTYPE[t]]); // one (count, type) entry per local: simple and valid
    const body = [...vec(runs), ...this.code, OP.end];
    return { type, body: [...uleb(body.length), ...body] };
  }
}

/** A module importing `env.memory` and exporting the given functions (one type per function). */
export function assembleModule(functions: FunctionWriter[]): Uint8Array {
  const encoded = functions.map((f) => f.encode());
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(encoded.map((e) => e.type))),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]])), // memory, min 1 page, no max
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(functions.map((f, i) => [...name(f.exportName), 0x00, ...uleb(i)]))),
    ...section(10, vec(encoded.map((e) => e.body))),
  ];
  return new Uint8Array(bytes);
}
