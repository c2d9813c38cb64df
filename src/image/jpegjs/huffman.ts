/**
 * Huffman decoding tables, checked as jdhuff.c jpeg_make_d_derived_tbl checks them (at most 256
 * symbols, a legal code tree, DC symbols 0..15). Instead of libjpeg's 8-bit lookahead + maxcode
 * walk, one 16-bit table maps every 16-bit window to (code length, symbol): the same codes decode to
 * the same symbols, and a window no code matches is jpeg_huff_decode's "bad Huffman code".
 */
import { invalidImage } from '../errors.js';
import type { HuffmanSpec } from './markers.js';

/** `lookup[window16] = length << 8 | symbol`, 0 where no code of length <= 16 matches. */
export interface HuffmanTable { lookup: Uint32Array }

const cache = new WeakMap<HuffmanSpec, HuffmanTable>();

/** Builds (once per DHT table) the 16-bit decoding table. */
export function huffmanTable(spec: HuffmanSpec | null | undefined, isDc: boolean, slot: number, source: string): HuffmanTable {
  if (!spec) throw invalidImage(source, `corrupt JPEG: Huffman table 0x${(isDc ? slot : slot + 16).toString(16).padStart(2, '0')} was not defined`);
  if (isDc) checkDcSymbols(spec, source);
  const cached = cache.get(spec);
  if (cached) return cached;
  const lookup = new Uint32Array(1 << 16);
  let code = 0;
  let p = 0;
  for (let length = 1; length <= 16; length++) {
    const count = spec.counts[length]!;
    for (let i = 0; i < count; i++, p++, code++) {
      // Figure C.2's check: the codes of one length must fit in that many bits (none all ones)
      if (code >= 1 << length) throw invalidImage(source, 'corrupt JPEG: bogus Huffman table definition');
      const entry = (length << 8) | spec.symbols[p]!;
      const shift = 16 - length;
      const first = code << shift;
      lookup.fill(entry, first, first + (1 << shift));
    }
    if (code >= 1 << length) throw invalidImage(source, 'corrupt JPEG: bogus Huffman table definition');
    code <<= 1;
  }
  const table = { lookup };
  cache.set(spec, table);
  return table;
}

/** jpeg_make_d_derived_tbl: DC difference categories above 15 would overflow the bit reader. */
function checkDcSymbols(spec: HuffmanSpec, source: string): void {
  for (const s of spec.symbols) if (s > 15) throw invalidImage(source, 'corrupt JPEG: bogus Huffman table definition (DC symbol > 15)');
}
