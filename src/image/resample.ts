/**
 * Pillow 9.4's resize kernels on interleaved typed arrays:
 * - `resampleBicubic8`: libImaging/Resample.c ImagingResample with the BICUBIC filter (a = -0.5,
 *   support 2 scaled by the downscale factor), 8-bit fixed point (PRECISION_BITS = 22), horizontal
 *   pass then vertical pass with a uint8 clip in between; a pass is skipped when its size is unchanged.
 * - `resampleBicubic32`: the same for mode 'I' (ImagingResample*_32bpc: double coefficients,
 *   ROUND_UP to int32, no clipping).
 * - `resizeNearest`: _imaging.c `_resize` NEAREST -> Geometry.c ImagingScaleAffine.
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

/** Resample.c precompute_coeffs for the box [in0, in1) of an `inSize` axis mapped onto `outSize`. */
export function precomputeCoeffs(inSize: number, in0: number, in1: number, outSize: number): Coefficients {
  const scale = (in1 - in0) / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = BICUBIC_SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Float64Array(outSize * ksize);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    // C casts with (int): truncation toward zero
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    const k = xx * ksize;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      weights[k + x] = w;
      ww += w;
    }
    if (ww !== 0.0) for (let x = 0; x < xmax; x++) weights[k + x] = weights[k + x]! / ww;
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
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

/**
 * Resample.c ImagingResampleInner for the whole-image box: the coefficients of both passes, and the
 * source rows [yFirst, yFirst + rows) the vertical pass reads (only those go through the horizontal
 * pass; the vertical bounds are made relative to yFirst). A pass is null when its axis keeps its size.
 */
export interface ResamplePlan {
  horizontal: { coeffs: Coefficients; yFirst: number; rows: number } | null;
  vertical: Coefficients | null;
}

export function planResample(width: number, height: number, xsize: number, ysize: number): ResamplePlan {
  const vert = precomputeCoeffs(height, 0, height, ysize);
  let horizontal: ResamplePlan['horizontal'] = null;
  if (xsize !== width) {
    const yFirst = vert.bounds[0]!;
    const yLast = vert.bounds[2 * ysize - 2]! + vert.bounds[2 * ysize - 1]!;
    for (let i = 0; i < ysize; i++) vert.bounds[2 * i] = vert.bounds[2 * i]! - yFirst;
    horizontal = { coeffs: precomputeCoeffs(width, 0, width, xsize), yFirst, rows: yLast - yFirst };
  }
  return { horizontal, vertical: ysize !== height ? vert : null };
}

interface Kernels<T extends Uint8Array | Int32Array> {
  horizontal(src: Plane<T>, offset: number, rows: number, xsize: number, c: Coefficients): T;
  vertical(src: Plane<T>, ysize: number, c: Coefficients): T;
}

/** Runs a plan with the scalar kernels, pass by pass as Pillow does. */
function resampleInner<T extends Uint8Array | Int32Array>(src: Plane<T>, xsize: number, ysize: number, kernels: Kernels<T>): Plane<T> {
  const plan = planResample(src.width, src.height, xsize, ysize);
  let img = src;
  if (plan.horizontal) {
    const { coeffs, yFirst, rows } = plan.horizontal;
    img = { data: kernels.horizontal(src, yFirst, rows, xsize, coeffs), width: xsize, height: rows, bands: src.bands };
  }
  if (plan.vertical) {
    img = { data: kernels.vertical(img, ysize, plan.vertical), width: img.width, height: ysize, bands: img.bands };
  }
  return img === src ? { ...src, data: src.data.slice() as T } : img;
}

const KERNELS_8: Kernels<Uint8Array> = { horizontal: horizontal8, vertical: vertical8 };
const KERNELS_32: Kernels<Int32Array> = { horizontal: horizontal32, vertical: vertical32 };

/**
 * Pillow BICUBIC resize of a uint8 image with any number of bands (every band is resampled), with
 * the scalar kernels above: the readable mirror of Resample.c, used where WebAssembly SIMD is not
 * available (resize.ts prefers the bit-identical simdResample.ts).
 */
export function resampleBicubic8(src: Plane<Uint8Array>, xsize: number, ysize: number): Plane<Uint8Array> {
  return resampleInner(src, xsize, ysize, KERNELS_8);
}

/** Pillow BICUBIC resize of a mode 'I' image (int32, one band). */
export function resampleBicubic32(src: Plane<Int32Array>, xsize: number, ysize: number): Plane<Int32Array> {
  return resampleInner(src, xsize, ysize, KERNELS_32);
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
export function resizeNearest<T extends Uint8Array | Int32Array>(src: Plane<T>, xsize: number, ysize: number): Plane<T> {
  const { width, height, bands } = src;
  const a0 = width / xsize;
  const a4 = height / ysize;
  const xin = new Int32Array(xsize);
  let xo = a0 * 0.5;
  for (let x = 0; x < xsize; x++) {
    xin[x] = coord(xo);
    xo += a0;
  }
  const out = new (src.data.constructor as new (n: number) => T)(xsize * ysize * bands);
  let yo = a4 * 0.5;
  for (let y = 0; y < ysize; y++) {
    const yi = coord(yo);
    yo += a4;
    if (yi < 0 || yi >= height) continue; // ImagingScaleAffine leaves such pixels at the fill (0)
    for (let x = 0; x < xsize; x++) {
      const xi = xin[x]!;
      if (xi < 0 || xi >= width) continue;
      const s = (yi * width + xi) * bands;
      const d = (y * xsize + x) * bands;
      for (let b = 0; b < bands; b++) out[d + b] = src.data[s + b]!;
    }
  }
  return { data: out, width: xsize, height: ysize, bands };
}
