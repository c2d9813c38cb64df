/**
 * Optional native JPEG / WebP decoding through sharp (libvips with mozjpeg's libjpeg-turbo and
 * libwebp), the counterpart of wasmCodecs.ts. sharp is an optionalDependency: it is imported lazily,
 * only in Node, and only when a native decode is wanted; nothing here runs at import time, so this
 * module is safe in a browser bundle (where sharp is simply never available).
 */
import { firstLine } from '../util/text.js';

/** The slice of sharp's API used here (typed locally: sharp may be absent when this compiles). */
interface SharpInstance {
  removeAlpha(): SharpInstance;
  ensureAlpha(): SharpInstance;
  raw(): SharpInstance;
  toBuffer(options: { resolveWithObject: true }): Promise<{ data: Uint8Array; info: { width: number; height: number; channels: number } }>;
}
interface SharpInputOptions {
  ignoreIcc: boolean;
  autoOrient: boolean;
  failOn: 'none' | 'truncated' | 'error' | 'warning';
  limitInputPixels: false;
}
export interface SharpModule {
  (input: Uint8Array, options: SharpInputOptions): SharpInstance;
  versions: { sharp?: string; vips: string };
}

/** Resolves to sharp's default export. Replaceable (setSharpLoader) for tests and custom bundles. */
export type SharpLoader = () => Promise<SharpModule>;

export type NativeStatus = { available: true; version: string } | { available: false; reason: string };

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

// A specifier in a variable keeps bundlers from trying to resolve sharp for a browser build.
const SHARP_SPECIFIER = 'sharp';

const defaultLoader: SharpLoader = async () => {
  if (!isNode) throw new Error('sharp is a Node.js native module and cannot run here');
  const mod = (await import(/* webpackIgnore: true */ /* @vite-ignore */ SHARP_SPECIFIER)) as { default?: SharpModule };
  if (typeof mod.default !== 'function') throw new Error('the "sharp" module has no default export function');
  return mod.default;
};

let loader: SharpLoader = defaultLoader;
let loaded: Promise<{ sharp: SharpModule } | { reason: string }> | null = null;

function load(): Promise<{ sharp: SharpModule } | { reason: string }> {
  loaded ??= loader().then(
    (sharp) => ({ sharp }),
    (err: unknown) => ({ reason: firstLine(err instanceof Error ? err.message : String(err)) }),
  );
  return loaded;
}

/** Replaces how sharp is loaded (undefined: the default dynamic import) and forgets the last result. */
export function setSharpLoader(custom: SharpLoader | undefined): void {
  loader = custom ?? defaultLoader;
  loaded = null;
}

/** Whether sharp loads here (it is loaded once; the answer is cached). */
export async function nativeDecoderStatus(): Promise<NativeStatus> {
  const result = await load();
  if ('reason' in result) return { available: false, reason: result.reason };
  return { available: true, version: `sharp ${result.sharp.versions.sharp ?? '?'}, libvips ${result.sharp.versions.vips}` };
}

/** sharp's decoded pixels: `channels` interleaved uint8 values per pixel. */
export interface NativePixels { data: Uint8Array; width: number; height: number; channels: number }

/**
 * Decodes a JPEG or WebP to its stored pixels with sharp, or throws sharp's own error. Guards that
 * keep the pixels identical to the wasm decoders (and to Pillow):
 * - ignoreIcc: no colour management (Pillow keeps the stored values; the ICC profile is only metadata);
 * - autoOrient false: no EXIF rotation (Pillow's Image.open does not rotate);
 * - failOn 'truncated': a file that ends early fails (Pillow: "image file is truncated", where
 *   libjpeg alone would only warn and pad with gray); other libjpeg warnings ("Corrupt JPEG data:
 *   ...") are tolerated as Pillow tolerates them, and libjpeg errors fail;
 * - limitInputPixels false: the size limit is ours (limits.ts, Pillow's), checked before decoding;
 * - `alpha` forces the alpha band on or off, as the caller's header parse decided the mode.
 */
export async function decodeWithSharp(bytes: Uint8Array, alpha: 'keep' | 'add' | 'remove'): Promise<NativePixels> {
  const result = await load();
  if ('reason' in result) throw new Error(`sharp is not available: ${result.reason}`);
  let image = result.sharp(bytes, { ignoreIcc: true, autoOrient: false, failOn: 'truncated', limitInputPixels: false });
  if (alpha === 'add') image = image.ensureAlpha();
  if (alpha === 'remove') image = image.removeAlpha();
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
}
