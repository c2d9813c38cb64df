/**
 * A baseline / extended / progressive Huffman JPEG decoder (8-bit) that reproduces libjpeg-turbo
 * 2.1.5's default decompression bit for bit: jdmarker.c read_markers, single-scan files streamed one
 * iMCU row at a time (stream.ts), the whole-image coefficient buffer of jdcoefct.c for progressive
 * and multi-scan files (every scan decoded first, as libjpeg does), block smoothing of incomplete
 * progressive images, ISLOW IDCT, fancy upsampling and jdcolor.c's default output colour space.
 * Output: 'L' (gray), 'RGB' (YCbCr or RGB files) or 'CMYK' (CMYK or YCCK files, libjpeg's values,
 * not yet Pillow's inverted 'CMYK;I' reading).
 */
import { invalidImage, unsupportedImage } from '../errors.js';
import { convertColour, jpegColourSpace, type JpegColourSpace } from './colour.js';
import { idctIslow } from './idct.js';
import { allocateWholeImage, frameLayout, type ComponentBuffer, type FrameLayout } from './layout.js';
import {
  M_APP0, M_APP14, M_DHT, M_DQT, M_DRI, M_EOI, M_RST0, M_SOI, M_SOS,
  adobeTransform, isJfif, nextMarker, readFrame, readHuffmanTables, readQuantTables, readRestartInterval, readScanHeader,
  SegmentReader, unsupportedSofName, type Frame, type HuffmanSpec,
} from './markers.js';
import { decodeScan, type ScanContext } from './scan.js';
import { forEachSmoothedBlock, smoothingApplies } from './smoothing.js';
import { streamImage } from './stream.js';
import { rowUpsampler, upsampleMethod, type RowUpsampler, type UpsampleMethod } from './upsample.js';

export type JpegJsMode = 'L' | 'RGB' | 'CMYK';

export interface JpegJsImage {
  mode: JpegJsMode;
  /** The colour space of the file's data (before conversion). */
  colourSpace: JpegColourSpace;
  width: number;
  height: number;
  /** Interleaved, 1 / 3 / 4 bytes per pixel. */
  data: Uint8Array;
}

/** jmorecfg.h JPEG_MAX_DIMENSION (jdinput.c initial_setup: "Maximum supported image dimension is 65500 pixels"). */
const JPEG_MAX_DIMENSION = 65500;

const M_TEM = 0x01;
const M_DNL = 0xdc;
const M_COM = 0xfe;
const M_DAC = 0xcc;

/** What the markers before and between the scans have set up (jdmarker.c's view of cinfo). */
interface StreamState {
  bytes: Uint8Array;
  source: string;
  frame: Frame | null;
  layout: FrameLayout | null;
  /** Per component, chosen (and checked) when the frame header is read, as jinit_upsampler does before any scan. */
  upsampling: UpsampleMethod[];
  /** Progressive only: per component, the Al of the last scan that coded each coefficient (-1: none). */
  coefBits: Int32Array[];
  quantTables: (Uint16Array | null)[];
  dcTables: (HuffmanSpec | null)[];
  acTables: (HuffmanSpec | null)[];
  restartInterval: number;
  jfif: boolean;
  adobe: number | null;
  scans: number;
  /** Whether a first scan with every component of a sequential frame may be streamed (streamImage). */
  mayStream: boolean;
  /** The output of a streamed first scan. */
  streamed: Uint8Array | null;
}

/** Decodes a JPEG file's bytes; `source` names the file in errors (ImageError). */
export function decodeJpegJs(bytes: Uint8Array, source: string): JpegJsImage {
  return decode(bytes, source, true);
}

