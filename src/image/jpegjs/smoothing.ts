/**
 * libjpeg-turbo 2.1.5 jdcoefct.c block smoothing for progressive JPEGs whose scans leave some of the
 * first nine AC coefficients unsent or not fully refined (do_block_smoothing is on by default):
 * smoothing_ok decides, decompress_smooth_data estimates the missing low-frequency coefficients of
 * each block from the DC values of its 5x5 block neighbourhood (and, when no AC data at all was
 * sent, re-estimates the DC too) before the IDCT. The neighbour rules, including the places where
 * libjpeg reuses a nearer row although a farther one exists, follow that function line by line.
 */
import type { ComponentBuffer } from './layout.js';

/** jdcoefct.c SAVED_COEFS: coef_bits of the DC and the first nine AC coefficients (zigzag order). */
export const SAVED_COEFS = 10;
/** Natural positions of Q01, Q10, Q20, Q11, Q02, Q03, Q12, Q21, Q30 (zigzag 1..9). */
const AC_POS = [1, 8, 16, 9, 2, 3, 10, 17, 24] as const;

/**
 * smoothing_ok: every component has a latched table with nonzero Q00..Q30, its DC has been sent,
 * and some component still lacks bits of one of the first nine AC coefficients.
 */
export function smoothingApplies(components: ComponentBuffer[], coefBits: Int32Array[]): boolean {
  let useful = false;
  for (let ci = 0; ci < components.length; ci++) {
    const quant = components[ci]!.quant;
    if (!quant || quant[0] === 0 || AC_POS.some((p) => quant[p] === 0)) return false;
    const bits = coefBits[ci]!;
    if (bits[0]! < 0) return false;
    for (let k = 1; k < SAVED_COEFS; k++) if (bits[k] !== 0) useful = true;
  }
  return useful;
}

/** decompress_smooth_data's rounding: |num| / (Q << 8) rounded, clamped below 2^Al when Al > 0. */
function predict(num: number, q: number, al: number): number {
  const limit = al > 0 ? (1 << al) - 1 : Infinity;
  if (num >= 0) return Math.min(Math.trunc((q * 128 + num) / (q * 256)), limit);
  return -Math.min(Math.trunc((q * 128 - num) / (q * 256)), limit);
}

/**
 * Calls `emit(workspace, blockRow, blockCol)` for every block holding real samples, with the
 * block's coefficients plus libjpeg's estimates (the stored coefficients are left untouched).
 * `bits` is the component's coef_bits; `totalImcuRows` is the frame's iMCU row count.
 */
