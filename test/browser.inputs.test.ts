/**
 * The browser entry's inputs, run in Node (which has fetch, Blob and ReadableStream too): every URL
 * fetched with progress up to its size, a failed fetch a DownloadError naming the URL, and each
 * image form (bytes, URL, Blob, raw RGBA / RGB) giving exactly the pixels Node's preprocessImage gives.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DownloadError } from '../src/hub/errors.js';
import { InputError } from '../src/errors.js';
import { preprocessImage } from '../src/image/index.js';
import { fetchBytes, fetchStream, type FetchProgress } from '../src/browser/fetchProgress.js';
import { browserImages, type BrowserImageInput } from '../src/browser/images.js';
import type { ImageHandler } from '../src/api/core.js';
import { readSafetensorsStream } from '../src/weights/safetensorsStream.js';
import { readSafetensors } from '../src/weights/safetensors.js';
import { startServer, type StaticServer } from './browser/harness.js';
import { rejection } from './helpers/assert.js';
import { FIXTURES_DIR, fixturePath, requireFixtures } from './helpers/fixtures.js';

describe('browser entry inputs (in Node)', function () {
  let server: StaticServer;
  before(async function () {
    requireFixtures(this, 'images/1.webp', 'images/gen_rgba_320x240.png', 'tiny/tiny.safetensors');
    server = await startServer({ '/fixtures/': { dir: FIXTURES_DIR } });
  });
  after(async () => { await server?.close(); });

  it('streams a model URL with progress up to its size, into the same tensors as the file', async function () {
    const url = `${server.origin}/fixtures/tiny/tiny.safetensors`;
    const size = readFileSync(fixturePath('tiny/tiny.safetensors')).length;
    const seen: FetchProgress[] = [];
    const streamed = await readSafetensorsStream(await fetchStream(url, 'model', (p) => seen.push(p)), url);
    expect(seen[0]).to.deep.equal({ url, loaded: 0, total: size });
    expect(seen.at(-1)).to.deep.equal({ url, loaded: size, total: size });
    const file = readSafetensors(fixturePath('tiny/tiny.safetensors'));
    const key = 'blip.visual_encoder.blocks.0.attn.qkv.weight';
    expect(Array.from(streamed.read(key).data as Float32Array)).to.deep.equal(Array.from(file.tensors.get(key)!.data as Float32Array));
  });

  it('says which URL failed and why: HTTP status, unreachable host, too large', async function () {
    const missing = `${server.origin}/fixtures/nope.txt`;
    const e404 = await rejection(fetchBytes(missing, 'vocab', 1000));
    expect(e404).to.be.instanceOf(DownloadError);
    expect(e404.message).to.equal(`cannot fetch vocab ${missing}: HTTP 404 Not Found`);
    const closed = await rejection(fetchBytes('http://127.0.0.1:1/x', 'vocab', 1000));
    expect(closed).to.be.instanceOf(DownloadError);
    expect(closed.message).to.match(/^cannot fetch vocab http:\/\/127\.0\.0\.1:1\/x: /);
    const big = `${server.origin}/fixtures/images/1.webp`;
    const tooBig = await rejection(fetchBytes(big, 'image', 100));
    expect(tooBig).to.be.instanceOf(DownloadError);
    expect(tooBig.message).to.equal(`image ${big} is larger than the limit of 100 bytes`);
  });

  it('gives the same pixels for bytes, a URL and a Blob as preprocessImage, and for raw RGBA / RGB pixels', async function () {
    const images: ImageHandler<BrowserImageInput> = browserImages();
    for (const name of ['1.webp', 'gen_rgba_320x240.png']) {
      const path = fixturePath(`images/${name}`);
      const expected = (await preprocessImage(path, { decoder: 'wasm' })).pixels;
      const bytes = new Uint8Array(readFileSync(path));
      for (const input of [bytes, `${server.origin}/fixtures/images/${name}`, new Blob([bytes])]) {
        images.check(input, 0);
        const got = await images.load(input, 224, 0);
        expect(got.pixels.length).to.equal(expected.length);
        expect(got.pixels.every((v, i) => v === expected[i]), `${name} as ${typeof input === 'string' ? 'URL' : input.constructor.name}`).to.equal(true);
      }
    }
    for (const channels of [4, 3] as const) {
      const data = new Uint8ClampedArray(301 * 257 * channels).map((_, i) => (i * 37) % 256);
      const raw = { width: 301, height: 257, data, ...(channels === 3 ? { channels } : {}) }; // RGBA when channels is absent (ImageData)
      const fromRaw = await images.load(raw, 224, 0);
      const fromNode = await preprocessImage({ width: 301, height: 257, data, channels });
      expect(fromRaw.pixels.every((v, i) => v === fromNode.pixels[i]), `raw, ${channels} channels`).to.equal(true);
      expect(images.key(raw)).to.equal(images.key(raw)).and.not.equal(images.key({ ...raw }));
    }
    expect(images.key(`${server.origin}/a/../b.png`)).to.equal(images.key(`${server.origin}/b.png`));
    expect(() => images.key('b.png')).to.throw(InputError, /^"b\.png" is not a valid URL \(a relative URL needs a page to resolve against\)$/);
  });

  it('refuses other inputs, naming the position', function () {
    const images: ImageHandler<BrowserImageInput> = browserImages();
    expect(() => images.check(42, 3)).to.throw(InputError, /^image 3: expected encoded bytes \(Uint8Array\), a URL string, a Blob or raw RGBA pixels, got number$/);
    expect(() => images.check('', 1)).to.throw(InputError, /^image 1: the URL is empty$/);
  });
});
