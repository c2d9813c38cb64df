/** Container sniffing from the leading bytes (never from the file name). */
import type { EncodedFormat } from './types.js';

export const SUPPORTED_FORMATS: readonly EncodedFormat[] = ['png', 'jpeg', 'webp'];

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  return prefix.every((b, i) => bytes[at + i] === b);
}

function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}

/** The supported format of `bytes`, or null. */
export function detectFormat(bytes: Uint8Array): EncodedFormat | null {
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'webp';
  return null;
}

/** A name for a few common formats we do not decode, for a clearer error message. */
export function describeUnsupported(bytes: Uint8Array): string {
  if (startsWith(bytes, ascii('GIF8'))) return 'GIF';
  if (startsWith(bytes, ascii('BM'))) return 'BMP';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'TIFF';
  if (startsWith(bytes, ascii('ftyp'), 4)) return 'HEIF/AVIF/MP4 (ISO-BMFF)';
  if (startsWith(bytes, ascii('RIFF'))) return 'a RIFF container that is not WebP';
  return 'an unknown format';
}
