/**
 * PNG -> Pillow mode, as PIL.PngImagePlugin 9.4 opens it (its `_MODES` table):
 *   gray 1-bit -> '1', gray 2/4/8-bit -> 'L' (scaled by 0x55 / 0x11 as Unpack.c unpackL2/L4),
 *   gray 16-bit -> 'I' ("I;16B"), RGB 8/16 -> 'RGB' (16-bit keeps the high byte, "RGB;16B"),
 *   palette 1/2/4/8 -> 'P', gray+alpha 8 -> 'LA', gray+alpha 16 -> 'RGBA' ("LA;16B"), RGBA 8/16 -> 'RGBA'.
 * tRNS is ignored for every mode (convert('RGB') ignores it too).
 *
 * The chunk walk, header checks, row un-filtering and Adam7 de-interlacing are ours; zlib inflate is
 * Node's or upng-js's (./inflate.ts). (upng-js 2.1's own de-interlacer puts 1-bit pixels at bit
 * `7-(col&3)` instead of `7-(col&7)`, so it is not used.)
 */
import { invalidImage } from './errors.js';
import { defaultInflater, InflateError, type Inflater } from './inflate.js';
import type { DecodedImage, PillowMode } from './types.js';
import { checkImageSize } from './limits.js';
import { checkPillowChunkRules, type PngChunk } from './pngPillowRules.js';

interface PngHeader { width: number; height: number; depth: number; ctype: number; interlace: number }

interface PngChunks { header: PngHeader; idat: Uint8Array; palette: Uint8Array | null }

const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const VALID_DEPTHS: Readonly<Record<number, readonly number[]>> = {
  0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16],
};

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/**
 * Walks the chunk list: IHDR first, every chunk inside the file, IDAT present, IEND reached; then
 * the chunk rules Pillow refuses files by (pngPillowRules.ts).
 */
function readChunks(bytes: Uint8Array, source: string): PngChunks {
  let header: PngHeader | null = null;
  let palette: Uint8Array | null = null;
  const idatParts: Uint8Array[] = [];
  const all: PngChunk[] = [];
  let at = 8;
  for (;;) {
    if (at + 8 > bytes.length) throw invalidImage(source, 'truncated PNG: file ends before the IEND chunk');
    const length = readU32(bytes, at);
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    const body = at + 8;
    if (body + length + 4 > bytes.length) throw invalidImage(source, `truncated PNG: chunk ${type} runs past the end of the file`);
    if (header === null && type !== 'IHDR') throw invalidImage(source, `corrupt PNG: first chunk is ${JSON.stringify(type)}, not IHDR`);
    all.push({ type, body: bytes.subarray(body, body + length), crc: readU32(bytes, body + length) });
    if (type === 'IHDR') {
      if (length !== 13) throw invalidImage(source, `corrupt PNG: IHDR has length ${length}, not 13`);
      header = {
        width: readU32(bytes, body), height: readU32(bytes, body + 4),
        depth: bytes[body + 8]!, ctype: bytes[body + 9]!, interlace: bytes[body + 12]!,
      };
    } else if (type === 'PLTE') {
      palette = bytes.subarray(body, body + length);
    } else if (type === 'IDAT') {
      idatParts.push(bytes.subarray(body, body + length));
    } else if (type === 'IEND') {
      break;
    }
    at = body + length + 4;
  }
  if (header === null) throw invalidImage(source, 'corrupt PNG: no IHDR chunk');
  if (idatParts.length === 0) throw invalidImage(source, 'corrupt PNG: no IDAT chunk');
  checkPillowChunkRules(all, source);
  const total = idatParts.reduce((n, p) => n + p.length, 0);
  const idat = new Uint8Array(total);
  let off = 0;
  for (const p of idatParts) { idat.set(p, off); off += p.length; }
  return { header, idat, palette };
}

