/**
 * The WebAssembly SIMD resize (src/image/simd) against the scalar mirror of Pillow's Resample.c
 * (src/image/resample.ts, itself checked against Pillow by the fixture and mode tests): the same bytes
 * for every band count, up- and downscaling, one-pass and two-pass resizes, and values that overshoot
 * 0..255 before the clip.
 */
import { expect } from 'chai';
import { premultiplyAlpha } from '../src/image/convert.js';
import { ImageError } from '../src/image/errors.js';
import { resampleBicubic8, type Plane } from '../src/image/resample.js';
import { resizeLikePillow } from '../src/image/resize.js';
import type { DecodedImage } from '../src/image/types.js';
import { resampleModuleBytes } from '../src/image/simd/simdKernels.js';
import { resampleBicubic8Simd, simdMemoryBytes, simdResampleAvailable } from '../src/image/simd/simdResample.js';
import { SeededRandom } from '../src/util/random.js';

function firstDifference(a: Uint8Array, b: Uint8Array): string | null {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `byte ${i}: scalar ${a[i]}, simd ${b[i]}`;
  return null;
}

function expectSameAsScalar(src: Plane<Uint8Array>, xsize: number, ysize: number): void {
  const scalar = resampleBicubic8(src, xsize, ysize);
  const simd = resampleBicubic8Simd(src, xsize, ysize);
  expect(simd, 'SIMD kernels missing').to.not.equal(null);
  expect([simd!.width, simd!.height, simd!.bands]).to.deep.equal([xsize, ysize, src.bands]);
  const where = `${src.width}x${src.height}x${src.bands} -> ${xsize}x${ysize}`;
  expect(firstDifference(scalar.data, simd!.data), where).to.equal(null);
}

function randomPlane(rng: SeededRandom, width: number, height: number, bands: number, kind: 'noise' | 'smooth' | 'edges'): Plane<Uint8Array> {
  const data = new Uint8Array(width * height * bands);
  for (let i = 0; i < data.length; i++) {
    const p = Math.floor(i / bands);
    if (kind === 'noise') data[i] = Math.floor(rng.next() * 256);
    else if (kind === 'smooth') data[i] = (p % width) * 3 + Math.floor(p / width) * 5 + Math.floor(rng.next() * 8) & 255;
    else data[i] = ((p % width) + Math.floor(p / width)) % 2 === 0 ? 0 : 255; // a checkerboard: bicubic overshoots both ways
  }
  return { data, width, height, bands };
}

