/** Hand-made PNG files for tests: chunks with their real CRCs (Pillow checks them before IDAT, and so do we). */
import { crc32 } from 'node:zlib';

export const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function u32be(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

/** length, type, body, CRC-32 of type + body. */
export function pngChunk(type: string, body: ArrayLike<number>): Uint8Array {
  const typeAndBody = Uint8Array.from([...[...type].map((c) => c.charCodeAt(0)), ...Array.from(body)]);
  return Uint8Array.from([...u32be(body.length), ...typeAndBody, ...u32be(crc32(typeAndBody))]);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}
