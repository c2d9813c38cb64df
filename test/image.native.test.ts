/**
 * The optional native JPEG / WebP decoder (sharp) against the wasm decoders: identical pixels on every
 * fixture, every test/data case and inputs generated here; identical errors (code and message) on
 * damaged files, including randomly corrupted ones; and how the decoder is chosen and reported.
 * Tests that need sharp skip loudly when it is not installed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ImageReward } from '../src/api/imagereward.js';
import type { CliIO } from '../src/cli/command.js';
import { main } from '../src/cli/main.js';
import { ImageRewardError, InputError, BackendError } from '../src/errors.js';
import {
  decodeImage, IMAGE_DECODER_ENV, ImageError, NativeDecoderUnavailableError, nativeDecoderStatus, preprocessImage,
  type DecodedImage, type JpegWebpDecoder,
} from '../src/image/index.js';
import { jpegStructureIsPlain } from '../src/image/jpegStructure.js';
import { setSharpLoader, type SharpModule } from '../src/image/nativeCodecs.js';
import { SeededRandom } from '../src/util/random.js';
import { readSafetensors } from '../src/weights/safetensors.js';
import { rejection, sha256 } from './helpers/assert.js';
import { encodeJpeg, encodeWebp, type JpegOptions, type Rgba, type WebpOptions } from './helpers/encoders.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';

const dataDir = join(dirname(fileURLToPath(import.meta.url)), 'data');

/** What a decode gives, without saying which decoder gave it. */
type Outcome =
  | { ok: true; mode: string; width: number; height: number; pixels: string }
  | { ok: false; error: string; code: string; message: string };

async function decodeWith(bytes: Uint8Array, decoder: JpegWebpDecoder, source = 'input'): Promise<{ outcome: Outcome; image?: DecodedImage }> {
  try {
    const image = await decodeImage(bytes, source, { decoder });
    const raw = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
    return { outcome: { ok: true, mode: image.mode, width: image.width, height: image.height, pixels: sha256(raw) }, image };
  } catch (err) {
    if (!(err instanceof ImageRewardError)) throw err;
    return { outcome: { ok: false, error: err.name, code: err.code, message: err.message } };
  }
}

/** Decodes with both decoders, asserts the same outcome, and returns the native run's result. */
async function expectSameOutcome(bytes: Uint8Array, label: string): Promise<{ outcome: Outcome; image?: DecodedImage }> {
  const wasm = await decodeWith(bytes, 'wasm', label);
  const native = await decodeWith(bytes, 'native', label);
  expect(native.outcome, label).to.deep.equal(wasm.outcome);
  if (wasm.image) expect(wasm.image.decoder, label).to.be.oneOf(['wasm', 'js']);
  return native;
}

/** Smooth gradients, hard edges and noise; `alpha` adds a transparency ramp with fully transparent corners. */
function picture(width: number, height: number, seed: number, alpha: boolean): Rgba {
  const rnd = new SeededRandom(seed);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);
      const edge = ((x >> 4) + (y >> 4)) % 2 === 0 ? 50 : 0;
      data[i] = 128 + 90 * Math.sin(x / 9) + edge + rnd.int(24) - 12;
      data[i + 1] = 128 + 90 * Math.cos(y / 7) - edge + rnd.int(24) - 12;
      data[i + 2] = (255 * (x + y)) / (width + height) + rnd.int(16) - 8;
      data[i + 3] = !alpha ? 255 : (x < 5 && y < 5) ? 0 : Math.round((255 * x) / (width - 1));
    }
  }
  return { data, width, height };
}

/** sharp itself, for making ICC-tagged JPEGs (typed locally: sharp may be absent when this compiles). */
interface SharpForTests {
  (input: Uint8Array, options?: object): {
    withIccProfile(name: string): ReturnType<SharpForTests>;
    jpeg(options: object): ReturnType<SharpForTests>;
    raw(): ReturnType<SharpForTests>;
    toBuffer(): Promise<Uint8Array>;
    metadata(): Promise<{ icc?: Uint8Array }>;
  };
}

