/**
 * libjpeg-turbo 2.1.5 jdsample.c with do_fancy_upsampling on (the default): the method per
 * component is chosen as jinit_upsampler chooses it, and each method's integer arithmetic is
 * mirrored. Vertical context follows jdmainct.c: above the first row is the first row
 * (make_funny_pointers), below the last real row is that row again (set_bottom_pointers); to the
 * left and right the fancy filters have special first/last-column cases and read only real samples.
 */
import { unsupportedImage } from '../errors.js';

/** One component's samples after the IDCT: rows of `stride` bytes, the first `width` x `height` real. */
export interface SamplePlane { data: Uint8Array; stride: number; width: number; height: number }

export type UpsampleMethod = 'fullsize' | 'h2v1-fancy' | 'h1v2-fancy' | 'h2v2-fancy' | 'box';

/** jinit_upsampler's choice for a component with factors h x v in a frame with maxima maxH x maxV. */
export function upsampleMethod(h: number, v: number, maxH: number, maxV: number, downsampledWidth: number, source: string): UpsampleMethod {
  if (h === maxH && v === maxV) return 'fullsize';
  if (h * 2 === maxH && v === maxV) return downsampledWidth > 2 ? 'h2v1-fancy' : 'box';
  if (h === maxH && v * 2 === maxV) return 'h1v2-fancy';
  if (h * 2 === maxH && v * 2 === maxV) return downsampledWidth > 2 ? 'h2v2-fancy' : 'box';
  if (maxH % h === 0 && maxV % v === 0) return 'box'; // h2v1_upsample / h2v2_upsample / int_upsample
  throw unsupportedImage(source, `JPEG sampling factors ${h}x${v} against ${maxH}x${maxV} are not integral ratios (libjpeg: "Fractional sampling not implemented yet")`);
}

/** Upsamples one component to `width` x `height` (the image size) with the given method. */
export function upsample(plane: SamplePlane, method: UpsampleMethod, hExpand: number, vExpand: number, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const { data, stride } = plane;
  const lastRow = plane.height - 1;
  const lastCol = plane.width - 1;
  for (let y = 0; y < height; y++) {
    const o = y * width;
    switch (method) {
      case 'fullsize':
        out.set(data.subarray(y * stride, y * stride + width), o);
        break;
      case 'box': {
        const row = Math.floor(y / vExpand) * stride;
        for (let x = 0; x < width; x++) out[o + x] = data[row + Math.floor(x / hExpand)]!;
        break;
      }
      case 'h2v1-fancy': {
        // h2v1_fancy_upsample: 3/4 nearer + 1/4 further sample, biases 1 (left) and 2 (right)
        const row = y * stride;
        for (let x = 0; x < width; x++) {
          const j = x >> 1;
          const near = data[row + j]!;
          if (x & 1) out[o + x] = j === lastCol ? near : (near * 3 + data[row + j + 1]! + 2) >> 2;
          else out[o + x] = j === 0 ? near : (near * 3 + data[row + j - 1]! + 1) >> 2;
        }
        break;
      }
      case 'h1v2-fancy': {
        // h1v2_fancy_upsample: 3/4 nearer row + 1/4 the row above (bias 1) or below (bias 2)
        const i = y >> 1;
        const near = i * stride;
        const far = (y & 1 ? Math.min(i + 1, lastRow) : Math.max(i - 1, 0)) * stride;
        const bias = y & 1 ? 2 : 1;
        for (let x = 0; x < width; x++) out[o + x] = (data[near + x]! * 3 + data[far + x]! + bias) >> 2;
        break;
      }
      case 'h2v2-fancy': {
        // h2v2_fancy_upsample: column sums 3 * nearer row + further row, then 3/4 + 1/4 across
        // columns with biases 8 and 7, first/last columns from their own sum times 4
        const i = y >> 1;
        const near = i * stride;
        const far = (y & 1 ? Math.min(i + 1, lastRow) : Math.max(i - 1, 0)) * stride;
        const colsum = (j: number): number => data[near + j]! * 3 + data[far + j]!;
        for (let x = 0; x < width; x++) {
          const j = x >> 1;
          const here = colsum(j);
          if (x & 1) out[o + x] = j === lastCol ? (here * 4 + 7) >> 4 : (here * 3 + colsum(j + 1) + 7) >> 4;
          else out[o + x] = j === 0 ? (here * 4 + 8) >> 4 : (here * 3 + colsum(j - 1) + 8) >> 4;
        }
        break;
      }
    }
  }
  return out;
}
