/**
 * JPEG -> Pillow mode via libjpeg-turbo (the @jsquash mozjpeg build, default ISLOW IDCT and fancy
 * upsampling, as Pillow's JpegDecode.c uses libjpeg). Mode from the frame header as
 * PIL.JpegImagePlugin.SOF: 1 component -> 'L', 3 -> 'RGB', 4 -> 'CMYK'. The wasm build only outputs
 * RGBA, so 4-component (CMYK / YCCK) files go through the TypeScript port of libjpeg-turbo in
 * jpegjs/ instead, read as Pillow reads them (rawmode 'CMYK;I').
 */
import { invalidImage, unsupportedImage } from './errors.js';
import { decodeJpegJs } from './jpegjs/decoder.js';
import { checkImageSize } from './limits.js';
import type { JpegWebpDecoder } from './decoderChoice.js';
import { nativeJpegPixels } from './nativeDecode.js';
import type { DecodedImage } from './types.js';
import { decodeJpegRgba, keepChannels, WasmDecodeError, type RgbaPixels } from './wasmCodecs.js';

interface JpegFrame { width: number; height: number; bits: number; components: number }

/** SOFn markers (0xC0-0xCF except DHT 0xC4, JPG 0xC8, DAC 0xCC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Walks the marker segments up to the first frame header. */
function readFrame(bytes: Uint8Array, source: string): JpegFrame {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) throw invalidImage(source, `corrupt JPEG: expected a marker at byte ${at}`);
    const marker = bytes[at + 1]!;
    if (marker === 0xff) { at++; continue; } // fill byte
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { at += 2; continue; }
    if (marker === 0xd9 || marker === 0xda) break; // EOI / SOS before any frame header
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (length < 2) throw invalidImage(source, `corrupt JPEG: segment length ${length} at byte ${at}`);
    if (isStartOfFrame(marker)) {
      if (at + 10 > bytes.length) break;
      return {
        bits: bytes[at + 4]!, height: (bytes[at + 5]! << 8) | bytes[at + 6]!,
        width: (bytes[at + 7]! << 8) | bytes[at + 8]!, components: bytes[at + 9]!,
      };
    }
    at += 2 + length;
  }
  throw invalidImage(source, 'truncated or corrupt JPEG: no frame header (SOF) found');
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
 * CMYK / YCCK JPEG -> 'CMYK' with the TypeScript decoder. JpegImagePlugin always reads 4 components
 * as rawmode 'CMYK;I' ("assume adobe conventions"): every libjpeg sample is inverted (255 - v).
 */
function decodeCmykJpeg(bytes: Uint8Array, source: string): DecodedImage {
  const image = decodeJpegJs(bytes, source);
  const data = image.data;
  for (let i = 0; i < data.length; i++) data[i] = 255 - data[i]!;
  return { mode: 'CMYK', width: image.width, height: image.height, data, format: 'jpeg', decoder: 'js' };
}

/**
 * Decodes a JPEG file's bytes: 'L' or 'RGB' with the wasm decoder (or sharp when `decoder` is
 * 'native'), 'CMYK' with the TypeScript decoder.
 */
export async function decodeJpeg(bytes: Uint8Array, source: string, decoder: JpegWebpDecoder = 'wasm'): Promise<DecodedImage> {
  const frame = readFrame(bytes, source);
  if (frame.bits !== 8) throw unsupportedImage(source, `${frame.bits}-bit JPEG is not supported (Pillow: "cannot handle ${frame.bits}-bit layers")`);
  checkImageSize(frame.width, frame.height, source);
  if (frame.components === 4) return decodeCmykJpeg(bytes, source);
  if (frame.components !== 1 && frame.components !== 3) {
    throw unsupportedImage(source, `JPEG with ${frame.components} components is not supported`);
  }
  const bands = frame.components === 1 ? 1 : 3;
  if (decoder === 'native') {
    // null: sharp rejected the file or it is not plainly well-formed; the wasm decoder below decides (nativeDecode.ts)
    const data = await nativeJpegPixels(bytes, { width: frame.width, height: frame.height, bands });
    if (data) return { mode: bands === 1 ? 'L' : 'RGB', width: frame.width, height: frame.height, data, format: 'jpeg', decoder: 'native' };
  }
  const rgba = await runDecoder(bytes, source);
  if (rgba.width !== frame.width || rgba.height !== frame.height) {
    throw invalidImage(source, `corrupt JPEG: decoder gave ${rgba.width}x${rgba.height}, header says ${frame.width}x${frame.height}`);
  }
  const data = keepChannels(rgba, bands); // gray comes back replicated to R=G=B; keep one band as 'L'
  return { mode: bands === 1 ? 'L' : 'RGB', width: rgba.width, height: rgba.height, data, format: 'jpeg', decoder: 'wasm' };
}
