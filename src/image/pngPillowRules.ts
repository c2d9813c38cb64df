/**
 * The verdicts PIL.PngImagePlugin 9.4 reaches on a PNG's chunks while ImageReward opens it and loads
 * its first frame (Image.open then convert('RGB')), for the files Pillow refuses although their
 * image data is fine. Pillow reads the chunks in two stretches:
 * - opening (PngImageFile._open): every chunk up to the first IDAT / fdAT. Each chunk type must be
 *   4 word characters (`is_cid`), each chunk's CRC must match (ChunkStream.crc), and each handler
 *   (chunk_*) may raise;
 * - loading frame 0 (load_read / load_end): the chunks after the image data, up to IEND, or up to
 *   the next fcTL when the file is animated. No CRC checks; a chunk type that is not 4 word
 *   characters ends the walk quietly.
 * The handlers' verdicts mirrored here: IHDR filter method not 0 ("unknown filter category");
 * acTL / fcTL / fdAT too short, APNG frame sequence numbers not 0, 1, 2, ... ("APNG contains frame
 * sequence errors"), a frame outside the image ("APNG contains invalid frames"); zTXt with a
 * compression method not 0; zTXt / iTXt / iCCP data inflating past MAX_TEXT_CHUNK
 * ("Decompressed Data Too Large") and text chunks totalling more than MAX_TEXT_MEMORY; gAMA, cHRM,
 * sRGB, pHYs, tRNS too short for what the handler unpacks.
 */
import UPNG from 'upng-js';
import { invalidImage } from './errors.js';
import { inflateUpTo } from './inflate.js';

/** One chunk: its type and body (a view of the file); `crc` is the stored CRC. */
export interface PngChunk { type: string; body: Uint8Array; crc: number }

/** ImageFile.SAFEBLOCK: the most one compressed text / ICC chunk may inflate to. */
export const MAX_TEXT_CHUNK = 1024 * 1024;
/** 64 * MAX_TEXT_CHUNK: the most text (in characters) all text chunks together may hold. */
export const MAX_TEXT_MEMORY = 64 * MAX_TEXT_CHUNK;

const WORD4 = /^\w{4}$/; // is_cid = re.compile(rb"\w\w\w\w").match (ASCII word bytes)

interface State {
  width: number;
  height: number;
  ctype: number;
  /** acTL's frame count (im_n_frames): null without a valid acTL. */
  frames: number | null;
  /** The last fcTL / fdAT sequence number (_seq_num). */
  seq: number | null;
  /** Whether an fcTL came before the image data (im_info["bbox"]). */
  framed: boolean;
  textMemory: number;
}

const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/**
 * Throws IMAGE_INVALID (naming `source`) where Pillow 9.4 refuses the file; `chunks` are all the
 * file's chunks in order, the first being IHDR.
 */
export function checkPillowChunkRules(chunks: readonly PngChunk[], source: string): void {
  const refuse = (why: string): never => { throw invalidImage(source, `corrupt PNG: ${why} (Pillow 9.4 refuses this file)`); };
  const ihdr = chunks[0]!.body;
  const s: State = { width: u32(ihdr, 0), height: u32(ihdr, 4), ctype: ihdr[9]!, frames: null, seq: null, framed: false, textMemory: 0 };
  let i = 0;
  for (; i < chunks.length; i++) {
    const c = chunks[i]!;
    if (!WORD4.test(c.type)) refuse(`broken chunk type ${JSON.stringify(c.type)}`);
    if (c.type === 'IDAT' || c.type === 'IEND') break;
    handleChunk(c, s, refuse);
    if (c.type === 'fdAT') break; // chunk_fdAT ends in chunk_IDAT: the frame data starts here
    const crc = (UPNG.crc.update(UPNG.crc.update(0xffffffff, typeBytes(c.type), 0, 4), c.body, 0, c.body.length) ^ 0xffffffff) >>> 0;
    if (crc !== c.crc) refuse(`bad CRC in chunk ${c.type}`);
  }
  // n_frames = (im_n_frames or 1), plus one for an IDAT outside the animation (default_image)
  const animated = (s.frames ?? 1) + (s.frames !== null && !s.framed ? 1 : 0) > 1;
  for (i++; i < chunks.length; i++) {
    const c = chunks[i]!;
    if (!WORD4.test(c.type) || c.type === 'IEND' || (c.type === 'fcTL' && animated)) break;
    if (c.type !== 'IDAT') handleChunk(c, s, refuse);
  }
}

function typeBytes(type: string): Uint8Array {
  return Uint8Array.from(type, (ch) => ch.charCodeAt(0));
}