function decode(bytes: Uint8Array, source: string, mayStream: boolean): JpegJsImage {
  if (bytes.length < 2 || bytes[0] !== 0xff || bytes[1] !== M_SOI) throw invalidImage(source, 'not a JPEG file: it does not start with SOI (FF D8)');
  const st: StreamState = {
    bytes, source, frame: null, layout: null, upsampling: [], coefBits: [], quantTables: [null, null, null, null],
    dcTables: [null, null, null, null], acTables: [null, null, null, null], restartInterval: 0, jfif: false, adobe: null, scans: 0,
    mayStream, streamed: null,
  };
  let pending = nextMarker(bytes, 2, source);
  while (pending.marker !== M_EOI) {
    // A scan after a streamed one: libjpeg stops (JERR_EOI_EXPECTED), this decoder has always decoded
    // it on top of the first scan's coefficients, so the file is decoded again with whole-image buffers.
    if (pending.marker === M_SOS && st.streamed) return decode(bytes, source, false);
    pending = pending.marker === M_SOS ? readScan(st, pending.next) : readSegment(st, pending.marker, pending.next);
  }
  const { frame, layout } = st;
  if (!frame || !layout || st.scans === 0) throw invalidImage(source, 'corrupt JPEG: no image data before EOI');
  const space = colourSpaceOf(st, frame);
  const mode: JpegJsMode = space === 'gray' ? 'L' : space === 'rgb' || space === 'ycbcr' ? 'RGB' : 'CMYK';
  const image = { mode, colourSpace: space, width: frame.width, height: frame.height };
  if (st.streamed) return { ...image, data: st.streamed };
  // jdcoefct.c start_output_pass: decompress_smooth_data when do_block_smoothing (the default) and smoothing_ok
  const smoothing = frame.progressive && smoothingApplies(layout.components, st.coefBits);
  const rows = layout.components.map((c, i) => componentRows(c, st.upsampling[i]!, layout, frame, smoothing ? st.coefBits[i]! : null));
  return { ...image, data: convertColour(space, rows, frame.width, frame.height) };
}

function colourSpaceOf(st: StreamState, frame: Frame): JpegColourSpace {
  return jpegColourSpace({ jfif: st.jfif, adobeTransform: st.adobe, componentIds: frame.components.map((c) => c.id) }, st.source);
}

/** SOS: latch the scan components' quantisation tables, decode the scan; returns the marker after it. */
function readScan(st: StreamState, next: number): { marker: number; next: number } {
  const { frame, layout, source } = st;
  if (!frame || !layout) throw invalidImage(source, 'corrupt JPEG: SOS before any SOF marker');
  const seg = new SegmentReader(st.bytes, next, source, 'SOS');
  const scan = readScanHeader(seg, frame, source);
  for (const { component } of scan.components) {
    const buffer = layout.components[component.index]!;
    // jdinput.c latch_quant_tables (DQT stores a new array, so keeping the reference is a copy)
    buffer.quant ??= st.quantTables[component.quantTable] ?? null;
  }
  const ctx: ScanContext = {
    bytes: st.bytes, source, layout, progressive: frame.progressive, restartInterval: st.restartInterval,
    dcTables: st.dcTables, acTables: st.acTables, coefBits: st.coefBits,
  };
  // jdinput.c has_multiple_scans is false: jdcoefct.c decompress_onepass, one iMCU row at a time
  const stream = st.mayStream && st.scans === 0 && !frame.progressive && scan.components.length === frame.components.length;
  st.scans++;
  if (!stream) {
    allocateWholeImage(layout);
    return decodeScan(scan, seg.end, ctx);
  }
  const image = streamImage(layout, st.upsampling, colourSpaceOf(st, frame), frame.width, frame.height);
  const after = decodeScan(scan, seg.end, ctx, image.sink);
  st.streamed = image.data;
  return after;
}