function validateHeader(h: PngHeader, palette: Uint8Array | null, source: string): void {
  const depths = VALID_DEPTHS[h.ctype];
  if (depths === undefined) throw invalidImage(source, `corrupt PNG: unknown colour type ${h.ctype}`);
  if (!depths.includes(h.depth)) throw invalidImage(source, `corrupt PNG: bit depth ${h.depth} is not allowed for colour type ${h.ctype}`);
  if (h.interlace > 1) throw invalidImage(source, `corrupt PNG: unknown interlace method ${h.interlace}`);
  if (h.ctype === 3 && (palette === null || palette.length === 0 || palette.length % 3 !== 0)) {
    throw invalidImage(source, 'corrupt PNG: palette image without a valid PLTE chunk');
  }
  checkImageSize(h.width, h.height, source);
}

/** Adam7 passes: [startX, startY, stepX, stepY] (PNG spec, section 8.2). */
const ADAM7: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
];

/**
 * Undoes the PNG row filters (spec section 9.2: None, Sub, Up, Average, Paeth) of `rows` scanlines
 * of `rowBytes` bytes, each preceded by its filter-type byte, starting at `off` of `data`. In place:
 * the un-filtered row y lands at `off + y * rowBytes` (the filter bytes are squeezed out, as upng-js's
 * `_filterZero` does). `bpp` is the bytes per complete pixel rounded up, at least 1; the row above the
 * first one counts as zeros. Filter types must be 0..4 (checkFilterTypes).
 *
 * In-place is safe going forward: row y is written at or before where its input sits, and the row
 * above (already un-filtered) ends where row y's output starts.
 */
export function unfilterRows(data: Uint8Array, off: number, rows: number, rowBytes: number, bpp: number): void {
  for (let y = 0; y < rows; y++) {
    const type = data[off + y * (rowBytes + 1)]!;
    const src = off + y * (rowBytes + 1) + 1;
    const dst = off + y * rowBytes;
    const up = dst - rowBytes;
    const first = y === 0;
    const lead = Math.min(bpp, rowBytes);
    switch (type) {
      case 0:
        data.copyWithin(dst, src, src + rowBytes);
        break;
      case 1:
        for (let x = 0; x < lead; x++) data[dst + x] = data[src + x]!;
        for (let x = lead; x < rowBytes; x++) data[dst + x] = (data[src + x]! + data[dst + x - bpp]!) & 255;
        break;
      case 2:
        if (first) data.copyWithin(dst, src, src + rowBytes);
        else for (let x = 0; x < rowBytes; x++) data[dst + x] = (data[src + x]! + data[up + x]!) & 255;
        break;
      case 3:
        if (first) {
          for (let x = 0; x < lead; x++) data[dst + x] = data[src + x]!;
          for (let x = lead; x < rowBytes; x++) data[dst + x] = (data[src + x]! + (data[dst + x - bpp]! >> 1)) & 255;
        } else {
          for (let x = 0; x < lead; x++) data[dst + x] = (data[src + x]! + (data[up + x]! >> 1)) & 255;
          for (let x = lead; x < rowBytes; x++) data[dst + x] = (data[src + x]! + ((data[dst + x - bpp]! + data[up + x]!) >> 1)) & 255;
        }
        break;
      case 4:
        // Paeth; on the first row b = c = 0 so the predictor is a, and in the first pixel a = c = 0 so it is b
        if (first) {
          for (let x = 0; x < lead; x++) data[dst + x] = data[src + x]!;
          for (let x = lead; x < rowBytes; x++) data[dst + x] = (data[src + x]! + data[dst + x - bpp]!) & 255;
          break;
        }
        for (let x = 0; x < lead; x++) data[dst + x] = (data[src + x]! + data[up + x]!) & 255;
        for (let x = lead; x < rowBytes; x++) {
          const a = data[dst + x - bpp]!;
          const b = data[up + x]!;
          const c = data[up + x - bpp]!;
          // p = a + b - c; |p - a| = |b - c|, |p - b| = |a - c|, |p - c| = |a + b - 2c|
          const pa = Math.abs(b - c);
          const pb = Math.abs(a - c);
          const pc = Math.abs(a + b - c - c);
          const predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          data[dst + x] = (data[src + x]! + predictor) & 255;
        }
        break;
      default:
        throw new RangeError(`row filter type ${type} is not 0..4 (checkFilterTypes runs first)`);
    }
  }
}