/** PngStream.chunk_{type}'s checks, for the chunks whose handler can raise. */
function handleChunk(c: PngChunk, s: State, refuse: (why: string) => never): void {
  const b = c.body;
  const short = (n: number): void => { if (b.length < n) refuse(`truncated ${c.type} chunk (${b.length} bytes)`); };
  switch (c.type) {
    case 'IHDR':
      short(13);
      if (b[11] !== 0) refuse(`unknown filter method ${b[11]} in IHDR`);
      return;
    case 'acTL': {
      short(8);
      const n = u32(b, 0);
      // a second acTL, or a count of 0 or above 2^31, makes Pillow ignore the animation ("Invalid APNG")
      s.frames = s.frames !== null || n === 0 || n > 0x80000000 ? null : n;
      return;
    }
    case 'fcTL': {
      short(26);
      nextSequence(u32(b, 0), s, refuse, 'fcTL');
      const [w, h, x, y] = [u32(b, 4), u32(b, 8), u32(b, 12), u32(b, 16)];
      if (x + w > s.width || y + h > s.height) refuse(`APNG contains invalid frames (fcTL frame ${w}x${h} at ${x},${y} outside ${s.width}x${s.height})`);
      s.framed = true;
      return;
    }
    case 'fdAT':
      short(4);
      nextSequence(u32(b, 0), s, refuse, 'fdAT');
      return;
    case 'zTXt': {
      const z = b.indexOf(0);
      const v = z < 0 ? new Uint8Array(0) : b.subarray(z + 1);
      if (v.length > 0 && v[0] !== 0) refuse(`unknown compression method ${v[0]} in zTXt chunk`);
      const text = inflateText(v.subarray(1), c.type, refuse) ?? new Uint8Array(0); // zlib.error: b""
      if (z !== 0) countText(text.length, s, refuse); // `if k:` (no separator: the whole body is the key)
      return;
    }
    case 'iTXt': {
      const z = b.indexOf(0);
      if (z < 0 || b.length - (z + 1) < 2) return;
      const [flag, method] = [b[z + 1]!, b[z + 2]!];
      const rest = b.subarray(z + 3);
      const lang = rest.indexOf(0);
      const tk = lang < 0 ? -1 : rest.indexOf(0, lang + 1);
      if (tk < 0) return;
      let v = rest.subarray(tk + 1);
      if (flag !== 0) {
        if (method !== 0) return;
        const text = inflateText(v, c.type, refuse);
        if (text === null) return; // zlib.error: the chunk is ignored
        v = text;
      }
      const decoded = utf8(rest.subarray(0, lang), rest.subarray(lang + 1, tk), v);
      if (decoded !== null) countText(decoded, s, refuse);
      return;
    }
    case 'iCCP': {
      if (b.length === 0) refuse('empty iCCP chunk'); // s[i] with i = -1 on b"": IndexError
      const z = b.indexOf(0); // -1 (not found) reads the last byte, as s[-1] does
      const method = b[z < 0 ? b.length - 1 : z]!;
      if (method !== 0) refuse(`unknown compression method ${method} in iCCP chunk`);
      inflateText(b.subarray(z + 2), c.type, refuse);
      return;
    }
    case 'tEXt': {
      const z = b.indexOf(0);
      if (z !== 0) countText(z < 0 ? 0 : b.length - z - 1, s, refuse);
      return;
    }
    case 'gAMA': short(4); return;
    case 'cHRM': if (b.length % 4 !== 0) refuse(`cHRM chunk of ${b.length} bytes is not whole 32-bit values`); return;
    case 'sRGB': short(1); return;
    case 'pHYs': short(9); return;
    case 'tRNS':
      // mode from IHDR's colour type: 'L' / '1' / 'I' read one 16-bit value, 'RGB' three
      if (s.ctype === 0) short(2);
      else if (s.ctype === 2) short(6);
      return;
    default:
  }
}

/** The APNG rule of chunk_fcTL / chunk_fdAT: 0 first (fcTL), then each one more than the last. */
function nextSequence(seq: number, s: State, refuse: (why: string) => never, type: string): void {
  const ok = s.seq === null ? type === 'fcTL' && seq === 0 : seq === s.seq + 1;
  if (!ok) refuse(`APNG contains frame sequence errors (${type} sequence number ${seq} after ${s.seq ?? 'none'})`);
  s.seq = seq;
}

/** _safe_zlib_decompress: refuses past MAX_TEXT_CHUNK; null for corrupt data (the handlers catch zlib.error). */
function inflateText(data: Uint8Array, type: string, refuse: (why: string) => never): Uint8Array | null {
  const out = inflateUpTo(data, MAX_TEXT_CHUNK);
  if (out === 'too-large') refuse(`${type} chunk inflates past ${MAX_TEXT_CHUNK} bytes (Decompressed Data Too Large)`);
  return out === 'corrupt' ? null : out;
}

function countText(chars: number, s: State, refuse: (why: string) => never): void {
  s.textMemory += chars;
  if (s.textMemory > MAX_TEXT_MEMORY) refuse(`text chunks hold ${s.textMemory} characters, more than ${MAX_TEXT_MEMORY} (MAX_TEXT_MEMORY)`);
}

/** iTXt's strict UTF-8 decoding of language, translated keyword and text: the text's length in code points, or null. */
function utf8(lang: Uint8Array, keyword: Uint8Array, text: Uint8Array): number | null {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // Python keeps a BOM as U+FEFF
  try {
    decoder.decode(lang);
    decoder.decode(keyword);
    let n = 0;
    for (const _ of decoder.decode(text)) n++;
    return n;
  } catch {
    return null;
  }
}
