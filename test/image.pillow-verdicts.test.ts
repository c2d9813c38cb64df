/**
 * Files that Pillow 9.4 refuses although their image data decodes (issue 14, items 13-15), and their
 * near neighbours that Pillow accepts. Every verdict below was checked against Debian 12's
 * python3-pil 9.4.0 (Image.open(f).convert('RGB')) on the same bytes; the rules are
 * PngImagePlugin.py's (see src/image/pngPillowRules.ts).
 */
import { deflateSync } from 'node:zlib';
import { expect } from 'chai';
import { decodeImage, ImageError } from '../src/image/index.js';
import { MAX_TEXT_CHUNK } from '../src/image/pngPillowRules.js';
import { rejection } from './helpers/assert.js';
import { concatBytes, PNG_SIGNATURE, pngChunk, u32be } from './helpers/png.js';

const W = 4;
const H = 3;
/** Row y, byte x of the 4x3 RGB image: (7x + 3y) mod 256. */
const pixels = Uint8Array.from({ length: W * H * 3 }, (_, i) => (7 * (i % (W * 3)) + 3 * Math.floor(i / (W * 3))) & 255);
const rows = concatBytes(Array.from({ length: H }, (_, y) => Uint8Array.from([0, ...pixels.subarray(y * W * 3, (y + 1) * W * 3)])));

function ihdr(compression = 0, filter = 0): Uint8Array {
  return pngChunk('IHDR', [...u32be(W), ...u32be(H), 8, 2, compression, filter, 0]);
}
const idat = (): Uint8Array => pngChunk('IDAT', deflateSync(rows));
const actl = (frames: number): Uint8Array => pngChunk('acTL', [...u32be(frames), ...u32be(0)]);
const fctl = (seq: number): Uint8Array => pngChunk('fcTL', [...u32be(seq), ...u32be(W), ...u32be(H), ...u32be(0), ...u32be(0), 0, 1, 0, 10, 0, 0]);
const fdat = (seq: number): Uint8Array => pngChunk('fdAT', [...u32be(seq), ...deflateSync(new Uint8Array(rows.length))]);
const text = (type: 'zTXt' | 'iTXt', key: string, plain: Uint8Array): Uint8Array =>
  pngChunk(type, [...Buffer.from(key, 'latin1'), 0, ...(type === 'iTXt' ? [1, 0, 0, 0] : [0]), ...deflateSync(plain, { level: 9 })]);

/** A 4x3 RGB PNG: IHDR, `before`, IDAT, `after`, IEND. */
function png(before: Uint8Array[] = [], after: Uint8Array[] = [], header = ihdr()): Uint8Array {
  return concatBytes([PNG_SIGNATURE, header, ...before, idat(), ...after, pngChunk('IEND', [])]);
}

async function refused(bytes: Uint8Array, ...parts: string[]): Promise<void> {
  const err = await rejection(decodeImage(bytes));
  expect(err).to.be.instanceOf(ImageError);
  expect((err as ImageError).code).to.equal('IMAGE_INVALID');
  for (const p of parts) expect((err as Error).message).to.include(p);
  expect((err as Error).message).to.include('Pillow 9.4 refuses this file');
}

async function accepted(bytes: Uint8Array): Promise<void> {
  const image = await decodeImage(bytes);
  expect([image.mode, image.width, image.height]).to.deep.equal(['RGB', W, H]);
  expect(Array.from(image.data)).to.deep.equal(Array.from(pixels));
}

