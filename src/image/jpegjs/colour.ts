/**
 * libjpeg-turbo 2.1.5 jdcolor.c: the colour space a file is in (jdapimin.c default_decompress_parms:
 * JFIF / Adobe APP14 transform / component IDs) and the conversions to the output libjpeg gives by
 * default: gray -> gray, YCbCr -> RGB (ycc_rgb_convert), RGB -> RGB, CMYK -> CMYK, YCCK -> CMYK
 * (ycck_cmyk_convert: 255 - the YCbCr -> RGB result on the first three channels, K unchanged).
 */
import { unsupportedImage } from '../errors.js';

export type JpegColourSpace = 'gray' | 'ycbcr' | 'rgb' | 'cmyk' | 'ycck';

/** What the markers said, as default_decompress_parms reads it. */
export interface ColourHints { jfif: boolean; adobeTransform: number | null; componentIds: number[] }

export function jpegColourSpace(hints: ColourHints, source: string): JpegColourSpace {
  const ids = hints.componentIds;
  switch (ids.length) {
    case 1:
      return 'gray';
    case 3:
      if (hints.jfif) return 'ycbcr';
      if (hints.adobeTransform !== null) return hints.adobeTransform === 0 ? 'rgb' : 'ycbcr'; // 1, or anything else with a warning
      if (ids[0] === 82 && ids[1] === 71 && ids[2] === 66) return 'rgb'; // 'R', 'G', 'B'
      return 'ycbcr';
    case 4:
      if (hints.adobeTransform === null || hints.adobeTransform === 0) return 'cmyk';
      return 'ycck'; // transform 2, or anything else with a warning (JWRN_ADOBE_XFORM)
    default:
      throw unsupportedImage(source, `JPEG with ${ids.length} components is not supported (Pillow: "cannot handle ${ids.length}-layer images")`);
  }
}

/** build_ycc_rgb_table's tables (SCALEBITS 16), indexed by the Cb / Cr sample. */
const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const fix = (x: number): number => Math.trunc(x * (1 << SCALEBITS) + 0.5);
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (fix(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF;
}

/** jdmaster.c prepare_range_limit_table's sample_range_limit: `[v + 256]` is v clamped to 0..255, for v in -256..511. */
const RANGE_LIMIT = new Uint8Array(768);
/** ycck_cmyk_convert's range_limit[MAXJSAMPLE - v], which is 255 - clamp(v): `[v + 256]`. */
const INVERTED_RANGE_LIMIT = new Uint8Array(768);
for (let i = 0; i < 768; i++) {
  const v = i - 256;
  RANGE_LIMIT[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  INVERTED_RANGE_LIMIT[i] = 255 - RANGE_LIMIT[i]!;
}

/**
 * Interleaves the components' full-size rows into libjpeg's output, one row at a time: 1 band
 * (gray), 3 (RGB) or 4 (CMYK). `rows` are in frame order; `rows[c](y)` is component c's row y.
 */
export function convertColour(space: JpegColourSpace, rows: ((y: number) => Uint8Array)[], width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * outputBands(space));
  convertColourRows(space, rows, width, out, 0, height);
  return out;
}

/** Bytes per output pixel: 1 (gray), 3 (RGB) or 4 (CMYK). */
export function outputBands(space: JpegColourSpace): number {
  return space === 'gray' ? 1 : space === 'rgb' || space === 'ycbcr' ? 3 : 4;
}

/** Output rows `from` .. `to` - 1 of convertColour, into `out` (the whole image's interleaved bytes). */
export function convertColourRows(space: JpegColourSpace, rows: ((y: number) => Uint8Array)[], width: number, out: Uint8Array,
  from: number, to: number): void {
  const bands = outputBands(space);
  for (let y = from; y < to; y++) {
    const o = y * width * bands;
    if (space === 'ycbcr' || space === 'ycck') {
      // ycc_rgb_convert; ycck_cmyk_convert is the same on the first three channels, through
      // range_limit[MAXJSAMPLE - v], with K passed through
      yccRow(rows[0]!(y), rows[1]!(y), rows[2]!(y), space === 'ycck' ? INVERTED_RANGE_LIMIT : RANGE_LIMIT, out, o, bands, width);
      if (space === 'ycck') copyBand(rows[3]!(y), out, o + 3, 4, width);
    } else {
      for (let c = 0; c < bands; c++) copyBand(rows[c]!(y), out, o + c, bands, width); // grayscale / rgb_rgb / null_convert
    }
  }
}

/** The YCbCr -> RGB arithmetic of ycc_rgb_convert for one row, through `limit`, every `stride` bytes of `out`. */
function yccRow(y: Uint8Array, cb: Uint8Array, cr: Uint8Array, limit: Uint8Array, out: Uint8Array, o: number, stride: number, width: number): void {
  for (let x = 0; x < width; x++, o += stride) {
    const yy = y[x]! + 256;
    const b = cb[x]!;
    const r = cr[x]!;
    out[o] = limit[yy + CR_R[r]!]!;
    out[o + 1] = limit[yy + ((CB_G[b]! + CR_G[r]!) >> SCALEBITS)]!;
    out[o + 2] = limit[yy + CB_B[b]!]!;
  }
}

/** One component's row as it is, into every `stride`-th byte of `out` from `o`. */
function copyBand(c: Uint8Array, out: Uint8Array, o: number, stride: number, width: number): void {
  if (stride === 1) {
    out.set(c.subarray(0, width), o);
    return;
  }
  for (let x = 0; x < width; x++, o += stride) out[o] = c[x]!;
}
