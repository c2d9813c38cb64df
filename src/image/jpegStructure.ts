/**
 * A conservative walk over a JPEG's marker structure, used to decide whether sharp may decode it.
 *
 * Why: libjpeg reads the markers after the last scan in jpeg_finish_decompress, and Pillow (like the
 * wasm decoder) fails there on e.g. an unknown marker ("Unsupported marker type 0x92"). libvips stops
 * after the last scanline and never reports those, so sharp would decode such a file that Pillow
 * refuses. Only files whose structure is plainly well-formed go to sharp; the rest go to the wasm
 * decoder, which gives Pillow's verdict.
 */
import { findMarker, isStartOfFrame } from './jpegjs/markers.js';

/** Markers libjpeg's read_markers (jdmarker.c) accepts between the frame header and EOI without complaint. */
function isTableOrMiscMarker(marker: number): boolean {
  return marker === 0xc4 // DHT
    || marker === 0xcc // DAC
    || marker === 0xdb // DQT
    || marker === 0xdd // DRI
    || marker === 0xfe // COM
    || (marker >= 0xe0 && marker <= 0xef); // APPn
}

/**
 * Index of the 0xFF that starts the first marker after entropy-coded data beginning at `at`
 * (skipping stuffed FF00, fill bytes and RST0-7, as jdhuff.c's fill_bit_buffer does), or
 * bytes.length when the data runs to the end of the file.
 */
function endOfEntropyData(bytes: Uint8Array, at: number): number {
  for (let i = at; i < bytes.length; i++) {
    if (bytes[i] !== 0xff) continue;
    let j = i + 1;
    while (j < bytes.length && bytes[j] === 0xff) j++;
    if (j >= bytes.length) return bytes.length;
    const next = bytes[j]!;
    if (next !== 0x00 && (next < 0xd0 || next > 0xd7)) return j - 1;
    i = j;
  }
  return bytes.length;
}

/**
 * True when, from SOI on, the file holds one frame header, only table / APPn / COM / parameterless
 * segments, at least one scan, and ends with EOI (stray bytes between segments are skipped, as
 * libjpeg skips them). False for anything else, including odd but legal files (they are simply
 * decoded by the wasm decoder).
 */
export function jpegStructureIsPlain(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return false;
  let frames = 0;
  let scans = 0;
  // `next`: the first byte after the marker code (stray bytes before a marker are skipped, as libjpeg does)
  for (let found = findMarker(bytes, 2); found; ) {
    const { marker, next } = found;
    if (marker === 0xd9) return frames === 1 && scans > 0; // EOI
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { found = findMarker(bytes, next); continue; } // TEM, RSTn: no length
    const isFrame = isStartOfFrame(marker);
    if (!(isFrame || marker === 0xda || isTableOrMiscMarker(marker))) return false;
    if (isFrame && ++frames > 1) return false;
    if (marker === 0xda && frames === 0) return false;
    if (next + 2 > bytes.length) return false;
    const length = (bytes[next]! << 8) | bytes[next + 1]!;
    if (length < 2 || next + length > bytes.length) return false;
    let at = next + length;
    if (marker === 0xda) {
      scans++;
      at = endOfEntropyData(bytes, at);
    }
    found = findMarker(bytes, at);
  }
  return false; // no EOI
}
