/**
 * Image preprocessing speed: a 1024x1024 JPEG and a 1024x1024 WebP (made here with the @jsquash
 * encoders from a synthetic photo-like picture) through preprocessImage(bytes), ms per image
 * (median), once per JPEG/WebP decoder: 'wasm' (@jsquash) and 'native' (sharp, when installed).
 * Baseline measured in the same run: the wasm decode alone, so each ratio shows what a row costs
 * relative to decoding with wasm (below 1: faster than the wasm decode alone).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import encodeJpeg, { init as initJpegEncoder } from '@jsquash/jpeg/encode.js';
import encodeWebp, { init as initWebpEncoder } from '@jsquash/webp/encode.js';
import { decodeImage, nativeDecoderStatus, preprocessImage, type JpegWebpDecoder } from '../src/image/index.js';
import { machineLine, median } from './machine.js';

const SIDE = 1024;
const RUNS = 15;
const WARMUP = 3;

type WasmInit = (module: object) => Promise<unknown>;
const wasm = (globalThis as unknown as { WebAssembly: { compile(b: Uint8Array): Promise<object> } }).WebAssembly;

async function wasmModule(specifier: string): Promise<object> {
  return wasm.compile(await readFile(createRequire(import.meta.url).resolve(specifier)));
}

/** Smooth gradients, a few hard edges and mild noise: compresses like a photo, not like flat colour. */
function syntheticPicture(): { data: Uint8ClampedArray; width: number; height: number } {
  const data = new Uint8ClampedArray(SIDE * SIDE * 4);
  let seed = 12345;
  const noise = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 24) - 128; };
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const i = 4 * (y * SIDE + x);
      const edge = ((x >> 7) + (y >> 7)) % 2 === 0 ? 40 : 0;
      data[i] = 128 + 100 * Math.sin(x / 97) + edge + noise() / 16;
      data[i + 1] = 128 + 100 * Math.cos(y / 71) - edge + noise() / 16;
      data[i + 2] = (x + y) / 8 + noise() / 16;
      data[i + 3] = 255;
    }
  }
  return { data, width: SIDE, height: SIDE };
}

/** Median wall-clock ms and median process CPU ms (user + system) per call. */
async function timeIt(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

async function main(): Promise<void> {
  console.log(machineLine());
  await (initJpegEncoder as unknown as WasmInit)(await wasmModule('@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm'));
  await (initWebpEncoder as unknown as WasmInit)(await wasmModule('@jsquash/webp/codec/enc/webp_enc_simd.wasm'));
  const picture = syntheticPicture() as unknown as Parameters<typeof encodeJpeg>[0];
  const inputs = [
    { name: 'JPEG q90 4:2:0', bytes: new Uint8Array(await encodeJpeg(picture, { quality: 90 })) },
    { name: 'WebP lossy q80', bytes: new Uint8Array(await encodeWebp(picture, { quality: 80 })) },
  ];
  console.log(`${SIDE}x${SIDE} input, ${RUNS} runs after ${WARMUP} warm-up, median ms per image (wall; CPU time of this process in brackets, less inflated when the cores are shared)`);
  const native = await nativeDecoderStatus();
  const decoders: JpegWebpDecoder[] = native.available ? ['wasm', 'native'] : ['wasm'];
  console.log(`native decoder: ${native.available ? `${native.version} (sharp.concurrency left at its default)` : `unavailable, rows skipped (${native.reason})`}`);
  for (const { name, bytes } of inputs) {
    const baseline = await timeIt(() => decodeImage(bytes, '<bytes>', { decoder: 'wasm' }));
    console.log(`${name} (${(bytes.length / 1024).toFixed(0)} KiB): baseline = wasm decode only ${baseline.wall.toFixed(1)} ms [cpu ${baseline.cpu.toFixed(1)}]`);
    for (const decoder of decoders) {
      const decode = decoder === 'wasm' ? baseline : await timeIt(() => decodeImage(bytes, '<bytes>', { decoder }));
      const total = await timeIt(() => preprocessImage(bytes, { decoder }));
      console.log(`  decoder ${decoder.padEnd(6)}: preprocessImage ${total.wall.toFixed(1)} ms [cpu ${total.cpu.toFixed(1)}] (ratio ${(total.wall / baseline.wall).toFixed(2)}x)`
        + ` | decode only ${decode.wall.toFixed(1)} ms [cpu ${decode.cpu.toFixed(1)}] (ratio ${(decode.wall / baseline.wall).toFixed(2)}x)`
        + ` | target <= 60 ms: ${total.wall <= 60 ? 'met' : 'MISSED'}`);
    }
  }
}

await main();
