/**
 * The @jsquash decoders' emscripten heaps only grow: after an image whose output is larger than the
 * decoder keeps, the next call starts a fresh instance, and decoding still works afterwards.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import decodeWebpWasm, { init as initWebp } from '@jsquash/webp/decode.js';
import { decodeWebpRgba, WasmDecoder, type RgbaPixels } from '../src/image/wasmCodecs.js';
import { sha256 } from './helpers/assert.js';

const dataDir = join(dirname(fileURLToPath(import.meta.url)), 'data');

describe('wasm decoder instances', function () {
  it('re-initialises after an output larger than keepBytes, and only then', async function () {
    let inits = 0;
    const init = async () => { inits++; };
    // a fake decode: the input's first byte says how many output bytes to produce
    const decode = async (buffer: ArrayBuffer): Promise<RgbaPixels> => {
      const n = new Uint8Array(buffer)[0]!;
      return { data: new Uint8ClampedArray(n), width: n / 4, height: 1 };
    };
    const decoder = new WasmDecoder(init, '@jsquash/webp/codec/dec/webp_dec.wasm', decode, 100);
    const sizes = [40, 100, 40, 200, 40, 40, 248, 248, 40];
    const initsAfter: number[] = [];
    for (const n of sizes) {
      const { pixels } = await decoder.run(Uint8Array.from([n]));
      expect(pixels.data.byteLength).to.equal(n);
      initsAfter.push(inits);
    }
    // a fresh instance for the call after each output over 100 bytes
    expect(initsAfter).to.deep.equal([1, 1, 1, 1, 2, 2, 2, 3, 4]);
  });

  it('the real WebP decoder, re-initialised before every call, keeps giving the same pixels', async function () {
    const webp = readFileSync(join(dataDir, 'webp_lossy_rgba_48x36.webp'));
    const reference = sha256(new Uint8Array((await decodeWebpRgba(webp)).pixels.data.buffer));
    let inits = 0;
    const init = async (...args: Parameters<typeof initWebp>) => { inits++; await (initWebp as (...a: unknown[]) => Promise<void>)(...args); };
    const decoder = new WasmDecoder(init, '@jsquash/webp/codec/dec/webp_dec.wasm', (b) => decodeWebpWasm(b), 0);
    for (let i = 0; i < 3; i++) {
      const { pixels } = await decoder.run(webp);
      expect(sha256(new Uint8Array(pixels.data.buffer)), `call ${i}`).to.equal(reference);
    }
    expect(inits).to.equal(3);
  });
});
