/**
 * Single-scan (sequential, every component in one scan) files decoded as libjpeg-turbo 2.1.5 does
 * without a whole-image buffer: jdcoefct.c decompress_onepass hands over one iMCU row of
 * coefficients at a time, the IDCT writes it into a strip of sample rows per component, and
 * jdmainct.c's context rows (the row above and below an iMCU row that the fancy v2 upsamplers read)
 * decide when an output row can be upsampled and colour-converted. Output bytes are the same as
 * the whole-image path's: only the order of the work changes.
 */
import { convertColourRows, outputBands, type JpegColourSpace } from './colour.js';
import { idctIslow } from './idct.js';
import type { FrameLayout } from './layout.js';
import type { ImcuRowSink } from './scan.js';
import { lastSampleRowNeeded, rowUpsampler, type RowUpsampler, type UpsampleMethod } from './upsample.js';

/** An image being decoded one iMCU row at a time: give `sink` to decodeScan; `data` is complete once the scan is. */
export interface StreamedImage { sink: ImcuRowSink; data: Uint8Array }

/**
 * Reused across calls (decoding is synchronous, so one call at a time uses them): per component
 * index, the one-iMCU-row coefficient buffer and the sample strip, when they are no larger than
 * KEEP_ELEMENTS (about 8000 pixels wide); wider images get buffers of their own.
 */
const coefficientScratch: Int16Array[] = [];
const stripScratch: Uint8Array[] = [];
const KEEP_ELEMENTS = 1 << 20;

function scratch<T extends Int16Array | Uint8Array>(pool: T[], index: number, length: number, make: (n: number) => T): T {
  if (length > KEEP_ELEMENTS) return make(length);
  let buffer = pool[index];
  if (!buffer || buffer.length < length) pool[index] = buffer = make(length);
  return buffer.subarray(0, length) as T;
}

/**
 * Points the layout's coefficient buffers at zeroed one-iMCU-row buffers and returns the sink that
 * turns each decoded iMCU row into output rows of an image `width` x `height` in `space`.
 */
export function streamImage(layout: FrameLayout, upsampling: UpsampleMethod[], space: JpegColourSpace, width: number,
  height: number): StreamedImage {
  const data = new Uint8Array(width * height * outputBands(space));
  const components = layout.components.map((c, ci) => {
    const { v } = c.frame;
    c.coefficients = scratch(coefficientScratch, ci, c.blocksPerLine * v * 64, (n) => new Int16Array(n)).fill(0);
    const stride = c.widthInBlocks * 8;
    // this iMCU row's sample rows and the previous one's: the rows an output row still waiting for
    // its context below can need (jdmainct.c keeps the same two row groups)
    const ringRows = 2 * v * 8;
    const strip = scratch(stripScratch, ci, stride * ringRows, (n) => new Uint8Array(n));
    const method = upsampling[ci]!;
    const vExpand = layout.maxV / v;
    const plane = { data: strip, stride, width: c.downsampledWidth, height: c.downsampledHeight, ringRows };
    const rows: RowUpsampler = rowUpsampler(plane, method, layout.maxH / c.frame.h, vExpand, width);
    // a component no scan coded cannot occur here (the scan has every component); decodeScan refuses a missing table first
    const quant = c.quant ?? new Uint16Array(64);
    return { c, v, stride, ringRows, strip, method, vExpand, rows, quant, available: 0 };
  });
  const rowSources = components.map((k) => k.rows);
  const idct = idctIslow; // called per block: a local, not an imported binding (a getter under CommonJS)
  let nextOutputRow = 0;

  const ready = (y: number): boolean =>
    components.every((k) => lastSampleRowNeeded(k.method, k.vExpand, k.c.downsampledHeight, y) < k.available);

  const sink: ImcuRowSink = (imcuRow) => {
    for (const k of components) {
      const { c, v, stride, ringRows, strip, quant } = k;
      const coefs = c.coefficients;
      const firstBlockRow = imcuRow * v;
      const endBlockRow = Math.min(firstBlockRow + v, c.heightInBlocks);
      for (let by = firstBlockRow; by < endBlockRow; by++) {
        const rowStart = ((by * 8) % ringRows) * stride;
        const blockStart = (by - firstBlockRow) * c.blocksPerLine * 64;
        for (let bx = 0; bx < c.widthInBlocks; bx++) idct(coefs, blockStart + bx * 64, quant, strip, rowStart + bx * 8, stride);
      }
      coefs.fill(0);
      k.available = endBlockRow * 8;
    }
    const first = nextOutputRow;
    while (nextOutputRow < height && ready(nextOutputRow)) nextOutputRow++;
    convertColourRows(space, rowSources, width, data, first, nextOutputRow);
  };
  return { sink, data };
}