/**
 * Scatters the un-filtered rows of one Adam7 pass (`pw` x `ph` pixels, packed rows of `passRowBytes`
 * at `off` of `pass`) into the full image's packed rows.
 */
function scatterPass(
  pass: Uint8Array, off: number, pw: number, ph: number, passRowBytes: number,
  rows: Uint8Array, rowBytes: number, [x0, y0, dx, dy]: readonly [number, number, number, number], bitsPerPixel: number,
): void {
  for (let py = 0; py < ph; py++) {
    const srcRow = off + py * passRowBytes;
    const dstRow = (y0 + py * dy) * rowBytes;
    if (bitsPerPixel >= 8) {
      const n = bitsPerPixel >> 3;
      for (let px = 0; px < pw; px++) {
        const s = srcRow + px * n;
        const d = dstRow + (x0 + px * dx) * n;
        for (let k = 0; k < n; k++) rows[d + k] = pass[s + k]!;
      }
      continue;
    }
    const perByte = 8 / bitsPerPixel;
    for (let px = 0; px < pw; px++) {
      const v = sampleAt(pass, srcRow, px, bitsPerPixel);
      const x = x0 + px * dx;
      rows[dstRow + ((x / perByte) | 0)]! |= v << (8 - bitsPerPixel - (x % perByte) * bitsPerPixel);
    }
  }
}

/** Inflates and un-filters the image data into packed rows of `rowBytes` bytes each (possibly followed by unused bytes). */
function unpackRows(chunks: PngChunks, source: string, inflater: Inflater): { rows: Uint8Array; rowBytes: number } {
  const { header: h } = chunks;
  const bitsPerPixel = CHANNELS[h.ctype]! * h.depth;
  const bytesPerPixel = Math.max(1, bitsPerPixel >> 3);
  const rowBytesOf = (w: number): number => Math.ceil((w * bitsPerPixel) / 8);
  const passes = h.interlace === 1 ? ADAM7 : [[0, 0, 1, 1] as const];
  const sizes = passes.map(([x0, y0, dx, dy]) => [Math.ceil((h.width - x0) / dx), Math.ceil((h.height - y0) / dy)] as const);
  const expected = sizes.reduce((n, [w, hh]) => n + (w > 0 && hh > 0 ? hh * (rowBytesOf(w) + 1) : 0), 0);

  let raw: Uint8Array;
  try {
    // capped at what the header needs: a small file cannot inflate to gigabytes
    raw = inflater.inflate(chunks.idat, expected);
  } catch (err) {
    if (!(err instanceof InflateError)) throw err;
    throw invalidImage(source, `corrupt PNG: image data does not inflate (${err.message})`, err);
  }
  if (raw.length < expected) {
    throw invalidImage(source, `truncated PNG: image data holds ${raw.length} bytes, ${expected} expected`);
  }
  const rowBytes = rowBytesOf(h.width);
  if (h.interlace === 0) {
    checkFilterTypes(raw, 0, h.height, rowBytes, source);
    unfilterRows(raw, 0, h.height, rowBytes, bytesPerPixel);
    return { rows: raw, rowBytes };
  }
  const rows = new Uint8Array(rowBytes * h.height);
  let off = 0;
  passes.forEach((pass, p) => {
    const [pw, ph] = sizes[p]!;
    if (pw <= 0 || ph <= 0) return;
    const passRowBytes = rowBytesOf(pw);
    checkFilterTypes(raw, off, ph, passRowBytes, source);
    unfilterRows(raw, off, ph, passRowBytes, bytesPerPixel);
    scatterPass(raw, off, pw, ph, passRowBytes, rows, rowBytes, pass, bitsPerPixel);
    off += ph * (passRowBytes + 1);
  });
  return { rows, rowBytes };
}

function checkFilterTypes(raw: Uint8Array, off: number, rows: number, rowBytes: number, source: string): void {
  for (let y = 0; y < rows; y++) {
    const t = raw[off + y * (rowBytes + 1)]!;
    if (t > 4) throw invalidImage(source, `corrupt PNG: row filter type ${t} is not 0..4`);
  }
}