async function withEnv<T>(value: string | undefined, run: () => Promise<T>): Promise<T> {
  const saved = process.env[IMAGE_DECODER_ENV];
  if (value === undefined) delete process.env[IMAGE_DECODER_ENV];
  else process.env[IMAGE_DECODER_ENV] = value;
  try {
    return await run();
  } finally {
    if (saved === undefined) delete process.env[IMAGE_DECODER_ENV];
    else process.env[IMAGE_DECODER_ENV] = saved;
  }
}

interface CorruptCase {
  base: string;
  edits?: [number, number][];
  truncate?: number;
  pillow: { error: string } | { mode: string; size: [number, number]; decoded_sha256: string };
}

/** Pillow's decoded-pixel sha256 per test/data file, from every test/data/*cases.json that records one. */
function pillowDecodedHashes(): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const name of readdirSync(dataDir).filter((f) => f.endsWith('cases.json'))) {
    const json = JSON.parse(readFileSync(join(dataDir, name), 'utf8')) as Record<string, unknown>;
    for (const list of Object.values(json)) {
      if (!Array.isArray(list)) continue;
      for (const entry of list as { file?: unknown; decoded_sha256?: unknown }[]) {
        if (typeof entry.file === 'string' && typeof entry.decoded_sha256 === 'string') hashes.set(entry.file, entry.decoded_sha256);
      }
    }
  }
  return hashes;
}

const missingSharp = (): Promise<SharpModule> => Promise.reject(new Error("Cannot find package 'sharp' imported from nativeCodecs.ts"));

describe('image decoder choice', function () {
  let jpeg: Uint8Array;
  let webp: Uint8Array;

  before(async function () {
    jpeg = await encodeJpeg(picture(40, 30, 1, false), { quality: 90 });
    webp = await encodeWebp(picture(40, 30, 2, true), { quality: 80 });
  });

  afterEach(function () {
    setSharpLoader(undefined);
  });

  it('an unknown decoder name is an InputError listing the valid ones (option, environment, raw input too)', async function () {
    for (const run of [
      () => decodeImage(jpeg, 'x.jpg', { decoder: 'libjpeg' }),
      () => preprocessImage(jpeg, { decoder: 'libjpeg' }),
      () => preprocessImage({ data: new Uint8Array(12), width: 2, height: 2, channels: 3 }, { decoder: 'libjpeg' }),
    ]) {
      const err = await rejection(run());
      expect(err).to.be.instanceOf(InputError);
      expect(err.message).to.include('"libjpeg"').and.include('auto, wasm, native');
    }
    const fromEnv = await withEnv('fast', () => rejection(decodeImage(jpeg)));
    expect(fromEnv).to.be.instanceOf(InputError);
    expect(fromEnv.message).to.include(`${IMAGE_DECODER_ENV}="fast"`).and.include('auto, wasm, native');
  });

  it("'native' without sharp is a typed error naming the fix, never a silent fallback", async function () {
    setSharpLoader(missingSharp);
    for (const run of [() => decodeImage(jpeg, 'x.jpg', { decoder: 'native' }), () => preprocessImage(webp, { decoder: 'native' })]) {
      const err = await rejection(run());
      expect(err).to.be.instanceOf(NativeDecoderUnavailableError).and.instanceOf(BackendError);
      expect((err as BackendError).code).to.equal('BACKEND_UNAVAILABLE');
      expect(err.message).to.include('Cannot find package').and.include('npm install sharp@0.35.5').and.include('"wasm"');
    }
    const fromEnv = await withEnv('native', () => rejection(decodeImage(jpeg)));
    expect(fromEnv).to.be.instanceOf(NativeDecoderUnavailableError);
  });

  it("'auto' without sharp uses the wasm decoders; 'wasm' never loads sharp", async function () {
    setSharpLoader(missingSharp);
    expect((await decodeImage(jpeg, 'x.jpg', { decoder: 'auto' })).decoder).to.equal('wasm');
    expect((await withEnv(undefined, () => preprocessImage(webp))).decoder).to.equal('wasm');
    let loads = 0;
    setSharpLoader(() => { loads++; return missingSharp(); });
    expect((await decodeImage(jpeg, 'x.jpg', { decoder: 'wasm' })).decoder).to.equal('wasm');
    expect((await withEnv('wasm', () => preprocessImage(webp))).decoder).to.equal('wasm');
    expect(loads).to.equal(0);
    expect((await nativeDecoderStatus()).available).to.equal(false);
    expect(loads).to.equal(1);
  });

  it("reports which code produced the pixels: PNG 'js', raw pixels 'none', JPEG/WebP 'wasm'", async function () {
    const png = readFileSync(join(dataDir, 'png_p4_31x23.png'));
    expect((await preprocessImage(png, { decoder: 'wasm' })).decoder).to.equal('js');
    expect((await preprocessImage({ data: new Uint8Array(12), width: 2, height: 2, channels: 3 })).decoder).to.equal('none');
    expect((await preprocessImage(jpeg, { decoder: 'wasm' })).decoder).to.equal('wasm');
  });

  it("reports 'native' for JPEG/WebP decoded by sharp ('native', and 'auto' with sharp installed)", async function () {
    const status = await nativeDecoderStatus();
    if (!status.available) {
      console.warn(`\n  !!! SKIPPING: sharp is not installed (${status.reason})\n`);
      this.skip();
    }
    expect((await preprocessImage(jpeg, { decoder: 'native' })).decoder).to.equal('native');
    expect((await preprocessImage(webp, { decoder: 'auto' })).decoder).to.equal('native');
  });
});

