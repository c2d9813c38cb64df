/**
 * The entropy-coded data reader of jdhuff.c (jpeg_fill_bit_buffer): FF/00 is a data byte 0xFF,
 * FF followed by fill FFs and a non-zero code is a marker that ends the data. Past a marker or the
 * end of the file it supplies zero bits, as libjpeg does, but where libjpeg only warns once such
 * bits are actually used, we fail: Pillow reports a file that ends early as truncated, and corrupt
 * data must not turn into gray.
 */
import { invalidImage } from '../errors.js';
import type { HuffmanTable } from './huffman.js';

export class BitReader {
  /** Next unread byte. */
  private pos: number;
  private buffer = 0;
  private bitsLeft = 0;
  /** Zero bits appended past the end of the data (they sit at the low end of `buffer`). */
  private padBits = 0;
  /** The marker code that ended the data (0 while none), and the position after it. */
  marker = 0;
  afterMarker = 0;

  constructor(private readonly bytes: Uint8Array, start: number, private readonly source: string) {
    this.pos = start;
  }

  /** Where libjpeg's next_marker would start looking once this data is done. */
  get position(): number {
    return this.marker ? this.afterMarker - 2 : this.pos;
  }

  /** Tops the buffer up to at least 25 bits. */
  private fill(): void {
    const bytes = this.bytes;
    while (this.bitsLeft <= 24) {
      let byte = 0;
      if (this.marker === 0 && this.pos < bytes.length) {
        byte = bytes[this.pos]!;
        if (byte === 0xff) {
          let at = this.pos + 1;
          while (at < bytes.length && bytes[at] === 0xff) at++;
          if (at >= bytes.length) { // the file ends inside FF fill bytes
            this.pos = bytes.length;
            this.pad();
            continue;
          }
          if (bytes[at] !== 0) {
            this.marker = bytes[at]!;
            this.afterMarker = at + 1;
            this.pad();
            continue;
          }
          this.pos = at + 1;
        } else {
          this.pos++;
        }
      } else {
        this.pad();
        continue;
      }
      this.buffer = (this.buffer << 8) | byte;
      this.bitsLeft += 8;
    }
  }

  private pad(): void {
    this.buffer <<= 8;
    this.bitsLeft += 8;
    this.padBits += 8;
  }

  /** Fails when the bits just consumed included padding. */
  private checkConsumed(): void {
    if (this.bitsLeft >= this.padBits) return;
    if (this.marker) {
      throw invalidImage(this.source, `corrupt JPEG: premature end of data segment (marker 0xFF${this.marker.toString(16).toUpperCase()} inside the entropy-coded data)`);
    }
    throw invalidImage(this.source, 'truncated JPEG: the data ends before the image is complete');
  }

  /** `n` (0..16) bits as an unsigned number. */
  bits(n: number): number {
    if (n === 0) return 0;
    if (this.bitsLeft < n) this.fill();
    this.bitsLeft -= n;
    this.checkConsumed();
    return (this.buffer >>> this.bitsLeft) & ((1 << n) - 1);
  }

  bit(): number {
    return this.bits(1);
  }

  /** One Huffman symbol (jdhuff.h HUFF_DECODE); a bit pattern no code matches is corrupt data. */
  decode(table: HuffmanTable): number {
    if (this.bitsLeft < 16) this.fill();
    const entry = table.lookup[(this.buffer >>> (this.bitsLeft - 16)) & 0xffff]!;
    if (entry === 0) {
      this.bitsLeft -= 16;
      this.checkConsumed(); // a "bad code" made of padding is really a truncation
      throw invalidImage(this.source, 'corrupt JPEG: bad Huffman code');
    }
    this.bitsLeft -= entry >>> 8;
    this.checkConsumed();
    return entry & 0xff;
  }

  /** Continues reading entropy-coded data at `start` (after a restart marker). */
  restartAt(start: number): void {
    this.pos = start;
    this.marker = 0;
    this.afterMarker = 0;
    this.bitsLeft = 0;
    this.padBits = 0;
    this.buffer = 0;
  }
}
