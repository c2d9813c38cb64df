/**
 * Issue 14 items 4 and 8: the image side of the resource limits. Extreme aspect ratios are resized
 * only where the center crop keeps them (Pillow's bytes, memory proportional to the output), and a
 * resize Pillow itself refuses is a typed error; memory cases run in a child process with a heap limit
 * (test/helpers/limited.ts) and are compared with a do-nothing child measured in the same run.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { decodeImage, ImageError } from '../src/image/index.js';
import { toRgb } from '../src/image/convert.js';
import { preprocessDecoded } from '../src/image/pipeline.js';
import { resizeLikePillow } from '../src/image/resize.js';
import { cropPlane, fixedPoint, precomputeCoeffs, resampleBicubic32, resampleBicubic8, resizeNearest, type Box, type Plane } from '../src/image/resample.js';
import { resampleBicubic8Simd } from '../src/image/simd/simdResample.js';
import { centerCropBox, normalizeToChw, resizedSize } from '../src/image/transforms.js';
import { MODE_BANDS, type DecodedImage } from '../src/image/types.js';
import { SeededRandom } from '../src/util/random.js';
import { encodeJpeg, encodeWebp } from './helpers/encoders.js';
import { runLimited } from './helpers/limited.js';
import { useLimitSuite } from './helpers/limitSuite.js';
import { concatBytes, pngOfRows } from './helpers/makeFiles.js';

const limits = useLimitSuite('ir-limits-image-');
const { file, describeOutcome, expectRssWithin } = limits;

const sha256 = (b: ArrayBufferView): string => createHash('sha256').update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)).digest('hex');

function randomPlane<T extends Uint8Array | Int32Array>(rng: SeededRandom, width: number, height: number, bands: number, make: (n: number) => T, max: number): Plane<T> {
  const data = make(width * height * bands);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng.next() * max);
  return { data, width, height, bands };
}

function randomBox(rng: SeededRandom, xsize: number, ysize: number): Box {
  const left = Math.floor(rng.next() * xsize);
  const top = Math.floor(rng.next() * ysize);
  return [left, top, left + 1 + Math.floor(rng.next() * (xsize - left)), top + 1 + Math.floor(rng.next() * (ysize - top))];
}

describe('limits 4: only the center crop is resized, with the bytes of the whole resize', function () {
  it('every kernel (scalar, SIMD, 32-bit, nearest) gives resize-then-crop exactly, for 400 random boxes', function () {
    const rng = new SeededRandom(14);
    const size = (max: number): number => 1 + Math.floor(rng.next() * max);
    for (let trial = 0; trial < 400; trial++) {
      const bands = 1 + (trial % 4);
      const [w, h] = [size(60), size(60)];
      const pick = trial % 4; // 0: both axes; 1: width only; 2: height only; 3: neither
      const xs = pick === 2 || pick === 3 ? w : size(120);
      const ys = pick === 1 || pick === 3 ? h : size(120);
      const box = randomBox(rng, xs, ys);
      const where = `${w}x${h}x${bands} -> ${xs}x${ys}, box [${box.join(', ')}]`;
      const src8 = randomPlane(rng, w, h, bands, (n) => new Uint8Array(n), 256);
      const whole8 = cropPlane(resampleBicubic8(src8, xs, ys), box[0], box[1], box[2] - box[0], box[3] - box[1]);
      expect(Buffer.from(resampleBicubic8(src8, xs, ys, box).data).equals(Buffer.from(whole8.data)), `scalar ${where}`).to.equal(true);
      const simd = resampleBicubic8Simd(src8, xs, ys, false, box)!;
      expect([simd.width, simd.height]).to.deep.equal([whole8.width, whole8.height]);
      expect(Buffer.from(simd.data).equals(Buffer.from(whole8.data)), `simd ${where}`).to.equal(true);
      const nearest = cropPlane(resizeNearest(src8, xs, ys), box[0], box[1], box[2] - box[0], box[3] - box[1]);
      expect(Buffer.from(resizeNearest(src8, xs, ys, box).data).equals(Buffer.from(nearest.data)), `nearest ${where}`).to.equal(true);
      const src32 = randomPlane(rng, w, h, 1, (n) => new Int32Array(n), 65536);
      const whole32 = cropPlane(resampleBicubic32(src32, xs, ys), box[0], box[1], box[2] - box[0], box[3] - box[1]);
      expect([...resampleBicubic32(src32, xs, ys, box).data], `32-bit ${where}`).to.deep.equal([...whole32.data]);
    }
  });

  it('120x1, 1x120 and 300x2 images give the whole resize\'s center crop in every mode', function () {
    const rng = new SeededRandom(5);
    for (const [w, h] of [[120, 1], [1, 120], [300, 2]] as const) {
      for (const mode of ['L', 'LA', 'RGB', 'RGBA', 'P', 'I', 'CMYK'] as const) {
        const bands = MODE_BANDS[mode];
        const data = mode === 'I' ? randomPlane(rng, w, h, 1, (n) => new Int32Array(n), 65536).data : randomPlane(rng, w, h, bands, (n) => new Uint8Array(n), 256).data;
        const palette = mode === 'P' ? randomPlane(rng, 256, 1, 3, (n) => new Uint8Array(n), 256).data : undefined;
        const image: DecodedImage = { mode, width: w, height: h, data, format: 'raw', decoder: 'none', ...(palette ? { palette } : {}) };
        const got = preprocessDecoded(image, '<raw>');
        // Reference: the whole resize (no box), then torchvision's crop, then convert('RGB').
        const [rw, rh] = resizedSize(w, h, 224);
        const [left, top] = centerCropBox(rw, rh, 224);
        const whole = resizeLikePillow(image, rw, rh).image;
        const crop = cropPlane({ data: whole.data, width: rw, height: rh, bands }, left, top, 224, 224);
        const rgb = toRgb({ ...whole, data: crop.data, width: 224, height: 224 });
        expect(got.cropBox).to.deep.equal([left, top, left + 224, top + 224]);
        expect(sha256(got.pixels), `${mode} ${w}x${h}`).to.equal(sha256(normalizeToChw(rgb, 224, 224)));
      }
    }
  });
});

/**
 * The preprocessed pixels of a one-row (or one-column) image, written out the long way: Resample.c's
 * horizontal pass over the row for the crop's 224 columns (its coefficients for those columns), then
 * the 1 -> 224 rows pass, which copies the row (one tap of weight 1). A column is the same, transposed.
 */
