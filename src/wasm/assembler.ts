/**
 * Just enough of a WebAssembly binary writer to build our SIMD kernels from TypeScript (no toolchain,
 * no committed .wasm): the resize kernels of src/image/simd/simdKernels.ts and the elementwise
 * kernels of src/blas/simdElementwise.ts. One imported memory (private, or shared for a threaded
 * host), functions with i32 / f32 / f64 parameters and no results, and the scalar and 128-bit SIMD
 * instructions those kernels use. Encodings follow the WebAssembly core spec (binary format,
 * chapter 5), the fixed-width SIMD proposal's opcode table and the threads proposal's shared limits.
 */

export type ValType = 'i32' | 'f32' | 'f64' | 'v128';
const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

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
  i32Load: 0x28, f32Load: 0x2a, f64Load: 0x2b, i32Store: 0x36, f32Store: 0x38, f64Store: 0x39,
  i32Const: 0x41, f32Const: 0x43, f64Const: 0x44, i32Eqz: 0x45, i32LtU: 0x49,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c,
} as const;

/** Instructions without immediates by their text-format name: one byte (scalar) or 0xFD + LEB128 (SIMD). */
const PLAIN = {
  'i32.and': 0x71, 'i32.shl': 0x74,
  'f32.abs': 0x8b, 'f32.neg': 0x8c, 'f32.sqrt': 0x91, 'f32.add': 0x92, 'f32.sub': 0x93, 'f32.mul': 0x94, 'f32.div': 0x95,
  'f32.min': 0x96, 'f32.max': 0x97,
  'f64.sqrt': 0x9f, 'f64.add': 0xa0, 'f64.sub': 0xa1, 'f64.mul': 0xa2, 'f64.div': 0xa3,
  'f32.demote_f64': 0xb6, 'f64.convert_i32_u': 0xb8, 'f64.promote_f32': 0xbb,
} as const;
const PLAIN_SIMD = {
  'f32x4.splat': 0x13, 'f64x2.splat': 0x14,
  'f32x4.eq': 0x41, 'f32x4.lt': 0x43, 'f32x4.gt': 0x44, 'f32x4.le': 0x45, 'f32x4.ge': 0x46,
  'v128.not': 0x4d, 'v128.and': 0x4e, 'v128.andnot': 0x4f, 'v128.or': 0x50, 'v128.xor': 0x51, 'v128.bitselect': 0x52,
  'f32x4.demote_f64x2_zero': 0x5e, 'f64x2.promote_low_f32x4': 0x5f, 'f32x4.nearest': 0x6a,
  'i32x4.shl': 0xab, 'i32x4.add': 0xae,
  'f32x4.abs': 0xe0, 'f32x4.neg': 0xe1, 'f32x4.sqrt': 0xe3, 'f32x4.add': 0xe4, 'f32x4.sub': 0xe5, 'f32x4.mul': 0xe6,
  'f32x4.div': 0xe7, 'f32x4.min': 0xe8, 'f32x4.max': 0xe9, 'f32x4.pmin': 0xea, 'f32x4.pmax': 0xeb,
  'f64x2.add': 0xf0, 'f64x2.sub': 0xf1, 'f64x2.mul': 0xf2, 'f64x2.div': 0xf3,
  'i32x4.trunc_sat_f32x4_s': 0xf8, 'f32x4.convert_i32x4_s': 0xfa,
} as const;
export type PlainInstruction = keyof typeof PLAIN | keyof typeof PLAIN_SIMD;