describe('PNG files Pillow 9.4 refuses (PngImagePlugin verdicts)', function () {
  it('the plain file decodes to its pixels', async function () {
    await accepted(png());
  });

  describe('item 13: APNG frame sequence numbers', function () {
    it('refused: the first fcTL is not number 0 (Image.open fails)', async function () {
      await refused(png([actl(2), fctl(1)], [fctl(2), fdat(3)]), 'APNG contains frame sequence errors', 'fcTL sequence number 1');
      await refused(png([fctl(1)]), 'frame sequence errors'); // also without acTL
    });

    it('refused: wrong numbers after the image data of a file that is not animated (one frame, or no valid acTL)', async function () {
      await refused(png([actl(1), fctl(0)], [fctl(5), fdat(6)]), 'fcTL sequence number 5 after 0');
      await refused(png([actl(0), fctl(0)], [fctl(5), fdat(6)]), 'fcTL sequence number 5 after 0');
      await refused(png([fctl(0)], [fctl(5), fdat(6)]), 'fcTL sequence number 5 after 0');
      await refused(png([actl(2), fctl(0)], [fdat(9)]), 'fdAT sequence number 9 after 0');
    });

    it('accepted, as Pillow: an animated file whose later frames are misnumbered (frame 0 loads before them)', async function () {
      await accepted(png([actl(2), fctl(0)], [fctl(1), fdat(2)]));
      await accepted(png([actl(2), fctl(0)], [fctl(5), fdat(6)]));
      await accepted(png([actl(2), fctl(0)], [fctl(0), fdat(1)]));
      await accepted(png([actl(1)], [fctl(3), fdat(9)])); // IDAT outside the animation: 2 frames
    });
  });

  describe('item 14: IHDR fields Pillow checks', function () {
    it('refused: an IHDR whose compression method was changed without its CRC (Pillow checks CRCs before IDAT)', async function () {
      const good = ihdr(0);
      const edited = ihdr(1);
      edited.set(good.subarray(good.length - 4), edited.length - 4); // the old CRC
      await refused(png([], [], edited), 'bad CRC in chunk IHDR');
    });

    it('accepted, as Pillow: an unknown compression method with a matching CRC (Pillow never reads that byte)', async function () {
      await accepted(png([], [], ihdr(1)));
      await accepted(png([], [], ihdr(255)));
    });

    it('refused: an unknown filter method ("unknown filter category")', async function () {
      await refused(png([], [], ihdr(0, 1)), 'unknown filter method 1');
    });

    it('a bad CRC is refused before IDAT only (Pillow skips CRCs after the image data)', async function () {
      const badText = pngChunk('tEXt', [97, 0, 98]);
      badText[badText.length - 1]! ^= 1;
      await refused(png([badText]), 'bad CRC in chunk tEXt');
      await accepted(png([], [badText]));
    });
  });

  describe('item 15: compressed text past MAX_TEXT_CHUNK (1 MiB, ImageFile.SAFEBLOCK)', function () {
    const of = (n: number): Uint8Array => new Uint8Array(n).fill(97);

    it('refused: zTXt, iTXt or iCCP inflating to 1 MiB + 1, before or after IDAT ("Decompressed Data Too Large")', async function () {
      const big = of(MAX_TEXT_CHUNK + 1);
      await refused(png([text('zTXt', 'k', big)]), 'zTXt chunk inflates past 1048576 bytes');
      await refused(png([], [text('zTXt', 'k', big)]), 'zTXt chunk inflates past');
      await refused(png([text('iTXt', 'k', big)]), 'iTXt chunk inflates past');
      await refused(png([pngChunk('iCCP', [107, 0, 0, ...deflateSync(big)])]), 'iCCP chunk inflates past');
    });

    it('accepted, as Pillow: exactly 1 MiB, a corrupt stream (zlib.error is ignored), a cut one below the limit', async function () {
      await accepted(png([text('zTXt', 'k', of(MAX_TEXT_CHUNK))]));
      await accepted(png([text('iTXt', 'k', of(MAX_TEXT_CHUNK))]));
      await accepted(png([pngChunk('zTXt', [107, 0, 0, ...Buffer.from('garbage')])]));
      const cut = text('zTXt', 'k', of(MAX_TEXT_CHUNK + 1));
      await accepted(png([pngChunk('zTXt', cut.subarray(8, cut.length - 12))]));
    });

    it('refused: more than 64 MiB of text in all (MAX_TEXT_MEMORY): 65 chunks of 1 MiB, where 64 pass', async function () {
      this.timeout(60_000);
      const mib = of(MAX_TEXT_CHUNK);
      const chunks = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => text('zTXt', `k${i}`, mib));
      await accepted(png(chunks(64)));
      await refused(png(chunks(65)), 'text chunks hold 68157440 characters');
    });

    it('refused: a zTXt compression method other than 0', async function () {
      await refused(png([pngChunk('zTXt', [107, 0, 1, ...deflateSync(of(3))])]), 'unknown compression method 1 in zTXt');
    });
  });
});