function lineReference(image: DecodedImage): string {
  const bands = MODE_BANDS[image.mode];
  const [rw, rh] = resizedSize(image.width, image.height, 224);
  const [left, top] = centerCropBox(rw, rh, 224);
  const wide = image.height === 1;
  const [inSize, outSize, first] = wide ? [image.width, rw, left] : [image.height, rh, top];
  const c = precomputeCoeffs(inSize, 0, inSize, outSize, first, 224);
  const kk = fixedPoint(c.weights);
  const line = new Uint8Array(224 * bands);
  for (let i = 0; i < 224; i++) {
    for (let b = 0; b < bands; b++) {
      let sum = 1 << 21;
      for (let t = 0; t < c.bounds[2 * i + 1]!; t++) sum += image.data[(c.bounds[2 * i]! + t) * bands + b]! * kk[i * c.ksize + t]!;
      line[i * bands + b] = Math.min(255, Math.max(0, sum >> 22));
    }
  }
  const data = new Uint8Array(224 * 224 * bands);
  for (let i = 0; i < 224; i++) {
    for (let j = 0; j < 224; j++) {
      const from = (wide ? j : i) * bands; // row i, column j of the crop
      data.set(line.subarray(from, from + bands), (i * 224 + j) * bands);
    }
  }
  return sha256(normalizeToChw(toRgb({ ...image, data, width: 224, height: 224 }), 224, 224));
}

/** A grayscale PNG of one row (`wide`) or one column of `n` random pixels. */
function linePng(n: number, wide: boolean): { png: Uint8Array } {
  const rng = new SeededRandom(n);
  const pixels = Uint8Array.from({ length: n }, () => Math.floor(rng.next() * 256));
  if (wide) return { png: pngOfRows(n, 1, 8, 0, concatBytes([Uint8Array.of(0), pixels])) };
  const rows = new Uint8Array(2 * n); // filter byte 0, then the pixel, per row
  for (let i = 0; i < n; i++) rows[2 * i + 1] = pixels[i]!;
  return { png: pngOfRows(1, n, 8, 0, rows) };
}

