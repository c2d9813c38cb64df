/**
 * Bad input gives a typed ImageError (IMAGE_INVALID / IMAGE_UNSUPPORTED) whose message names the file.
 * Broken files are made in a temp dir from slices of the shared fixtures and hand-built headers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { expect } from 'chai';
import { FileError, InputError } from '../src/errors.js';
import { decodeImage, ImageError, MAX_IMAGE_PIXELS, preprocessImage, SUPPORTED_FORMATS } from '../src/image/index.js';
import { checkImageSize } from '../src/image/limits.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { pngChunk } from './helpers/png.js';
import { rejection } from './helpers/assert.js';

async function expectImageError(p: Promise<unknown>, code: 'IMAGE_INVALID' | 'IMAGE_UNSUPPORTED', ...parts: (string | RegExp)[]): Promise<ImageError> {
  const err = await rejection(p);
  expect(err).to.be.instanceOf(ImageError);
  const e = err as ImageError;
  expect(e.code, e.message).to.equal(code);
  for (const part of parts) {
    if (typeof part === 'string') expect(e.message).to.include(part);
    else expect(e.message).to.match(part);
  }
  return e;
}

function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}


/** A PNG of the given header; `rows` filtered scanlines (filter byte + data) to deflate. */
function makePng(width: number, height: number, depth: number, ctype: number, rows: Uint8Array): Uint8Array {
  return Uint8Array.from([
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a,
    ...pngChunk('IHDR', [...u32(width), ...u32(height), depth, ctype, 0, 0, 0]),
    ...pngChunk('IDAT', deflateSync(rows)),
    ...pngChunk('IEND', []),
  ]);
}

