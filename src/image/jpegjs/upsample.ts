/**
 * libjpeg-turbo 2.1.5 jdsample.c with do_fancy_upsampling on (the default): the method per
 * component is chosen as jinit_upsampler chooses it, and each method's integer arithmetic is
 * mirrored. Vertical context follows jdmainct.c: above the first row is the first row
 * (make_funny_pointers), below the last real row is that row again (set_bottom_pointers); to the
 * left and right the fancy filters have special first/last-column cases and read only real samples.
 * Like jdsample.c sep_upsample, the work is done one output row at a time, into a reused row buffer.
 */
import { unsupportedImage } from '../errors.js';

/**
 * One component's samples after the IDCT: rows of `stride` bytes, the first `width` x `height` real.
 * Sample row i is stored at row i % ringRows of `data` (a whole plane: ringRows >= height; a strip
 * of a streamed image: the rows still needed, as jdmainct.c keeps them).
 */
export interface SamplePlane { data: Uint8Array; stride: number; width: number; height: number; ringRows: number }

export type UpsampleMethod = 'fullsize' | 'h2v1-fancy' | 'h1v2-fancy' | 'h2v2-fancy' | 'box';

/** Output row `y` of a component at the image's full size (valid until the next call). */
export type RowUpsampler = (y: number) => Uint8Array;

/** jinit_upsampler's choice for a component with factors h x v in a frame with maxima maxH x maxV. */
export function upsampleMethod(h: number, v: number, maxH: number, maxV: number, downsampledWidth: number, source: string): UpsampleMethod {
  if (h === maxH && v === maxV) return 'fullsize';
  if (h * 2 === maxH && v === maxV) return downsampledWidth > 2 ? 'h2v1-fancy' : 'box';
  if (h === maxH && v * 2 === maxV) return 'h1v2-fancy';
  if (h * 2 === maxH && v * 2 === maxV) return downsampledWidth > 2 ? 'h2v2-fancy' : 'box';
  if (maxH % h === 0 && maxV % v === 0) return 'box'; // h2v1_upsample / h2v2_upsample / int_upsample
  throw unsupportedImage(source, `JPEG sampling factors ${h}x${v} against ${maxH}x${maxV} are not integral ratios (libjpeg: "Fractional sampling not implemented yet")`);
}

/**
 * A row source for one component of an image `width` pixels wide. The rows it returns hold at
 * least `width` samples (the fancy methods compute whole sample pairs, as libjpeg does).
 */
export function rowUpsampler(plane: SamplePlane, method: UpsampleMethod, hExpand: number, vExpand: number, width: number): RowUpsampler {
  const { data, stride, ringRows } = plane;
  switch (method) {
    case 'fullsize':
      return (y) => {
        const start = (y % ringRows) * stride;
        return data.subarray(start, start + width);
      };
    case 'h2v1-fancy': {
      const row = new Uint8Array(plane.width * 2);
      return (y) => {
        h2v1Fancy(data, (y % ringRows) * stride, plane.width, row);
        return row;
      };
    }
    case 'h1v2-fancy': {
      const row = new Uint8Array(plane.width);
      return (y) => {
        const [near, far] = verticalNeighbours(y, plane);
        h1v2Fancy(data, near, far, y & 1 ? 2 : 1, plane.width, row);
        return row;
      };
    }
    case 'h2v2-fancy': {
      const row = new Uint8Array(plane.width * 2);
      const colsums = new Int32Array(plane.width);
      return (y) => {
        const [near, far] = verticalNeighbours(y, plane);
        h2v2Fancy(data, near, far, plane.width, colsums, row);
        return row;
      };
    }
    case 'box': {
      const row = new Uint8Array(width);
      return (y) => {
        // h2v1_upsample / h2v2_upsample / int_upsample: each sample repeated hExpand x vExpand times
        const start = (Math.floor(y / vExpand) % ringRows) * stride;
        for (let x = 0; x < width; x++) row[x] = data[start + Math.floor(x / hExpand)]!;
        return row;
      };
    }
  }
}

/** The offsets of the sample row nearer to output row `y` and of the further one (edges repeat). */
function verticalNeighbours(y: number, plane: SamplePlane): [number, number] {
  const i = y >> 1;
  const far = y & 1 ? Math.min(i + 1, plane.height - 1) : Math.max(i - 1, 0);
  return [(i % plane.ringRows) * plane.stride, (far % plane.ringRows) * plane.stride];
}

/** The last sample row (of `height`) that `method` reads for output row `y`: when row y can be emitted. */
export function lastSampleRowNeeded(method: UpsampleMethod, vExpand: number, height: number, y: number): number {
  switch (method) {
    case 'fullsize':
    case 'h2v1-fancy':
      return y;
    case 'h1v2-fancy':
    case 'h2v2-fancy':
      return y & 1 ? Math.min((y >> 1) + 1, height - 1) : y >> 1; // as verticalNeighbours
    case 'box':
      return Math.floor(y / vExpand);
  }
}

/** h2v1_fancy_upsample: 3/4 nearer + 1/4 further sample, biases 1 (left) and 2 (right). */
function h2v1Fancy(data: Uint8Array, start: number, count: number, out: Uint8Array): void {
  const last = count - 1;
  let here = data[start]!;
  out[0] = here;
  out[1] = (here * 3 + data[start + 1]! + 2) >> 2;
  for (let j = 1; j < last; j++) {
    here = data[start + j]! * 3;
    out[2 * j] = (here + data[start + j - 1]! + 1) >> 2;
    out[2 * j + 1] = (here + data[start + j + 1]! + 2) >> 2;
  }
  here = data[start + last]!;
  out[2 * last] = (here * 3 + data[start + last - 1]! + 1) >> 2;
  out[2 * last + 1] = here;
}

/** h1v2_fancy_upsample: 3/4 nearer row + 1/4 the row above (bias 1) or below (bias 2). */
function h1v2Fancy(data: Uint8Array, near: number, far: number, bias: number, count: number, out: Uint8Array): void {
  for (let x = 0; x < count; x++) out[x] = (data[near + x]! * 3 + data[far + x]! + bias) >> 2;
}

/**
 * h2v2_fancy_upsample: column sums 3 * nearer row + further row, then 3/4 + 1/4 across columns
 * with biases 8 and 7, first/last columns from their own sum times 4.
 */
function h2v2Fancy(data: Uint8Array, near: number, far: number, count: number, colsums: Int32Array, out: Uint8Array): void {
  for (let j = 0; j < count; j++) colsums[j] = data[near + j]! * 3 + data[far + j]!;
  const last = count - 1;
  let here = colsums[0]!;
  out[0] = (here * 4 + 8) >> 4;
  out[1] = (here * 3 + colsums[1]! + 7) >> 4;
  for (let j = 1; j < last; j++) {
    here = colsums[j]! * 3;
    out[2 * j] = (here + colsums[j - 1]! + 8) >> 4;
    out[2 * j + 1] = (here + colsums[j + 1]! + 7) >> 4;
  }
  here = colsums[last]!;
  out[2 * last] = (here * 3 + colsums[last - 1]! + 8) >> 4;
  out[2 * last + 1] = (here * 4 + 7) >> 4;
}
