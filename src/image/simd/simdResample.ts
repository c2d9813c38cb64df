/**
 * Pillow's 8-bit BICUBIC resize (resample.ts's plan, bit-identical results) on the WebAssembly SIMD
 * kernels of simdKernels.ts. The horizontal pass is the vertical kernel run on the transposed image:
 *   transpose rows [yFirst, yFirst + rows) -> pass (columns) -> transpose back -> pass (rows).
 * One module instance and one memory serve every call. The memory grows to the largest image seen,
 * up to KEEP_BYTES; a call that needed more drops the instance afterwards (a wasm memory cannot
 * shrink), so one huge image does not pin its memory for the life of the process.
 */
import { fixedPoint, planResample, type Box, type Coefficients, type Plane } from '../resample.js';
import { resampleModuleBytes } from './simdKernels.js';
import { unsupportedImage } from '../errors.js';

type Transpose = (src: number, srcStride: number, width: number, height: number, bands: number, dst: number, dstStride: number) => void;
type Pass = (src: number, srcStride: number, lineLen: number, dst: number, dstStride: number, nOut: number, bounds: number, coefs: number, ksize: number) => void;
type Premultiply = (ptr: number, len: number) => void;

interface WasmMemory { buffer: ArrayBuffer; grow(pages: number): number }
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

const PAGE = 65536;
/** Memory kept between calls: a 4096x4096 RGB image (and everything smaller) fits. */
const KEEP_BYTES = 128 * 2 ** 20;

interface Kernels { memory: WasmMemory; transpose: Transpose; pass: Pass; premultiply: Record<2 | 4, Premultiply> }
let kernels: Kernels | null | undefined;

/** The kernels, or null where WebAssembly SIMD is missing (the module does not validate). */
function loadKernels(): Kernels | null {
  if (kernels !== undefined) return kernels;
  const bytes = resampleModuleBytes();
  if (!wasmApi || !wasmApi.validate(bytes)) return (kernels = null);
  const memory = new wasmApi.Memory({ initial: 1 });
  const { exports } = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } });
  const premultiply = { 2: exports.premultiply2 as Premultiply, 4: exports.premultiply4 as Premultiply };
  return (kernels = { memory, transpose: exports.transpose as Transpose, pass: exports.pass as Pass, premultiply });
}

/** Bytes of wasm memory the kernels hold between calls (0 when no instance is alive). */
export function simdMemoryBytes(): number {
  return kernels ? kernels.memory.buffer.byteLength : 0;
}

/** Whether the SIMD resize runs here (Node >= 16.4 and current browsers have WebAssembly SIMD). */
export function simdResampleAvailable(): boolean {
  return loadKernels() !== null;
}

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** Bump allocator over the kernels' memory: 16-byte aligned regions, all sized before any is written. */
class Layout {
  size = 0;
  take(bytes: number): number {
    const at = this.size;
    this.size = align16(at + bytes);
    return at;
  }
}

/** Zeroes bytes [used, stride) of each of `lines` lines starting at `at`. */
function zeroTails(bytes: Uint8Array, at: number, lines: number, stride: number, used: number): void {
  for (let i = 0; i < lines; i++) bytes.fill(0, at + i * stride + used, at + (i + 1) * stride);
}

/** A pass's coefficients as the kernel reads them: (ymin, count) pairs, then each weight 4 times. */
function writeCoefficients(mem: ArrayBuffer, boundsAt: number, coefsAt: number, c: Coefficients): void {
  new Int32Array(mem, boundsAt, c.bounds.length).set(c.bounds);
  const fixed = fixedPoint(c.weights);
  const splat = new Int32Array(mem, coefsAt, fixed.length * 4);
  for (let i = 0; i < fixed.length; i++) splat.fill(fixed[i]!, 4 * i, 4 * i + 4);
}

/**
 * Grows the kernels' memory by `missing` bytes. A refusal (past wasm32's 4 GiB, or more than the
 * system gives) is the image's typed error, not WebAssembly's RangeError.
 */
function growMemory(memory: WasmMemory, missing: number, needed: number, imageName: string): void {
  try {
    memory.grow(Math.ceil(missing / PAGE));
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw unsupportedImage(imageName, `resizing it needs ${Math.ceil(needed / 2 ** 20)} MiB of WebAssembly memory, which cannot be had (${err.message})`);
  }
}

