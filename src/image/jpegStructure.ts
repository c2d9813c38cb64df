/**
 * A conservative walk over a JPEG's marker structure, used to decide whether sharp may decode it.
 *
 * Why: libjpeg reads the markers after the last scan in jpeg_finish_decompress, and Pillow (like the
 * wasm decoder) fails there on e.g. an unknown marker ("Unsupported marker type 0x92"). libvips stops
 * after the last scanline and never reports those, so sharp would decode such a file that Pillow
 * refuses. Only files whose structure is plainly well-formed go to sharp; the rest go to the wasm
 * decoder, which gives Pillow's verdict.
 */

/** Markers libjpeg's read_markers (jdmarker.c) accepts between the frame header and EOI without complaint. */
function isTableOrMiscMarker(marker: number): boolean {
  return marker === 0xc4 // DHT
    || marker === 0xcc // DAC
    || marker === 0xdb // DQT
    || marker === 0xdd // DRI
    || marker === 0xfe // COM
    || (marker >= 0xe0 && marker <= 0xef); // APPn
}

/** SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
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
 * Index of the next marker's 0xFF at or after `at`, or -1. Like jdmarker.c's next_marker: bytes
 * that are not a marker (stray data, FF00) are skipped with a warning only, fill bytes (FFFF) too.
 */
function nextMarker(bytes: Uint8Array, at: number): number {
  for (let i = bytes.indexOf(0xff, at); i >= 0 && i + 1 < bytes.length; i = bytes.indexOf(0xff, i + 1)) {
    const code = bytes[i + 1]!;
    if (code !== 0xff && code !== 0x00) return i;
  }
  return -1;
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
  for (let at = nextMarker(bytes, 2); at >= 0; at = nextMarker(bytes, at)) {
    const marker = bytes[at + 1]!;
    if (marker === 0xd9) return frames === 1 && scans > 0; // EOI
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { at += 2; continue; } // TEM, RSTn: no length
    const isFrame = isStartOfFrame(marker);
    if (!(isFrame || marker === 0xda || isTableOrMiscMarker(marker))) return false;
    if (isFrame && ++frames > 1) return false;
    if (marker === 0xda && frames === 0) return false;
    if (at + 4 > bytes.length) return false;
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (length < 2 || at + 2 + length > bytes.length) return false;
    at += 2 + length;
    if (marker === 0xda) {
      scans++;
      at = endOfEntropyData(bytes, at);
    }
  }
  return false; // no EOI
}
