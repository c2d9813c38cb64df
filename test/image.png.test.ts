/**
 * PNG internals: the row un-filter against a plain reference written from the PNG spec (section 9),
 * and the two zlib inflaters (Node's native zlib, upng-js's pako) giving identical bytes and identical
 * errors on good and damaged image data. Pillow 9.4 reference behaviour (checked with Debian's
 * python3-pil 9.4.0): a cut stream -> "image file is truncated"; a bad header, a bad code or a bad
 * Adler-32 -> "broken data stream"; bytes after the stream, or a missing Adler-32 -> decoded fine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { expect } from 'chai';
import { ImageError } from '../src/image/errors.js';
import { defaultInflater, InflateError, nodeInflater, upngInflater, type Inflater } from '../src/image/inflate.js';
import { decodePng, unfilterRows } from '../src/image/png.js';
import type { DecodedImage } from '../src/image/types.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { pngChunk } from './helpers/png.js';
import { SeededRandom } from '../src/util/random.js';

const dataDir = join(dirname(fileURLToPath(import.meta.url)), 'data');

/** The project's seeded generator (src/util/random.ts), so every run tests the same rows. */
function seededRandom(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

function randomBytes(n: number, rand: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

/** PaethPredictor exactly as written in the PNG spec, section 9.4. */
function paethReference(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  if (pb <= pc) return b;
  return c;
}

/** The spec's Recon functions, one byte at a time, into a fresh array (not in place). */
function unfilterReference(filtered: Uint8Array, rows: number, rowBytes: number, bpp: number): Uint8Array {
  const out = new Uint8Array(rows * rowBytes);
  const at = (y: number, x: number): number => (y < 0 || x < 0 ? 0 : out[y * rowBytes + x]!);
  for (let y = 0; y < rows; y++) {
    const type = filtered[y * (rowBytes + 1)]!;
    for (let x = 0; x < rowBytes; x++) {
      const filt = filtered[y * (rowBytes + 1) + 1 + x]!;
      const a = at(y, x - bpp);
      const b = at(y - 1, x);
      const c = at(y - 1, x - bpp);
      const predictor = [0, a, b, Math.floor((a + b) / 2), paethReference(a, b, c)][type]!;
      out[y * rowBytes + x] = (filt + predictor) % 256;
    }
  }
  return out;
}

/** The spec's Filt functions: filtered scanlines (type byte + data) of `image` with the given row types. */
function filterReference(image: Uint8Array, rowBytes: number, bpp: number, types: readonly number[]): Uint8Array {
  const rows = types.length;
  const out = new Uint8Array(rows * (rowBytes + 1));
  const at = (y: number, x: number): number => (y < 0 || x < 0 ? 0 : image[y * rowBytes + x]!);
  for (let y = 0; y < rows; y++) {
    const type = types[y]!;
    out[y * (rowBytes + 1)] = type;
    for (let x = 0; x < rowBytes; x++) {
      const a = at(y, x - bpp);
      const b = at(y - 1, x);
      const c = at(y - 1, x - bpp);
      const predictor = [0, a, b, Math.floor((a + b) / 2), paethReference(a, b, c)][type]!;
      out[y * (rowBytes + 1) + 1 + x] = (at(y, x) - predictor + 256) % 256;
    }
  }
  return out;
}

function randomTypes(rows: number, rand: () => number): number[] {
  return Array.from({ length: rows }, () => Math.floor(rand() * 5));
}

describe('PNG row un-filtering (unfilterRows)', function () {
  const rand = seededRandom(20240607);
  const shapes = [
    { bpp: 1, rowBytes: 1, rows: 7 }, // 1-pixel-wide gray (or any sub-byte depth up to 8 pixels)
    { bpp: 1, rowBytes: 37, rows: 9 },
    { bpp: 2, rowBytes: 2, rows: 5 }, // 1-pixel-wide LA
    { bpp: 2, rowBytes: 58, rows: 6 },
    { bpp: 3, rowBytes: 3, rows: 8 }, // 1-pixel-wide RGB
    { bpp: 3, rowBytes: 99, rows: 7 },
    { bpp: 4, rowBytes: 4, rows: 4 },
    { bpp: 4, rowBytes: 124, rows: 6 },
    { bpp: 6, rowBytes: 6, rows: 5 }, // 16-bit RGB
    { bpp: 6, rowBytes: 90, rows: 5 },
    { bpp: 8, rowBytes: 8, rows: 5 }, // 16-bit RGBA
    { bpp: 8, rowBytes: 136, rows: 5 },
  ];

  for (const { bpp, rowBytes, rows } of shapes) {
    it(`bpp ${bpp}, ${rowBytes} bytes per row: every filter type alone and mixed, byte-identical to the spec`, function () {
      const typeSets = [0, 1, 2, 3, 4].map((t) => new Array<number>(rows).fill(t));
      for (let k = 0; k < 6; k++) typeSets.push(randomTypes(rows, rand));
      for (const types of typeSets) {
        const filtered = randomBytes(rows * (rowBytes + 1), rand);
        types.forEach((t, y) => { filtered[y * (rowBytes + 1)] = t; });
        const expected = unfilterReference(filtered, rows, rowBytes, bpp);
        const data = Uint8Array.from(filtered);
        unfilterRows(data, 0, rows, rowBytes, bpp);
        expect(Buffer.from(data.subarray(0, rows * rowBytes)).equals(Buffer.from(expected)), `types ${types.join('')}`).to.equal(true);
      }
    });
  }

  it('undoes the spec filters: filter(image) then un-filter gives the image back', function () {
    for (const bpp of [1, 2, 3, 4, 6, 8]) {
      const rowBytes = bpp * 11;
      const rows = 10;
      const image = randomBytes(rows * rowBytes, rand);
      const data = filterReference(image, rowBytes, bpp, randomTypes(rows, rand));
      unfilterRows(data, 0, rows, rowBytes, bpp);
      expect(Buffer.from(data.subarray(0, rows * rowBytes)).equals(Buffer.from(image)), `bpp ${bpp}`).to.equal(true);
    }
  });

  it('un-filters Adam7 passes in place at their offsets, each pass starting from a zero row above', function () {
    // a 13x11 image, 8-bit RGB: pass sizes from the Adam7 grid, each pass's rows packed back to back
    const [width, height, bpp] = [13, 11, 3];
    const grid = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;
    const passes = grid.map(([x0, y0, dx, dy]) => ({ w: Math.ceil((width - x0) / dx), h: Math.ceil((height - y0) / dy) }));
    const stream = passes.map(({ w, h }) => {
      const filtered = randomBytes(h * (w * bpp + 1), rand);
      randomTypes(h, rand).forEach((t, y) => { filtered[y * (w * bpp + 1)] = t; });
      return filtered;
    });
    const data = new Uint8Array(stream.reduce((n, s) => n + s.length, 0));
    let off = 0;
    for (const [p, { w, h }] of passes.entries()) {
      data.set(stream[p]!, off);
      const expected = unfilterReference(stream[p]!, h, w * bpp, bpp);
      unfilterRows(data, off, h, w * bpp, bpp);
      expect(Buffer.from(data.subarray(off, off + h * w * bpp)).equals(Buffer.from(expected)), `pass ${p + 1}`).to.equal(true);
      off += stream[p]!.length;
    }
  });
});

// ---- PNG files made here: filtered (optionally Adam7) rows of random pixels ----

function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}


function pngFile(width: number, height: number, depth: number, ctype: number, interlace: number, zlibStream: Uint8Array): Uint8Array {
  return concat([
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', Uint8Array.from([...u32(width), ...u32(height), depth, ctype, 0, 0, interlace])),
    pngChunk('IDAT', zlibStream),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/** The chunks of a PNG, in file order: type and whole chunk bytes (length, type, body, CRC). */
function chunksOf(png: Uint8Array): { type: string; bytes: Uint8Array; body: Uint8Array }[] {
  const out: { type: string; bytes: Uint8Array; body: Uint8Array }[] = [];
  for (let at = 8; at + 8 <= png.length;) {
    const length = ((png[at]! << 24) | (png[at + 1]! << 16) | (png[at + 2]! << 8) | png[at + 3]!) >>> 0;
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    out.push({ type, bytes: png.subarray(at, at + 12 + length), body: png.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
  }
  return out;
}

/** The concatenated IDAT payloads of a PNG (its zlib stream). */
function idatOf(png: Uint8Array): Uint8Array {
  return concat(chunksOf(png).filter((c) => c.type === 'IDAT').map((c) => c.body));
}

/** The same PNG with its IDAT chunks replaced by one IDAT holding `zlibStream`. */
function withIdat(png: Uint8Array, zlibStream: Uint8Array): Uint8Array {
  const chunks = chunksOf(png);
  const first = chunks.findIndex((c) => c.type === 'IDAT');
  const parts = chunks.filter((c) => c.type !== 'IDAT').map((c) => c.bytes);
  parts.splice(first, 0, pngChunk('IDAT', zlibStream));
  return concat([png.subarray(0, 8), ...parts]);
}

const ADAM7_GRID = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;

/** Bit `i` (MSB first) of packed rows. */
function bitAt(data: Uint8Array, i: number): number {
  return (data[i >> 3]! >> (7 - (i & 7))) & 1;
}

/**
 * A PNG of the given packed rows, filtered by the spec's reference filter with random row types;
 * with `interlace`, each Adam7 pass's pixels are picked bit by bit from the rows.
 */
function pngOfRows(width: number, height: number, depth: number, ctype: number, image: Uint8Array, interlace: boolean, rand: () => number): Uint8Array {
  const bitsPerPixel = depth * ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[ctype]!;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const rowBytesOf = (w: number): number => Math.ceil((w * bitsPerPixel) / 8);
  const grid = interlace ? ADAM7_GRID : [[0, 0, 1, 1] as const];
  const streams = grid.map(([x0, y0, dx, dy]) => {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    if (w <= 0 || h <= 0) return new Uint8Array(0);
    const pass = new Uint8Array(h * rowBytesOf(w));
    for (let py = 0; py < h; py++) {
      for (let px = 0; px < w; px++) {
        for (let k = 0; k < bitsPerPixel; k++) {
          const bit = bitAt(image, (y0 + py * dy) * rowBytesOf(width) * 8 + (x0 + px * dx) * bitsPerPixel + k);
          const j = py * rowBytesOf(w) * 8 + px * bitsPerPixel + k;
          pass[j >> 3]! |= bit << (7 - (j & 7));
        }
      }
    }
    return filterReference(pass, rowBytesOf(w), bpp, randomTypes(h, rand));
  });
  return pngFile(width, height, depth, ctype, interlace ? 1 : 0, deflateSync(concat(streams)));
}

// ---- the two inflaters ----

type Outcome = { bytes: Uint8Array } | { error: string };

function inflateOutcome(inflater: Inflater, data: Uint8Array): Outcome {
  try {
    return { bytes: inflater.inflate(data) };
  } catch (err) {
    expect(err, inflater.name).to.be.instanceOf(InflateError);
    return { error: (err as InflateError).message };
  }
}

type DecodeOutcome = { mode: string; width: number; height: number; data: Uint8Array; palette: Uint8Array | null } | { error: string };

function decodeOutcome(png: Uint8Array, inflater: Inflater): DecodeOutcome {
  let img: DecodedImage;
  try {
    img = decodePng(png, 'case.png', inflater);
  } catch (err) {
    expect(err, inflater.name).to.be.instanceOf(ImageError);
    return { error: (err as ImageError).message };
  }
  const data = new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return { mode: img.mode, width: img.width, height: img.height, data: Uint8Array.from(data), palette: img.palette ?? null };
}

/** Damaged copies of a zlib stream: cuts, flipped bytes, a bad Adler-32, no Adler-32, trailing bytes, nothing. */
function damagedStreams(z: Uint8Array): { name: string; data: Uint8Array }[] {
  const out: { name: string; data: Uint8Array }[] = [{ name: 'intact', data: z }];
  for (const f of [0, 0.001, 0.25, 0.5, 0.9, 0.999]) {
    const cut = Math.floor(z.length * f);
    out.push({ name: `cut to ${cut} bytes`, data: z.subarray(0, cut) });
  }
  out.push({ name: 'no Adler-32', data: z.subarray(0, z.length - 4) });
  for (const at of [0, 1, 2, Math.floor(z.length / 3), Math.floor(z.length / 2), z.length - 6]) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const bad = Uint8Array.from(z);
      bad[at]! ^= mask;
      out.push({ name: `byte ${at} xor 0x${mask.toString(16)}`, data: bad });
    }
  }
  const badSum = Uint8Array.from(z);
  badSum[z.length - 1]! ^= 0x01;
  out.push({ name: 'bad Adler-32', data: badSum });
  out.push({ name: 'trailing bytes', data: concat([z, Uint8Array.from([1, 2, 3, 4, 5, 6, 7])]) });
  out.push({ name: 'empty', data: new Uint8Array(0) });
  return out;
}

function pngFilesIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.png')).sort();
}

describe('PNG inflaters: Node zlib and upng-js give the same bytes and the same errors', function () {
  it('Node\'s zlib is reachable through process.getBuiltinModule and is the default', function () {
    expect(nodeInflater?.name).to.equal('node-zlib');
    expect(defaultInflater).to.equal(nodeInflater);
    expect(upngInflater.name).to.equal('upng-js');
  });

  const native = (): Inflater => nodeInflater!;

  it('agree on the rules: partial output when cut, zlib\'s message when corrupt, trailing bytes ignored', function () {
    const plain = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 7 + (i >> 9)) & 255);
    const z = deflateSync(plain);
    for (const inflater of [native(), upngInflater]) {
      expect(Buffer.from(inflater.inflate(z)).equals(Buffer.from(plain)), inflater.name).to.equal(true);
      const cut = inflater.inflate(z.subarray(0, z.length >> 1));
      expect(cut.length, inflater.name).to.be.within(1, plain.length - 1);
      expect(Buffer.from(cut).equals(Buffer.from(plain.subarray(0, cut.length))), inflater.name).to.equal(true);
      expect(inflater.inflate(new Uint8Array(0)).length, inflater.name).to.equal(0);
      expect(inflater.inflate(z.subarray(0, z.length - 4)).length, `${inflater.name}, no Adler-32`).to.equal(plain.length);
      expect(inflater.inflate(concat([z, Uint8Array.from([9, 9, 9])])).length, `${inflater.name}, trailing`).to.equal(plain.length);
      const badSum = Uint8Array.from(z);
      badSum[z.length - 1]! ^= 0x40;
      expect(() => inflater.inflate(badSum), inflater.name).to.throw(InflateError, 'incorrect data check');
      const badHeader = Uint8Array.from(z);
      badHeader[0] = 0xff;
      expect(() => inflater.inflate(badHeader), inflater.name).to.throw(InflateError, 'incorrect header check');
    }
  });

  function compareInflaters(png: Uint8Array, label: string): number {
    let cases = 0;
    for (const { name, data } of damagedStreams(idatOf(png))) {
      const a = inflateOutcome(native(), data);
      const b = inflateOutcome(upngInflater, data);
      if ('bytes' in a && 'bytes' in b) {
        expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes)), `${label}, ${name}: inflated bytes`).to.equal(true);
      } else {
        expect(a, `${label}, ${name}`).to.deep.equal(b);
      }
      const damagedPng = withIdat(png, data);
      expect(decodeOutcome(damagedPng, native()), `${label}, ${name}: decoded`).to.deep.equal(decodeOutcome(damagedPng, upngInflater));
      cases++;
    }
    return cases;
  }

  it('on every test/data PNG and its damaged variants', function () {
    const files = pngFilesIn(dataDir);
    expect(files.length).to.be.at.least(16);
    let cases = 0;
    for (const f of files) cases += compareInflaters(readFileSync(join(dataDir, f)), f);
    expect(cases).to.equal(files.length * 29);
  });

  it('on every fixture PNG and its damaged variants', function () {
    requireFixtures(this, 'images/gen_rgb_300x200.png');
    const files = pngFilesIn(fixturePath('images'));
    expect(files.length).to.be.at.least(10);
    for (const f of files) compareInflaters(readFileSync(fixturePath(`images/${f}`)), f);
  });

  it('decodePng errors keep their wording with both inflaters', function () {
    requireFixtures(this, 'images/gen_rgb_300x200.png');
    const png = readFileSync(fixturePath('images/gen_rgb_300x200.png'));
    const z = idatOf(png);
    const expectedBytes = 200 * (300 * 3 + 1);
    const badSum = Uint8Array.from(z);
    badSum[z.length - 1]! ^= 0x01;
    for (const inflater of [native(), upngInflater]) {
      const cut = decodeOutcome(withIdat(png, z.subarray(0, z.length >> 1)), inflater);
      expect('error' in cut && cut.error, inflater.name).to.match(new RegExp(`^case\\.png: truncated PNG: image data holds \\d+ bytes, ${expectedBytes} expected$`));
      expect(decodeOutcome(withIdat(png, new Uint8Array(0)), inflater), inflater.name)
        .to.deep.equal({ error: `case.png: truncated PNG: image data holds 0 bytes, ${expectedBytes} expected` });
      expect(decodeOutcome(withIdat(png, badSum), inflater), inflater.name)
        .to.deep.equal({ error: 'case.png: corrupt PNG: image data does not inflate (incorrect data check)' });
      const trailing = decodeOutcome(withIdat(png, concat([z, new Uint8Array(3)])), inflater);
      expect('data' in trailing && trailing.data.length, inflater.name).to.equal(300 * 200 * 3);
    }
  });
});

