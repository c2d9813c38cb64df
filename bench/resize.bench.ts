/**
 * Pillow-exact BICUBIC resize, 1024x1024 -> 224x224 (the step that follows decoding in ImageReward's
 * preprocessing): the WebAssembly SIMD kernels against the scalar TypeScript mirror of Resample.c,
 * measured in the same run, for RGB (3 bands) and RGBA (4 bands), and RGBA premultiplied first as
 * Image.resize does. Both give identical bytes (checked here too).
 */
import { premultiplyAlpha } from '../src/image/convert.js';
import { resampleBicubic8, type Plane } from '../src/image/resample.js';
import { resampleBicubic8Simd } from '../src/image/simd/simdResample.js';
import { SeededRandom } from '../src/util/random.js';
import { machineLine, medianMs } from './machine.js';

const RUNS = 21;
const WARMUP = 3;

function picture(bands: number): Plane<Uint8Array> {
  const rng = new SeededRandom(99);
  const side = 1024;
  const data = new Uint8Array(side * side * bands);
  for (let i = 0; i < data.length; i++) data[i] = (Math.floor(i / bands) % side) + Math.floor(rng.next() * 32) & 255;
  return { data, width: side, height: side, bands };
}

console.log(machineLine());
console.log(`1024x1024 -> 224x224 BICUBIC, median of ${RUNS} runs after ${WARMUP} warm-up`);
for (const bands of [3, 4]) {
  const src = picture(bands);
  const simdOut = resampleBicubic8Simd(src, 224, 224);
  if (!simdOut) throw new Error('WebAssembly SIMD is not available here');
  const scalarOut = resampleBicubic8(src, 224, 224).data;
  const same = simdOut.data.every((v, i) => v === scalarOut[i]);
  const scalar = await medianMs(() => resampleBicubic8(src, 224, 224), RUNS, WARMUP);
  const simd = await medianMs(() => resampleBicubic8Simd(src, 224, 224), RUNS, WARMUP);
  console.log(`${bands} bands: SIMD ${simd.toFixed(2)} ms | scalar (baseline) ${scalar.toFixed(2)} ms | ${(scalar / simd).toFixed(1)}x faster | identical bytes: ${same}`);
}

// RGBA as Image.resize takes it: premultiplied (RGBa) first
const rgba = picture(4);
const scalarRgba = await medianMs(() => resampleBicubic8({ ...rgba, data: premultiplyAlpha(rgba.data, 4) }, 224, 224), RUNS, WARMUP);
const simdRgba = await medianMs(() => resampleBicubic8Simd(rgba, 224, 224, true), RUNS, WARMUP);
console.log(`RGBA premultiply + resize: SIMD ${simdRgba.toFixed(2)} ms | scalar (baseline) ${scalarRgba.toFixed(2)} ms | ${(scalarRgba / simdRgba).toFixed(1)}x faster`);