/** SIMD opcodes, written as 0xFD then the opcode as a LEB128 u32. */
const SIMD = {
  load: 0x00, load32Splat: 0x09, store: 0x0b, store32Lane: 0x5a, f32x4ExtractLane: 0x1f, f64x2ExtractLane: 0x21, v128Const: 0x0c, i8x16Shuffle: 0x0d, i16x8Splat: 0x10, i32x4Splat: 0x11, bitselect: 0x52,
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
  /** The parameters by name, in declaration order. */
  readonly params: Readonly<Record<P, Local>>;
  private readonly paramTypes: ValType[];

  /** Parameters are i32 unless `types` names another type for them. */
  constructor(readonly exportName: string, paramNames: readonly P[], types: Partial<Record<P, ValType>> = {}) {
    this.paramTypes = paramNames.map((n) => types[n] ?? 'i32');
    this.params = Object.fromEntries(paramNames.map((n, index) => [n, { index, type: this.paramTypes[index]! }])) as Record<P, Local>;
  }

  local(type: ValType): Local {
    this.extraLocals.push(type);
    return { index: this.paramTypes.length + this.extraLocals.length - 1, type };
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
  /** v128.load32_splat: one 32-bit value into all four lanes. */
  v128Load32Splat(offset = 0): this { return this.simd(SIMD.load32Splat, 0, ...uleb(offset)); }
  /** v128.store32_lane: stores one 32-bit lane. */
  v128Store32Lane(lane: number, offset = 0): this { return this.simd(SIMD.store32Lane, 0, ...uleb(offset), lane); }
  f32Load(offset = 0): this { return this.op(OP.f32Load, 0, ...uleb(offset)); }
  f32Store(offset = 0): this { return this.op(OP.f32Store, 0, ...uleb(offset)); }
  f64Load(offset = 0): this { return this.op(OP.f64Load, 0, ...uleb(offset)); }
  f64Store(offset = 0): this { return this.op(OP.f64Store, 0, ...uleb(offset)); }
  f32(value: number): this { return this.op(OP.f32Const, ...littleEndian(new Float32Array([value]))); }
  f64(value: number): this { return this.op(OP.f64Const, ...littleEndian(new Float64Array([value]))); }
  /** v128.const with `value` (rounded to float32) in all four f32 lanes. */
  f32x4(value: number): this { return this.simd(SIMD.v128Const, ...littleEndian(new Float32Array([value, value, value, value]))); }
  f32x4ExtractLane(lane: number): this { return this.simd(SIMD.f32x4ExtractLane, lane); }
  f64x2ExtractLane(lane: number): this { return this.simd(SIMD.f64x2ExtractLane, lane); }
  /** Any instruction without immediates, by its text-format name (`f32x4.mul`, `f64.sqrt`, ...). */
  ins(instruction: PlainInstruction): this {
    if (instruction in PLAIN) return this.op(PLAIN[instruction as keyof typeof PLAIN]);
    return this.simd(PLAIN_SIMD[instruction as keyof typeof PLAIN_SIMD]);
  }
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
   * `for (counter = start; counter < limit; counter += step) body()` (unsigned compare, start 0 unless
   * a local is given), as block + loop with the test at both ends (the body never runs when
   * start >= limit).
   */
  forRange(counter: Local, limit: Local, step: number, body: () => void, start?: Local): this {
    if (start) this.get(start).set(counter);
    else this.i32(0).set(counter);
    this.op(OP.block, 0x40);
    this.get(counter).get(limit).ltU().eqz().op(OP.brIf, 0);
    this.op(OP.loop, 0x40);
    body();
    this.get(counter).i32(step).add().tee(counter).get(limit).ltU().op(OP.brIf, 0);
    this.op(OP.end, OP.end);
    return this;
  }

  encode(): { type: number[]; body: number[] } {
    const type = [0x60, ...vec(this.paramTypes.map((t) => [VALTYPE[t]])), 0];
    const runs: number[][] = [];
    for (const t of this.extraLocals) runs.push([1, VALTYPE[t]]); // one (count, type) entry per local: simple and valid
    const body = [...vec(runs), ...this.code, OP.end];
    return { type, body: [...uleb(body.length), ...body] };
  }
}

function littleEndian(values: Float32Array | Float64Array): number[] {
  return [...new Uint8Array(values.buffer)]; // typed arrays are little-endian on every host wasm runs on
}

/** 4 GiB in 64 KiB pages: the largest wasm32 memory, the maximum a shared memory import declares. */
const MAX_PAGES = 65536;

/**
 * A module importing `env.memory` and exporting the given functions (one type per function). With
 * `sharedMemory` the import is a shared memory with maximum 4 GiB (what a threaded emscripten build
 * such as tfjs-backend-wasm's threaded-SIMD one exports; a shared import must declare a maximum at
 * least the memory's own), else an ordinary memory with no maximum.
 */
export function assembleModule(functions: FunctionWriter[], options: { sharedMemory?: boolean } = {}): Uint8Array {
  const encoded = functions.map((f) => f.encode());
  const limits = options.sharedMemory ? [0x03, ...uleb(1), ...uleb(MAX_PAGES)] : [0x00, ...uleb(1)];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(encoded.map((e) => e.type))),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])), // memory, min 1 page
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(functions.map((f, i) => [...name(f.exportName), 0x00, ...uleb(i)]))),
    ...section(10, vec(encoded.map((e) => e.body))),
  ];
  return new Uint8Array(bytes);
}