describe('image errors', function () {
  let dir: string;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'imagereward-image-errors-'));
  });

  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  function writeTemp(name: string, bytes: Uint8Array): string {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  }

  it('empty file: IMAGE_INVALID naming the file', async function () {
    const path = writeTemp('empty.png', new Uint8Array(0));
    const e = await expectImageError(preprocessImage(path), 'IMAGE_INVALID', path, 'empty');
    expect(e.source).to.equal(path);
  });

  it('empty bytes: IMAGE_INVALID naming <bytes>', async function () {
    await expectImageError(preprocessImage(new Uint8Array(0)), 'IMAGE_INVALID', '<bytes>', 'empty');
  });

  it('missing file: FileError (FILE_UNREADABLE) naming the path', async function () {
    const path = join(dir, 'does-not-exist.webp');
    const err = await rejection(preprocessImage(path));
    expect(err).to.be.instanceOf(FileError);
    expect((err as FileError).message).to.include(path).and.include('no such file');
  });

  it('unsupported formats: IMAGE_UNSUPPORTED listing the supported ones', async function () {
    const gif = writeTemp('anim.png', new TextEncoder().encode('GIF89a\x01\x00\x01\x00\x00\x00\x00;'));
    await expectImageError(preprocessImage(gif), 'IMAGE_UNSUPPORTED', gif, 'GIF', 'supported: png, jpeg, webp');
    const text = writeTemp('notes.jpg', new TextEncoder().encode('hello, this is not an image'));
    await expectImageError(preprocessImage(text), 'IMAGE_UNSUPPORTED', text, 'unknown format', 'supported: png, jpeg, webp');
    expect([...SUPPORTED_FORMATS]).to.deep.equal(['png', 'jpeg', 'webp']);
  });

  it('detects the format from the bytes, not the name', async function () {
    requireFixtures(this, 'images/gen_rgb_640x480_q90.jpg');
    const path = writeTemp('really-a-jpeg.png', readFileSync(fixturePath('images/gen_rgb_640x480_q90.jpg')));
    const pre = await preprocessImage(path);
    expect([pre.format, pre.mode, pre.width, pre.height]).to.deep.equal(['jpeg', 'RGB', 640, 480]);
  });

  describe('truncated files (Pillow: "image file is truncated")', function () {
    for (const [file, cut] of [['gen_rgb_300x200.png', 0.5], ['gen_rgb_300x200.png', 0.999], ['gen_rgb_640x480_q90.jpg', 0.5], ['1.webp', 0.5], ['gen_rgb_640x480_q90.jpg', 0.01]] as const) {
      it(`${file} cut to ${cut * 100}%: IMAGE_INVALID naming the file`, async function () {
        requireFixtures(this, `images/${file}`);
        const whole = readFileSync(fixturePath(`images/${file}`));
        const path = writeTemp(`cut-${cut}-${file}`, whole.subarray(0, Math.floor(whole.length * cut)));
        await expectImageError(preprocessImage(path), 'IMAGE_INVALID', path, /truncated/);
      });
    }

    it('a truncated JPEG leaves the decoder usable', async function () {
      requireFixtures(this, 'images/gen_rgb_640x480_q90.jpg');
      const whole = readFileSync(fixturePath('images/gen_rgb_640x480_q90.jpg'));
      await expectImageError(decodeImage(whole.subarray(0, 20000), 'x.jpg'), 'IMAGE_INVALID', /truncated/);
      const ok = await decodeImage(whole, 'x.jpg');
      expect([ok.width, ok.height]).to.deep.equal([640, 480]);
    });
  });

  describe('corrupt data', function () {
    it('PNG whose image data does not inflate', async function () {
      const good = makePng(2, 2, 8, 0, Uint8Array.from([0, 1, 2, 0, 3, 4]));
      const bad = Uint8Array.from(good);
      const idat = bad.findIndex((_, i) => bad[i] === 0x49 && bad[i + 1] === 0x44 && bad[i + 2] === 0x41 && bad[i + 3] === 0x54);
      bad.fill(0xff, idat + 4, idat + 8); // the zlib header and first block
      const path = writeTemp('bad-zlib.png', bad);
      await expectImageError(preprocessImage(path), 'IMAGE_INVALID', path, 'corrupt PNG');
      const img = await decodeImage(good, 'good.png');
      expect([...img.data]).to.deep.equal([1, 2, 3, 4]);
    });

    it('PNG with a bad row filter type, a bad bit depth, or a non-IHDR first chunk', async function () {
      await expectImageError(decodeImage(makePng(2, 1, 8, 0, Uint8Array.from([7, 1, 2])), 'f.png'), 'IMAGE_INVALID', 'f.png', 'filter type 7');
      await expectImageError(decodeImage(makePng(2, 1, 3, 0, Uint8Array.from([0, 1])), 'd.png'), 'IMAGE_INVALID', 'bit depth 3');
      const noHeader = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...pngChunk('IEND', [])]);
      await expectImageError(decodeImage(noHeader, 'h.png'), 'IMAGE_INVALID', 'first chunk', 'IHDR');
    });

    it('PNG whose image data is too short for its size', async function () {
      await expectImageError(decodeImage(makePng(4, 4, 8, 0, Uint8Array.from([0, 1, 2, 3, 4])), 's.png'), 'IMAGE_INVALID', 's.png', /truncated PNG.*expected/);
    });

    it('JPEG with a destroyed header', async function () {
      requireFixtures(this, 'images/gen_rgb_640x480_q90.jpg');
      const bad = Uint8Array.from(readFileSync(fixturePath('images/gen_rgb_640x480_q90.jpg')));
      bad.fill(0x00, 4, 200); // keeps SOI + the APP0 marker, zeroes its length and what follows
      const path = writeTemp('bad-header.jpg', bad);
      await expectImageError(preprocessImage(path), 'IMAGE_INVALID', path, 'corrupt JPEG');
    });

    it('WebP whose bitstream is garbage', async function () {
      requireFixtures(this, 'images/1.webp');
      const bad = Uint8Array.from(readFileSync(fixturePath('images/1.webp')));
      bad.fill(0x5a, 30, 4000);
      const path = writeTemp('garbage.webp', bad);
      await expectImageError(preprocessImage(path), 'IMAGE_INVALID', path, 'corrupt WebP');
    });
  });

  describe('sizes', function () {
    it('zero-sized PNG, JPEG and WebP: IMAGE_INVALID', async function () {
      await expectImageError(decodeImage(makePng(0, 5, 8, 0, new Uint8Array(0)), 'zero.png'), 'IMAGE_INVALID', 'zero.png', 'zero or invalid size 0x5');
      requireFixtures(this, 'images/gen_rgb_640x480_q90.jpg');
      const jpeg = Uint8Array.from(readFileSync(fixturePath('images/gen_rgb_640x480_q90.jpg')));
      const sof = jpeg.findIndex((b, i) => b === 0xff && jpeg[i + 1] === 0xc0);
      jpeg[sof + 5] = 0; jpeg[sof + 6] = 0; // height 0
      await expectImageError(decodeImage(jpeg, 'zero.jpg'), 'IMAGE_INVALID', 'zero.jpg', '640x0');
      // a simple-format (VP8) WebP header declaring width 0 (VP8L / VP8X store width - 1)
      const vp8 = new Uint8Array(40);
      vp8.set(new TextEncoder().encode('RIFF'), 0);
      vp8.set([32, 0, 0, 0], 4);
      vp8.set(new TextEncoder().encode('WEBPVP8 '), 8);
      vp8.set([20, 0, 0, 0, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0, 0, 5, 0], 16);
      await expectImageError(decodeImage(vp8, 'zero.webp'), 'IMAGE_INVALID', 'zero.webp', 'size 0x5');
    });

    it(`more than ${MAX_IMAGE_PIXELS} pixels (Pillow's decompression-bomb limit): IMAGE_INVALID before decoding`, async function () {
      expect(MAX_IMAGE_PIXELS).to.equal(2 * Math.floor(1024 * 1024 * 1024 / 4 / 3));
      const path = writeTemp('bomb.png', makePng(20000, 10000, 8, 0, new Uint8Array(0)));
      await expectImageError(preprocessImage(path), 'IMAGE_INVALID', path, '200000000 pixels', 'decompression bomb');
      const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0xff, 0xff, 0xff, 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
      await expectImageError(decodeImage(jpeg, 'bomb.jpg'), 'IMAGE_INVALID', 'bomb.jpg', 'decompression bomb');
    });

    it('the limit is inclusive: exactly 178,956,970 pixels pass, one more fails', function () {
      expect(() => checkImageSize(178_956_970, 1, 'ok')).to.not.throw();
      expect(() => checkImageSize(178_956_971, 1, 'big')).to.throw(ImageError, /big: .*exceeds the limit/);
    });
  });

  describe('raw pixels', function () {
    it('wrong length, bad channel count, zero size: IMAGE_INVALID naming <raw>', async function () {
      await expectImageError(preprocessImage({ data: new Uint8Array(11), width: 2, height: 2, channels: 3 }), 'IMAGE_INVALID', '<raw>', '11 bytes for 2x2x3, expected 12');
      await expectImageError(preprocessImage({ data: new Uint8Array(8), width: 2, height: 2, channels: 2 as 3 }), 'IMAGE_INVALID', '<raw>', '3 (RGB) or 4 (RGBA) channels');
      await expectImageError(preprocessImage({ data: new Uint8Array(0), width: 0, height: 2, channels: 3 }), 'IMAGE_INVALID', '<raw>', 'zero or invalid size');
    });

    it('a bad size option is an InputError', async function () {
      const err = await rejection(preprocessImage({ data: new Uint8Array(12), width: 2, height: 2, channels: 3 }, { size: 0 }));
      expect(err).to.be.instanceOf(InputError);
    });
  });
});