/** Any marker but SOS / EOI (jdmarker.c read_markers); returns the marker after it. */
function readSegment(st: StreamState, marker: number, next: number): { marker: number; next: number } {
  const { bytes, source } = st;
  if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
    if (st.frame) throw invalidImage(source, 'corrupt JPEG: more than one SOF marker');
    const seg = new SegmentReader(bytes, next, source, 'SOF');
    const frame = readFrame(seg, marker === 0xc2, source);
    if (frame.width > JPEG_MAX_DIMENSION || frame.height > JPEG_MAX_DIMENSION) {
      throw invalidImage(source, `JPEG too large: ${frame.width}x${frame.height} (libjpeg's maximum is ${JPEG_MAX_DIMENSION} pixels a side)`);
    }
    colourSpaceOf(st, frame); // refuses unsupported component counts before any allocation
    st.frame = frame;
    const layout = frameLayout(frame);
    st.upsampling = layout.components.map((c) => upsampleMethod(c.frame.h, c.frame.v, layout.maxH, layout.maxV, c.downsampledWidth, source));
    st.layout = layout;
    st.coefBits = frame.components.map(() => new Int32Array(64).fill(-1));
    return nextMarker(bytes, seg.end, source);
  }
  const sofName = unsupportedSofName(marker);
  if (sofName) throw unsupportedImage(source, `JPEG ${sofName} is not supported (baseline, extended and progressive Huffman only)`);
  if ((marker >= M_RST0 && marker <= M_RST0 + 7) || marker === M_TEM) return nextMarker(bytes, next, source); // parameterless
  if (marker === M_SOI) throw invalidImage(source, 'corrupt JPEG: a second SOI marker');
  const known = marker === M_DHT || marker === M_DQT || marker === M_DRI || marker === M_DNL || marker === M_COM ||
    marker === M_DAC || (marker >= M_APP0 && marker <= M_APP0 + 15);
  if (!known) throw invalidImage(source, `corrupt JPEG: unknown marker 0xFF${marker.toString(16).toUpperCase()}`);
  const seg = new SegmentReader(bytes, next, source, `marker 0xFF${marker.toString(16).toUpperCase()}`);
  if (marker === M_DHT) readHuffmanTables(seg, st.dcTables, st.acTables, source);
  else if (marker === M_DQT) readQuantTables(seg, st.quantTables, source);
  else if (marker === M_DRI) st.restartInterval = readRestartInterval(seg, source);
  else if (marker === M_APP0) st.jfif ||= isJfif(seg);
  else if (marker === M_APP14) st.adobe = adobeTransform(seg) ?? st.adobe;
  return nextMarker(bytes, seg.end, source);
}

/**
 * IDCT of the blocks that hold real samples (block-smoothed when `smoothingBits`, the component's
 * coef_bits, is given); returns the source of its rows upsampled to the full image size.
 */
function componentRows(c: ComponentBuffer, method: UpsampleMethod, layout: FrameLayout, frame: Frame, smoothingBits: Int32Array | null): RowUpsampler {
  const { h, v } = c.frame;
  const stride = c.widthInBlocks * 8;
  const samples = new Uint8Array(stride * c.heightInBlocks * 8);
  // a component no scan coded has no latched table: jddctmgr.c leaves its multipliers zero (gray)
  const quant = c.quant ?? new Uint16Array(64);
  const idct = idctIslow; // called per block: a local, not an imported binding (a getter under CommonJS)
  if (smoothingBits) {
    forEachSmoothedBlock(c, smoothingBits, layout.mcuRows, (block, by, bx) => idct(block, 0, quant, samples, by * 8 * stride + bx * 8, stride));
  } else {
    const coefs = c.coefficients;
    for (let by = 0; by < c.heightInBlocks; by++) {
      for (let bx = 0; bx < c.widthInBlocks; bx++) {
        idct(coefs, (by * c.blocksPerLine + bx) * 64, quant, samples, by * 8 * stride + bx * 8, stride);
      }
    }
  }
  const plane = { data: samples, stride, width: c.downsampledWidth, height: c.downsampledHeight, ringRows: c.heightInBlocks * 8 };
  return rowUpsampler(plane, method, layout.maxH / h, layout.maxV / v, frame.width);
}