describe('JPEG files Pillow 9.4 cannot identify for their APPn segments (item 16: truncated EXIF)', function () {
  let base: Uint8Array;
  let expected: number[];

  const segment = (marker: number, body: ArrayLike<number>): Uint8Array => Uint8Array.from([0xff, marker, ...u16be(body.length + 2), ...Array.from(body)]);
  const u16be = (n: number): number[] => [(n >> 8) & 255, n & 255];
  const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
  const exif = (tiff: number[]): Uint8Array => segment(0xe1, [...ascii('Exif\0\0'), ...tiff]);
  /** A big-endian IFD0 at offset 8: entries [tag, type, count, 4 value bytes], then a 0 next-IFD offset. */
  const mmIfd = (entries: [number, number, number, number[]][]): number[] => [
    ...ascii('MM\0*'), 0, 0, 0, 8, ...u16be(entries.length),
    ...entries.flatMap(([tag, type, count, value]) => [...u16be(tag), ...u16be(type), ...u32be(count), ...value, 0, 0, 0, 0].slice(0, 12)),
    0, 0, 0, 0,
  ];
  const unit = [0x0128, 3, 1, [0, 2]] as [number, number, number, number[]];
  /** The base JPEG with `segments` inserted right after SOI. */
  const jpeg = (...segments: Uint8Array[]): Uint8Array => concatBytes([base.subarray(0, 2), ...segments, base.subarray(2)]);

  before(async function () {
    const { encodeJpeg } = await import('./helpers/encoders.js');
    const data = Uint8ClampedArray.from({ length: 24 * 16 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 37) & 255));
    base = await encodeJpeg({ data, width: 24, height: 16 }, { quality: 90 } as never);
    expected = Array.from((await decodeImage(base, undefined, { decoder: 'wasm' })).data);
  });

  async function jpegRefused(bytes: Uint8Array, part: string): Promise<void> {
    const err = await rejection(decodeImage(bytes));
    expect(err).to.be.instanceOf(ImageError);
    expect((err as ImageError).code).to.equal('IMAGE_INVALID');
    expect((err as Error).message).to.include(part);
    expect((err as Error).message).to.include('Pillow 9.4 cannot identify this file');
  }

  async function jpegAccepted(bytes: Uint8Array): Promise<void> {
    const image = await decodeImage(bytes, undefined, { decoder: 'wasm' });
    expect(Array.from(image.data)).to.deep.equal(expected);
  }

  it('refused: a TIFF header cut after its 4-byte prefix, a little-endian BigTIFF header', async function () {
    await jpegRefused(jpeg(exif(ascii('MM\0*\0\0'))), 'EXIF TIFF header cut to 6 bytes');
    await jpegRefused(jpeg(exif(ascii('II*\0'))), 'EXIF TIFF header cut to 4 bytes');
    await jpegRefused(jpeg(exif([...ascii('II+\0'), 8, 0, 0, 0])), 'BigTIFF');
  });

  it('refused: IFD0 cut after ResolutionUnit and a 1-byte XResolution; XResolution "" or "5"', async function () {
    await jpegRefused(jpeg(exif(mmIfd([unit, [0x011a, 1, 1, [5]], [0x0100, 3, 1, [0, 1]]]).slice(0, 8 + 2 + 24))), 'single byte');
    await jpegRefused(jpeg(exif(mmIfd([unit, [0x011a, 7, 1, [5]]]))), 'single byte');
    await jpegRefused(jpeg(exif(mmIfd([unit, [0x011a, 2, 1, [0]]]))), 'XResolution is the string ""');
    await jpegRefused(jpeg(exif(mmIfd([unit, [0x011a, 2, 2, ascii('5\0')]]))), 'XResolution is the string "5"');
  });

  it('refused: JFIF APP0 and Adobe APP14 segments too short for their version field', async function () {
    await jpegRefused(jpeg(segment(0xe0, ascii('JFIF\0\x01'))), 'JFIF APP0 segment of 6 bytes');
    await jpegRefused(jpeg(segment(0xee, ascii('Adobe\0'))), 'Adobe APP14 segment of 6 bytes');
  });

  it('accepted, as Pillow: short headers Pillow rejects quietly, caught errors, a JFIF dpi read first, a valid EXIF first', async function () {
    await jpegAccepted(jpeg(exif(ascii('MM\0')))); // no valid prefix: SyntaxError, caught
    await jpegAccepted(jpeg(exif([])));
    await jpegAccepted(jpeg(exif([...ascii('MM\0+'), 0, 0, 0, 8]))); // big-endian "BigTIFF" reads as classic TIFF
    await jpegAccepted(jpeg(exif(mmIfd([unit, [0x011a, 1, 2, [5, 1]]]))));
    await jpegAccepted(jpeg(exif(mmIfd([unit, [0x011a, 2, 2, ascii('x\0')]])))); // float('x'): ValueError, caught
    await jpegAccepted(jpeg(exif(mmIfd([[0x011a, 1, 1, [5]]])))); // no ResolutionUnit: KeyError, caught
    await jpegAccepted(jpeg(exif(mmIfd([unit, [0x011a, 1, 1, [5]]]).slice(0, 8 + 2 + 6)))); // cut inside the first entry
    const jfifDpi = segment(0xe0, [...ascii('JFIF\0'), 1, 1, 1, 0, 72, 0, 72, 0, 0]);
    await jpegAccepted(jpeg(jfifDpi, exif(ascii('MM\0*\0\0'))));
    const good = exif(mmIfd([unit, [0x011a, 5, 1, [0, 0, 0, 38]]]).concat([0, 0, 0, 72, 0, 0, 0, 1]));
    await jpegAccepted(jpeg(good, exif(ascii('MM\0*\0\0')))); // only the first EXIF segment counts
  });

  it('a JFIF segment after the bad EXIF does not save it (the EXIF is read at its own segment)', async function () {
    await jpegRefused(jpeg(exif(ascii('MM\0*\0\0')), segment(0xe0, [...ascii('JFIF\0'), 1, 1, 1, 0, 72, 0, 72, 0, 0])), 'cut to 6 bytes');
  });
});