/** Reads sample `i` (of `bits` bits) from a packed row. */
function sampleAt(rows: Uint8Array, rowStart: number, i: number, bits: number): number {
  if (bits === 8) return rows[rowStart + i]!;
  if (bits === 16) return (rows[rowStart + 2 * i]! << 8) | rows[rowStart + 2 * i + 1]!;
  const perByte = 8 / bits;
  return (rows[rowStart + ((i / perByte) | 0)]! >> (8 - bits - (i % perByte) * bits)) & ((1 << bits) - 1);
}

function pillowMode(h: PngHeader): PillowMode {
  switch (h.ctype) {
    case 0: return h.depth === 1 ? '1' : h.depth === 16 ? 'I' : 'L';
    case 2: return 'RGB';
    case 3: return 'P';
    case 4: return h.depth === 16 ? 'RGBA' : 'LA';
    default: return 'RGBA';
  }
}

/** 256-entry RGB palette: ImagingPaletteNew's gray ramp, overwritten by the PLTE entries. */
function paletteOf(plte: Uint8Array): Uint8Array {
  const pal = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) pal[3 * i] = pal[3 * i + 1] = pal[3 * i + 2] = i;
  pal.set(plte.subarray(0, Math.min(plte.length, 256 * 3)));
  return pal;
}

/** Converts packed PNG rows into the interleaved layout of the Pillow mode (see the file comment). */
function toPillowPixels(rows: Uint8Array, rowBytes: number, h: PngHeader, mode: PillowMode): Uint8Array | Int32Array {
  const { width, height, depth, ctype } = h;
  const channels = CHANNELS[ctype]!;
  // 8-bit L, LA, RGB, RGBA and P rows already are Pillow's layout, packed back to back (Unpack.c copies them)
  if (depth === 8) return rows.subarray(0, width * height * channels);
  if (mode === 'I') {
    const out = new Int32Array(width * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[y * width + x] = sampleAt(rows, y * rowBytes, x, 16);
    return out;
  }
  const outBands = mode === 'RGBA' ? 4 : mode === 'RGB' ? 3 : mode === 'LA' ? 2 : 1;
  const out = new Uint8Array(width * height * outBands);
  // Gray scaling of Unpack.c: unpack1 (0/255), unpackL2 (*0x55), unpackL4 (*0x11); P keeps indices.
  const grayScale = ctype === 0 ? ({ 1: 255, 2: 0x55, 4: 0x11 } as Record<number, number>)[depth]! : 1;
  const highByte = depth === 16 ? 8 : 0;
  for (let y = 0; y < height; y++) {
    const rowStart = y * rowBytes;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * outBands;
      if (ctype === 4 && depth === 16) {
        // "LA;16B" -> RGBA: L copied to R, G, B (high bytes)
        const l = sampleAt(rows, rowStart, 2 * x, 16) >> 8;
        out[o] = out[o + 1] = out[o + 2] = l;
        out[o + 3] = sampleAt(rows, rowStart, 2 * x + 1, 16) >> 8;
        continue;
      }
      for (let c = 0; c < channels; c++) {
        out[o + c] = (sampleAt(rows, rowStart, x * channels + c, depth) >> highByte) * grayScale;
      }
    }
  }
  return out;
}

/** Decodes a PNG file's bytes into its Pillow mode; `inflater` picks the zlib implementation (tests run both). */
export function decodePng(bytes: Uint8Array, source: string, inflater: Inflater = defaultInflater): DecodedImage {
  const chunks = readChunks(bytes, source);
  const h = chunks.header;
  validateHeader(h, chunks.palette, source);
  const { rows, rowBytes } = unpackRows(chunks, source, inflater);
  const mode = pillowMode(h);
  const image: DecodedImage = { mode, width: h.width, height: h.height, data: toPillowPixels(rows, rowBytes, h, mode), format: 'png', decoder: 'js' };
  if (mode === 'P') image.palette = paletteOf(chunks.palette!);
  return image;
}
