/**
 * Pillow 9.4 libImaging/Convert.c conversions the pipeline needs, on interleaved uint8 data:
 * premultiply before a bicubic resize of RGBA / LA (Image.resize converts to RGBa / La), undo it
 * afterwards, and convert('RGB') of every mode.
 */
import type { DecodedImage } from './types.js';

/** Convert.c MULDIV255: round(a * b / 255) in integer arithmetic. */
function mulDiv255(a: number, b: number): number {
  const tmp = a * b + 128;
  return ((tmp >> 8) + tmp) >> 8;
}

/** MULDIV255(v, alpha) for every byte pair, indexed [alpha << 8 | v] (64 KiB, built on first use). */
let mulDiv255Table: Uint8Array | null = null;
function mulDiv255Lookup(): Uint8Array {
  if (mulDiv255Table) return mulDiv255Table;
  const table = new Uint8Array(65536);
  for (let alpha = 0; alpha < 256; alpha++) for (let v = 0; v < 256; v++) table[(alpha << 8) | v] = mulDiv255(v, alpha);
  return (mulDiv255Table = table);
}

/** Convert.c rgbA2rgba / lA2la: colour bands times alpha (the last band), through the lookup table. */
export function premultiplyAlpha(data: Uint8Array, bands: 2 | 4): Uint8Array {
  const table = mulDiv255Lookup();
  const out = new Uint8Array(data.length);
  if (bands === 4) {
    for (let i = 0; i < data.length; i += 4) {
      const alpha = data[i + 3]!;
      const row = alpha << 8;
      out[i] = table[row | data[i]!]!; out[i + 1] = table[row | data[i + 1]!]!; out[i + 2] = table[row | data[i + 2]!]!;
      out[i + 3] = alpha;
    }
  } else {
    for (let i = 0; i < data.length; i += 2) {
      const alpha = data[i + 1]!;
      out[i] = table[(alpha << 8) | data[i]!]!;
      out[i + 1] = alpha;
    }
  }
  return out;
}

/** Convert.c rgba2rgbA / la2lA: colour bands divided by alpha (kept as is for alpha 0 and 255). */
export function unpremultiplyAlpha(data: Uint8Array, bands: 2 | 4): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += bands) {
    const alpha = data[i + bands - 1]!;
    for (let c = 0; c < bands - 1; c++) {
      const v = data[i + c]!;
      out[i + c] = alpha === 255 || alpha === 0 ? v : Math.min(255, Math.trunc((255 * v) / alpha));
    }
    out[i + bands - 1] = alpha;
  }
  return out;
}

/**
 * Image.convert('RGB'): RGBA drops alpha without compositing (rgba2rgb), L / LA / '1' replicate the
 * gray value (l2rgb, la2rgb), P looks up the palette ignoring tRNS (p2rgb), I clips to 0..255 (i2rgb),
 * CMYK is cmyk2rgb: nk = 255 - K, each colour nk - MULDIV255(ink, nk) (no colour management).
 */
export function toRgb(image: DecodedImage): Uint8Array {
  const n = image.width * image.height;
  const out = new Uint8Array(n * 3);
  const { data } = image;
  switch (image.mode) {
    case 'RGB':
      out.set(data);
      break;
    case 'RGBA':
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[3 * i + c] = data[4 * i + c]!;
      break;
    case 'LA':
      for (let i = 0; i < n; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = data[2 * i]!;
      break;
    case 'L':
    case '1':
      for (let i = 0; i < n; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = data[i]!;
      break;
    case 'I':
      for (let i = 0; i < n; i++) {
        const v = data[i]!;
        out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = v <= 0 ? 0 : v >= 255 ? 255 : v;
      }
      break;
    case 'CMYK':
      for (let i = 0; i < n; i++) {
        const nk = 255 - data[4 * i + 3]!;
        // Convert.c CLIP8 is a no-op here: MULDIV255(ink, nk) never exceeds nk
        for (let c = 0; c < 3; c++) out[3 * i + c] = nk - mulDiv255(data[4 * i + c]!, nk);
      }
      break;
    case 'P': {
      const pal = image.palette!;
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[3 * i + c] = pal[3 * data[i]! + c]!;
      break;
    }
  }
  return out;
}
