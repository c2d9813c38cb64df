/** PIL Image.resize (Pillow 9.4, Image.py) for the modes a decoder produces, computing only a box of the output. */
import { premultiplyAlpha, unpremultiplyAlpha } from './convert.js';
import { invalidImage } from './errors.js';
import { cropPlane, pillowResizeFailure, resampleBicubic32, resampleBicubic8, resizeNearest, type Box, type Plane } from './resample.js';
import { resampleBicubic8Simd } from './simd/simdResample.js';
import { MODE_BANDS, type DecodedImage } from './types.js';

export type ResampleUsed = 'bicubic' | 'nearest' | 'none';

/**
 * Image.resize((width, height), BICUBIC).crop(box): an unchanged size is a plain crop; '1' and 'P'
 * silently use NEAREST; 'RGBA' / 'LA' go through 'RGBa' / 'La' (premultiplied) and back; 'I' uses the
 * 32-bit kernels. Only `box` (default: all) is computed, so memory follows the box, not the resized
 * size; a resize Pillow itself refuses (MemoryError) is an IMAGE_INVALID naming `source`.
 */
export function resizeLikePillow(image: DecodedImage, width: number, height: number, box: Box = [0, 0, width, height],
  source = '<image>'): { image: DecodedImage; resample: ResampleUsed } {
  const bands = MODE_BANDS[image.mode];
  const plane = <T extends Uint8Array | Int32Array>(data: T): Plane<T> => ({ data, width: image.width, height: image.height, bands });
  const [left, top, right, bottom] = box;
  const result = (data: DecodedImage['data']): DecodedImage => ({ ...image, data, width: right - left, height: bottom - top });
  if (width === image.width && height === image.height) {
    return { image: result(cropPlane(plane(image.data), left, top, right - left, bottom - top).data), resample: 'none' };
  }
  const nearest = image.mode === '1' || image.mode === 'P';
  const failure = pillowResizeFailure(image.width, image.height, width, height, nearest);
  if (failure) throw invalidImage(source, `cannot resize ${image.width}x${image.height} to ${width}x${height}: ${failure}`);
  if (nearest) return { image: result(resizeNearest(plane(image.data), width, height, box).data), resample: 'nearest' };
  if (image.mode === 'I') {
    return { image: result(resampleBicubic32(plane(image.data as Int32Array), width, height, box).data), resample: 'bicubic' };
  }
  const alphaBands = image.mode === 'RGBA' ? 4 : image.mode === 'LA' ? 2 : null;
  const u8 = image.data as Uint8Array;
  // The SIMD kernels (premultiplying too) give the scalar code's bytes exactly; the scalar code runs
  // where wasm SIMD is missing.
  const out = (resampleBicubic8Simd(plane(u8), width, height, alphaBands !== null, box, source)
    ?? resampleBicubic8(plane(alphaBands ? premultiplyAlpha(u8, alphaBands) : u8), width, height, box)).data;
  return { image: result(alphaBands ? unpremultiplyAlpha(out, alphaBands) : out), resample: 'bicubic' };
}
