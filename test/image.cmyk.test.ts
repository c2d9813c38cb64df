/**
 * CMYK / YCCK JPEGs through the TypeScript libjpeg-turbo port (src/image/jpegjs) and Pillow's
 * 'CMYK;I' reading, bicubic resize in mode CMYK and cmyk2rgb, all bit-exact against Pillow 9.4.
 * Inputs and expected values: test/data/make_cmyk_cases.py (+ make_cmyk_jpegs.c) -> cmyk-cases.json.
 * The decoder core is also checked against the wasm libjpeg on 1- and 3-component files: committed
 * ones (every sampling-factor family) and ones the mozjpeg encoder makes at test time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import encodeJpeg, { init as initJpegEncoder } from '@jsquash/jpeg/encode.js';
import type { EncodeOptions } from '@jsquash/jpeg/meta.js';
import { decodeImage, ImageError, preprocessImage, resizeCropRgb } from '../src/image/index.js';
import { toRgb } from '../src/image/convert.js';
import { decodeJpegJs } from '../src/image/jpegjs/decoder.js';
import { decodeJpegRgba, keepChannels } from '../src/image/wasmCodecs.js';
import { SeededRandom } from '../src/util/random.js';
import { rejection, sha256 } from './helpers/assert.js';

const dataDir = join(dirname(fileURLToPath(import.meta.url)), 'data');

interface CmykCase {
  file: string; note: string; bytes: number; mode: string; size: [number, number]; adobe_transform: number | null;
  decoded_sha256: string; resized_size: [number, number]; crop_box: [number, number, number, number]; resample: string; rgb_sha256: string;
}
interface CoreCase { file: string; note: string; bytes: number; mode: string; size: [number, number]; decoded_sha256: string }
/** `base` cut after its first `scans` scans (of `of`), EOI appended. */
interface SmoothingCase { base: string; scans: number; of: number; mode: string; decoded_sha256: string }

const expected = JSON.parse(readFileSync(join(dataDir, 'cmyk-cases.json'), 'utf8')) as { cases: CmykCase[]; core: CoreCase[]; smoothing: SmoothingCase[] };
/** The encoder's ImageData-like input (the project's `lib` has no DOM types). */
type EncoderInput = Parameters<typeof encodeJpeg>[0];

const read = (file: string): Uint8Array => readFileSync(join(dataDir, file));

async function expectImageError(p: Promise<unknown> | (() => unknown), code: 'IMAGE_INVALID' | 'IMAGE_UNSUPPORTED', ...parts: (string | RegExp)[]): Promise<void> {
  const err = typeof p === 'function' ? await rejection((async () => p())()) : await rejection(p);
  expect(err, String(err)).to.be.instanceOf(ImageError);
  expect((err as ImageError).code, err.message).to.equal(code);
  for (const part of parts) {
    if (typeof part === 'string') expect(err.message).to.include(part);
    else expect(err.message).to.match(part);
  }
}

/** The transform byte of the Adobe APP14 segment (FFEE, length, "Adobe", version, flags0, flags1, transform), or null. */
function adobeTransform(bytes: Uint8Array): number | null {
  for (let i = 2; i < bytes.length - 15; i++) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xee && String.fromCharCode(...bytes.subarray(i + 4, i + 9)) === 'Adobe') return bytes[i + 15]!;
  }
  return null;
}

/** Offset of the first FFxx marker with code `marker` (searching from `from`). */
function markerAt(bytes: Uint8Array, marker: number, from = 2): number {
  for (let i = from; i < bytes.length - 1; i++) if (bytes[i] === 0xff && bytes[i + 1] === marker) return i;
  throw new Error(`no marker ${marker.toString(16)}`);
}

