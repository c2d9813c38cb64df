/** Small hostile files for the resource-limit tests, built in memory (none is committed). */
import { crc32, deflateRawSync, deflateSync, createDeflate, constants } from 'node:zlib';

function u32be(n: number): Uint8Array {
  return Uint8Array.of((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function pngChunk(type: string, body: Uint8Array): Uint8Array {
  const typed = concatBytes([Uint8Array.from([...type].map((c) => c.charCodeAt(0))), body]);
  return concatBytes([u32be(body.length), typed, u32be(crc32(typed) >>> 0)]);
}

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** A PNG with the given IHDR fields and an already-deflated IDAT payload. */
export function pngWithIdat(width: number, height: number, depth: number, ctype: number, idat: Uint8Array): Uint8Array {
  const ihdr = concatBytes([u32be(width), u32be(height), Uint8Array.of(depth, ctype, 0, 0, 0)]);
  return concatBytes([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', new Uint8Array(0))]);
}

/** A PNG of filtered rows (filter byte + data per row), deflated in one go. */
export function pngOfRows(width: number, height: number, depth: number, ctype: number, rows: Uint8Array): Uint8Array {
  return pngWithIdat(width, height, depth, ctype, deflateSync(rows));
}

/** zlib stream of `bytes` zero bytes, deflated chunk by chunk (never holds the plain data). */
export async function zerosDeflated(bytes: number): Promise<Uint8Array> {
  const z = createDeflate({ level: constants.Z_BEST_COMPRESSION });
  const out: Buffer[] = [];
  z.on('data', (d: Buffer) => out.push(d));
  const done = new Promise<void>((resolve, reject) => { z.on('end', resolve); z.on('error', reject); });
  const chunk = Buffer.alloc(1 << 20);
  for (let left = bytes; left > 0; left -= chunk.length) {
    if (!z.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) await new Promise((r) => z.once('drain', r));
  }
  z.end();
  await done;
  return new Uint8Array(Buffer.concat(out));
}

/** CRC-32 of `bytes` zero bytes, computed chunk by chunk. */
export function zerosCrc32(bytes: number): number {
  const chunk = new Uint8Array(1 << 20);
  let crc = 0;
  for (let left = bytes; left > 0; left -= chunk.length) crc = crc32(left >= chunk.length ? chunk : chunk.subarray(0, left), crc);
  return crc >>> 0;
}

/**
 * Raw deflate stream of `bytes` zero bytes, built in milliseconds: one MiB of zeros deflated and ended
 * with a full flush (so it refers to nothing before it) is repeated, then an empty final block.
 */
export function zerosDeflatedRaw(bytes: number): Uint8Array {
  const mib = 1 << 20;
  const block = (n: number) => deflateRawSync(new Uint8Array(n), { level: constants.Z_BEST_COMPRESSION, finishFlush: constants.Z_FULL_FLUSH });
  const whole = block(mib);
  const parts: Uint8Array[] = Array.from({ length: Math.floor(bytes / mib) }, () => whole);
  if (bytes % mib) parts.push(block(bytes % mib));
  parts.push(Uint8Array.of(0x03, 0x00));
  return concatBytes(parts);
}