describe('SIMD bicubic resize (bit-identical to the scalar Resample.c mirror)', function () {
  it('builds a valid module and runs here (Node has WebAssembly SIMD)', function () {
    const wasm = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
    expect(wasm.validate(resampleModuleBytes())).to.equal(true);
    expect(simdResampleAvailable()).to.equal(true);
  });

  it('matches on 600 random images: 1-4 bands, up and down, one or both passes', function () {
    const rng = new SeededRandom(2024);
    const size = (max: number): number => 1 + Math.floor(rng.next() * max);
    const kinds = ['noise', 'smooth', 'edges'] as const;
    for (let trial = 0; trial < 600; trial++) {
      const bands = 1 + (trial % 4);
      const width = size(70), height = size(70);
      const pick = trial % 5;
      // 0: both axes change; 1: width only; 2: height only; 3: upscale; 4: to one pixel
      const xsize = pick === 2 ? width : pick === 3 ? width + size(60) : pick === 4 ? 1 : size(90);
      const ysize = pick === 1 ? height : pick === 3 ? height + size(60) : pick === 4 ? 1 : size(90);
      if (xsize === width && ysize === height) continue;
      expectSameAsScalar(randomPlane(rng, width, height, bands, kinds[trial % 3]!), xsize, ysize);
    }
  });

  it('matches on photo-sized inputs, including after the memory has grown and shrunk in use', function () {
    const rng = new SeededRandom(7);
    expectSameAsScalar(randomPlane(rng, 1024, 768, 3, 'smooth'), 298, 224);
    expectSameAsScalar(randomPlane(rng, 5, 3, 4, 'noise'), 2, 2);
    expectSameAsScalar(randomPlane(rng, 600, 1400, 4, 'edges'), 224, 522);
    expectSameAsScalar(randomPlane(rng, 1, 1, 1, 'noise'), 224, 224);
  });

  it('premultiplies RGBA and LA exactly as Convert.c does, for every (value, alpha) pair', function () {
    for (const bands of [4, 2] as const) {
      // 256 x 256 pixels: colour bands sweep every value against every alpha
      const data = new Uint8Array(65536 * bands);
      for (let i = 0; i < 65536; i++) {
        for (let b = 0; b < bands - 1; b++) data[i * bands + b] = (i + 85 * b) & 255;
        data[i * bands + bands - 1] = i >> 8;
      }
      const src = { data, width: 256, height: 256, bands };
      const viaSimd = resampleBicubic8Simd(src, 256, 256, true)!;
      expect(firstDifference(premultiplyAlpha(data, bands), viaSimd.data), `${bands} bands, no resize`).to.equal(null);
      const resized = resampleBicubic8Simd(src, 97, 31, true)!;
      const reference = resampleBicubic8({ ...src, data: premultiplyAlpha(data, bands) }, 97, 31);
      expect(firstDifference(reference.data, resized.data), `${bands} bands, resized`).to.equal(null);
    }
  });

  it('refuses to premultiply without an alpha band', function () {
    expect(() => resampleBicubic8Simd({ data: new Uint8Array(12), width: 2, height: 2, bands: 3 }, 1, 1, true)).to.throw(/2 or 4 bands, got 3/);
  });

  it('keeps up to 128 MiB of wasm memory between calls, and lets go of more after a huge image', function () {
    const small = randomPlane(new SeededRandom(3), 64, 48, 3, 'smooth');
    resampleBicubic8Simd(small, 30, 20);
    const kept = simdMemoryBytes();
    expect(kept).to.be.above(0).and.at.most(128 * 2 ** 20);
    const huge = { data: new Uint8Array(5000 * 5000 * 3).fill(90), width: 5000, height: 5000, bands: 3 }; // needs ~150 MB
    const out = resampleBicubic8Simd(huge, 224, 224)!;
    expect(out.data.every((v) => v === 90)).to.equal(true);
    expect(simdMemoryBytes()).to.equal(0);
    expectSameAsScalar(small, 30, 20); // a fresh instance afterwards
    expect(simdMemoryBytes()).to.be.above(0).and.at.most(128 * 2 ** 20);
  });

  it('memory WebAssembly will not give is the image\'s typed error (IMAGE_UNSUPPORTED naming it), and the next call works', function () {
    const huge = { data: new Uint8Array(5000 * 5000 * 3).fill(90), width: 5000, height: 5000, bands: 3 }; // needs ~150 MB, more than is kept
    const memory = (globalThis as unknown as { WebAssembly: { Memory: { prototype: { grow(pages: number): number } } } }).WebAssembly.Memory.prototype;
    const grow = memory.grow;
    memory.grow = () => { throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded'); };
    let err: unknown;
    try {
      resizeLikePillow({ mode: 'RGB', width: 5000, height: 5000, data: huge.data } as DecodedImage, 224, 224, [0, 0, 224, 224], 'huge.png');
    } catch (e) {
      err = e;
    } finally {
      memory.grow = grow;
    }
    expect(err).to.be.instanceOf(ImageError);
    expect((err as ImageError).code).to.equal('IMAGE_UNSUPPORTED');
    expect((err as ImageError).message).to.match(/^huge\.png: resizing it needs \d+ MiB of WebAssembly memory, which cannot be had \(WebAssembly\.Memory\.grow\(\): Maximum memory size exceeded\)$/);
    expect(resampleBicubic8Simd(huge, 224, 224)!.data.every((v) => v === 90)).to.equal(true);
  });

  it('returns a copy when the size does not change', function () {
    const src = randomPlane(new SeededRandom(1), 4, 3, 3, 'noise');
    const out = resampleBicubic8Simd(src, 4, 3)!;
    expect(Array.from(out.data)).to.deep.equal(Array.from(src.data));
    expect(out.data).to.not.equal(src.data);
  });
});