describe('CMYK / YCCK JPEG (expected values from Pillow 9.4 + libjpeg-turbo 2.1.5)', function () {
  it('the cases are the committed CMYK files as generated (size, Adobe transform), covering transforms 0, 1, 2 and no APP14', function () {
    const committed = readdirSync(dataDir).filter((f) => f.startsWith('cmyk_') && f.endsWith('.jpg'));
    expect(expected.cases.map((c) => c.file).sort()).to.deep.equal([...committed, 'jpeg_cmyk_8x8.jpg'].sort());
    for (const c of expected.cases) {
      const file = read(c.file);
      expect(file.length, `${c.file} bytes`).to.equal(c.bytes);
      expect(adobeTransform(file), `${c.file} APP14 transform`).to.equal(c.adobe_transform);
    }
    expect(new Set(expected.cases.map((c) => c.adobe_transform))).to.deep.equal(new Set([0, 1, 2, null]));
  });

  for (const c of expected.cases) {
    it(`${c.file}: ${c.note}`, async function () {
      const img = await decodeImage(read(c.file), c.file);
      expect([img.mode, img.width, img.height, img.format, img.decoder]).to.deep.equal([c.mode, ...c.size, 'jpeg', 'js']);
      expect(sha256(img.data as Uint8Array), 'decoded CMYK bytes').to.equal(c.decoded_sha256);
      const out = resizeCropRgb(img, 224);
      expect(out.resizedSize).to.deep.equal(c.resized_size);
      expect(out.cropBox).to.deep.equal(c.crop_box);
      expect(out.resample).to.equal(c.resample);
      expect(sha256(out.rgb), 'uint8 RGB after resize + crop + convert').to.equal(c.rgb_sha256);
    });
  }

  it('reports mode CMYK through preprocessImage', async function () {
    const pre = await preprocessImage(join(dataDir, 'cmyk_ycck_300x211.jpg'));
    expect([pre.format, pre.mode, pre.width, pre.height, pre.resample]).to.deep.equal(['jpeg', 'CMYK', 300, 211, 'bicubic']);
    expect(pre.shape).to.deep.equal([1, 3, 224, 224]);
  });

  it('inverts libjpeg\'s samples as Pillow\'s CMYK;I rawmode does', async function () {
    const file = read('cmyk_restart_37x29.jpg');
    const raw = decodeJpegJs(file, 'x.jpg');
    const img = await decodeImage(file, 'x.jpg');
    expect(raw.colourSpace).to.equal('cmyk');
    expect(Array.from(img.data.subarray(0, 8))).to.deep.equal(Array.from(raw.data.subarray(0, 8), (v) => 255 - v));
  });

  it('cmyk2rgb matches Convert.c on corner values', function () {
    const data = Uint8Array.from([0, 0, 0, 0, 255, 255, 255, 0, 0, 0, 0, 255, 128, 64, 200, 100, 255, 0, 1, 254]);
    const rgb = toRgb({ mode: 'CMYK', width: 5, height: 1, data, format: 'jpeg', decoder: 'js' });
    // nk = 255 - K; out = nk - round(ink * nk / 255)
    expect(Array.from(rgb)).to.deep.equal([255, 255, 255, 0, 0, 0, 0, 0, 0, 77, 116, 33, 0, 1, 1]); // Pillow 9.4
  });
});

/** Core files with an h1v2 component, where the wasm decoder differs from Pillow (and we do not). */
const WASM_LACKS_H1V2_FANCY = new Set(['core_ycc440_39x25.jpg', 'core_ycc_mixed_31x23.jpg']);