describe('--image-decoder / ImageReward.load({imageDecoder})', function () {
  const backend = process.env.IMAGEREWARD_TEST_BACKEND ?? 'wasm';
  let model: string[];

  before(function () {
    requireFixtures(this, 'tiny/tiny.safetensors', 'vocab/bert-base-uncased-vocab.txt', 'images/1.webp');
    model = ['--model', fixturePath('tiny/tiny.safetensors'), '--vocab', fixturePath('vocab/bert-base-uncased-vocab.txt'), '--backend', backend];
  });

  afterEach(function () {
    setSharpLoader(undefined);
  });

  async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false };
    return { code: await main(argv, io), out, err };
  }

  it('load resolves the decoder up front: a bad name or native without sharp fails, the choice is in the description', async function () {
    const load = (imageDecoder: string): Promise<ImageReward> => ImageReward.load(fixturePath('tiny/tiny.safetensors'),
      { backend, vocab: fixturePath('vocab/bert-base-uncased-vocab.txt'), log: null, imageDecoder });
    expect(await rejection(load('sharp'))).to.be.instanceOf(InputError);
    const m = await load('wasm');
    try {
      expect(m.description.imageDecoder).to.equal('wasm');
    } finally {
      m.dispose();
    }
    setSharpLoader(missingSharp);
    expect(await rejection(load('native'))).to.be.instanceOf(NativeDecoderUnavailableError);
  });

  it('info reports the decoder; preprocess takes --image-decoder and says which decoder ran', async function () {
    const info = await cli('info', ...model, '--image-decoder', 'wasm', '--json');
    expect(info.code, info.err.join('\n')).to.equal(0);
    const described = JSON.parse(info.out[0]!) as { image_decoder: string; native_decoder: string };
    expect(described.image_decoder).to.equal('wasm');
    expect(described.native_decoder).to.match(/^(sharp \d|unavailable)/);
    const text = await cli('info', ...model, '--image-decoder', 'wasm');
    expect(text.out.join('\n')).to.match(/JPEG\/WebP decoder wasm; native decoder: /);
    const bad = await cli('preprocess', fixturePath('images/1.webp'), '--out', '/nonexistent/x.safetensors', '--image-decoder', 'fast');
    expect(bad.code).to.equal(2);
    expect(bad.err.join('\n')).to.include('"fast"').and.include('auto, wasm, native');
    setSharpLoader(missingSharp);
    const missing = await cli('info', ...model, '--image-decoder', 'native');
    expect(missing.code).to.equal(2);
    expect(missing.err.join('\n')).to.include('npm install sharp@0.35.5');
  });
});

