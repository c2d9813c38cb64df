/**
 * libjpeg-turbo 2.1.5 jidctint.c jpeg_idct_islow (the default JDCT_ISLOW method): dequantisation,
 * the 13-bit fixed-point 8x8 inverse DCT in two passes (columns, then rows), and the post-IDCT
 * range limit of jdmaster.c prepare_range_limit_table, indexed by `x & 1023` as libjpeg does (so
 * absurd overflows wrap exactly as they do there). Intermediates are exact integers held in doubles
 * (C uses 64-bit JLONG); `| 0` is the C `(int)` cast.
 */

const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/**
 * jdct.h DESCALE(x, n): round, then an arithmetic right shift (floor), written as
 * Math.floor((x + ROUND) * SCALE): adding and multiplying by powers of two are exact on these doubles.
 */
const PASS1_ROUND = 2 ** (CONST_BITS - PASS1_BITS - 1);
const PASS1_SCALE = 2 ** -(CONST_BITS - PASS1_BITS);
const PASS2_ROUND = 2 ** (CONST_BITS + PASS1_BITS + 3 - 1);
const PASS2_SCALE = 2 ** -(CONST_BITS + PASS1_BITS + 3);
/** The DC-only row shortcut's DESCALE(x, PASS1_BITS + 3). */
const DC_ROUND = 2 ** (PASS1_BITS + 3 - 1);
const DC_SCALE = 2 ** -(PASS1_BITS + 3);

/**
 * IDCT_range_limit(cinfo)[x & RANGE_MASK]: x + 128 clamped to 0..255 for x in -512..511; beyond
 * that the table repeats with period 1024 (x = 600 gives 0, x = -600 gives 255).
 */
const RANGE_LIMIT: Uint8Array = (() => {
  const t = new Uint8Array(1024);
  for (let i = 0; i < 1024; i++) {
    const x = i < 512 ? i : i - 1024;
    t[i] = x + 128 < 0 ? 0 : x + 128 > 255 ? 255 : x + 128;
  }
  return t;
})();

const workspace = new Int32Array(64);

/**
 * One block: `coefs[at..at+64)` (natural order) times `quant`, inverse-transformed into the 8x8
 * samples at `out[offset + row * stride + col]`.
 */
