/**
 * Lazy, once-only initialisation of the @jsquash wasm decoders (libjpeg-turbo-based mozjpeg and
 * libwebp). In Node the .wasm files are read from disk (the packages' default loader fetches a URL);
 * in a browser the packages' own loader is used.
 */
import decodeJpegWasm, { init as initJpeg } from '@jsquash/jpeg/decode.js';
import decodeWebpWasm, { init as initWebp } from '@jsquash/webp/decode.js';

/** The decoders' output: RGBA, 4 bytes per pixel (an ImageData-like object). */
export interface RgbaPixels { data: Uint8ClampedArray; width: number; height: number }

/** A compiled WebAssembly.Module (the project's `lib` has no WebAssembly types). */
type WasmModule = object;
type Init = (module?: WasmModule, overrides?: { printErr(message: string): void }) => Promise<void>;
const wasmApi = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> } }).WebAssembly;

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * The .wasm file of a package, read from disk. Node's modules come from `process.getBuiltinModule`
 * (Node >= 20.16) rather than an import, so that bundling this file for a browser needs no stubs.
 */
async function compileFromPackage(specifier: string): Promise<WasmModule> {
  const { readFile } = process.getBuiltinModule('node:fs/promises');
  const { createRequire } = process.getBuiltinModule('node:module');
  return wasmApi.compile(await readFile(createRequire(import.meta.url).resolve(specifier)));
}

/** Decoder heap kept between calls: the output of a 4096x4096 image (and everything smaller) fits. */
const KEEP_BYTES = 64 * 2 ** 20;

/**
 * One wasm decoder: initialised on first use, its stderr (libjpeg's warnings such as "Premature end
 * of JPEG file") captured per call, and calls run one at a time so each call sees only its own
 * messages. An emscripten heap only grows, so after an image whose output exceeds `keepBytes` the
 * next call starts a fresh instance (the compiled module is kept) and the big heap can be collected.
 */
export class WasmDecoder {
  private ready: Promise<void> | null = null;
  private compiled: Promise<WasmModule | undefined> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private messages: string[] = [];

  constructor(private readonly init: Init, private readonly wasmSpecifier: string,
    private readonly decode: (buffer: ArrayBuffer) => Promise<RgbaPixels>, private readonly keepBytes = KEEP_BYTES) {}

  run(bytes: Uint8Array): Promise<{ pixels: RgbaPixels; messages: string[] }> {
    const job = this.queue.then(async () => {
      this.ready ??= (async () => {
        this.compiled ??= isNode ? compileFromPackage(this.wasmSpecifier) : Promise.resolve(undefined);
        await this.init(await this.compiled, { printErr: (m: string) => { this.messages.push(m); } });
      })();
      await this.ready;
      this.messages = [];
      try {
        const pixels = await this.decode(ownBuffer(bytes));
        if (pixels.data.byteLength > this.keepBytes) this.ready = null;
        return { pixels, messages: this.messages };
      } catch (err) {
        // A failed decode can leave the emscripten instance corrupt (after some aborts every later
        // call fails with "memory access out of bounds"), so the next call starts a fresh one.
        this.ready = null;
        throw new WasmDecodeError(this.messages, err);
      }
    });
    this.queue = job.catch(() => undefined);
    return job;
  }
}

/** A wasm decoder failure, with the library's own messages (e.g. "Unsupported color conversion request"). */
export class WasmDecodeError extends Error {
  constructor(readonly messages: string[], cause: unknown) {
    super(messages.length ? messages.join('; ') : String(cause), { cause });
  }
}

// preserveOrientation false: no EXIF rotation, as Pillow's Image.open (upstream never calls exif_transpose)
const jpegDecoder = new WasmDecoder(initJpeg as Init, '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm', (b) => decodeJpegWasm(b, { preserveOrientation: false }));
const webpDecoder = new WasmDecoder(initWebp as Init, '@jsquash/webp/codec/dec/webp_dec.wasm', (b) => decodeWebpWasm(b));

/**
 * A fresh ArrayBuffer holding exactly the file's bytes (a Node Buffer is often a view into a shared
 * pool, and Buffer#slice does not copy).
 */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  return whole ? bytes.buffer as ArrayBuffer : new Uint8Array(bytes).buffer as ArrayBuffer;
}

/** libjpeg-turbo (mozjpeg build) decode to RGBA; `messages` are libjpeg's warnings. Throws WasmDecodeError. */
export function decodeJpegRgba(bytes: Uint8Array): Promise<{ pixels: RgbaPixels; messages: string[] }> {
  return jpegDecoder.run(bytes);
}

/** libwebp decode to (non-premultiplied) RGBA. Throws WasmDecodeError. */
export function decodeWebpRgba(bytes: Uint8Array): Promise<{ pixels: RgbaPixels; messages: string[] }> {
  return webpDecoder.run(bytes);
}

/**
 * Keeps the first `bands` channels of RGBA pixels (1: the gray that libjpeg replicated, 3: RGB, 4: all,
 * as a view: each decode returns a fresh buffer that nothing else holds).
 */
export function keepChannels(rgba: RgbaPixels, bands: 1 | 3 | 4): Uint8Array {
  const n = rgba.width * rgba.height;
  const src = rgba.data;
  if (bands === 4) return new Uint8Array(src.buffer, src.byteOffset, n * 4);
  if (bands === 3 && src.byteOffset % 4 === 0) return rgbaToRgb(new Uint32Array(src.buffer, src.byteOffset, n), n);
  const out = new Uint8Array(n * bands);
  if (bands === 1) {
    for (let i = 0; i < n; i++) out[i] = src[4 * i]!;
  } else {
    for (let i = 0, j = 0, k = 0; i < n; i++, j += 3, k += 4) {
      out[j] = src[k]!; out[j + 1] = src[k + 1]!; out[j + 2] = src[k + 2]!;
    }
  }
  return out;
}

/**
 * RGBA -> RGB four pixels (16 bytes in, three 32-bit words out) at a time. The packing assumes
 * little-endian words; elsewhere, and for the last n % 4 pixels, bytes are copied one by one.
 */
function rgbaToRgb(words: Uint32Array, n: number): Uint8Array {
  const out = new Uint8Array(n * 3);
  const groups = n >> 2;
  const outWords = new Uint32Array(out.buffer, 0, groups * 3);
  const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  if (littleEndian) {
    for (let g = 0, i = 0, o = 0; g < groups; g++, i += 4, o += 3) {
      const p0 = words[i]!, p1 = words[i + 1]!, p2 = words[i + 2]!, p3 = words[i + 3]!;
      outWords[o] = (p0 & 0xffffff) | (p1 << 24);
      outWords[o + 1] = ((p1 >>> 8) & 0xffff) | (p2 << 16);
      outWords[o + 2] = ((p2 >>> 16) & 0xff) | (p3 << 8);
    }
  }
  const bytes = new Uint8Array(words.buffer, words.byteOffset, n * 4);
  for (let i = littleEndian ? groups * 4 : 0; i < n; i++) {
    out[3 * i] = bytes[4 * i]!; out[3 * i + 1] = bytes[4 * i + 1]!; out[3 * i + 2] = bytes[4 * i + 2]!;
  }
  return out;
}