/**
 * Pillow BICUBIC resize of a uint8 image with any number of bands, or null without WebAssembly SIMD;
 * only the output `box` is computed and returned (resample.ts planResample), from the source rows it
 * needs. `premultiplyAlpha` (RGBA / LA input, `bands` 4 / 2) first premultiplies the colour bands by
 * alpha, as Image.resize does by converting to RGBa / La (convert.ts premultiplyAlpha, same bytes).
 */
export function resampleBicubic8Simd(src: Plane<Uint8Array>, xsize: number, ysize: number, premultiplyAlpha = false,
  box: Box = [0, 0, xsize, ysize], imageName = '<image>'): Plane<Uint8Array> | null {
  const k = loadKernels();
  if (!k) return null;
  const { width, height, bands } = src;
  if (premultiplyAlpha && bands !== 2 && bands !== 4) throw new Error(`premultiplyAlpha needs 2 or 4 bands, got ${bands}`);
  if (src.data.length !== width * height * bands) throw new RangeError(`a ${width}x${height}x${bands} plane needs ${width * height * bands} bytes, got ${src.data.length}`);
  const plan = planResample(width, height, xsize, ysize, box);
  const { horizontal: h, vertical: v, yFirst, rows } = plan;
  const [left, top, right, bottom] = box;
  const outW = right - left;
  const outH = bottom - top;
  const rowLen = outW * bands; // an output row
  const srcRowLen = width * bands;
  // Lines that a kernel reads or writes 16 bytes (pass) or 4 bytes (transpose) at a time get padding.
  const colStride = align16(rows * bands + 3); // a transposed line: one source column
  const rowStride = align16(rowLen + 3); // a row after the horizontal pass
  const layout = new Layout();
  const hBounds = h ? layout.take(outW * 8) : 0;
  const hCoefs = h ? layout.take(h.weights.length * 16) : 0;
  const vBounds = v ? layout.take(outH * 8) : 0;
  const vCoefs = v ? layout.take(v.weights.length * 16) : 0;
  const sourceLength = rows * srcRowLen; // only the source rows [yFirst, yFirst + rows)
  const source = layout.take(sourceLength + 16);
  const columns = h ? layout.take(width * colStride) : 0;
  const columnsOut = h ? layout.take(outW * colStride) : 0;
  const rowsOut = h ? layout.take(rows * rowStride) : 0;
  const final = v ? layout.take(outH * rowStride) : 0;
  const missing = layout.size - k.memory.buffer.byteLength;
  if (missing > 0) growMemory(k.memory, missing, layout.size, imageName);
  const mem = k.memory.buffer;
  new Uint8Array(mem, source, sourceLength).set(src.data.subarray(yFirst * srcRowLen, (yFirst + rows) * srcRowLen));
  // The kernels read whole 16-byte (pass) and 4-byte (transpose) groups, so they also read the
  // padding after the source and after each line's bytes: zeroed, so that no byte an earlier call
  // left in this memory is ever read (everything else they read is written by this call first).
  const bytes = new Uint8Array(mem);
  bytes.fill(0, source + sourceLength, source + sourceLength + 16);
  if (h) {
    zeroTails(bytes, columns, width, colStride, rows * bands);
    zeroTails(bytes, columnsOut, outW, colStride, rows * bands);
    zeroTails(bytes, rowsOut, rows, rowStride, rowLen);
  }
  if (premultiplyAlpha) k.premultiply[bands as 2 | 4](source, sourceLength);

  // The current image: rows `lineStride` bytes apart, `rowLen` bytes each (without a horizontal pass,
  // the source's rows from column `left`).
  let lines = source + left * bands;
  let lineStride = srcRowLen;
  if (h) {
    writeCoefficients(mem, hBounds, hCoefs, h);
    k.transpose(source, srcRowLen, width, rows, bands, columns, colStride);
    k.pass(columns, colStride, rows * bands, columnsOut, colStride, outW, hBounds, hCoefs, h.ksize);
    k.transpose(columnsOut, colStride, rows, outW, bands, rowsOut, rowStride);
    lines = rowsOut;
    lineStride = rowStride;
  }
  if (v) {
    writeCoefficients(mem, vBounds, vCoefs, v);
    k.pass(lines, lineStride, rowLen, final, rowStride, outH, vBounds, vCoefs, v.ksize);
    lines = final;
    lineStride = rowStride;
  }
  const out = new Uint8Array(rowLen * outH);
  for (let y = 0; y < outH; y++) out.set(bytes.subarray(lines + y * lineStride, lines + y * lineStride + rowLen), y * rowLen);
  if (mem.byteLength > KEEP_BYTES) kernels = undefined; // a wasm memory cannot shrink: let this one go
  return { data: out, width: outW, height: outH, bands };
}