export function idctIslow(coefs: Int16Array, at: number, quant: Uint16Array, out: Uint8Array, offset: number, stride: number): void {
  const ws = workspace;
  // A block without AC coefficients is one flat value: what both passes' all-zero-AC shortcuts
  // (DC-only columns, then rows whose AC terms are all zero) make of it, computed once
  let ac = 1;
  while (ac < 64 && coefs[at + ac] === 0) ac++;
  if (ac === 64) {
    const dc = (coefs[at]! * quant[0]! * 4) | 0;
    const value = RANGE_LIMIT[Math.floor((dc + DC_ROUND) * DC_SCALE) & 1023]!;
    for (let row = 0, o = offset; row < 8; row++, o += stride) {
      for (let col = 0; col < 8; col++) out[o + col] = value;
    }
    return;
  }
  // Pass 1: columns from the input, results scaled up by sqrt(8) * 2^PASS1_BITS into the workspace
  for (let col = 0; col < 8; col++) {
    const c = at + col;
    const c1 = coefs[c + 8]!, c2 = coefs[c + 16]!, c3 = coefs[c + 24]!, c4 = coefs[c + 32]!;
    const c5 = coefs[c + 40]!, c6 = coefs[c + 48]!, c7 = coefs[c + 56]!;
    if ((c1 | c2 | c3 | c4 | c5 | c6 | c7) === 0) {
      const dc = (coefs[c]! * quant[col]! * 4) | 0;
      for (let row = 0; row < 8; row++) ws[row * 8 + col] = dc;
      continue;
    }
    // even part
    let z2 = c2 * quant[col + 16]!;
    let z3 = c6 * quant[col + 48]!;
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 - z3 * FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    z2 = coefs[c]! * quant[col]!;
    z3 = c4 * quant[col + 32]!;
    let tmp0 = (z2 + z3) * 8192;
    let tmp1 = (z2 - z3) * 8192;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    // odd part
    tmp0 = c7 * quant[col + 56]!;
    tmp1 = c5 * quant[col + 40]!;
    tmp2 = c3 * quant[col + 24]!;
    tmp3 = c1 * quant[col + 8]!;
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336;
    tmp1 *= FIX_2_053119869;
    tmp2 *= FIX_3_072711026;
    tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223;
    z2 *= -FIX_2_562915447;
    z3 = z3 * -FIX_1_961570560 + z5;
    z4 = z4 * -FIX_0_390180644 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    ws[col] = Math.floor((tmp10 + tmp3 + PASS1_ROUND) * PASS1_SCALE) | 0;
    ws[56 + col] = Math.floor((tmp10 - tmp3 + PASS1_ROUND) * PASS1_SCALE) | 0;
    ws[8 + col] = Math.floor((tmp11 + tmp2 + PASS1_ROUND) * PASS1_SCALE) | 0;
    ws[48 + col] = Math.floor((tmp11 - tmp2 + PASS1_ROUND) * PASS1_SCALE) | 0;
    ws[16 + col] = Math.floor((tmp12 + tmp1 + PASS1_ROUND) * PASS1_SCALE) | 0;
    ws[40 + col] = Math.floor((tmp12 - tmp1 + PASS1_ROUND) * PASS1_SCALE) | 0;
    ws[24 + col] = Math.floor((tmp13 + tmp0 + PASS1_ROUND) * PASS1_SCALE) | 0;
    ws[32 + col] = Math.floor((tmp13 - tmp0 + PASS1_ROUND) * PASS1_SCALE) | 0;
  }
  // Pass 2: rows from the workspace, descaled by 2^(CONST_BITS + PASS1_BITS + 3) into samples
  for (let row = 0; row < 8; row++) {
    const w = row * 8;
    const o = offset + row * stride;
    const w0 = ws[w]!, w1 = ws[w + 1]!, w2 = ws[w + 2]!, w3 = ws[w + 3]!;
    const w4 = ws[w + 4]!, w5 = ws[w + 5]!, w6 = ws[w + 6]!, w7 = ws[w + 7]!;
    if ((w1 | w2 | w3 | w4 | w5 | w6 | w7) === 0) {
      const dc = RANGE_LIMIT[Math.floor((w0 + DC_ROUND) * DC_SCALE) & 1023]!;
      for (let col = 0; col < 8; col++) out[o + col] = dc;
      continue;
    }
    // even part
    let z1 = (w2 + w6) * FIX_0_541196100;
    let tmp2 = z1 - w6 * FIX_1_847759065;
    let tmp3 = z1 + w2 * FIX_0_765366865;
    let tmp0 = (w0 + w4) * 8192;
    let tmp1 = (w0 - w4) * 8192;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    // odd part
    tmp0 = w7;
    tmp1 = w5;
    tmp2 = w3;
    tmp3 = w1;
    z1 = tmp0 + tmp3;
    let z2 = tmp1 + tmp2;
    let z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336;
    tmp1 *= FIX_2_053119869;
    tmp2 *= FIX_3_072711026;
    tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223;
    z2 *= -FIX_2_562915447;
    z3 = z3 * -FIX_1_961570560 + z5;
    z4 = z4 * -FIX_0_390180644 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    out[o] = RANGE_LIMIT[Math.floor((tmp10 + tmp3 + PASS2_ROUND) * PASS2_SCALE) & 1023]!;
    out[o + 7] = RANGE_LIMIT[Math.floor((tmp10 - tmp3 + PASS2_ROUND) * PASS2_SCALE) & 1023]!;
    out[o + 1] = RANGE_LIMIT[Math.floor((tmp11 + tmp2 + PASS2_ROUND) * PASS2_SCALE) & 1023]!;
    out[o + 6] = RANGE_LIMIT[Math.floor((tmp11 - tmp2 + PASS2_ROUND) * PASS2_SCALE) & 1023]!;
    out[o + 2] = RANGE_LIMIT[Math.floor((tmp12 + tmp1 + PASS2_ROUND) * PASS2_SCALE) & 1023]!;
    out[o + 5] = RANGE_LIMIT[Math.floor((tmp12 - tmp1 + PASS2_ROUND) * PASS2_SCALE) & 1023]!;
    out[o + 3] = RANGE_LIMIT[Math.floor((tmp13 + tmp0 + PASS2_ROUND) * PASS2_SCALE) & 1023]!;
    out[o + 4] = RANGE_LIMIT[Math.floor((tmp13 - tmp0 + PASS2_ROUND) * PASS2_SCALE) & 1023]!;
  }
}
