/**
 * Pillow 9.4's resize kernels on interleaved typed arrays:
 * - `resampleBicubic8`: libImaging/Resample.c ImagingResample with the BICUBIC filter (a = -0.5,
 *   support 2 scaled by the downscale factor), 8-bit fixed point (PRECISION_BITS = 22), horizontal
 *   pass then vertical pass with a uint8 clip in between; a pass is skipped when its size is unchanged.
 * - `resampleBicubic32`: the same for mode 'I' (ImagingResample*_32bpc: double coefficients,
 *   ROUND_UP to int32, no clipping).
 * - `resizeNearest`: _imaging.c `_resize` NEAREST -> Geometry.c ImagingScaleAffine.
 * Each takes an optional `box` of the output to compute (the pipeline's center crop): every output
 * pixel depends only on its own coefficients and the source pixels they reach, so computing just the
 * box gives the bytes of the whole resize, cropped, with memory proportional to the box (a 20000x1
 * image resized to 4480000x224 and cropped to 224x224 needs 224 columns, not 3 GB).
 */

/** Resample.c PRECISION_BITS = 32 - 8 - 2. */
export const PRECISION_BITS = 22;

/** Resample.c bicubic_filter with a = -0.5. */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}
const BICUBIC_SUPPORT = 2.0;

/** Per output pixel: first input index, tap count, and `ksize` normalised weights. */
export interface Coefficients { ksize: number; bounds: Int32Array; weights: Float64Array }

/** Resample.c's filter size for an axis scaled from `inSize` to `outSize`: taps per output pixel. */
export function kernelSize(inSize: number, outSize: number): number {
  const scale = inSize / outSize;
  return Math.ceil(BICUBIC_SUPPORT * (scale < 1.0 ? 1.0 : scale)) * 2 + 1;
}

/**
 * Resample.c precompute_coeffs for the box [in0, in1) of an `inSize` axis mapped onto `outSize`, for
 * the output pixels [first, first + count) only (entry i is output pixel first + i).
 */
