/**
 * zlib inflate of a PNG's concatenated IDAT payloads, by Node's native zlib where the runtime has it
 * (`process.getBuiltinModule`, Node >= 20.16; looked up at call time, so this module imports nothing
 * from Node and stays usable in a browser) and by upng-js's inflate (pako 1.0) elsewhere.
 *
 * Output is capped: `inflate(data, maxOutput)` gives at most the first `maxOutput` bytes and never holds
 * much more (the PNG decoder passes what the header needs; Pillow's ZipDecode also stops once the last
 * row is complete and ignores the rest of the stream). Node's inflateSync stops at `maxOutputLength`
 * but then throws away what it had, so a stream longer than the cap is inflated again by pako, which is
 * driven chunk by chunk (16 KiB) and stopped at the cap. upng-js's own `_inflate` is pako.inflate with no
 * cap, so the browser path drives pako's Inflate (the library upng-js ships) the same way.
 *
 * Both inflaters give the same answer for every input (test/image.png.test.ts runs the same cases through both):
 * - a stream cut short (or empty) returns the bytes it holds, no error: the caller compares the length
 *   with what the image needs and reports truncation (Pillow 9.4: "image file is truncated");
 * - corrupt data (bad zlib header, bad code, bad Adler-32 checksum) throws an InflateError carrying
 *   zlib's own message (Pillow 9.4: "broken data stream when reading image file", bad checksum included);
 * - bytes after the end of the zlib stream are ignored, and so is a missing Adler-32 (Pillow 9.4 too);
 * - a stream longer than `maxOutput` gives its first `maxOutput` bytes (its tail, checksum included, is
 *   never looked at).
 */
import pako from 'pako';
import { ImageRewardError } from '../errors.js';

/** Data that is not a valid zlib stream; the message is zlib's (e.g. "incorrect data check"). */
export class InflateError extends ImageRewardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('IMAGE_INVALID', message, options);
  }
}

export interface Inflater {
  readonly name: 'node-zlib' | 'upng-js';
  /**
   * Inflates a zlib stream, at most `maxOutput` bytes of it (default: no cap; see the file comment for
   * truncated, corrupt and over-long input).
   */
  inflate(data: Uint8Array, maxOutput?: number): Uint8Array;
}

/** Thrown out of pako's onData to stop it once the cap is reached. */
const CAP_REACHED = Symbol('cap reached');

/** pako.inflate (what upng-js's `_inflate` calls), stopped after `maxOutput` bytes. */
function pakoInflate(data: Uint8Array, maxOutput: number): Uint8Array {
  // pako reports "buffer error" for empty input, where zlib with Z_SYNC_FLUSH returns nothing
  if (data.length === 0 || maxOutput <= 0) return new Uint8Array(0);
  const inflater = new pako.Inflate({ chunkSize: 16384 });
  const chunks: Uint8Array[] = [];
  let total = 0;
  inflater.onData = (chunk: Uint8Array) => {
    chunks.push(chunk);
    total += chunk.length;
    if (total >= maxOutput) throw CAP_REACHED;
  };
  let capped = false;
  try {
    inflater.push(data, true);
  } catch (err) {
    if (err !== CAP_REACHED) throw err;
    capped = true;
  }
  if (!capped && inflater.err) throw new InflateError(inflater.msg);
  const out = new Uint8Array(Math.min(total, maxOutput));
  let at = 0;
  for (const c of chunks) {
    if (at >= out.length) break;
    out.set(c.subarray(0, out.length - at), at);
    at += c.length;
  }
  return out;
}

/** upng-js's inflate (pako 1.0), capped (see the file comment). */
export const upngInflater: Inflater = {
  name: 'upng-js',
  inflate(data: Uint8Array, maxOutput = Number.POSITIVE_INFINITY): Uint8Array {
    return pakoInflate(data, maxOutput);
  },
};

type NodeZlib = typeof import('node:zlib');

/** Node's zlib, or null outside Node (or in a Node without `process.getBuiltinModule`). */
function nodeZlib(): NodeZlib | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: 'node:zlib') => NodeZlib | undefined } }).process;
  return proc?.getBuiltinModule?.('node:zlib') ?? null;
}

function makeNodeInflater(zlib: NodeZlib): Inflater {
  // Z_SYNC_FLUSH as the final flush: a cut stream gives its partial output instead of
  // "unexpected end of file" (what pako.inflate returns too)
  const options = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
  return {
    name: 'node-zlib',
    inflate(data: Uint8Array, maxOutput = Number.POSITIVE_INFINITY): Uint8Array {
      let out: Uint8Array;
      const capped = Number.isFinite(maxOutput);
      try {
        out = zlib.inflateSync(data, capped ? { ...options, maxOutputLength: Math.max(1, maxOutput) } : options);
      } catch (err) {
        // longer than the cap: inflateSync dropped its output, pako gives the first maxOutput bytes
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return pakoInflate(data, maxOutput);
        throw new InflateError(err instanceof Error ? err.message : String(err), { cause: err });
      }
      // a plain Uint8Array view: Buffer's slice() would share memory where Uint8Array's copies
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    },
  };
}

const zlibModule = nodeZlib();

/** The native inflater, or null where Node's zlib is not reachable. */
export const nodeInflater: Inflater | null = zlibModule === null ? null : makeNodeInflater(zlibModule);

/** Node's zlib where available, else upng-js's inflate. */
export const defaultInflater: Inflater = nodeInflater ?? upngInflater;

/**
 * zlib.decompressobj().decompress(data, maxBytes) as Pillow's `_safe_zlib_decompress` uses it for
 * text and ICC chunks: 'too-large' when the stream holds more than `maxBytes` bytes, 'corrupt' when
 * zlib fails first, else the (possibly partial) output. Node's zlib stops at `maxBytes`; upng-js's
 * inflate (no Node) has no cap and is checked after the fact.
 */
export function inflateUpTo(data: Uint8Array, maxBytes: number): Uint8Array | 'too-large' | 'corrupt' {
  if (zlibModule === null) {
    let out: Uint8Array;
    try {
      out = upngInflater.inflate(data);
    } catch {
      return 'corrupt';
    }
    return out.length > maxBytes ? 'too-large' : out;
  }
  try {
    const out = zlibModule.inflateSync(data, { finishFlush: zlibModule.constants.Z_SYNC_FLUSH, maxOutputLength: maxBytes });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    return (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? 'too-large' : 'corrupt';
  }
}
