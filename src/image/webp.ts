/**
 * WebP -> Pillow mode via libwebp (@jsquash). Pillow 9.4 (WebPImagePlugin with WebPAnimDecoder) opens
 * a WebP as 'RGBA' when WebPGetFeatures reports has_alpha, else 'RGB'. has_alpha comes from the
 * VP8X ALPHA flag, or the VP8L header's alpha_is_used bit; a plain VP8 stream has none.
 */
import { invalidImage } from './errors.js';
import { checkImageSize } from './limits.js';
import type { JpegWebpDecoder } from './decoderChoice.js';
import { nativeWebpPixels } from './nativeDecode.js';
import type { DecodedImage } from './types.js';
import { decodeWebpRgba, keepChannels, WasmDecodeError, type RgbaPixels } from './wasmCodecs.js';

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

const fourccAt = (b: Uint8Array, at: number): string => String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
const u32le = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

function riffChunk(fourcc: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length + (body.length & 1));
  out.set([...fourcc].map((c) => c.charCodeAt(0)));
  new DataView(out.buffer).setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}

/**
 * An animated WebP's first frame as Pillow 9.4 gives it (WebPAnimDecoder, anim_decode.c): the canvas
 * starts as transparent black (the ANIM background colour is not used) and the first frame, a key
 * frame, is copied into its rectangle without blending. Its ALPH + VP8 / VP8L chunks are decoded
 * as a still image by the same libwebp decoder.
 */
async function decodeFirstFrame(bytes: Uint8Array, features: WebpFeatures, source: string): Promise<RgbaPixels> {
  const end = Math.min(bytes.length, 8 + u32le(bytes, 4));
  let at = 12;
  for (; at + 8 <= end; at += 8 + u32le(bytes, at + 4) + (u32le(bytes, at + 4) & 1)) if (fourccAt(bytes, at) === 'ANMF') break;
  if (at + 8 > end) throw invalidImage(source, 'corrupt WebP: animated, but no ANMF frame');
  const size = u32le(bytes, at + 4);
  if (size < 16 || at + 8 + size > end) throw invalidImage(source, 'corrupt WebP: truncated ANMF frame');
  const f = at + 8;
  const [x, y, w, h] = [2 * u24(bytes, f), 2 * u24(bytes, f + 3), u24(bytes, f + 6) + 1, u24(bytes, f + 9) + 1];
  if (x + w > features.width || y + h > features.height) throw invalidImage(source, `corrupt WebP: first frame ${w}x${h} at ${x},${y} outside the ${features.width}x${features.height} canvas`);
  const parts: Uint8Array[] = [];
  let alpha = false;
  for (let c = f + 16; c + 8 <= f + size; c += 8 + u32le(bytes, c + 4) + (u32le(bytes, c + 4) & 1)) {
    const kind = fourccAt(bytes, c);
    const body = bytes.subarray(c + 8, Math.min(c + 8 + u32le(bytes, c + 4), f + size));
    if (kind === 'ALPH') { alpha = true; parts.push(riffChunk(kind, body)); }
    if (kind === 'VP8 ' || kind === 'VP8L') { parts.push(riffChunk(kind, body)); break; }
  }
  if (parts.length === 0 || !['VP8 ', 'VP8L'].includes(fourccAt(parts.at(-1)!, 0))) throw invalidImage(source, 'corrupt WebP: first frame has no image data');
  if (alpha) {
    const vp8x = new Uint8Array(10);
    vp8x[0] = 0x10;
    vp8x.set([(w - 1) & 255, ((w - 1) >> 8) & 255, (w - 1) >> 16, (h - 1) & 255, ((h - 1) >> 8) & 255, (h - 1) >> 16], 4);
    parts.unshift(riffChunk('VP8X', vp8x));
  }
  const payload = parts.reduce((n, p) => n + p.length, 4);
  const still = new Uint8Array(8 + payload);
  still.set([0x52, 0x49, 0x46, 0x46]);
  new DataView(still.buffer).setUint32(4, payload, true);
  still.set([0x57, 0x45, 0x42, 0x50], 8);
  parts.reduce((o, p) => { still.set(p, o); return o + p.length; }, 12);
  const frame = await decodeStill(still, source);
  if (frame.width !== w || frame.height !== h) throw invalidImage(source, `corrupt WebP: first frame decodes to ${frame.width}x${frame.height}, ANMF says ${w}x${h}`);
  const canvas = new Uint8ClampedArray(features.width * features.height * 4);
  for (let r = 0; r < h; r++) canvas.set(frame.data.subarray(r * w * 4, (r + 1) * w * 4), ((y + r) * features.width + x) * 4);
  return { data: canvas, width: features.width, height: features.height };
}

async function decodeStill(bytes: Uint8Array, source: string): Promise<RgbaPixels> {
  try {
    return (await decodeWebpRgba(bytes)).pixels;
  } catch (err) {
    const why = err instanceof WasmDecodeError ? err.message : String(err);
    throw invalidImage(source, `corrupt WebP: libwebp cannot decode it (${why})`, err);
  }
}

/**
 * Decodes a WebP file's bytes into 'RGB' or 'RGBA' with the wasm decoder, or sharp when `decoder` is
 * 'native' (an animated file: its first frame, by the wasm decoder).
 */
export async function decodeWebp(bytes: Uint8Array, source: string, decoder: JpegWebpDecoder = 'wasm'): Promise<DecodedImage> {
  const features = readFeatures(bytes, source);
  checkImageSize(features.width, features.height, source);
  const mode = features.hasAlpha ? 'RGBA' : 'RGB';
  if (features.animated) {
    const rgba = await decodeFirstFrame(bytes, features, source);
    return { mode, width: rgba.width, height: rgba.height, data: keepChannels(rgba, features.hasAlpha ? 4 : 3), format: 'webp', decoder: 'wasm' };
  }
  if (decoder === 'native') {
    // null: sharp rejected the file; the wasm decoder below decides and gives our usual diagnosis (nativeDecode.ts)
    const data = await nativeWebpPixels(bytes, { width: features.width, height: features.height, bands: features.hasAlpha ? 4 : 3 });
    if (data) return { mode, width: features.width, height: features.height, data, format: 'webp', decoder: 'native' };
  }
  const rgba = await decodeStill(bytes, source);
  if (rgba.width !== features.width || rgba.height !== features.height) {
    throw invalidImage(source, `corrupt WebP: decoder gave ${rgba.width}x${rgba.height}, header says ${features.width}x${features.height}`);
  }
  return { mode, width: rgba.width, height: rgba.height, data: keepChannels(rgba, features.hasAlpha ? 4 : 3), format: 'webp', decoder: 'wasm' };
}
