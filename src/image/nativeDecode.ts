/**
 * JPEG / WebP pixels from sharp, in the band layout the caller's header parse chose (jpeg.ts,
 * webp.ts keep deciding the mode, size checks and refusals).
 *
 * Errors are not diagnosed here. sharp's messages differ from libjpeg's, so whenever sharp rejects a
 * file (truncated, libjpeg / libwebp error), returns something unexpected, or the JPEG's marker
 * structure is not plain (jpegStructure.ts), these functions return null and the caller runs the
 * wasm decoder on the file: its error is our usual diagnosis, word for word. This is not a fallback
 * for valid files: a well-formed file that sharp decodes never reaches the wasm decoder.
 *
 * Measured against Pillow 9.4 (test/data/native-corrupt-cases.json, test/data/*cases.json), sharp
 * matches Pillow where the @jsquash wasm build does not: 4:4:0 / mixed h1v2 chroma sampling, and
 * damaged scans whose out-of-range coefficients the wasm build's IDCT clamps differently.
 */
import { jpegStructureIsPlain } from './jpegStructure.js';
import { decodeWithSharp, type NativePixels } from './nativeCodecs.js';

interface Expected { width: number; height: number }

async function trySharp(bytes: Uint8Array, alpha: 'keep' | 'add' | 'remove'): Promise<NativePixels | null> {
  try {
    return await decodeWithSharp(bytes, alpha);
  } catch {
    return null; // diagnosed by the wasm decoder (see the module comment)
  }
}

/**
 * The gray band of an 'L' JPEG. libvips hands gray JPEGs back as 3 equal bands (it converts to
 * sRGB for output); anything but exact replication means sharp did more than decode.
 */
function grayBand(p: NativePixels): Uint8Array | null {
  if (p.channels === 1) return p.data;
  if (p.channels !== 3) return null;
  const n = p.width * p.height;
  const out = new Uint8Array(n);
  const d = p.data;
  for (let i = 0, k = 0; i < n; i++, k += 3) {
    const v = d[k]!;
    if (d[k + 1] !== v || d[k + 2] !== v) return null;
    out[i] = v;
  }
  return out;
}

/** 'L' (bands 1) or 'RGB' (bands 3) pixels of a 1- or 3-component JPEG, or null: let the wasm decoder decide. */
export async function nativeJpegPixels(bytes: Uint8Array, expected: Expected & { bands: 1 | 3 }): Promise<Uint8Array | null> {
  if (!jpegStructureIsPlain(bytes)) return null;
  const p = await trySharp(bytes, 'keep');
  if (!p || p.width !== expected.width || p.height !== expected.height) return null;
  if (expected.bands === 1) return grayBand(p);
  return p.channels === 3 ? p.data : null;
}

/** 'RGB' (bands 3) or 'RGBA' (bands 4, non-premultiplied) pixels of a still WebP, or null: let the wasm decoder decide. */
export async function nativeWebpPixels(bytes: Uint8Array, expected: Expected & { bands: 3 | 4 }): Promise<Uint8Array | null> {
  const p = await trySharp(bytes, expected.bands === 4 ? 'add' : 'remove');
  if (!p || p.width !== expected.width || p.height !== expected.height || p.channels !== expected.bands) return null;
  return p.data;
}