describe('PNG decoding of random filtered images, plain and Adam7', function () {
  const rand = seededRandom(7);
  const kinds = [
    { depth: 1, ctype: 0 }, { depth: 2, ctype: 0 }, { depth: 4, ctype: 3 }, { depth: 8, ctype: 0 }, { depth: 16, ctype: 0 },
    { depth: 8, ctype: 2 }, { depth: 16, ctype: 2 }, { depth: 8, ctype: 3 }, { depth: 8, ctype: 4 }, { depth: 16, ctype: 4 },
    { depth: 8, ctype: 6 }, { depth: 16, ctype: 6 },
  ];

  for (const { depth, ctype } of kinds) {
    it(`depth ${depth}, colour type ${ctype}: the Adam7 file decodes to the plain file's pixels, with both inflaters`, function () {
      const bitsPerPixel = depth * ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[ctype]!;
      for (const [width, height] of [[1, 1], [1, 9], [9, 1], [13, 11], [40, 3]] as const) {
        const image = randomBytes(height * Math.ceil((width * bitsPerPixel) / 8), rand);
        const plain = withPalette(pngOfRows(width, height, depth, ctype, image, false, rand), ctype);
        const interlaced = withPalette(pngOfRows(width, height, depth, ctype, image, true, rand), ctype);
        const a = decodeOutcome(plain, nodeInflater!);
        if (!('data' in a)) throw new Error(`${width}x${height}: ${a.error}`);
        expect([a.width, a.height], `${width}x${height}`).to.deep.equal([width, height]);
        expect(decodeOutcome(interlaced, nodeInflater!), `${width}x${height} Adam7`).to.deep.equal(a);
        expect(decodeOutcome(plain, upngInflater), `${width}x${height}, upng-js`).to.deep.equal(a);
        expect(decodeOutcome(interlaced, upngInflater), `${width}x${height} Adam7, upng-js`).to.deep.equal(a);
      }
    });
  }

  it('8-bit samples come out as the packed rows themselves (L, LA, RGB, RGBA, P)', function () {
    for (const [ctype, bands] of [[0, 1], [4, 2], [2, 3], [6, 4], [3, 1]] as const) {
      const [width, height] = [17, 5];
      const image = randomBytes(width * height * bands, rand);
      const a = decodeOutcome(withPalette(pngOfRows(width, height, 8, ctype, image, false, rand), ctype), nodeInflater!);
      expect('data' in a && Buffer.from(a.data).equals(Buffer.from(image)), `colour type ${ctype}`).to.equal(true);
    }
  });
});

/** Adds a full 256-entry PLTE to palette images (randomPng writes none). */
function withPalette(png: Uint8Array, ctype: number): Uint8Array {
  if (ctype !== 3) return png;
  const plte = pngChunk('PLTE', Uint8Array.from({ length: 768 }, (_, i) => (i * 37) & 255));
  return concat([png.subarray(0, 33), plte, png.subarray(33)]); // after the 8-byte signature and the 25-byte IHDR
}