export function forEachSmoothedBlock(c: ComponentBuffer, bits: Int32Array, totalImcuRows: number,
  emit: (workspace: Int16Array, blockRow: number, blockCol: number) => void): void {
  const coefs = c.coefficients;
  const quant = c.quant!;
  const v = c.frame.v;
  const lastImcuRow = totalImcuRows - 1;
  const lastBlockColumn = c.widthInBlocks - 1;
  // DC interpolation only when no AC coefficient data is available at all
  const changeDc = [1, 2, 3, 4, 5, 6, 7, 8, 9].every((k) => bits[k] === -1);
  const q00 = quant[0]!;
  const workspace = new Int16Array(64);
  const dcAt = (row: number, col: number): number => coefs[(row * c.blocksPerLine + col) * 64]!;

  for (let imcu = 0; imcu <= lastImcuRow; imcu++) {
    let blockRows = v;
    if (imcu === lastImcuRow) blockRows = c.heightInBlocks % v || v;
    for (let blockRow = 0; blockRow < blockRows; blockRow++) {
      const row = imcu * v + blockRow;
      const prev = blockRow > 0 || imcu > 0 ? row - 1 : row;
      const prevPrev = blockRow > 1 || imcu > 1 ? row - 2 : prev;
      const next = blockRow < blockRows - 1 || imcu < lastImcuRow ? row + 1 : row;
      const nextNext = blockRow < blockRows - 2 || imcu + 1 < lastImcuRow ? row + 2 : next;
      // the sliding 5x5 window of DC values, every column first set to column 0 (narrow pictures)
      let dc01 = dcAt(prevPrev, 0), dc02 = dc01, dc03 = dc01, dc04 = dc01, dc05 = dc01;
      let dc06 = dcAt(prev, 0), dc07 = dc06, dc08 = dc06, dc09 = dc06, dc10 = dc06;
      let dc11 = dcAt(row, 0), dc12 = dc11, dc13 = dc11, dc14 = dc11, dc15 = dc11;
      let dc16 = dcAt(next, 0), dc17 = dc16, dc18 = dc16, dc19 = dc16, dc20 = dc16;
      let dc21 = dcAt(nextNext, 0), dc22 = dc21, dc23 = dc21, dc24 = dc21, dc25 = dc21;
      for (let col = 0; col <= lastBlockColumn; col++) {
        const at = (row * c.blocksPerLine + col) * 64;
        workspace.set(coefs.subarray(at, at + 64));
        if (col === 0 && col < lastBlockColumn) {
          dc04 = dcAt(prevPrev, 1); dc09 = dcAt(prev, 1); dc14 = dcAt(row, 1); dc19 = dcAt(next, 1); dc24 = dcAt(nextNext, 1);
        }
        if (col + 1 < lastBlockColumn) {
          dc05 = dcAt(prevPrev, col + 2); dc10 = dcAt(prev, col + 2); dc15 = dcAt(row, col + 2);
          dc20 = dcAt(next, col + 2); dc25 = dcAt(nextNext, col + 2);
        }
        let al: number;
        // AC01
        if ((al = bits[1]!) !== 0 && workspace[1] === 0) {
          const num = q00 * (changeDc
            ? -dc01 - dc02 + dc04 + dc05 - 3 * dc06 + 13 * dc07 - 13 * dc09 + 3 * dc10 - 3 * dc11 + 38 * dc12 - 38 * dc14 +
              3 * dc15 - 3 * dc16 + 13 * dc17 - 13 * dc19 + 3 * dc20 - dc21 - dc22 + dc24 + dc25
            : -7 * dc11 + 50 * dc12 - 50 * dc14 + 7 * dc15);
          workspace[1] = predict(num, quant[1]!, al);
        }
        // AC10
        if ((al = bits[2]!) !== 0 && workspace[8] === 0) {
          const num = q00 * (changeDc
            ? -dc01 - 3 * dc02 - 3 * dc03 - 3 * dc04 - dc05 - dc06 + 13 * dc07 + 38 * dc08 + 13 * dc09 - dc10 + dc16 -
              13 * dc17 - 38 * dc18 - 13 * dc19 + dc20 + dc21 + 3 * dc22 + 3 * dc23 + 3 * dc24 + dc25
            : -7 * dc03 + 50 * dc08 - 50 * dc18 + 7 * dc23);
          workspace[8] = predict(num, quant[8]!, al);
        }
        // AC20
        if ((al = bits[3]!) !== 0 && workspace[16] === 0) {
          const num = q00 * (changeDc
            ? dc03 + 2 * dc07 + 7 * dc08 + 2 * dc09 - 5 * dc12 - 14 * dc13 - 5 * dc14 + 2 * dc17 + 7 * dc18 + 2 * dc19 + dc23
            : -dc03 + 13 * dc08 - 24 * dc13 + 13 * dc18 - dc23);
          workspace[16] = predict(num, quant[16]!, al);
        }
        // AC11
        if ((al = bits[4]!) !== 0 && workspace[9] === 0) {
          const num = q00 * (changeDc
            ? -dc01 + dc05 + 9 * dc07 - 9 * dc09 - 9 * dc17 + 9 * dc19 + dc21 - dc25
            : dc10 + dc16 - 10 * dc17 + 10 * dc19 - dc02 - dc20 + dc22 - dc24 + dc04 - dc06 + 10 * dc07 - 10 * dc09);
          workspace[9] = predict(num, quant[9]!, al);
        }
        // AC02
        if ((al = bits[5]!) !== 0 && workspace[2] === 0) {
          const num = q00 * (changeDc
            ? 2 * dc07 - 5 * dc08 + 2 * dc09 + dc11 + 7 * dc12 - 14 * dc13 + 7 * dc14 + dc15 + 2 * dc17 - 5 * dc18 + 2 * dc19
            : -dc11 + 13 * dc12 - 24 * dc13 + 13 * dc14 - dc15);
          workspace[2] = predict(num, quant[2]!, al);
        }
        if (changeDc) {
          if ((al = bits[6]!) !== 0 && workspace[3] === 0) { // AC03
            workspace[3] = predict(q00 * (dc07 - dc09 + 2 * dc12 - 2 * dc14 + dc17 - dc19), quant[3]!, al);
          }
          if ((al = bits[7]!) !== 0 && workspace[10] === 0) { // AC12
            workspace[10] = predict(q00 * (dc07 - 3 * dc08 + dc09 - dc17 + 3 * dc18 - dc19), quant[10]!, al);
          }
          if ((al = bits[8]!) !== 0 && workspace[17] === 0) { // AC21
            workspace[17] = predict(q00 * (dc07 - dc09 - 3 * dc12 + 3 * dc14 + dc17 - dc19), quant[17]!, al);
          }
          if ((al = bits[9]!) !== 0 && workspace[24] === 0) { // AC30
            workspace[24] = predict(q00 * (dc07 + 2 * dc08 + dc09 - dc17 - 2 * dc18 - dc19), quant[24]!, al);
          }
          // the DC itself, from the Gaussian-like kernel (never clamped)
          const num = q00 * (-2 * dc01 - 6 * dc02 - 8 * dc03 - 6 * dc04 - 2 * dc05 - 6 * dc06 + 6 * dc07 + 42 * dc08 + 6 * dc09 -
            6 * dc10 - 8 * dc11 + 42 * dc12 + 152 * dc13 + 42 * dc14 - 8 * dc15 - 6 * dc16 + 6 * dc17 + 42 * dc18 + 6 * dc19 -
            6 * dc20 - 2 * dc21 - 6 * dc22 - 8 * dc23 - 6 * dc24 - 2 * dc25);
          workspace[0] = predict(num, q00, 0);
        }
        emit(workspace, row, col);
        dc01 = dc02; dc02 = dc03; dc03 = dc04; dc04 = dc05;
        dc06 = dc07; dc07 = dc08; dc08 = dc09; dc09 = dc10;
        dc11 = dc12; dc12 = dc13; dc13 = dc14; dc14 = dc15;
        dc16 = dc17; dc17 = dc18; dc18 = dc19; dc19 = dc20;
        dc21 = dc22; dc22 = dc23; dc23 = dc24; dc24 = dc25;
      }
    }
  }
}