describe('TypeScript JPEG decoder core = Pillow, and = wasm libjpeg-turbo (1 and 3 components)', function () {
  it('the core cases are the committed core_*.jpg files as generated (byte sizes)', function () {
    const committed = readdirSync(dataDir).filter((f) => f.startsWith('core_') && f.endsWith('.jpg'));
    expect(expected.core.map((c) => c.file).sort()).to.deep.equal(committed.sort());
    for (const c of expected.core) expect(read(c.file).length, c.file).to.equal(c.bytes);
  });

  for (const c of expected.core) {
    it(`${c.file}: ${c.note}`, async function () {
      const file = read(c.file);
      const ts = decodeJpegJs(file, c.file);
      expect([ts.mode, ts.width, ts.height]).to.deep.equal([c.mode, ...c.size]);
      expect(sha256(ts.data), 'equals Pillow').to.equal(c.decoded_sha256);
      const wasm = await decodeJpegRgba(file);
      const sameAsWasm = Buffer.from(ts.data).equals(Buffer.from(keepChannels(wasm.pixels, ts.mode === 'L' ? 1 : 3)));
      // The @jsquash mozjpeg build upsamples h1v2 (4:4:0-style) chroma by plain replication, where
      // libjpeg-turbo 2.1.5 (Pillow's) uses h1v2_fancy_upsample: there the wasm decoder is not Pillow-exact.
      expect(sameAsWasm, 'equals wasm').to.equal(!WASM_LACKS_H1V2_FANCY.has(c.file));
    });
  }

  it('decodeImage gives Pillow\'s bytes for every core file with the wasm decoder chosen (h1v2 files go to the TypeScript decoder)', async function () {
    for (const c of expected.core) {
      const img = await decodeImage(read(c.file), c.file, { decoder: 'wasm' });
      expect(sha256(img.data as Uint8Array), c.file).to.equal(c.decoded_sha256);
      expect(img.decoder, c.file).to.equal(WASM_LACKS_H1V2_FANCY.has(c.file) ? 'js' : 'wasm');
    }
  });

  it('skips stray bytes before a marker as libjpeg does (Pillow 9.4 decodes such a file to the original pixels)', async function () {
    const plain = readFileSync(join(dataDir, 'jpeg_rgb422_48x36.jpg'));
    const app0End = 4 + ((plain[4]! << 8) | plain[5]!); // SOI, then the APP0 segment
    const stray = Uint8Array.from([...plain.subarray(0, app0End), 7, 0, 0x12, ...plain.subarray(app0End)]);
    for (const decoder of ['wasm', 'auto'] as const) {
      const [a, b] = [await decodeImage(plain, 'plain.jpg', { decoder }), await decodeImage(stray, 'stray.jpg', { decoder })];
      expect(sha256(b.data as Uint8Array), decoder).to.equal(sha256(a.data as Uint8Array));
    }
  });

  describe('files made by the mozjpeg encoder at test time', function () {
    before(async function () {
      const wasmPath = createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm');
      // the package's init takes a compiled module first (its .d.ts only declares the options form)
      const wasmApi = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<object> } }).WebAssembly;
      await (initJpegEncoder as unknown as (module: object) => Promise<void>)(await wasmApi.compile(readFileSync(wasmPath)));
    });

    /** A seeded pattern with edges and noise (so every coefficient band carries data). */
    function pattern(width: number, height: number, seed: number): Uint8ClampedArray {
      const px = new Uint8ClampedArray(width * height * 4);
      let s = seed;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          const i = 4 * (y * width + x);
          px[i] = ((x * 255) / width + (s >>> 27)) | 0;
          px[i + 1] = (((x + y) % 17) * 15) ^ (s >>> 28);
          px[i + 2] = (y * 255) / height;
          px[i + 3] = 255;
        }
      }
      return px;
    }

    const variants: [string, number, number, Partial<EncodeOptions>][] = [
      ['4:2:0 progressive (mozjpeg scan script)', 67, 45, { progressive: true, auto_subsample: false, chroma_subsample: 2 }],
      ['4:4:4 progressive', 50, 33, { progressive: true, auto_subsample: false, chroma_subsample: 1 }],
      ['4:2:0 baseline, optimized Huffman tables', 81, 19, { progressive: false, auto_subsample: false, chroma_subsample: 2 }],
      ['grayscale progressive', 40, 71, { progressive: true, color_space: 1 }],
      ['RGB colour space (Adobe transform 0)', 29, 30, { progressive: false, color_space: 2 }],
      ['high quality 4:4:4 with trellis', 64, 64, { quality: 97, progressive: true, auto_subsample: false, chroma_subsample: 1, trellis_multipass: true }],
      ['quality 5 (large quantisers, clipped IDCT output)', 33, 47, { quality: 5, progressive: false }],
    ];
    for (const [name, width, height, options] of variants) {
      it(`${name}, ${width}x${height}`, async function () {
        const image = { data: pattern(width, height, width * height), width, height, colorSpace: 'srgb' } as unknown as EncoderInput;
        const file = new Uint8Array(await encodeJpeg(image, options));
        const ts = decodeJpegJs(file, name);
        const wasm = await decodeJpegRgba(file);
        expect([ts.width, ts.height]).to.deep.equal([width, height]);
        const ref = keepChannels(wasm.pixels, ts.mode === 'L' ? 1 : 3);
        expect(Buffer.from(ts.data).equals(Buffer.from(ref))).to.equal(true);
      });
    }

    it('60 seeded random sizes (1..70 px) and options: identical bytes every time', async function () {
      // optimize_coding stays on: this mozjpeg build writes data its own decoder calls "bad Huffman code" without it
      const rng = new SeededRandom(2024);
      let same = 0;
      for (let t = 0; t < 60; t++) {
        const width = 1 + rng.int(70);
        const height = 1 + rng.int(70);
        const quality = 1 + rng.int(100);
        const options: Partial<EncodeOptions> = {
          quality, progressive: rng.int(2) === 1, auto_subsample: false, chroma_subsample: 1 + rng.int(2), color_space: 1 + rng.int(3),
          baseline: quality >= 25 && rng.int(4) === 0, // below 25 the encoder prints a warning about clamped tables
        };
        const image = { data: pattern(width, height, t), width, height, colorSpace: 'srgb' } as unknown as EncoderInput;
        const file = new Uint8Array(await encodeJpeg(image, options));
        const ts = decodeJpegJs(file, `random-${t}`);
        const ref = keepChannels((await decodeJpegRgba(file)).pixels, ts.mode === 'L' ? 1 : 3);
        if (Buffer.from(ts.data).equals(Buffer.from(ref))) same++;
        else expect.fail(`random case ${t}: ${width}x${height} ${JSON.stringify(options)} differs`);
      }
      expect(same).to.equal(60);
    });

  });
});