describe('limits 4: extreme aspect ratios in bounded memory, Pillow\'s pixels', function () {
  const cases: { name: string; make: () => Promise<Uint8Array>; size: [number, number] }[] = [
    { name: '20000x1 PNG', make: async () => linePng(20_000, true).png, size: [20_000, 1] },
    { name: '1x20000 PNG', make: async () => linePng(20_000, false).png, size: [1, 20_000] },
    { name: '100000x1 PNG', make: async () => linePng(100_000, true).png, size: [100_000, 1] },
    {
      name: '16383x1 WebP', size: [16_383, 1],
      make: () => encodeWebp({ data: Uint8ClampedArray.from({ length: 16_383 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 37) & 255)), width: 16_383, height: 1 }, { quality: 90 }),
    },
    {
      name: '65500x1 JPEG', size: [65_500, 1],
      make: () => encodeJpeg({ data: Uint8ClampedArray.from({ length: 65_500 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 13) & 255)), width: 65_500, height: 1 }, { quality: 90 }),
    },
  ];
  for (const c of cases) {
    it(`${c.name}: the crop of Pillow's resize, in under 64 MiB above a do-nothing child (was: GBs or WebAssembly.Memory.grow)`, async function () {
      const bytes = await c.make();
      expect(bytes.length).to.be.below(200_000);
      const decoded = await decodeImage(bytes, c.name, { decoder: 'wasm' });
      expect([decoded.width, decoded.height]).to.deep.equal(c.size);
      const o = await runLimited('preprocess', file(c.name.replace(/\W/g, '_'), bytes), { heapMiB: 256, timeoutMs: 60_000 });
      expect(o.outcome, describeOutcome(o)).to.equal('ok');
      const [rw, rh] = resizedSize(c.size[0], c.size[1], 224);
      expect(o.value).to.deep.include({ resizedSize: [rw, rh], cropBox: centerCropBox(rw, rh, 224) });
      expect((o.value as { sha256: string }).sha256, c.name).to.equal(lineReference(decoded));
      expectRssWithin(o, 64);
      if (process.env.LIMITS_VERBOSE) console.log(`      ${describeOutcome(o)}; baseline ${limits.baselineMiB.toFixed(0)} MiB`);
    });
  }

  it('300000x1: a typed IMAGE_INVALID, as Pillow raises MemoryError (67200000 outputs need more coefficients than it allocates)', async function () {
    const o = await runLimited('preprocess', file('wide300k.png', linePng(300_000, true).png), { heapMiB: 256 });
    expect(o.outcome, describeOutcome(o)).to.equal('error');
    expect(o.code).to.equal('IMAGE_INVALID');
    expect(o.message).to.include('cannot resize 300000x1 to 67200000x224: resizing an axis of 300000 pixels to 67200000 takes more filter coefficients than Pillow allocates (MemoryError)');
    expectRssWithin(o, 64);
    // Just inside Pillow's limit (INT_MAX / (5 * 8) = 53687091 outputs): resized.
    const n = Math.floor(53_687_091 / 224);
    expect(() => preprocessDecoded({ mode: 'L', width: n, height: 1, data: new Uint8Array(n), format: 'raw', decoder: 'none' }, '<raw>')).to.not.throw();
    expect(() => preprocessDecoded({ mode: 'L', width: n + 1, height: 1, data: new Uint8Array(n + 1), format: 'raw', decoder: 'none' }, '<raw>')).to.throw(ImageError, /MemoryError/);
  });
});

/** A progressive grayscale JPEG of `size` x `size` with `extra` empty AC scans (SOS, no data) before EOI. */
async function jpegWithEmptyScans(size: number, extra: number): Promise<{ plain: Uint8Array; padded: Uint8Array }> {
  const rgba = Uint8ClampedArray.from({ length: size * size * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 7) & 255));
  const plain = await encodeJpeg({ data: rgba, width: size, height: size }, { quality: 75, progressive: true, color_space: 1 });
  // SOS: 1 component (id 1), tables 0/0, Ss 1, Se 63, Ah/Al 0; the next marker follows at once
  const scan = Uint8Array.of(0xff, 0xda, 0, 8, 1, 1, 0, 1, 63, 0);
  const parts = [plain.subarray(0, plain.length - 2), ...Array.from({ length: extra }, () => scan), Uint8Array.of(0xff, 0xd9)];
  return { plain, padded: concatBytes(parts) };
}

describe('limits 8: the total work of a JPEG\'s scans is bounded', function () {
  it('2100 empty scans over 2048x2048 (137M block visits) are an IMAGE_INVALID before decoding (was: 40 ns a block, ~6 s here, unbounded in size)', async function () {
    const { padded } = await jpegWithEmptyScans(2048, 2100);
    expect(padded.length).to.be.below(500_000);
    for (const decoder of ['decode', 'preprocess'] as const) {
      const o = await runLimited(decoder, file('scans.jpg', padded), { heapMiB: 256, timeoutMs: 30_000 });
      expect(o.outcome, describeOutcome(o)).to.equal('error');
      expect(o.code).to.equal('IMAGE_INVALID');
      expect(o.message, describeOutcome(o)).to.match(/JPEG with 20\d\d or more scans over a 2048x2048 image: decoding would visit more than 134217728 blocks \(scans x area\)/);
      expect(o.ms, describeOutcome(o)).to.be.below(1000);
      expectRssWithin(o, 64);
    }
  });

  it('100 empty scans over 256x256 stay within the budget and decode to the same pixels as without them', async function () {
    const { plain, padded } = await jpegWithEmptyScans(256, 100);
    const a = await decodeImage(plain, 'plain.jpg', { decoder: 'wasm' });
    const b = await decodeImage(padded, 'padded.jpg', { decoder: 'wasm' });
    expect([b.mode, b.width, b.height]).to.deep.equal(['L', 256, 256]);
    expect(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength).equals(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength))).to.equal(true);
  });
});
