/**
 * Walks over a JPEG's marker structure: a conservative one deciding whether sharp may decode it, and
 * one that adds up how much work the scans ask of a decoder (checkScanWork).
 *
 * Why: libjpeg reads the markers after the last scan in jpeg_finish_decompress, and Pillow (like the
 * wasm decoder) fails there on e.g. an unknown marker ("Unsupported marker type 0x92"). libvips stops
 * after the last scanline and never reports those, so sharp would decode such a file that Pillow
 * refuses. Only files whose structure is plainly well-formed go to sharp; the rest go to the wasm
 * decoder, which gives Pillow's verdict.
 */
import { invalidImage } from './errors.js';
import { frameLayout } from './jpegjs/layout.js';
import { findMarker, isStartOfFrame, type Frame } from './jpegjs/markers.js';
import { SAVED_COEFS } from './jpegjs/smoothing.js';

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

/**
 * Blocks all scans together may ask a decoder to visit. libjpeg's jdcoefct.c consume_data walks every
 * MCU of a scan's components even when the scan holds no data (an empty progressive scan costs
 * ~40 ns per block in the wasm build), so thousands of empty scans over a large image are minutes of
 * work from a few kilobytes. 2^27 allows 16 full passes over the largest image Pillow opens
 * (178,956,970 pixels, 4:4:4) and a few hundred scans over a 12-megapixel photo; ordinary progressive
 * files use about 10 scans.
 */
export const MAX_SCAN_BLOCKS = 2 ** 27;

/** A scan header as libjpeg's read_markers reaches it: frame component ids, spectral band, Al. */
interface ScanHeaderFields { ids: number[]; ss: number; se: number; al: number }

/**
 * Calls `visit` for every SOS header in marker order, stepping over other segments by their length
 * as jdmarker.c does (so a scan inside, say, an APP1 whose length runs over it is not seen) and over
 * entropy-coded data. Stops at EOI or at anything too short to read (the decoder's verdict then).
 */
function forEachScanHeader(bytes: Uint8Array, visit: (scan: ScanHeaderFields) => void): void {
  for (let found = findMarker(bytes, 2); found; ) {
    const { marker, next } = found;
    if (marker === 0xd9) return; // EOI
    if (marker === 0x01 || marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7)) { found = findMarker(bytes, next); continue; }
    if (next + 2 > bytes.length) return;
    const length = (bytes[next]! << 8) | bytes[next + 1]!;
    let at = next + Math.max(2, length);
    if (marker === 0xda) {
      const n = bytes[next + 2] ?? 0;
      if (length !== 6 + 2 * n || next + length > bytes.length) return;
      const ids = Array.from({ length: n }, (_, i) => bytes[next + 3 + 2 * i]!);
      const band = next + 3 + 2 * n;
      visit({ ids, ss: bytes[band]!, se: bytes[band + 1]!, al: bytes[band + 2]! & 15 });
      at = endOfEntropyData(bytes, at);
    }
    found = findMarker(bytes, at);
  }
}

/**
 * Refuses a file whose scans add up to more than MAX_SCAN_BLOCKS block visits, before any decoder
 * runs. A scan of one component visits its blocks (jdinput.c: width_in_blocks x height_in_blocks), an
 * interleaved scan every block of its components' MCUs.
 */
export function checkScanWork(bytes: Uint8Array, frame: Frame, source: string): void {
  const layout = frameLayout(frame);
  let blocks = 0;
  let scans = 0;
  forEachScanHeader(bytes, ({ ids }) => {
    for (const id of ids) {
      const c = layout.components.find((b) => b.frame.id === id);
      if (c) blocks += ids.length === 1 ? c.widthInBlocks * c.heightInBlocks : c.blocksPerLine * c.blocksPerColumn;
    }
    scans++;
    if (blocks > MAX_SCAN_BLOCKS) {
      throw invalidImage(source, `JPEG with ${scans} or more scans over a ${frame.width}x${frame.height} image: decoding would visit more than ${MAX_SCAN_BLOCKS} blocks (scans x area), refused as a resource limit`);
    }
  });
}

/**
 * Whether a progressive file's scans, as libjpeg reads them, leave one of the first nine AC
 * coefficients of some component unsent or not fully refined while every DC was sent: then
 * libjpeg's block smoothing runs (jdcoefct.c smoothing_ok, less its quantisation-table test), and the
 * wasm build (libjpeg-turbo 2.0-era smoothing) gives other pixels than Pillow's libjpeg-turbo 2.1.5.
 * Incomplete progressions come from files cut between scans or, as in the third-party file of
 * issue 14, scans swallowed by a malformed segment (an EXIF APP1 whose length runs over them).
 */
export function progressionIsIncomplete(bytes: Uint8Array, frame: Frame): boolean {
  if (!frame.progressive) return false;
  const bits = new Map(frame.components.map((c) => [c.id, new Int8Array(SAVED_COEFS).fill(-1)]));
  forEachScanHeader(bytes, ({ ids, ss, se, al }) => {
    for (const id of ids) {
      const b = bits.get(id);
      for (let k = ss; b && k <= Math.min(se, SAVED_COEFS - 1); k++) b[k] = al;
    }
  });
  const all = [...bits.values()];
  return all.every((b) => b[0]! >= 0) && all.some((b) => b.subarray(1).some((v) => v !== 0));
}