describe('JPEG structure check (which files sharp may decode)', function () {
  it('accepts a plain file and skips stray bytes, refuses extra frames or SOI, unknown markers and a missing EOI', async function () {
    const plain = await encodeJpeg(picture(33, 17, 3, false), { quality: 80 });
    expect(jpegStructureIsPlain(plain)).to.equal(true);
    expect(jpegStructureIsPlain(await encodeJpeg(picture(33, 17, 3, false), { quality: 80, progressive: true }))).to.equal(true);
    const beforeEoi = (insert: number[]): Uint8Array => Uint8Array.from([...plain.subarray(0, plain.length - 2), ...insert, 0xff, 0xd9]);
    expect(jpegStructureIsPlain(beforeEoi([0xff, 0xfe, 0, 4, 65, 66]))).to.equal(true); // COM after the scan
    expect(jpegStructureIsPlain(beforeEoi([0xff, 0x92, 0, 4, 1, 2]))).to.equal(false); // unknown marker
    expect(jpegStructureIsPlain(beforeEoi([0xff, 0xc0, 0, 4, 1, 2]))).to.equal(false); // second frame header
    expect(jpegStructureIsPlain(plain.subarray(0, plain.length - 2))).to.equal(false); // no EOI
    expect(jpegStructureIsPlain(Uint8Array.from([...plain.subarray(0, 20), 7, ...plain.subarray(20)]))).to.equal(true); // a stray byte: libjpeg only warns
    expect(jpegStructureIsPlain(Uint8Array.from([...plain.subarray(0, 2), 0xff, 0xd8, ...plain.subarray(2)]))).to.equal(false); // second SOI
  });
});