export function precomputeCoeffs(inSize: number, in0: number, in1: number, outSize: number, first = 0, count = outSize - first): Coefficients {
  const scale = (in1 - in0) / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = BICUBIC_SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(count * 2);
  const weights = new Float64Array(count * ksize);
  const ss = 1.0 / filterscale;
  for (let i = 0; i < count; i++) {
    const xx = first + i;
    const center = in0 + (xx + 0.5) * scale;
    // C casts with (int): truncation toward zero
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    const k = i * ksize;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      weights[k + x] = w;
      ww += w;
    }
    if (ww !== 0.0) for (let x = 0; x < xmax; x++) weights[k + x] = weights[k + x]! / ww;
    bounds[2 * i] = xmin;
    bounds[2 * i + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

/** Resample.c normalize_coeffs_8bpc: weights to 22-bit fixed point, rounded half away from zero. */
export function fixedPoint(weights: Float64Array): Int32Array {
  const out = new Int32Array(weights.length);
  const one = 1 << PRECISION_BITS;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    out[i] = w < 0 ? Math.trunc(-0.5 + w * one) : Math.trunc(0.5 + w * one);
  }
  return out;
}

/** Resample.c clip8: the fixed-point sum (rounding bias included) back to 0..255. */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** An interleaved image: `bands` values per pixel, row-major. */
export interface Plane<T extends Uint8Array | Int32Array> { data: T; width: number; height: number; bands: number }

/** Resample.c ROUND_UP: round half away from zero, then the (int) cast. */
function roundUp(f: number): number {
  return Math.trunc(f >= 0.0 ? f + 0.5 : f - 0.5);
}

/**
 * ImagingResampleHorizontal_8bpc over the rows [offset, offset + rows). Like Pillow it has one loop
 * per band count. The sums are C `int` arithmetic (|sum| stays below ~1.4e9, so no wrap-around):
 * Math.imul + `| 0` keeps V8 in int32, about twice as fast as float arithmetic here.
 */
function horizontal8(src: Plane<Uint8Array>, offset: number, rows: number, xsize: number, c: Coefficients): Uint8Array {
  const { data, width, bands } = src;
  const kk = fixedPoint(c.weights);
  const { bounds, ksize } = c;
  const out = new Uint8Array(xsize * rows * bands);
  const half = 1 << (PRECISION_BITS - 1);
  for (let yy = 0; yy < rows; yy++) {
    const rowIn = (yy + offset) * width * bands;
    let o = yy * xsize * bands;
    for (let xx = 0; xx < xsize; xx++) {
      const xmin = bounds[2 * xx]!;
      const xmax = bounds[2 * xx + 1]!;
      const k0 = xx * ksize;
      let p = rowIn + xmin * bands;
      if (bands === 3) {
        let s0 = half, s1 = half, s2 = half;
        for (let x = 0; x < xmax; x++, p += 3) {
          const k = kk[k0 + x]!;
          s0 = (s0 + Math.imul(data[p]!, k)) | 0; s1 = (s1 + Math.imul(data[p + 1]!, k)) | 0; s2 = (s2 + Math.imul(data[p + 2]!, k)) | 0;
        }
        out[o++] = clip8(s0); out[o++] = clip8(s1); out[o++] = clip8(s2);
      } else if (bands === 4) {
        let s0 = half, s1 = half, s2 = half, s3 = half;
        for (let x = 0; x < xmax; x++, p += 4) {
          const k = kk[k0 + x]!;
          s0 = (s0 + Math.imul(data[p]!, k)) | 0; s1 = (s1 + Math.imul(data[p + 1]!, k)) | 0;
          s2 = (s2 + Math.imul(data[p + 2]!, k)) | 0; s3 = (s3 + Math.imul(data[p + 3]!, k)) | 0;
        }
        out[o++] = clip8(s0); out[o++] = clip8(s1); out[o++] = clip8(s2); out[o++] = clip8(s3);
      } else {
        for (let b = 0; b < bands; b++) {
          let ss = half;
          for (let x = 0, q = p + b; x < xmax; x++, q += bands) ss = (ss + Math.imul(data[q]!, kk[k0 + x]!)) | 0;
          out[o++] = clip8(ss);
        }
      }
    }
  }
  return out;
}

/**
 * ImagingResampleVertical_8bpc. Same sums as Pillow's per-pixel loop, accumulated a whole output row
 * at a time (integer addition, so the order does not change the result).
 */
function vertical8(src: Plane<Uint8Array>, ysize: number, c: Coefficients): Uint8Array {
  const { data, width, bands } = src;
  const kk = fixedPoint(c.weights);
  const rowLen = width * bands;
  const out = new Uint8Array(rowLen * ysize);
  const acc = new Int32Array(rowLen);
  const half = 1 << (PRECISION_BITS - 1);
  for (let yy = 0; yy < ysize; yy++) {
    const ymin = c.bounds[2 * yy]!;
    const ymax = c.bounds[2 * yy + 1]!;
    const k0 = yy * c.ksize;
    acc.fill(half);
    for (let y = 0; y < ymax; y++) {
      const k = kk[k0 + y]!;
      const base = (ymin + y) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] = (acc[i]! + Math.imul(data[base + i]!, k)) | 0;
    }
    const o = yy * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = clip8(acc[i]!);
  }
  return out;
}

function horizontal32(src: Plane<Int32Array>, offset: number, rows: number, xsize: number, c: Coefficients): Int32Array {
  const { data, width } = src;
  const out = new Int32Array(xsize * rows);
  for (let yy = 0; yy < rows; yy++) {
    const rowIn = (yy + offset) * width;
    for (let xx = 0; xx < xsize; xx++) {
      const xmin = c.bounds[2 * xx]!;
      const xmax = c.bounds[2 * xx + 1]!;
      const k = xx * c.ksize;
      let ss = 0.0;
      for (let x = 0; x < xmax; x++) ss += data[rowIn + xmin + x]! * c.weights[k + x]!;
      out[yy * xsize + xx] = roundUp(ss);
    }
  }
  return out;
}

function vertical32(src: Plane<Int32Array>, ysize: number, c: Coefficients): Int32Array {
  const { data, width } = src;
  const out = new Int32Array(width * ysize);
  for (let yy = 0; yy < ysize; yy++) {
    const ymin = c.bounds[2 * yy]!;
    const ymax = c.bounds[2 * yy + 1]!;
    const k = yy * c.ksize;
    for (let xx = 0; xx < width; xx++) {
      let ss = 0.0;
      for (let y = 0; y < ymax; y++) ss += data[(ymin + y) * width + xx]! * c.weights[k + y]!;
      out[yy * width + xx] = roundUp(ss);
    }
  }
  return out;
}

