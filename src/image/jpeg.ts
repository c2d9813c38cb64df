/**
 * JPEG -> Pillow mode via libjpeg-turbo (the @jsquash mozjpeg build, default ISLOW IDCT and fancy
 * upsampling, as Pillow's JpegDecode.c uses libjpeg). Mode from the frame header as
 * PIL.JpegImagePlugin.SOF: 1 component -> 'L', 3 -> 'RGB', 4 -> 'CMYK'. Two kinds of file go through
 * the TypeScript port of libjpeg-turbo 2.1.5 in jpegjs/ instead: 4-component (CMYK / YCCK) files,
 * which the wasm build cannot output (read as Pillow reads them, rawmode 'CMYK;I'), files with
 * an h1v2-upsampled component, which it upsamples differently, and progressive files whose scans
 * leave coefficients incomplete, which it block-smooths differently (jpegStructure.ts).
 */
import { invalidImage, unsupportedImage } from './errors.js';
import { decodeJpegJs } from './jpegjs/decoder.js';
import { isStartOfFrame, M_EOI, M_RST0, M_SOI, M_SOS, nextMarker, readFrame, SegmentReader, type Frame } from './jpegjs/markers.js';
import { checkPillowAppSegments } from './jpegPillowRules.js';
import { checkScanWork, progressionIsIncomplete } from './jpegStructure.js';
import { checkImageSize } from './limits.js';
import type { JpegWebpDecoder } from './decoderChoice.js';
import { nativeJpegPixels } from './nativeDecode.js';
import type { DecodedImage } from './types.js';
import { decodeJpegRgba, keepChannels, WasmDecodeError, type RgbaPixels } from './wasmCodecs.js';

/**
 * The frame header, found as jdmarker.c read_markers finds it: markers located with next_marker
 * (stray bytes skipped, as libjpeg and Pillow skip them with a warning), segments before the SOFn
 * stepped over by their length. 8-bit precision and sane sizes and sampling factors are checked.
 */
function readFrameHeader(bytes: Uint8Array, source: string): Frame {
  let { marker, next } = nextMarker(bytes, 2, source);
  for (;;) {
    if (isStartOfFrame(marker)) return readFrame(new SegmentReader(bytes, next, source, 'SOF'), marker === 0xc2, source);
    if (marker === M_SOS || marker === M_EOI) throw invalidImage(source, 'corrupt JPEG: no frame header (SOF) before the image data');
    const parameterless = marker === M_SOI || marker === 0x01 || (marker >= M_RST0 && marker <= M_RST0 + 7);
    ({ marker, next } = nextMarker(bytes, parameterless ? next : new SegmentReader(bytes, next, source, `marker 0x${marker.toString(16)}`).end, source));
  }
}

/**
 * Whether libjpeg-turbo 2.1.5 (Pillow's) upsamples some component with h1v2_fancy_upsample (full
 * horizontal, half vertical resolution, e.g. 4:4:0). The @jsquash mozjpeg build replicates rows
 * there instead, so such files are decoded by the TypeScript port (test/image.cmyk.test.ts).
 */
function needsH1v2Fancy(frame: Frame): boolean {
  const maxH = Math.max(...frame.components.map((c) => c.h));
  const maxV = Math.max(...frame.components.map((c) => c.v));
  return frame.components.some((c) => c.h === maxH && c.v * 2 === maxV);
}

async function runDecoder(bytes: Uint8Array, source: string): Promise<RgbaPixels> {
  let result;
  try {
    result = await decodeJpegRgba(bytes);
  } catch (err) {
    const why = err instanceof WasmDecodeError ? err.message : String(err);
    throw invalidImage(source, `corrupt JPEG: ${why}`, err);
  }
  // libjpeg only warns and pads with gray at a premature end; Pillow raises "image file is truncated".
  if (result.messages.some((m) => m.includes('Premature end of JPEG file'))) {
    throw invalidImage(source, 'truncated JPEG: the data ends before the image is complete');
  }
  return result.pixels;
}

/**
 * A JPEG through the TypeScript decoder. JpegImagePlugin reads 4 components as rawmode 'CMYK;I'
 * ("assume adobe conventions"): every libjpeg sample of a CMYK / YCCK file is inverted (255 - v).
 */
function decodeWithTypeScript(bytes: Uint8Array, source: string): DecodedImage {
  const image = decodeJpegJs(bytes, source);
  const data = image.data;
  if (image.mode === 'CMYK') for (let i = 0; i < data.length; i++) data[i] = 255 - data[i]!;
  return { mode: image.mode, width: image.width, height: image.height, data, format: 'jpeg', decoder: 'js' };
}

/**
 * Decodes a JPEG file's bytes: 'L' or 'RGB' with the wasm decoder (or sharp when `decoder` is
 * 'native'); 'CMYK', layouts the wasm build does not upsample as libjpeg-turbo 2.1.5 does and
 * incomplete progressive files (block smoothing), with the TypeScript decoder. Files whose scans
 * would cost more than MAX_SCAN_BLOCKS block visits are refused first.
 */
export async function decodeJpeg(bytes: Uint8Array, source: string, decoder: JpegWebpDecoder = 'wasm'): Promise<DecodedImage> {
  const frame = readFrameHeader(bytes, source);
  checkImageSize(frame.width, frame.height, source);
  checkPillowAppSegments(bytes, source);
  checkScanWork(bytes, frame, source);
  const components = frame.components.length;
  if (components === 4) return decodeWithTypeScript(bytes, source);
  if (components !== 1 && components !== 3) {
    throw unsupportedImage(source, `JPEG with ${components} components is not supported`);
  }
  const bands = components === 1 ? 1 : 3;
  if (decoder === 'native') {
    // null: sharp rejected the file or it is not plainly well-formed; the decoders below decide (nativeDecode.ts)
    const data = await nativeJpegPixels(bytes, { width: frame.width, height: frame.height, bands });
    if (data) return { mode: bands === 1 ? 'L' : 'RGB', width: frame.width, height: frame.height, data, format: 'jpeg', decoder: 'native' };
  }
  if (needsH1v2Fancy(frame) || progressionIsIncomplete(bytes, frame)) return decodeWithTypeScript(bytes, source);
  const rgba = await runDecoder(bytes, source);
  if (rgba.width !== frame.width || rgba.height !== frame.height) {
    throw invalidImage(source, `corrupt JPEG: decoder gave ${rgba.width}x${rgba.height}, header says ${frame.width}x${frame.height}`);
  }
  const data = keepChannels(rgba, bands); // gray comes back replicated to R=G=B; keep one band as 'L'
  return { mode: bands === 1 ? 'L' : 'RGB', width: rgba.width, height: rgba.height, data, format: 'jpeg', decoder: 'wasm' };
}
