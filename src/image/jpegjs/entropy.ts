/**
 * Per-block Huffman decoding into the coefficient buffer: sequential (jdhuff.c decode_mcu_slow)
 * and the four progressive cases (jdphuff.c decode_mcu_DC_first / DC_refine / AC_first / AC_refine).
 * Coefficients are stored through an Int16Array, which truncates like libjpeg's (JCOEF) casts.
 */
import { invalidImage } from '../errors.js';
import type { BitReader } from './bitreader.js';
import type { HuffmanTable } from './huffman.js';
import { NATURAL_ORDER } from './markers.js';

/** jpeg_natural_order in a module-local constant (read per coefficient; an imported binding is a getter under CommonJS). */
const ZIGZAG: Int32Array = NATURAL_ORDER;

/** jdhuff.h HUFF_EXTEND: the `size`-bit value `bits` as a signed coefficient. */
function extend(bits: number, size: number): number {
  return bits < 1 << (size - 1) ? bits - (1 << size) + 1 : bits;
}

/** Mutable per-scan state: the DC predictions (one per scan component) and the EOB run. */
export interface EntropyState { lastDc: Int32Array; eobRun: number }

/** decode_mcu_slow for one block: DC difference + AC run/size codes (F.2.2.1, F.2.2.2). */
export function decodeSequentialBlock(reader: BitReader, coefs: Int16Array, at: number, dc: HuffmanTable, ac: HuffmanTable,
  state: EntropyState, scanIndex: number): void {
  let s = reader.decode(dc);
  if (s) s = extend(reader.bits(s), s);
  const value = (state.lastDc[scanIndex]! + s) | 0; // C int arithmetic (wraps on absurd data)
  state.lastDc[scanIndex] = value;
  coefs[at] = value;
  for (let k = 1; k < 64; k++) {
    const rs = reader.decode(ac);
    const r = rs >> 4;
    const size = rs & 15;
    if (size) {
      k += r;
      coefs[at + ZIGZAG[k]!] = extend(reader.bits(size), size);
    } else {
      if (r !== 15) break;
      k += 15;
    }
  }
}

/** decode_mcu_DC_first for one block, including its JERR_BAD_DCT_COEF overflow check. */
export function decodeDcFirst(reader: BitReader, coefs: Int16Array, at: number, dc: HuffmanTable, al: number,
  state: EntropyState, scanIndex: number, source: string): void {
  let s = reader.decode(dc);
  if (s) s = extend(reader.bits(s), s);
  const value = state.lastDc[scanIndex]! + s;
  if (value > 0x7fffffff || value < -0x80000000) throw invalidImage(source, 'corrupt JPEG: DCT coefficient out of range');
  state.lastDc[scanIndex] = value;
  coefs[at] = value << al;
}

/** decode_mcu_DC_refine: one more bit of the DC coefficient. */
export function decodeDcRefine(reader: BitReader, coefs: Int16Array, at: number, al: number): void {
  if (reader.bit()) coefs[at] = coefs[at]! | (1 << al);
}

/** decode_mcu_AC_first: the band ss..se of one block, or one block of a pending EOB run. */
export function decodeAcFirst(reader: BitReader, coefs: Int16Array, at: number, ac: HuffmanTable, ss: number, se: number, al: number,
  state: EntropyState): void {
  if (state.eobRun > 0) {
    state.eobRun--;
    return;
  }
  for (let k = ss; k <= se; k++) {
    const rs = reader.decode(ac);
    const r = rs >> 4;
    const size = rs & 15;
    if (size) {
      k += r;
      coefs[at + ZIGZAG[k]!] = extend(reader.bits(size), size) << al;
    } else if (r === 15) {
      k += 15;
    } else {
      let run = 1 << r;
      if (r) run += reader.bits(r);
      state.eobRun = run - 1;
      break;
    }
  }
}

/**
 * decode_mcu_AC_refine: correction bits for coefficients already nonzero, new +-1 << al
 * coefficients placed after `r` zero-history coefficients, and the EOB run's correction bits.
 * (libjpeg's undo of newly-set coefficients on suspension is not needed: we never suspend.)
 */
export function decodeAcRefine(reader: BitReader, coefs: Int16Array, at: number, ac: HuffmanTable, ss: number, se: number, al: number,
  state: EntropyState): void {
  const p1 = 1 << al;
  const m1 = -1 << al;
  let k = ss;
  if (state.eobRun === 0) {
    for (; k <= se; k++) {
      const rs = reader.decode(ac);
      let r = rs >> 4;
      let s = rs & 15;
      if (s) {
        // a size other than 1 is only a warning in libjpeg (JWRN_HUFF_BAD_CODE); it decodes on
        s = reader.bit() ? p1 : m1;
      } else if (r !== 15) {
        state.eobRun = 1 << r;
        if (r) state.eobRun += reader.bits(r);
        break;
      }
      do {
        const pos = at + ZIGZAG[k]!;
        const coef = coefs[pos]!;
        if (coef !== 0) {
          if (reader.bit() && (coef & p1) === 0) coefs[pos] = coef >= 0 ? coef + p1 : coef + m1;
        } else if (--r < 0) {
          break;
        }
        k++;
      } while (k <= se);
      if (s) coefs[at + ZIGZAG[k]!] = s;
    }
  }
  if (state.eobRun > 0) {
    for (; k <= se; k++) {
      const pos = at + ZIGZAG[k]!;
      const coef = coefs[pos]!;
      if (coef !== 0 && reader.bit() && (coef & p1) === 0) coefs[pos] = coef >= 0 ? coef + p1 : coef + m1;
    }
    state.eobRun--;
  }
}