/** [left, top, right, bottom) of a resize's output: the part to compute. */
export type Box = readonly [number, number, number, number];

/**
 * Resample.c ImagingResampleInner for the whole-image box, restricted to the output `box`: the source
 * rows [yFirst, yFirst + rows) the result needs (only those go through the horizontal pass), the
 * horizontal coefficients of output columns [box[0], box[2]) and the vertical ones of output rows
 * [box[1], box[3]) (bounds relative to yFirst). A pass is null when its axis keeps its size, as in
 * Pillow; without a horizontal pass the columns [box[0], box[2]) are taken from the source as they are.
 */
export interface ResamplePlan {
  yFirst: number;
  rows: number;
  horizontal: Coefficients | null;
  vertical: Coefficients | null;
}

export function planResample(width: number, height: number, xsize: number, ysize: number, box: Box = [0, 0, xsize, ysize]): ResamplePlan {
  const [left, top, right, bottom] = box;
  if (!(left >= 0 && top >= 0 && right <= xsize && bottom <= ysize && left < right && top < bottom)) {
    throw new RangeError(`box [${box.join(', ')}] is not inside a ${xsize}x${ysize} output`);
  }
  const horizontal = xsize !== width ? precomputeCoeffs(width, 0, width, xsize, left, right - left) : null;
  if (ysize === height) return { yFirst: top, rows: bottom - top, horizontal, vertical: null };
  const vertical = precomputeCoeffs(height, 0, height, ysize, top, bottom - top);
  const n = bottom - top;
  const yFirst = vertical.bounds[0]!;
  const yLast = vertical.bounds[2 * n - 2]! + vertical.bounds[2 * n - 1]!;
  for (let i = 0; i < n; i++) vertical.bounds[2 * i] = vertical.bounds[2 * i]! - yFirst;
  return { yFirst, rows: yLast - yFirst, horizontal, vertical };
}

/**
 * Why Pillow 9.4 cannot make this resize (a MemoryError it raises before allocating), or null:
 * Storage.c ImagingNewPrologueSubtype refuses lines wider than INT_MAX / 4 - 1 pixels, and Resample.c
 * precompute_coeffs, which ImagingResampleInner runs for both axes (needed or not; NEAREST does not),
 * refuses more than INT_MAX / (ksize * sizeof(double)) output pixels on an axis.
 */
export function pillowResizeFailure(width: number, height: number, xsize: number, ysize: number, nearest: boolean): string | null {
  const INT_MAX = 2 ** 31 - 1;
  if (xsize > Math.trunc(INT_MAX / 4) - 1) return `a ${xsize}-pixel-wide image is more than Pillow allocates (MemoryError)`;
  if (nearest) return null;
  for (const [inSize, outSize] of [[width, xsize], [height, ysize]] as const) {
    if (outSize > Math.trunc(INT_MAX / (kernelSize(inSize, outSize) * 8))) {
      return `resizing an axis of ${inSize} pixels to ${outSize} takes more filter coefficients than Pillow allocates (MemoryError)`;
    }
  }
  return null;
}

interface Kernels<T extends Uint8Array | Int32Array> {
  horizontal(src: Plane<T>, offset: number, rows: number, xsize: number, c: Coefficients): T;
  vertical(src: Plane<T>, ysize: number, c: Coefficients): T;
}

/** The pixels [left, left + w) x [top, top + h) of a plane, copied. */
export function cropPlane<T extends Uint8Array | Int32Array>(src: Plane<T>, left: number, top: number, w: number, h: number): Plane<T> {
  const { data, width, bands } = src;
  if (left === 0 && w === width) return { data: data.slice(top * width * bands, (top + h) * width * bands) as T, width, height: h, bands };
  const out = new (data.constructor as new (n: number) => T)(w * h * bands);
  for (let y = 0; y < h; y++) out.set(data.subarray(((top + y) * width + left) * bands, ((top + y) * width + left + w) * bands), y * w * bands);
  return { data: out, width: w, height: h, bands };
}

