/** PIL Image.resize (Pillow 9.4, Image.py) for the modes a decoder produces. */
import { premultiplyAlpha, unpremultiplyAlpha } from './convert.js';
import { resampleBicubic32, resampleBicubic8, resizeNearest, type Plane } from './resample.js';
import { resampleBicubic8Simd } from './simd/simdResample.js';
import { MODE_BANDS, type DecodedImage } from './types.js';

export type ResampleUsed = 'bicubic' | 'nearest' | 'none';

/**
 * Image.resize(size, BICUBIC): an unchanged size returns a copy; '1' and 'P' silently use NEAREST;
 * 'RGBA' / 'LA' go through 'RGBa' / 'La' (premultiplied) and back; 'I' uses the 32-bit kernels.
 */
export function resizeLikePillow(image: DecodedImage, width: number, height: number): { image: DecodedImage; resample: ResampleUsed } {
  if (width === image.width && height === image.height) return { image, resample: 'none' };
  const bands = MODE_BANDS[image.mode];
  const plane = <T extends Uint8Array | Int32Array>(data: T): Plane<T> => ({ data, width: image.width, height: image.height, bands });
  const resized = (data: DecodedImage['data']): DecodedImage => ({ ...image, data, width, height });
  if (image.mode === '1' || image.mode === 'P') {
    return { image: resized(resizeNearest(plane(image.data), width, height).data), resample: 'nearest' };
  }
  if (image.mode === 'I') {
    return { image: resized(resampleBicubic32(plane(image.data as Int32Array), width, height).data), resample: 'bicubic' };
  }
  const alphaBands = image.mode === 'RGBA' ? 4 : image.mode === 'LA' ? 2 : null;
  const u8 = image.data as Uint8Array;
  // The SIMD kernels (premultiplying too) give the scalar code's bytes exactly; the scalar code runs
  // where wasm SIMD is missing.
  const out = (resampleBicubic8Simd(plane(u8), width, height, alphaBands !== null)
    ?? resampleBicubic8(plane(alphaBands ? premultiplyAlpha(u8, alphaBands) : u8), width, height)).data;
  return { image: resized(alphaBands ? unpremultiplyAlpha(out, alphaBands) : out), resample: 'bicubic' };
}