describe('native decoder (sharp) vs wasm decoders', function () {
  before(async function () {
    const status = await nativeDecoderStatus();
    if (!status.available) {
      console.warn(`\n  !!! SKIPPING the native decoder tests: sharp is not installed (${status.reason}). Install it with npm install sharp@0.35.5\n`);
      this.skip();
    }
  });

  it('every shared fixture image: same mode, size and pixels; the golden tensors still match bit for bit', async function () {
    requireFixtures(this, 'images/images.json', 'images/preprocessed.safetensors');
    const images = (JSON.parse(readFileSync(fixturePath('images/images.json'), 'utf8')) as { images: { file: string; tensor: string }[] }).images;
    const golden = readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors;
    let nativeCount = 0;
    for (const fx of images) {
      const bytes = readFileSync(fixturePath(`images/${fx.file}`));
      const { outcome, image } = await expectSameOutcome(bytes, fx.file);
      expect(outcome.ok, fx.file).to.equal(true);
      expect(image!.decoder, fx.file).to.equal(fx.file.endsWith('.png') ? 'js' : 'native');
      if (image!.decoder === 'native') nativeCount++;
      const pre = await preprocessImage(fixturePath(`images/${fx.file}`), { decoder: 'native' });
      const want = golden.get(fx.tensor)!.data as Float32Array;
      let maxErr = 0;
      for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(pre.pixels[i]! - want[i]!));
      expect(maxErr, fx.file).to.equal(0);
    }
    expect(images).to.have.length(16);
    expect(nativeCount).to.be.greaterThan(0);
  });

  it("every JPEG / WebP in test/data: Pillow's pixels where test/data records them, else the wasm decoder's; all but CMYK and animated decoded by sharp", async function () {
    const pillow = pillowDecodedHashes();
    const files = readdirSync(dataDir).filter((f) => /\.(jpg|webp)$/.test(f)).sort();
    expect(files.length).to.be.at.least(7);
    const wasmDiffers: string[] = [];
    for (const file of files) {
      const bytes = readFileSync(join(dataDir, file));
      const native = await decodeWith(bytes, 'native', file);
      const wasm = await decodeWith(bytes, 'wasm', file);
      const want = pillow.get(file);
      if (want !== undefined && native.outcome.ok) {
        expect(native.outcome.pixels, `${file} vs Pillow`).to.equal(want);
        if (!wasm.outcome.ok || wasm.outcome.pixels !== want) wasmDiffers.push(file);
      } else {
        expect(native.outcome, file).to.deep.equal(wasm.outcome);
      }
      if (file.includes('cmyk') || file.includes('_anim_')) {
        // 4-component JPEGs and animated WebPs (their first frame) never go to sharp
        if (native.image) expect(native.image.decoder, file).to.not.equal('native');
      } else {
        expect(native.outcome.ok, file).to.equal(true);
        expect(native.image!.decoder, file).to.equal('native');
      }
    }
    if (wasmDiffers.length) console.log(`      the wasm decoder differs from Pillow on: ${wasmDiffers.join(', ')} (sharp matches Pillow)`);
  });

  describe('generated JPEGs (mozjpeg encoder)', function () {
    const cases: [string, number, number, boolean, JpegOptions][] = [
      ['4:2:0 q90 baseline', 77, 45, false, { quality: 90, auto_subsample: false, chroma_subsample: 2 }],
      ['4:4:4 q95', 64, 48, false, { quality: 95, auto_subsample: false, chroma_subsample: 1 }],
      ['4:2:0 q50 progressive', 301, 211, false, { quality: 50, progressive: true, auto_subsample: false, chroma_subsample: 2 }],
      ['4:4:4 q75 progressive', 45, 77, false, { quality: 75, progressive: true, auto_subsample: false, chroma_subsample: 1 }],
      ['gray q85', 61, 37, false, { quality: 85, color_space: 1 as JpegOptions['color_space'] }],
      ['gray progressive q60', 37, 61, false, { quality: 60, progressive: true, color_space: 1 as JpegOptions['color_space'] }],
      ['RGB colour space (no YCbCr)', 50, 40, false, { quality: 90, color_space: 2 as JpegOptions['color_space'] }],
      ['1x1 pixel', 1, 1, false, { quality: 90 }],
    ];
    for (const [name, w, h, , options] of cases) {
      it(`${name}, ${w}x${h}: identical pixels, decoded by sharp`, async function () {
        const bytes = await encodeJpeg(picture(w, h, w * 31 + h, false), options);
        const { outcome, image } = await expectSameOutcome(bytes, name);
        expect(outcome.ok).to.equal(true);
        expect(image!.decoder).to.equal('native');
        expect(image!.mode).to.equal(options.color_space === 1 ? 'L' : 'RGB');
      });
    }
  });

  describe('generated WebPs (libwebp encoder)', function () {
    const cases: [string, number, number, boolean, WebpOptions][] = [
      ['lossy, opaque (VP8)', 77, 45, false, { quality: 75 }],
      ['lossy with alpha (VP8X + ALPH)', 64, 48, true, { quality: 60 }],
      ['lossless, opaque (VP8L)', 45, 77, false, { lossless: 1 }],
      ['lossless with alpha', 50, 40, true, { lossless: 1 }],
      ['lossless with alpha, exact RGB under transparency', 31, 29, true, { lossless: 1, exact: 1 }],
      ['lossy q95 larger', 300, 200, false, { quality: 95 }],
    ];
    for (const [name, w, h, alpha, options] of cases) {
      it(`${name}, ${w}x${h}: identical pixels, decoded by sharp`, async function () {
        const bytes = await encodeWebp(picture(w, h, w * 17 + h, alpha), options);
        const { outcome, image } = await expectSameOutcome(bytes, name);
        expect(outcome.ok).to.equal(true);
        expect(image!.decoder).to.equal('native');
        expect(image!.mode).to.equal(alpha ? 'RGBA' : 'RGB');
      });
    }
  });

  it('ICC-tagged JPEGs (sRGB, Display P3) are not colour-managed', async function () {
    const sharp = (await import('sharp' as string) as { default: SharpForTests }).default;
    const { data, width, height } = picture(64, 48, 9, false);
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) rgb.set(data.subarray(4 * i, 4 * i + 3), 3 * i);
    for (const profile of ['srgb', 'p3']) {
      const tagged = await sharp(rgb, { raw: { width, height, channels: 3 } }).withIccProfile(profile).jpeg({ quality: 90 }).toBuffer();
      expect((await sharp(tagged).metadata()).icc?.length, profile).to.be.greaterThan(0);
      const { outcome, image } = await expectSameOutcome(tagged, `${profile}.jpg`);
      expect(outcome.ok).to.equal(true);
      expect(image!.decoder).to.equal('native');
      if (profile === 'p3') {
        // colour management would change the values: the test above would notice it
        const managed = await sharp(tagged).raw().toBuffer();
        expect(sha256(managed)).to.not.equal(sha256(image!.data as Uint8Array));
      }
    }
  });

  describe('damaged files: the same typed error (code and message) or, where libjpeg only warns, the same pixels', function () {
    let jpg: Uint8Array;
    let webp: Uint8Array;

    before(function () {
      requireFixtures(this, 'images/gen_rgb_640x480_q90.jpg', 'images/1.webp');
      jpg = Uint8Array.from(readFileSync(fixturePath('images/gen_rgb_640x480_q90.jpg')));
      webp = Uint8Array.from(readFileSync(fixturePath('images/1.webp')));
    });

    function scanStart(bytes: Uint8Array): number {
      return bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xda);
    }
    function beforeEoi(bytes: Uint8Array, insert: number[]): Uint8Array {
      return Uint8Array.from([...bytes.subarray(0, bytes.length - 2), ...insert, 0xff, 0xd9]);
    }

    it('the cases of image.errors.test.ts, and libjpeg warnings vs errors', async function () {
      const sos = scanStart(jpg);
      const zeroed = Uint8Array.from(jpg); zeroed.fill(0x00, sos + 2000, sos + 2100); // "premature end of data segment": a warning
      const filled = Uint8Array.from(jpg); filled.fill(0xff, sos + 3000, sos + 3010); // runs into marker 0x92: an error
      const header = Uint8Array.from(jpg); header.fill(0x00, 4, 200);
      const zeroHeight = Uint8Array.from(jpg);
      const sof = jpg.findIndex((b, i) => b === 0xff && jpg[i + 1] === 0xc0);
      zeroHeight[sof + 5] = 0; zeroHeight[sof + 6] = 0;
      const garbageWebp = Uint8Array.from(webp); garbageWebp.fill(0x5a, 30, 4000);
      const cases: [string, Uint8Array, 'decodes' | 'IMAGE_INVALID' | 'IMAGE_UNSUPPORTED'][] = [
        ['JPEG cut to 50%', jpg.subarray(0, jpg.length >> 1), 'IMAGE_INVALID'],
        ['JPEG cut to 1%', jpg.subarray(0, Math.floor(jpg.length * 0.01)), 'IMAGE_INVALID'],
        ['JPEG without EOI', jpg.subarray(0, jpg.length - 2), 'IMAGE_INVALID'],
        ['JPEG cut 10 bytes short', jpg.subarray(0, jpg.length - 10), 'IMAGE_INVALID'],
        ['WebP cut to 50%', webp.subarray(0, webp.length >> 1), 'IMAGE_INVALID'],
        ['JPEG with a destroyed header', header, 'IMAGE_INVALID'],
        ['WebP with a garbage bitstream', garbageWebp, 'IMAGE_INVALID'],
        ['JPEG of height 0', zeroHeight, 'IMAGE_INVALID'],
        ['JPEG bomb header', Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0xff, 0xff, 0xff, 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]), 'IMAGE_INVALID'],
        ['CMYK JPEG', readFileSync(join(dataDir, 'jpeg_cmyk_8x8.jpg')), 'decodes'],
        ['JPEG with zeroed scan data (libjpeg warns)', zeroed, 'decodes'],
        ['JPEG whose scan runs into an unknown marker', filled, 'IMAGE_INVALID'],
        ['JPEG with an unknown marker after the scan', beforeEoi(jpg, [0xff, 0x92, 0, 4, 1, 2]), 'IMAGE_INVALID'],
        ['JPEG with a COM segment after the scan', beforeEoi(jpg, [0xff, 0xfe, 0, 4, 65, 66]), 'decodes'],
      ];
      for (const [name, bytes, expected] of cases) {
        const { outcome } = await expectSameOutcome(bytes, name);
        if (name === 'CMYK JPEG') continue; // refused today; decoded by the TypeScript CMYK decoder once it lands: same outcome either way
        expect(outcome.ok ? 'decodes' : (outcome as { code: string }).code, name).to.equal(expected);
        if (!outcome.ok) expect((outcome as { error: string }).error, name).to.equal(ImageError.name);
      }
    });

    it("180 damaged variants of test/data files (native-corrupt-cases.json): Pillow's pixels, or an error wherever Pillow raises one", async function () {
      const { cases } = JSON.parse(readFileSync(join(dataDir, 'native-corrupt-cases.json'), 'utf8')) as { cases: CorruptCase[] };
      expect(cases).to.have.length(180);
      const tally = { decodes: 0, errors: 0, bySharp: 0, wasmAgrees: 0 };
      for (const [i, c] of cases.entries()) {
        const whole = readFileSync(join(dataDir, c.base));
        const bytes = c.truncate !== undefined ? whole.subarray(0, c.truncate) : Uint8Array.from(whole);
        for (const [at, value] of c.edits ?? []) bytes[at] = value;
        const label = `case ${i} (${c.base})`;
        const native = await decodeWith(bytes, 'native', label);
        const wasm = await decodeWith(bytes, 'wasm', label);
        if ('error' in c.pillow) {
          expect(native.outcome.ok, `${label}: Pillow raised ${c.pillow.error}`).to.equal(false);
          expect(native.outcome, label).to.deep.equal(wasm.outcome); // the wasm decoder's diagnosis, word for word
          expect((native.outcome as { error: string }).error, label).to.equal(ImageError.name);
          tally.errors++;
        } else {
          const want = { ok: true, mode: c.pillow.mode, width: c.pillow.size[0], height: c.pillow.size[1], pixels: c.pillow.decoded_sha256 };
          expect(native.outcome, label).to.deep.equal(want);
          if (native.image!.decoder === 'native') tally.bySharp++;
          tally.decodes++;
        }
        if (JSON.stringify(wasm.outcome.ok ? wasm.outcome : { ok: false }) === JSON.stringify(native.outcome.ok ? native.outcome : { ok: false })) tally.wasmAgrees++;
      }
      console.log(`      ${tally.decodes} decode as Pillow does (${tally.bySharp} by sharp), ${tally.errors} fail as in Pillow; the wasm decoder alone agrees with Pillow on ${tally.wasmAgrees}/${cases.length}`);
      expect(tally.errors).to.be.greaterThan(40);
      expect(tally.bySharp).to.be.greaterThan(40);
    });
  });
});
