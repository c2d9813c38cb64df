/** Raw pixel input (already decoded RGB / RGBA), checked and wrapped as a Pillow-mode image. */
import { InputError } from '../errors.js';
import { invalidImage } from './errors.js';
import { checkImageSize } from './limits.js';
import type { DecodedImage } from './types.js';

/** Raw pixels, row-major, `channels` bytes per pixel (4 = RGBA, resized as Pillow resizes RGBA). */
export interface RawImage { data: Uint8Array | Uint8ClampedArray; width: number; height: number; channels: 3 | 4 }

/** The byte arrays raw pixels may come in (a Node Buffer is a Uint8Array); anything else is refused, not converted. */
function describeData(data: unknown): string | null {
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return null;
  if (Array.isArray(data)) return 'a plain Array';
  if (ArrayBuffer.isView(data)) return `a ${data.constructor.name}`;
  return data === null ? 'null' : typeof data === 'object' ? `a ${(data as object).constructor?.name ?? 'object'}` : typeof data;
}

/**
 * Validates raw pixels (named '<raw>' in errors) and views them as an 'RGB' / 'RGBA' image, without
 * copying. `data` must be a Uint8Array or Uint8ClampedArray of exactly width x height x channels bytes
 * (InputError otherwise: a Float32Array or plain Array would otherwise become a view of other bytes).
 */
export function rawToDecoded(raw: RawImage): DecodedImage {
  const source = '<raw>';
  const wrongType = describeData(raw.data as unknown);
  if (wrongType !== null) {
    throw new InputError(`${source}: raw pixel data must be a Uint8Array or Uint8ClampedArray (one byte per channel), got ${wrongType}`);
  }
  if (raw.channels !== 3 && raw.channels !== 4) throw invalidImage(source, `raw pixels must have 3 (RGB) or 4 (RGBA) channels, got ${String(raw.channels)}`);
  checkImageSize(raw.width, raw.height, source);
  const expected = raw.width * raw.height * raw.channels;
  if (raw.data.length !== expected) {
    throw invalidImage(source, `raw pixels: ${raw.data.length} bytes for ${raw.width}x${raw.height}x${raw.channels}, expected ${expected}`);
  }
  const data = new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.length);
  return { mode: raw.channels === 4 ? 'RGBA' : 'RGB', width: raw.width, height: raw.height, data, format: 'raw', decoder: 'none' };
}
