/**
 * The streaming safetensors reader (browser weight loading): the same tensors as the file reader for
 * any chunking, each handed out once, and a typed error for a stream that ends early, runs long, or
 * carries a bad header.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { SafetensorsError } from '../src/errors.js';
import { readSafetensors, serializeSafetensors } from '../src/weights/safetensors.js';
import { readSafetensorsStream } from '../src/weights/safetensorsStream.js';
import { rejection } from './helpers/assert.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';

/** A stream delivering `bytes` in chunks of `size` (the last one shorter). */
function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) { controller.close(); return; }
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

async function small(): Promise<Uint8Array> {
  return serializeSafetensors([
    { name: 'a', dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    { name: 'ids', dtype: 'I64', shape: [3], data: BigInt64Array.from([0n, 1n, 2n]) },
    { name: 'h', dtype: 'F16', shape: [1], data: Uint16Array.from([0x3c00]) },
  ], { note: 'x' });
}

describe('safetensors: streamed', () => {
  it('gives the tensors and metadata of the tiny model exactly, whatever the chunk size, reporting bytes received', async function () {
    requireFixtures(this);
    const path = fixturePath('tiny/tiny.safetensors');
    const bytes = new Uint8Array(readFileSync(path));
    const expected = readSafetensors(path);
    for (const size of [1 << 16, 4093, 7]) {
      const seen: number[] = [];
      const streamed = await readSafetensorsStream(chunked(bytes, size), 'tiny', { onBytes: (n) => seen.push(n) });
      expect(streamed.metadata).to.deep.equal(expected.metadata);
      expect(streamed.names.slice().sort()).to.deep.equal([...expected.tensors.keys()].sort());
      for (const [name, t] of expected.tensors) {
        const got = streamed.read(name);
        expect(got.dtype, name).to.equal(t.dtype);
        expect(got.shape, name).to.deep.equal(t.shape);
        expect(new Uint8Array(got.data.buffer), name).to.deep.equal(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      }
      expect(seen.at(-1)).to.equal(bytes.length);
      expect(seen.every((n, i) => i === 0 || n > seen[i - 1]!)).to.equal(true);
    }
  });

  it('hands each tensor out once', async function () {
    const streamed = await readSafetensorsStream(chunked(await small(), 5), 'small');
    expect(Array.from(streamed.read('a').data as Float32Array)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(() => streamed.read('a')).to.throw(SafetensorsError, /small: tensor a was already read/);
    expect(() => streamed.read('nope')).to.throw(SafetensorsError, /small: no tensor named nope/);
    expect(streamed.info('ids')).to.include({ dtype: 'I64' });
  });

  it('refuses a stream that ends early, one with bytes after the last tensor, and a bad header', async function () {
    const bytes = await small();
    const short = await rejection(readSafetensorsStream(chunked(bytes.subarray(0, bytes.length - 1), 8), 'short'));
    expect(short).to.be.instanceOf(SafetensorsError);
    expect(short.message).to.equal(`short: the stream ended after ${bytes.length - 1} bytes, in the middle of the file`);
    const long = new Uint8Array(bytes.length + 3);
    long.set(bytes);
    const extra = await rejection(readSafetensorsStream(chunked(long, 8), 'long'));
    expect(extra).to.be.instanceOf(SafetensorsError);
    expect(extra.message).to.equal(`long: more bytes follow the ${bytes.length} the header accounts for`);
    const tiny = await rejection(readSafetensorsStream(chunked(bytes.subarray(0, 5), 8), 'five'));
    expect(tiny.message).to.equal('five: the stream ended after 5 bytes, in the middle of the file');
    const huge = bytes.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    const big = await rejection(readSafetensorsStream(chunked(huge, 8), 'huge'));
    expect(big).to.be.instanceOf(SafetensorsError);
    expect(big.message).to.equal('huge: not a safetensors file (a safetensors file starts with the 8-byte length of its JSON header; these first 8 bytes, 00 00 00 00 00 01 00 00, give more than the 104857600-byte limit of a header)');
    const json = bytes.slice();
    json[8] = 0x20; // '{' -> ' ' : still JSON? no: the object loses its opening brace
    const bad = await rejection(readSafetensorsStream(chunked(json, 8), 'json'));
    expect(bad).to.be.instanceOf(SafetensorsError);
    expect(bad.message).to.match(/^json: header is not valid UTF-8 JSON/);
  });
});