describe('block smoothing of incomplete progressive JPEGs (jdcoefct.c decompress_smooth_data) = Pillow', function () {
  /** The file up to its (scans+1)-th SOS, then EOI (as make_cmyk_cases.py cuts it). */
  function cutAfterScans(file: Uint8Array, scans: number): Uint8Array {
    let at = 2;
    for (let i = 0; i <= scans; i++) at = markerAt(file, 0xda, at + 2);
    const cut = new Uint8Array(at + 2);
    cut.set(file.subarray(0, at));
    cut.set([0xff, 0xd9], at);
    return cut;
  }

  it('has 43 cuts of 3 files, from DC-only (DC re-estimated) to one scan short', function () {
    expect(expected.smoothing).to.have.length(43);
    expect(expected.smoothing.filter((c) => c.scans === 1)).to.have.length(3);
  });

  for (const c of expected.smoothing) {
    it(`${c.base} after ${c.scans} of ${c.of} scans`, async function () {
      const cut = cutAfterScans(read(c.base), c.scans);
      const name = `${c.base}#${c.scans}`;
      const data = c.mode === 'CMYK' ? (await decodeImage(cut, name)).data as Uint8Array : decodeJpegJs(cut, name).data;
      expect(sha256(data)).to.equal(c.decoded_sha256);
    });
  }
});

describe('CMYK JPEG errors (typed, naming the file)', function () {
  it('truncated CMYK JPEG: IMAGE_INVALID "truncated" (also when only EOI is missing)', async function () {
    const whole = read('cmyk_ycck_300x211.jpg');
    await expectImageError(decodeImage(whole.subarray(0, whole.length >> 1), 'half.jpg'), 'IMAGE_INVALID', 'half.jpg', /truncated/);
    await expectImageError(decodeImage(whole.subarray(0, whole.length - 2), 'no-eoi.jpg'), 'IMAGE_INVALID', 'no-eoi.jpg', /truncated/);
    const progressive = read('cmyk_progressive_224x224.jpg');
    await expectImageError(decodeImage(progressive.subarray(0, 3000), 'prog.jpg'), 'IMAGE_INVALID', 'prog.jpg', /truncated/);
  });

  it('corrupt Huffman data: IMAGE_INVALID "bad Huffman code"', async function () {
    const bad = Uint8Array.from(read('cmyk_ycck_300x211.jpg'));
    const data = markerAt(bad, 0xda) + 40;
    for (let i = data; i < data + 64; i += 2) { bad[i] = 0xff; bad[i + 1] = 0x00; } // all-ones bits: never a valid code
    await expectImageError(decodeImage(bad, 'bad-huffman.jpg'), 'IMAGE_INVALID', 'bad-huffman.jpg', 'bad Huffman code');
  });

  it('a wrong restart marker: IMAGE_INVALID naming the expected RSTn', async function () {
    const bad = Uint8Array.from(read('cmyk_restart_37x29.jpg'));
    bad[markerAt(bad, 0xd0) + 1] = 0xd3;
    await expectImageError(decodeImage(bad, 'rst.jpg'), 'IMAGE_INVALID', 'rst.jpg', 'expected restart marker RST0');
  });

  it('arithmetic-coded and lossless SOFs: IMAGE_UNSUPPORTED naming the SOF (the mozjpeg wasm build cannot write arithmetic files)', async function () {
    for (const [code, name] of [[0xc9, 'SOF9'], [0xca, 'SOF10'], [0xc3, 'SOF3']] as const) {
      const bad = Uint8Array.from(read('cmyk_restart_37x29.jpg'));
      bad[markerAt(bad, 0xc0) + 1] = code;
      await expectImageError(decodeImage(bad, `sof-${code}.jpg`), 'IMAGE_UNSUPPORTED', `sof-${code}.jpg`, name);
    }
  });

  it('non-integral sampling ratios: IMAGE_UNSUPPORTED (libjpeg: fractional sampling)', async function () {
    const bad = Uint8Array.from(read('cmyk_restart_37x29.jpg'));
    const sof = markerAt(bad, 0xc0);
    bad[sof + 11] = 0x31; // first component 3x1, second 2x1: 2 does not divide the maximum 3
    bad[sof + 14] = 0x21;
    await expectImageError(decodeImage(bad, 'frac.jpg'), 'IMAGE_UNSUPPORTED', 'frac.jpg', 'not integral');
  });
});
