/**
 * One scan's entropy-coded data: the MCU walk of jdinput.c per_scan_setup (interleaved: whole MCUs
 * of every scan component; one component: its own blocks only), restart markers as jdhuff.c /
 * jdphuff.c process_restart expects them, and the progressive scan checks of jdphuff.c
 * start_pass_phuff_decoder (coefficient-bit bookkeeping included, for block-smoothing decisions).
 */
import { invalidImage } from '../errors.js';
import { BitReader } from './bitreader.js';
import { decodeAcFirst, decodeAcRefine, decodeDcFirst, decodeDcRefine, decodeSequentialBlock, type EntropyState } from './entropy.js';
import { huffmanTable, type HuffmanTable } from './huffman.js';
import type { ComponentBuffer, FrameLayout } from './layout.js';
import { M_RST0, nextMarker, type HuffmanSpec, type ScanHeader } from './markers.js';

export interface ScanContext {
  bytes: Uint8Array;
  source: string;
  layout: FrameLayout;
  progressive: boolean;
  restartInterval: number;
  dcTables: (HuffmanSpec | null)[];
  acTables: (HuffmanSpec | null)[];
  /** Progressive only: per component, the Al of the last scan that coded each coefficient (-1: none yet). */
  coefBits: Int32Array[];
}

/** jdinput.c D_MAX_BLOCKS_IN_MCU. */
const MAX_BLOCKS_IN_MCU = 10;

type BlockDecoder = (reader: BitReader, c: ComponentBuffer, at: number, scanIndex: number, state: EntropyState) => void;

/** start_pass_phuff_decoder's JERR_BAD_PROGRESSION checks, and the coef_bits update. */
function checkProgression(scan: ScanHeader, ctx: ScanContext): void {
  const { ss, se, ah, al } = scan;
  const dcBand = ss === 0;
  let bad = dcBand ? se !== 0 : ss > se || se >= 64 || scan.components.length !== 1;
  if (ah !== 0 && al !== ah - 1) bad = true;
  if (al > 13) bad = true;
  if (bad) throw invalidImage(ctx.source, `corrupt JPEG: invalid progressive parameters Ss=${ss} Se=${se} Ah=${ah} Al=${al}`);
  // inconsistent Ah across scans is only a warning (JWRN_BOGUS_PROGRESSION); libjpeg records Al regardless
  for (const { component } of scan.components) {
    const bits = ctx.coefBits[component.index]!;
    for (let k = ss; k <= se; k++) bits[k] = al;
  }
}

/**
 * The per-block decoding function of a scan (jdhuff.c / jdphuff.c decode_mcu_*). The entropy
 * functions are bound to local constants: compiled to CommonJS (tsx does this when a CommonJS
 * module imports the decoder), every read of an imported binding is a getter call.
 */
function blockDecoder(scan: ScanHeader, ctx: ScanContext): BlockDecoder {
  const { ss, se, ah, al } = scan;
  const { source } = ctx;
  const dc = (i: number): HuffmanTable => {
    const slot = scan.components[i]!.dcTable;
    return huffmanTable(ctx.dcTables[slot], true, slot, source);
  };
  const ac = (i: number): HuffmanTable => {
    const slot = scan.components[i]!.acTable;
    return huffmanTable(ctx.acTables[slot], false, slot, source);
  };
  if (!ctx.progressive) {
    // jdhuff.c start_pass_huff_decoder: other Ss/Se/Ah/Al values are only a warning
    // (JWRN_NOT_SEQUENTIAL); the block is decoded whole all the same
    const dcs = scan.components.map((_, i) => dc(i));
    const acs = scan.components.map((_, i) => ac(i));
    const decode = decodeSequentialBlock;
    return (r, c, at, i, state) => decode(r, c.coefficients, at, dcs[i]!, acs[i]!, state, i);
  }
  checkProgression(scan, ctx);
  if (ss === 0) {
    if (ah === 0) {
      const dcs = scan.components.map((_, i) => dc(i));
      const decode = decodeDcFirst;
      return (r, c, at, i, state) => decode(r, c.coefficients, at, dcs[i]!, al, state, i, source);
    }
    const decode = decodeDcRefine;
    return (r, c, at) => decode(r, c.coefficients, at, al);
  }
  const table = ac(0);
  if (ah === 0) {
    const decode = decodeAcFirst;
    return (r, c, at, _i, state) => decode(r, c.coefficients, at, table, ss, se, al, state);
  }
  const decode = decodeAcRefine;
  return (r, c, at, _i, state) => decode(r, c.coefficients, at, table, ss, se, al, state);
}

