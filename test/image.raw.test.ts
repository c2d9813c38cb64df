/**
 * Raw pixel input (issue 14 item 9): only byte arrays are accepted, and a call's result depends on
 * its own pixels only, never on what an earlier call left in the SIMD resize's wasm memory.
 */
import { expect } from 'chai';
import { InputError } from '../src/errors.js';
import { preprocessImage, type RawImage } from '../src/image/index.js';
import { resampleBicubic8 } from '../src/image/resample.js';
import { resampleBicubic8Simd, simdResampleAvailable } from '../src/image/simd/simdResample.js';
import { rejection } from './helpers/assert.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  };
}

function randomPixels(n: number, seed: number): Uint8Array {
  const next = seeded(seed);
  return Uint8Array.from({ length: n }, next);
}

describe('raw pixel input', function () {
  const [w, h] = [37, 23];

  it('refuses data that is not a Uint8Array / Uint8ClampedArray with INPUT_INVALID, naming what it got', async function () {
    const n = w * h * 3;
    const cases: [unknown, string][] = [
      [Array.from({ length: n }, () => 7), 'a plain Array'],
      [new Float32Array(n), 'a Float32Array'],
      [new Uint16Array(n), 'a Uint16Array'],
      [new Int8Array(n), 'a Int8Array'],
      [new ArrayBuffer(n), 'a ArrayBuffer'],
      ['x'.repeat(n), 'string'],
    ];
    for (const [data, named] of cases) {
      const err = await rejection(preprocessImage({ data, width: w, height: h, channels: 3 } as unknown as RawImage));
      expect(err, named).to.be.instanceOf(InputError);
      expect((err as InputError).code).to.equal('INPUT_INVALID');
      expect((err as Error).message).to.equal(`<raw>: raw pixel data must be a Uint8Array or Uint8ClampedArray (one byte per channel), got ${named}`);
    }
  });

  it('a Uint8ClampedArray, a Buffer and a Uint8Array view at an offset give the same pixels as a plain Uint8Array', async function () {
    const bytes = randomPixels(w * h * 4, 1);
    const expected = (await preprocessImage({ data: bytes, width: w, height: h, channels: 4 })).pixels;
    const backing = new Uint8Array(bytes.length + 5);
    backing.set(bytes, 5);
    for (const data of [new Uint8ClampedArray(bytes), Buffer.from(bytes), backing.subarray(5)]) {
      const got = (await preprocessImage({ data, width: w, height: h, channels: 4 })).pixels;
      expect(Buffer.from(got.buffer).equals(Buffer.from(expected.buffer))).to.equal(true);
    }
  });

  it('each call gives its own image\'s pixels after a larger, different image (no stale wasm memory)', async function () {
    const big = await preprocessImage({ data: new Uint8Array(640 * 480 * 3).fill(255), width: 640, height: 480, channels: 3 });
    const plane = 224 * 224;
    expect([0, 1, 2].map((c) => big.pixels.subarray(c * plane, (c + 1) * plane).every((v) => v === big.pixels[c * plane]))).to.deep.equal([true, true, true]);
    const small = randomPixels(w * h * 3, 2);
    const first = (await preprocessImage({ data: small, width: w, height: h, channels: 3 })).pixels;
    await preprocessImage({ data: randomPixels(300 * 200 * 3, 3), width: 300, height: 200, channels: 3 });
    const again = (await preprocessImage({ data: small, width: w, height: h, channels: 3 })).pixels;
    expect(Buffer.from(again.buffer).equals(Buffer.from(first.buffer))).to.equal(true);
  });

  describe('the SIMD resize', function () {
    before(function () {
      if (!simdResampleAvailable()) this.skip(); // WebAssembly SIMD missing: the scalar resize runs instead
    });

    it('refuses a plane whose data is shorter than width x height x bands instead of reading past it', function () {
      expect(() => resampleBicubic8Simd({ data: new Uint8Array(10), width: w, height: h, bands: 3 }, 224, 224)).to.throw(RangeError, 'needs 2553 bytes, got 10');
    });

    it('gives the scalar resize\'s bytes for every band count and line padding, after memory full of 0xff', function () {
      resampleBicubic8Simd({ data: new Uint8Array(700 * 500 * 4).fill(255), width: 700, height: 500, bands: 4 }, 1000, 900);
      for (const bands of [1, 2, 3, 4]) {
        for (const [sw, sh, dw, dh] of [[w, h, 61, 40], [w, h, 16, 9], [16, 5, 5, 16], [5, 3, 1, 1]] as const) {
          const src = { data: randomPixels(sw * sh * bands, sw * bands), width: sw, height: sh, bands };
          const simd = resampleBicubic8Simd(src, dw, dh)!;
          expect(Buffer.from(simd.data).equals(Buffer.from(resampleBicubic8(src, dw, dh).data)), `${bands} bands ${sw}x${sh} -> ${dw}x${dh}`).to.equal(true);
        }
      }
    });
  });
});
