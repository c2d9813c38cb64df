/**
 * PNG decoding speed: a 1024x1024 RGB and a 1024x1024 RGBA PNG (made here: a photo-like synthetic
 * picture, rows filtered Paeth with every fourth row Sub, deflated by node:zlib at level 6), decoded
 * by decodeImage (Node's zlib inflate) and by decodePng with upng-js's inflate (the browser path),
 * median ms per image. Baseline measured in the same run: upng-js's own `UPNG.decode` + `UPNG.toRGBA8`
 * on the same bytes (ratio below 1: faster than upng-js).
 */
import { deflateSync } from 'node:zlib';
import UPNG from 'upng-js';
import { decodeImage } from '../src/image/index.js';
import { nodeInflater, upngInflater } from '../src/image/inflate.js';
import { decodePng } from '../src/image/png.js';
import { machineLine, medianMs } from './machine.js';

const SIDE = 1024;
const RUNS = 15;
const WARMUP = 3;

/** The parts of upng-js's full decoder used as the baseline (its bundled typings declare only the helpers png.ts uses). */
const upngFull = UPNG as unknown as { decode(b: ArrayBuffer): object; toRGBA8(img: object): ArrayBuffer[] };

/** Smooth gradients, hard edges and mild noise, `bands` channels (alpha, when present, a soft ramp). */
function syntheticPixels(bands: 3 | 4): Uint8Array {
  const out = new Uint8Array(SIDE * SIDE * bands);
  let seed = 12345;
  const noise = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return ((seed >>> 24) - 128) / 16; };
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const i = bands * (y * SIDE + x);
      const edge = ((x >> 7) + (y >> 7)) % 2 === 0 ? 40 : 0;
      out[i] = Math.max(0, Math.min(255, 128 + 100 * Math.sin(x / 97) + edge + noise()));
      out[i + 1] = Math.max(0, Math.min(255, 128 + 100 * Math.cos(y / 71) - edge + noise()));
      out[i + 2] = Math.max(0, Math.min(255, (x + y) / 8 + noise()));
      if (bands === 4) out[i + 3] = Math.max(0, Math.min(255, 255 - ((x * y) >> 12) + noise()));
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const pa = Math.abs(b - c);
  const pb = Math.abs(a - c);
  const pc = Math.abs(a + b - 2 * c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body, Buffer.alloc(4)]); // CRCs are not checked by either decoder
}

/** An 8-bit RGB (colour type 2) or RGBA (6) PNG of the pixels. */
function encodePng(pixels: Uint8Array, bands: 3 | 4): Uint8Array {
  const rowBytes = SIDE * bands;
  const filtered = new Uint8Array(SIDE * (rowBytes + 1));
  for (let y = 0; y < SIDE; y++) {
    const type = y % 4 === 3 ? 1 : 4;
    const o = y * (rowBytes + 1);
    filtered[o] = type;
    for (let x = 0; x < rowBytes; x++) {
      const at = y * rowBytes + x;
      const a = x >= bands ? pixels[at - bands]! : 0;
      const b = y > 0 ? pixels[at - rowBytes]! : 0;
      const c = x >= bands && y > 0 ? pixels[at - rowBytes - bands]! : 0;
      filtered[o + 1 + x] = (pixels[at]! - (type === 1 ? a : paeth(a, b, c))) & 255;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(SIDE, 0);
  ihdr.writeUInt32BE(SIDE, 4);
  ihdr.set([8, bands === 3 ? 2 : 6, 0, 0, 0], 8);
  return new Uint8Array(Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(filtered, { level: 6 })), chunk('IEND', new Uint8Array(0)),
  ]));
}

async function main(): Promise<void> {
  console.log(machineLine());
  console.log(`${SIDE}x${SIDE} 8-bit PNG, ${RUNS} runs after ${WARMUP} warm-up, median ms per image (noisy when the cores are shared)`);
  const zlibInflater = nodeInflater;
  if (zlibInflater === null) throw new Error('Node zlib not reachable through process.getBuiltinModule');
  for (const bands of [3, 4] as const) {
    const png = encodePng(syntheticPixels(bands), bands);
    const arrayBuffer = png.slice().buffer;
    const baseline = await medianMs(() => upngFull.toRGBA8(upngFull.decode(arrayBuffer)), RUNS, WARMUP);
    const native = await medianMs(() => decodeImage(png, '<bytes>'), RUNS, WARMUP);
    const fallback = await medianMs(() => decodePng(png, '<bytes>', upngInflater), RUNS, WARMUP);
    const idat = png.subarray(8 + 25 + 8, png.length - 12 - 4); // the one IDAT body: after signature, IHDR and its own header; before its CRC and IEND
    const inflateNative = await medianMs(() => zlibInflater.inflate(idat), RUNS, WARMUP);
    const inflateUpng = await medianMs(() => upngInflater.inflate(idat), RUNS, WARMUP);
    console.log(`${bands === 3 ? 'RGB ' : 'RGBA'} (${(png.length / 1024).toFixed(0)} KiB): baseline = UPNG.decode + UPNG.toRGBA8 ${baseline.toFixed(1)} ms`);
    console.log(`  decodeImage (node zlib)      ${native.toFixed(1)} ms (ratio ${(native / baseline).toFixed(2)}x)`);
    console.log(`  decodePng (upng-js inflate)  ${fallback.toFixed(1)} ms (ratio ${(fallback / baseline).toFixed(2)}x)`);
    console.log(`  inflate alone: node zlib ${inflateNative.toFixed(1)} ms, upng-js ${inflateUpng.toFixed(1)} ms`);
  }
}

await main();
