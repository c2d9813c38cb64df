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

/** sample_range_limit: clamps -256..511 to 0..255. */
function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Interleaves the full-size component planes into libjpeg's output: 1 band (gray), 3 (RGB) or
 * 4 (CMYK). `planes` are in frame order.
 */
export function convertColour(space: JpegColourSpace, planes: Uint8Array[], pixels: number): Uint8Array {
  const bands = space === 'gray' ? 1 : space === 'rgb' || space === 'ycbcr' ? 3 : 4;
  const out = new Uint8Array(pixels * bands);
  if (space === 'ycbcr' || space === 'ycck') {
    const [y, cb, cr, k] = planes as [Uint8Array, Uint8Array, Uint8Array, Uint8Array?];
    const invert = space === 'ycck' ? 255 : 0;
    for (let i = 0, o = 0; i < pixels; i++, o += bands) {
      const yy = y[i]!;
      const b = cb[i]!;
      const r = cr[i]!;
      // ycc_rgb_convert; ycck_cmyk_convert takes range_limit[MAXJSAMPLE - (...)] = 255 - clamp(...)
      out[o] = Math.abs(invert - clamp(yy + CR_R[r]!));
      out[o + 1] = Math.abs(invert - clamp(yy + ((CB_G[b]! + CR_G[r]!) >> SCALEBITS)));
      out[o + 2] = Math.abs(invert - clamp(yy + CB_B[b]!));
      if (k) out[o + 3] = k[i]!;
    }
    return out;
  }
  // null_convert / rgb_rgb_convert / grayscale_convert: the components as they are
  for (let c = 0; c < bands; c++) {
    const plane = planes[c]!;
    for (let i = 0, o = c; i < pixels; i++, o += bands) out[o] = plane[i]!;
  }
  return out;
}