/**
 * Streaming (jdcoefct.c decompress_onepass): the scan's coefficient buffers hold one iMCU row (`v`
 * block rows per component); called once that row is decoded, with its index, to consume it and
 * leave the buffers zeroed for the next (libjpeg zeroes its MCU buffer before each MCU).
 */
export type ImcuRowSink = (imcuRow: number) => void;

/**
 * Decodes the entropy-coded data that starts at `start` into the components' coefficient buffers:
 * the whole image, or with `sink` one iMCU row at a time.
 * Returns the marker that follows the data (after libjpeg's skipping of extraneous bytes).
 */
export function decodeScan(scan: ScanHeader, start: number, ctx: ScanContext, sink: ImcuRowSink | null = null): { marker: number; next: number } {
  const { layout, bytes, source } = ctx;
  const buffers = scan.components.map((s) => layout.components[s.component.index]!);
  for (const b of buffers) {
    if (!b.quant) throw invalidImage(source, `corrupt JPEG: quantization table ${b.frame.quantTable} was not defined`);
  }
  const decodeBlock = blockDecoder(scan, ctx);
  const reader = new BitReader(bytes, start, source);
  const state: EntropyState = { lastDc: new Int32Array(buffers.length), eobRun: 0 };
  const interleaved = buffers.length > 1;
  const single = buffers[0]!;
  const mcusPerLine = interleaved ? layout.mcusPerLine : single.widthInBlocks;
  const mcuRows = interleaved ? layout.mcuRows : single.heightInBlocks;
  if (interleaved && buffers.reduce((n, b) => n + b.frame.h * b.frame.v, 0) > MAX_BLOCKS_IN_MCU) {
    throw invalidImage(source, 'corrupt JPEG: sampling factors too large for an interleaved scan');
  }
  const singleV = single.frame.v;
  const interval = ctx.restartInterval;
  let restartsToGo = interval;
  let nextRestart = 0;

  for (let my = 0; my < mcuRows; my++) {
    const singleRow = (sink ? my % singleV : my) * single.blocksPerLine;
    for (let mx = 0; mx < mcusPerLine; mx++) {
      if (interval) {
        if (restartsToGo === 0) {
          readRestart(reader, ctx, nextRestart);
          nextRestart = (nextRestart + 1) & 7;
          restartsToGo = interval;
          state.lastDc.fill(0);
          state.eobRun = 0;
        }
        restartsToGo--;
      }
      if (!interleaved) {
        decodeBlock(reader, single, (singleRow + mx) * 64, 0, state);
        continue;
      }
      for (let i = 0; i < buffers.length; i++) {
        const b = buffers[i]!;
        const { h, v } = b.frame;
        for (let by = 0; by < v; by++) {
          const row = ((sink ? 0 : my * v) + by) * b.blocksPerLine + mx * h;
          for (let bx = 0; bx < h; bx++) decodeBlock(reader, b, (row + bx) * 64, i, state);
        }
      }
    }
    if (!sink) continue;
    // an interleaved MCU row is an iMCU row; one component's iMCU row is v of its block rows
    if (interleaved) sink(my);
    else if (my % singleV === singleV - 1 || my === mcuRows - 1) sink(Math.floor(my / singleV));
  }
  return reader.marker ? { marker: reader.marker, next: reader.afterMarker } : nextMarker(bytes, reader.position, source);
}

/** process_restart + read_restart_marker: the next marker must be RSTn with the expected n. */
function readRestart(reader: BitReader, ctx: ScanContext, expected: number): void {
  const found = reader.marker ? { marker: reader.marker, next: reader.afterMarker } : nextMarker(ctx.bytes, reader.position, ctx.source);
  if (found.marker !== M_RST0 + expected) {
    // libjpeg's jpeg_resync_to_restart would guess and warn; a wrong marker here is corrupt data
    throw invalidImage(ctx.source, `corrupt JPEG: expected restart marker RST${expected}, found 0xFF${found.marker.toString(16).toUpperCase()}`);
  }
  reader.restartAt(found.next);
}
