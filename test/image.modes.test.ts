/**
 * Modes and encodings the shared fixtures do not cover: 1/2/4/16-bit PNG, palettes with short PLTE
 * and tRNS, Adam7 interlacing, 16-bit gray ('I'), gray and progressive JPEG, WebP lossless/lossy with
 * alpha. The inputs in test/data and their expected values (test/data/pillow-cases.json) were made by
 * test/data/make_image_cases.py with Debian 12's Pillow 9.4.0 (the oracle's version): Pillow's mode,
 * size and decoded bytes, and the uint8 RGB after Resize + CenterCrop + convert('RGB').
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { decodeImage, preprocessImage, resizeCropRgb } from '../src/image/index.js';
import { centerCropBox, normalizeToChw, resizedSize, roundHalfEven } from '../src/image/transforms.js';
import { sha256 } from './helpers/assert.js';

const dataDir = join(dirname(fileURLToPath(import.meta.url)), 'data');

interface PillowCase {
  file: string; note: string; bytes: number; mode: string; size: [number, number]; decoded_sha256: string;
  resized_size: [number, number]; crop_box: [number, number, number, number]; resample: string; rgb_sha256: string;
}

const cases = (JSON.parse(readFileSync(join(dataDir, 'pillow-cases.json'), 'utf8')) as { cases: PillowCase[] }).cases;

describe('image modes beyond the fixtures (expected values from Pillow 9.4)', function () {
  it('the cases are the committed still PNG / JPEG / WebP files as generated (byte sizes; CMYK and animated ones have their own tests)', function () {
    const ownTests = new Set(['jpeg_cmyk_8x8.jpg', 'webp_anim_offset_12x10.webp', 'webp_anim_rgba_12x10.webp']);
    const committed = readdirSync(dataDir).filter((f) => /^(png|jpeg|webp)_/.test(f) && !ownTests.has(f));
    expect(cases.map((c) => c.file).sort()).to.deep.equal(committed.sort());
    for (const c of cases) expect(readFileSync(join(dataDir, c.file)).length, c.file).to.equal(c.bytes);
  });

  for (const c of cases) {
    it(`${c.file}: ${c.note}`, async function () {
      const bytes = readFileSync(join(dataDir, c.file));
      const img = await decodeImage(bytes, c.file);
      expect([img.mode, img.width, img.height]).to.deep.equal([c.mode, ...c.size]);
      expect(sha256(new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength)), 'decoded bytes').to.equal(c.decoded_sha256);
      const out = resizeCropRgb(img, 224);
      expect(out.resizedSize).to.deep.equal(c.resized_size);
      expect(out.cropBox).to.deep.equal(c.crop_box);
      expect(out.resample).to.equal(c.resample);
      expect(sha256(out.rgb), 'uint8 RGB after crop').to.equal(c.rgb_sha256);
    });
  }
});

describe('image transforms', function () {
  it('uses torchvision\'s size rule: short side to 224, long side truncated', function () {
    expect(resizedSize(300, 200, 224)).to.deep.equal([336, 224]);
    expect(resizedSize(225, 1000, 224)).to.deep.equal([224, 995]); // 995.55 -> 995
    expect(resizedSize(262, 256, 224)).to.deep.equal([229, 224]); // 229.25 -> 229
    expect(resizedSize(224, 224, 224)).to.deep.equal([224, 224]);
  });

  it('rounds crop offsets half to even like Python round()', function () {
    expect([0.5, 1.5, 2.5, 3.5, 2.4, 2.6].map(roundHalfEven)).to.deep.equal([0, 2, 2, 4, 2, 3]);
    expect(centerCropBox(229, 224, 224)).to.deep.equal([2, 0, 226, 224]);
    expect(centerCropBox(224, 995, 224)).to.deep.equal([0, 386, 224, 610]);
  });

  it('normalises in float32 exactly as torch: (u8/255 - mean) / std', function () {
    const rgb = Uint8Array.from([0, 128, 255]);
    const out = normalizeToChw(rgb, 1, 1);
    // float32 results of torch 1.13: ((torch.tensor([0,128,255]).float()/255) - mean) / std per channel
    const f = Math.fround;
    expect(out[0]).to.equal(f(f(f(0 / 255) - f(0.48145466)) / f(0.26862954)));
    expect(out[1]).to.equal(f(f(f(128 / 255) - f(0.4578275)) / f(0.26130258)));
    expect(out[2]).to.equal(f(f(f(255 / 255) - f(0.40821073)) / f(0.27577711)));
    expect(out[0]).to.be.closeTo(-1.7922625, 1e-6);
  });

  it('preprocesses raw RGB pixels like the same image decoded from a file', async function () {
    const png = await decodeImage(readFileSync(join(dataDir, 'png_rgb8_adam7_13x11.png')));
    const fromFile = await preprocessImage(join(dataDir, 'png_rgb8_adam7_13x11.png'));
    const fromRaw = await preprocessImage({ data: png.data as Uint8Array, width: png.width, height: png.height, channels: 3 });
    expect(fromRaw.format).to.equal('raw');
    expect(fromRaw.source).to.equal('<raw>');
    expect(Buffer.from(fromRaw.pixels.buffer).equals(Buffer.from(fromFile.pixels.buffer))).to.equal(true);
  });

  it('treats raw 4-channel pixels as RGBA (premultiplied resize, alpha dropped)', async function () {
    const img = await decodeImage(readFileSync(join(dataDir, 'webp_lossless_rgba_48x36.webp')));
    const want = cases.find((c) => c.file === 'webp_lossless_rgba_48x36.webp')!;
    const raw = await preprocessImage({ data: new Uint8ClampedArray(img.data as Uint8Array), width: 48, height: 36, channels: 4 });
    expect(raw.mode).to.equal('RGBA');
    const viaDecoded = resizeCropRgb({ ...img }, 224);
    expect(sha256(viaDecoded.rgb)).to.equal(want.rgb_sha256);
    expect(raw.pixels).to.deep.equal(normalizeToChw(viaDecoded.rgb, 224, 224));
  });

  it('decodes bytes given as a view into a larger buffer (e.g. a pooled Node Buffer)', async function () {
    const file = readFileSync(join(dataDir, 'jpeg_rgb422_48x36.jpg'));
    const big = new Uint8Array(file.length + 100);
    big.set(file, 37);
    const viaView = await decodeImage(big.subarray(37, 37 + file.length), 'view.jpg');
    expect(sha256(viaView.data as Uint8Array)).to.equal(cases.find((c) => c.file === 'jpeg_rgb422_48x36.jpg')!.decoded_sha256);
  });

  it('keeps concurrent decodes apart (a truncated JPEG among good ones fails alone)', async function () {
    const names = ['jpeg_gray_48x36.jpg', 'jpeg_rgb422_48x36.jpg', 'jpeg_rgb444_progressive_48x36.jpg'];
    const files = names.map((n) => readFileSync(join(dataDir, n)));
    const truncated = files[1]!.subarray(0, files[1]!.length - 300);
    const results = await Promise.allSettled([...files.map((f, i) => decodeImage(f, names[i])), decodeImage(truncated, 'cut.jpg')]);
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    names.forEach((n, i) => {
      const img = (results[i] as PromiseFulfilledResult<Awaited<ReturnType<typeof decodeImage>>>).value;
      expect(sha256(img.data as Uint8Array), n).to.equal(cases.find((c) => c.file === n)!.decoded_sha256);
    });
    expect(String((results[3] as PromiseRejectedResult).reason)).to.match(/cut\.jpg: truncated JPEG/);
  });

  it('honours another output size', async function () {
    const pre = await preprocessImage(join(dataDir, 'jpeg_gray_48x36.jpg'), { size: 32 });
    expect(pre.shape).to.deep.equal([1, 3, 32, 32]);
    expect(pre.resizedSize).to.deep.equal([42, 32]);
    expect(pre.cropBox).to.deep.equal([5, 0, 37, 32]);
    expect(pre.pixels).to.have.length(3 * 32 * 32);
  });
});
