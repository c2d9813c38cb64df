/**
 * JPEG marker segments as libjpeg-turbo 2.1.5's jdmarker.c reads them: next_marker (garbage and fill
 * bytes skipped), get_sof, get_sos, get_dqt, get_dht, get_dri, and the APP0 JFIF / APP14 Adobe checks
 * (examine_app0 / examine_app14). Every failure is an ImageError naming the file.
 */
import { invalidImage, unsupportedImage } from '../errors.js';

/** jutils.c jpeg_natural_order: zigzag index -> natural index, with 16 extra entries (63) that
 * absorb the k > 63 a corrupt run length can produce. */
export const NATURAL_ORDER: Int32Array = Int32Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
  58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]);

export const M_SOI = 0xd8;
export const M_EOI = 0xd9;
export const M_SOS = 0xda;
export const M_DQT = 0xdb;
export const M_DRI = 0xdd;
export const M_DHT = 0xc4;
export const M_RST0 = 0xd0;
export const M_APP0 = 0xe0;
export const M_APP14 = 0xee;

export interface FrameComponent {
  /** Position in the frame header (libjpeg's component_index). */
  index: number;
  id: number;
  h: number;
  v: number;
  quantTable: number;
}

export interface Frame {
  progressive: boolean;
  width: number;
  height: number;
  components: FrameComponent[];
}

export interface ScanComponent { component: FrameComponent; dcTable: number; acTable: number }

export interface ScanHeader { components: ScanComponent[]; ss: number; se: number; ah: number; al: number }

/** A DHT table as sent: code counts per length 1..16 and the symbols. */
export interface HuffmanSpec { counts: Uint8Array; symbols: Uint8Array }

/** Reads big-endian fields of one marker segment, failing on a segment that ends early. */
export class SegmentReader {
  private at: number;
  readonly end: number;

  /** `start` is the first byte after the marker code (the length field). */
  constructor(private readonly bytes: Uint8Array, start: number, private readonly source: string, readonly name: string) {
    if (start + 2 > bytes.length) throw truncated(source, name);
    const length = (bytes[start]! << 8) | bytes[start + 1]!;
    if (length < 2) throw invalidImage(source, `corrupt JPEG: ${name} segment length ${length}`);
    this.end = start + length;
    if (this.end > bytes.length) throw truncated(source, name);
    this.at = start + 2;
  }

  get remaining(): number {
    return this.end - this.at;
  }

  u8(): number {
    if (this.at >= this.end) throw invalidImage(this.source, `corrupt JPEG: ${this.name} segment too short`);
    return this.bytes[this.at++]!;
  }

  u16(): number {
    return (this.u8() << 8) | this.u8();
  }

  bytesView(n: number): Uint8Array {
    if (this.at + n > this.end) throw invalidImage(this.source, `corrupt JPEG: ${this.name} segment too short`);
    const view = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return view;
  }

  /** libjpeg's JERR_BAD_LENGTH when the declared length disagrees with the contents. */
  expectEnd(): void {
    if (this.at !== this.end) throw invalidImage(this.source, `corrupt JPEG: bogus ${this.name} segment length`);
  }
}

export function truncated(source: string, where: string): Error {
  return invalidImage(source, `truncated JPEG: the data ends inside the ${where}`);
}

/**
 * jdmarker.c next_marker: skips any bytes that are not 0xFF (libjpeg warns about "extraneous bytes"
 * and goes on), swallows fill 0xFF bytes and stuffed FF/00 pairs. Returns the marker code and the
 * position after it, or null when the data ends first.
 */
export function findMarker(bytes: Uint8Array, from: number): { marker: number; next: number } | null {
  let at = from;
  for (;;) {
    while (at < bytes.length && bytes[at] !== 0xff) at++;
    while (at < bytes.length && bytes[at] === 0xff) at++;
    if (at >= bytes.length) return null;
    const code = bytes[at]!;
    at++;
    if (code !== 0) return { marker: code, next: at };
  }
}

/** findMarker, where running out of data is a truncated file. */
export function nextMarker(bytes: Uint8Array, from: number, source: string): { marker: number; next: number } {
  const found = findMarker(bytes, from);
  if (!found) throw invalidImage(source, 'truncated JPEG: the data ends before the image is complete');
  return found;
}

/** SOFn markers: 0xC0-0xCF except DHT (C4), JPG (C8) and DAC (CC). */
export function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

const SOF_NAMES: Readonly<Record<number, string>> = {
  0xc3: 'SOF3 (lossless, Huffman)', 0xc5: 'SOF5 (differential sequential, Huffman)',
  0xc6: 'SOF6 (differential progressive, Huffman)', 0xc7: 'SOF7 (differential lossless, Huffman)',
  0xc8: 'JPG (reserved)', 0xc9: 'SOF9 (sequential, arithmetic coding)', 0xca: 'SOF10 (progressive, arithmetic coding)',
  0xcb: 'SOF11 (lossless, arithmetic coding)', 0xcd: 'SOF13 (differential sequential, arithmetic coding)',
  0xce: 'SOF14 (differential progressive, arithmetic coding)', 0xcf: 'SOF15 (differential lossless, arithmetic coding)',
};

