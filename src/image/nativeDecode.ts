/**
 * JPEG / WebP pixels from sharp, in the band layout the caller's header parse chose (jpeg.ts,
 * webp.ts keep deciding the mode, size checks and refusals).
 *
 * Errors are not diagnosed here. sharp's messages differ from libjpeg's and libvips judges a few
 * damaged files differently from Pillow, so whenever sharp rejects a file, returns something
 * unexpected, or the JPEG's marker structure is not plain, these functions return null and the
 * caller runs the wasm decoder on the file: its error is our usual diagnosis, and a file libjpeg only
 * warns about is decoded as Pillow decodes it. Valid, well-formed files never take that path, so
 * 'native' and 'wasm' give the same pixels and the same errors for every input.
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