/** Runs a plan with the scalar kernels, pass by pass as Pillow does; the result is the box (a fresh array). */
function resampleInner<T extends Uint8Array | Int32Array>(src: Plane<T>, xsize: number, ysize: number, box: Box, kernels: Kernels<T>): Plane<T> {
  const plan = planResample(src.width, src.height, xsize, ysize, box);
  const [left, top, right, bottom] = box;
  const w = right - left;
  let img: Plane<T>;
  if (plan.horizontal) {
    img = { data: kernels.horizontal(src, plan.yFirst, plan.rows, w, plan.horizontal), width: w, height: plan.rows, bands: src.bands };
  } else {
    const whole = left === 0 && w === src.width && plan.yFirst === 0 && plan.rows === src.height;
    img = whole && plan.vertical ? src : cropPlane(src, left, plan.yFirst, w, plan.rows);
  }
  if (plan.vertical) img = { data: kernels.vertical(img, bottom - top, plan.vertical), width: w, height: bottom - top, bands: src.bands };
  return img;
}

const KERNELS_8: Kernels<Uint8Array> = { horizontal: horizontal8, vertical: vertical8 };
const KERNELS_32: Kernels<Int32Array> = { horizontal: horizontal32, vertical: vertical32 };

/**
 * Pillow BICUBIC resize of a uint8 image with any number of bands (every band is resampled), with
 * the scalar kernels above: the readable mirror of Resample.c, used where WebAssembly SIMD is not
 * available (resize.ts prefers the bit-identical simdResample.ts).
 */
export function resampleBicubic8(src: Plane<Uint8Array>, xsize: number, ysize: number, box: Box = [0, 0, xsize, ysize]): Plane<Uint8Array> {
  return resampleInner(src, xsize, ysize, box, KERNELS_8);
}

/** Pillow BICUBIC resize of a mode 'I' image (int32, one band). */
export function resampleBicubic32(src: Plane<Int32Array>, xsize: number, ysize: number, box: Box = [0, 0, xsize, ysize]): Plane<Int32Array> {
  return resampleInner(src, xsize, ysize, box, KERNELS_32);
}

/** Geometry.c COORD: (int) of a non-negative value, -1 for negatives. */
function coord(v: number): number {
  return v < 0.0 ? -1 : Math.trunc(v);
}

/**
 * Pillow NEAREST resize (modes '1' and 'P' always use it): _imaging.c `_resize` sets the affine
 * a = [w_in / w_out, 0, 0, 0, h_in / h_out, 0], and Geometry.c ImagingScaleAffine samples at
 * x_in = COORD(a0 * 0.5 + a0 + a0 + ...), accumulated one step per output pixel exactly as in C
 * (pixels that land outside the source stay 0, as with its fill).
 */
export function resizeNearest<T extends Uint8Array | Int32Array>(src: Plane<T>, xsize: number, ysize: number, box: Box = [0, 0, xsize, ysize]): Plane<T> {
  const { width, height, bands } = src;
  const [left, top, right, bottom] = box;
  const w = right - left;
  const a0 = width / xsize;
  const a4 = height / ysize;
  // The sample positions are running sums, as in C: step through the columns before the box too.
  const xin = new Int32Array(w);
  let xo = a0 * 0.5;
  for (let x = 0; x < right; x++) {
    if (x >= left) xin[x - left] = coord(xo);
    xo += a0;
  }
  const out = new (src.data.constructor as new (n: number) => T)(w * (bottom - top) * bands);
  let yo = a4 * 0.5;
  for (let y = 0; y < bottom; y++) {
    const yi = coord(yo);
    yo += a4;
    if (y < top || yi < 0 || yi >= height) continue; // ImagingScaleAffine leaves such pixels at the fill (0)
    for (let x = 0; x < w; x++) {
      const xi = xin[x]!;
      if (xi < 0 || xi >= width) continue;
      const s = (yi * width + xi) * bands;
      const d = ((y - top) * w + x) * bands;
      for (let b = 0; b < bands; b++) out[d + b] = src.data[s + b]!;
    }
  }
  return { data: out, width: w, height: bottom - top, bands };
}