/** The start-of-frame types this decoder refuses (libjpeg-turbo also decodes SOF9/SOF10; we do not). */
export function unsupportedSofName(marker: number): string | null {
  return SOF_NAMES[marker] ?? null;
}

/** jdmarker.c get_sof + the jdinput.c initial_setup checks (8-bit only, sampling factors 1..4). */
export function readFrame(seg: SegmentReader, progressive: boolean, source: string): Frame {
  const precision = seg.u8();
  const height = seg.u16();
  const width = seg.u16();
  const count = seg.u8();
  if (precision !== 8) throw unsupportedImage(source, `${precision}-bit JPEG is not supported (Pillow: "cannot handle ${precision}-bit layers")`);
  if (height === 0 || width === 0 || count === 0) throw invalidImage(source, `corrupt JPEG: empty image (${width}x${height}, ${count} components)`);
  if (seg.remaining !== count * 3) throw invalidImage(source, 'corrupt JPEG: bogus SOF segment length');
  const components: FrameComponent[] = [];
  for (let index = 0; index < count; index++) {
    const id = seg.u8();
    const factors = seg.u8();
    const quantTable = seg.u8();
    const h = factors >> 4;
    const v = factors & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4) throw invalidImage(source, `corrupt JPEG: bogus sampling factors ${h}x${v} for component ${id}`);
    components.push({ index, id, h, v, quantTable });
  }
  return { progressive, width, height, components };
}

/** jdmarker.c get_sos: component selectors must name distinct frame components. */
export function readScanHeader(seg: SegmentReader, frame: Frame, source: string): ScanHeader {
  const n = seg.u8();
  if (n < 1 || n > 4 || seg.remaining !== n * 2 + 3) throw invalidImage(source, 'corrupt JPEG: bogus SOS segment length');
  const components: ScanComponent[] = [];
  for (let i = 0; i < n; i++) {
    const id = seg.u8();
    const tables = seg.u8();
    // get_sos searches only the first MAX_COMPS_IN_SCAN (4) frame components
    const component = frame.components.slice(0, 4).find((c) => c.id === id);
    if (!component || components.some((s) => s.component === component)) throw invalidImage(source, `corrupt JPEG: invalid component ID ${id} in SOS`);
    components.push({ component, dcTable: tables >> 4, acTable: tables & 15 });
  }
  const ss = seg.u8();
  const se = seg.u8();
  const a = seg.u8();
  return { components, ss, se, ah: a >> 4, al: a & 15 };
}

/** jdmarker.c get_dqt: 8- or 16-bit tables, stored in natural order. */
export function readQuantTables(seg: SegmentReader, tables: (Uint16Array | null)[], source: string): void {
  while (seg.remaining > 0) {
    const pq = seg.u8();
    const slot = pq & 15;
    if (slot >= 4) throw invalidImage(source, `corrupt JPEG: bogus DQT index ${slot}`);
    const table = new Uint16Array(64);
    for (let i = 0; i < 64; i++) table[NATURAL_ORDER[i]!] = pq >> 4 ? seg.u16() : seg.u8();
    tables[slot] = table;
  }
  seg.expectEnd();
}

/** jdmarker.c get_dht: up to 256 symbols per table, 4 DC and 4 AC slots. */
export function readHuffmanTables(seg: SegmentReader, dc: (HuffmanSpec | null)[], ac: (HuffmanSpec | null)[], source: string): void {
  while (seg.remaining > 16) {
    const index = seg.u8();
    const counts = new Uint8Array(17);
    let total = 0;
    for (let l = 1; l <= 16; l++) total += counts[l] = seg.u8();
    if (total > 256 || total > seg.remaining) throw invalidImage(source, 'corrupt JPEG: bogus Huffman table definition');
    const symbols = Uint8Array.from(seg.bytesView(total));
    const slot = index & 0x0f;
    if ((index & ~0x10) >= 4) throw invalidImage(source, `corrupt JPEG: bogus DHT index ${index}`);
    (index & 0x10 ? ac : dc)[slot] = { counts, symbols };
  }
  seg.expectEnd();
}

/** jdmarker.c get_dri. */
export function readRestartInterval(seg: SegmentReader, source: string): number {
  if (seg.remaining !== 2) throw invalidImage(source, 'corrupt JPEG: bogus DRI segment length');
  return seg.u16();
}

/** jdmarker.c examine_app0: a JFIF marker is APP0 starting "JFIF\0" with at least 14 bytes of data. */
export function isJfif(seg: SegmentReader): boolean {
  if (seg.remaining < 14) return false;
  const d = seg.bytesView(5);
  return d[0] === 0x4a && d[1] === 0x46 && d[2] === 0x49 && d[3] === 0x46 && d[4] === 0;
}

/** jdmarker.c examine_app14: "Adobe" with at least 12 bytes of data; returns the transform byte. */
export function adobeTransform(seg: SegmentReader): number | null {
  if (seg.remaining < 12) return null;
  const d = seg.bytesView(12);
  const adobe = d[0] === 0x41 && d[1] === 0x64 && d[2] === 0x6f && d[3] === 0x62 && d[4] === 0x65;
  return adobe ? d[11]! : null;
}
