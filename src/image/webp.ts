/**
 * WebP -> Pillow mode via libwebp (@jsquash). Pillow 9.4 (WebPImagePlugin with WebPAnimDecoder) opens
 * a WebP as 'RGBA' when WebPGetFeatures reports has_alpha, else 'RGB'. has_alpha comes from the
 * VP8X ALPHA flag, or the VP8L header's alpha_is_used bit; a plain VP8 stream has none.
 */
import { invalidImage, unsupportedImage } from './errors.js';
import { checkImageSize } from './limits.js';
import type { JpegWebpDecoder } from './decoderChoice.js';
import { nativeWebpPixels } from './nativeDecode.js';
import type { DecodedImage } from './types.js';
import { decodeWebpRgba, keepChannels, WasmDecodeError } from './wasmCodecs.js';

interface WebpFeatures { width: number; height: number; hasAlpha: boolean; animated: boolean }

function u24(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
}

/** Reads the first chunk after 'RIFF....WEBP' (libwebp's ParseHeadersInternal, simplified). */
function readFeatures(bytes: Uint8Array, source: string): WebpFeatures {
  if (bytes.length < 30) throw invalidImage(source, `truncated WebP: only ${bytes.length} bytes`);
  const riffSize = (bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24)) >>> 0;
  if (riffSize + 8 > bytes.length) throw invalidImage(source, `truncated WebP: RIFF says ${riffSize + 8} bytes, file has ${bytes.length}`);
  const fourcc = String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!);
  const body = 20;
  if (fourcc === 'VP8X') {
    const flags = bytes[body]!;
    return { hasAlpha: (flags & 0x10) !== 0, animated: (flags & 0x02) !== 0, width: u24(bytes, body + 4) + 1, height: u24(bytes, body + 7) + 1 };
  }
  if (fourcc === 'VP8L') {
    if (bytes[body] !== 0x2f) throw invalidImage(source, 'corrupt WebP: bad VP8L signature');
    const bits = (bytes[body + 1]! | (bytes[body + 2]! << 8) | (bytes[body + 3]! << 16) | (bytes[body + 4]! << 24)) >>> 0;
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, hasAlpha: ((bits >>> 28) & 1) === 1, animated: false };
  }
  if (fourcc === 'VP8 ') {
    // frame tag (3 bytes), start code 9d 01 2a, then 14-bit width / height
    if (bytes[body + 3] !== 0x9d || bytes[body + 4] !== 0x01 || bytes[body + 5] !== 0x2a) throw invalidImage(source, 'corrupt WebP: bad VP8 start code');
    const w = (bytes[body + 6]! | (bytes[body + 7]! << 8)) & 0x3fff;
    const h = (bytes[body + 8]! | (bytes[body + 9]! << 8)) & 0x3fff;
    return { width: w, height: h, hasAlpha: false, animated: false };
  }
  throw invalidImage(source, `corrupt WebP: unknown first chunk ${JSON.stringify(fourcc)}`);
}

/** Decodes a WebP file's bytes into 'RGB' or 'RGBA' with the wasm decoder, or sharp when `decoder` is 'native'. */
export async function decodeWebp(bytes: Uint8Array, source: string, decoder: JpegWebpDecoder = 'wasm'): Promise<DecodedImage> {
  const features = readFeatures(bytes, source);
  if (features.animated) throw unsupportedImage(source, 'animated WebP is not supported');
  checkImageSize(features.width, features.height, source);
  const mode = features.hasAlpha ? 'RGBA' : 'RGB';
  if (decoder === 'native') {
    // null: sharp rejected the file; the wasm decoder below decides and gives our usual diagnosis (nativeDecode.ts)
    const data = await nativeWebpPixels(bytes, { width: features.width, height: features.height, bands: features.hasAlpha ? 4 : 3 });
    if (data) return { mode, width: features.width, height: features.height, data, format: 'webp', decoder: 'native' };
  }
  let rgba;
  try {
    rgba = (await decodeWebpRgba(bytes)).pixels;
  } catch (err) {
    const why = err instanceof WasmDecodeError ? err.message : String(err);
    throw invalidImage(source, `corrupt WebP: libwebp cannot decode it (${why})`, err);
  }
  if (rgba.width !== features.width || rgba.height !== features.height) {
    throw invalidImage(source, `corrupt WebP: decoder gave ${rgba.width}x${rgba.height}, header says ${features.width}x${features.height}`);
  }
  return { mode, width: rgba.width, height: rgba.height, data: keepChannels(rgba, features.hasAlpha ? 4 : 3), format: 'webp', decoder: 'wasm' };
}
