/**
 * The verdicts PIL.JpegImagePlugin 9.4 reaches on a JPEG's APPn segments while Image.open reads the
 * markers before the first scan, for files whose image data is fine. Its APP handler raises
 * struct.error / IndexError (Image.open then says "cannot identify image file") when:
 * - a "JFIF" APP0 or an "Adobe" APP14 is shorter than the 16-bit field at offset 5 it reads;
 * - a "Exif\0" APP1 is present, no JFIF APP0 with density unit 1 came before it (the handler then
 *   reads the resolution from EXIF: getexif(), exif[0x0128], exif[0x011A]) and
 *   - its TIFF header has a valid 4-byte prefix but fewer than 8 bytes, or is the little-endian
 *     BigTIFF "II+\0" (ImageFileDirectory_v2 unpacks an 8-byte offset from header bytes 8..,
 *     which Exif.load never read), or
 *   - IFD0 holds ResolutionUnit and an XResolution whose value is an empty string, a 1-character
 *     digit string, or 1 byte (BYTE / UNDEFINED): `float(x[0]) / x[1]` then indexes past the end.
 * Everything else in those segments Pillow catches (SyntaxError, KeyError, ValueError, ...).
 */
import { invalidImage } from './errors.js';
import { findMarker, M_EOI, M_RST0, M_SOI, M_SOS } from './jpegjs/markers.js';

const TIFF_PREFIXES = ['MM\x00\x2a', 'II\x2a\x00', 'MM\x2a\x00', 'II\x00\x2a', 'MM\x00\x2b', 'II\x2b\x00'];
/** ImageFileDirectory_v2._load_dispatch: bytes per value of each TIFF type it reads. */
const TYPE_SIZES: Readonly<Record<number, number>> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8 };

const latin1 = (b: Uint8Array): string => String.fromCharCode(...b);
const startsWith = (b: Uint8Array, s: string): boolean => b.length >= s.length && latin1(b.subarray(0, s.length)) === s;

/** Throws IMAGE_INVALID (naming `source`) where Pillow 9.4 cannot identify the file for its APPn segments. */
export function checkPillowAppSegments(bytes: Uint8Array, source: string): void {
  const refuse = (why: string): never => { throw invalidImage(source, `corrupt JPEG: ${why} (Pillow 9.4 cannot identify this file)`); };
  let exif: Uint8Array | null = null;
  let dpiKnown = false;
  for (let found = findMarker(bytes, 2); found; ) {
    const { marker, next } = found;
    if (marker === M_SOS || marker === M_EOI) return;
    if (marker === M_SOI || marker === 0x01 || (marker >= M_RST0 && marker <= M_RST0 + 7)) { found = findMarker(bytes, next); continue; }
    if (next + 2 > bytes.length) return; // the decoder reports the truncation
    const end = next + ((bytes[next]! << 8) | bytes[next + 1]!);
    if (end > bytes.length) return;
    const s = bytes.subarray(next + 2, Math.max(next + 2, end));
    if (marker >= 0xe0 && marker <= 0xef) {
      if (marker === 0xe0 && startsWith(s, 'JFIF')) {
        if (s.length < 7) refuse(`JFIF APP0 segment of ${s.length} bytes`);
        if (s.length >= 12 && s[7] === 1) dpiKnown = true; // jfif_unit 1: info["dpi"] from the density
      } else if (marker === 0xe1 && startsWith(s, 'Exif\0')) {
        exif ??= s;
      } else if (marker === 0xee && startsWith(s, 'Adobe') && s.length < 7) {
        refuse(`Adobe APP14 segment of ${s.length} bytes`);
      }
      if (!dpiKnown && exif !== null) {
        const why = exifResolutionFailure(exif);
        if (why !== null) refuse(why);
        dpiKnown = true; // Pillow set info["dpi"] (from EXIF, or 72 after a caught error)
      }
    }
    found = findMarker(bytes, end);
  }
}

/** Why reading the resolution from this EXIF segment raises past Pillow's except clause, or null. */
function exifResolutionFailure(segment: Uint8Array): string | null {
  const tiff = startsWith(segment, 'Exif\0\0') ? segment.subarray(6) : segment;
  if (tiff.length === 0 || !TIFF_PREFIXES.includes(latin1(tiff.subarray(0, 4)))) return null;
  if (tiff[2] === 0x2b) return 'EXIF holds a BigTIFF header, whose 8-byte IFD offset Pillow reads past the 8 header bytes';
  if (tiff.length < 8) return `EXIF TIFF header cut to ${tiff.length} bytes`;
  const le = tiff[0] === 0x49;
  const tags = ifdTags(tiff, u32(tiff, 4, le), le);
  const x = tags.get(0x011a);
  if (!tags.has(0x0128) || x === undefined) return null;
  if (x.type === 2) {
    const text = x.data.at(-1) === 0 ? x.data.subarray(0, -1) : x.data; // load_string drops one trailing NUL
    if (text.length === 0 || (text.length === 1 && text[0]! >= 0x30 && text[0]! <= 0x39)) return `EXIF XResolution is the string ${JSON.stringify(latin1(text))}`;
  } else if ((x.type === 1 || x.type === 7) && x.data.length === 1) {
    return 'EXIF XResolution is a single byte';
  }
  return null;
}

function u32(b: Uint8Array, at: number, le: boolean): number {
  return le ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0 : ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/**
 * ImageFileDirectory_v2.load: the tags of the IFD at `offset` with their raw data. A read past the
 * end stops the walk, keeping the tags read so far (its `except OSError: return`).
 */
function ifdTags(tiff: Uint8Array, offset: number, le: boolean): Map<number, { type: number; data: Uint8Array }> {
  const u16 = (at: number): number => (le ? tiff[at]! | (tiff[at + 1]! << 8) : (tiff[at]! << 8) | tiff[at + 1]!);
  const tags = new Map<number, { type: number; data: Uint8Array }>();
  if (offset + 2 > tiff.length) return tags;
  const count = u16(offset);
  for (let i = 0; i < count; i++) {
    const at = offset + 2 + 12 * i;
    if (at + 12 > tiff.length) return tags;
    const unit = TYPE_SIZES[u16(at + 2)];
    if (unit === undefined) continue;
    const size = u32(tiff, at + 4, le) * unit;
    let data = tiff.subarray(at + 8, at + 8 + Math.min(size, 4));
    if (size > 4) {
      const from = u32(tiff, at + 8, le);
      if (from + size > tiff.length) return tags; // _safe_read: "Truncated File Read"
      data = tiff.subarray(from, from + size);
    }
    if (data.length > 0) tags.set(u16(at), { type: u16(at + 2), data });
  }
  return tags;
}
