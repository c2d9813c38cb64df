import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsError } from '../src/errors.js';
import { floatToHalf, halfToFloat, bf16ToFloat, widenToFloat32 } from '../src/weights/dtype.js';
import { SafetensorsReader, readSafetensors, serializeSafetensors, writeSafetensors } from '../src/weights/safetensors.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';

/** Builds a file from a raw header object and a data section. */
function rawFile(header: unknown, data: Uint8Array, headerLenOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLenOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function expectInvalid(bytes: Uint8Array, pattern: RegExp): void {
  expect(() => SafetensorsReader.fromBytes(bytes, 'bad.safetensors')).to.throw(SafetensorsError, pattern);
}

describe('safetensors', () => {
  it('round-trips every dtype and the metadata', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const path = join(dir, 'x.safetensors');
    const f32 = Float32Array.from([1.5, -2, 3.25, Math.PI]);
    const f16 = Uint16Array.from([floatToHalf(1), floatToHalf(-0.5)]);
    const bf16 = Uint16Array.from([0x3f80, 0xc000]);
    const i64 = BigInt64Array.from([0n, -1n, 2n ** 40n]);
    const i32 = Int32Array.from([7, -8]);
    await writeSafetensors(path, [
      { name: 'a', dtype: 'F32', shape: [2, 2], data: f32 },
      { name: 'h', dtype: 'F16', shape: [2], data: () => f16 },
      { name: 'b', dtype: 'BF16', shape: [2], data: bf16 },
      { name: 'l', dtype: 'I64', shape: [3], data: i64 },
      { name: 'i', dtype: 'I32', shape: [1, 2], data: i32 },
    ], { format: 'pt', note: 'x' });
    expect(readdirSync(dir)).to.deep.equal(['x.safetensors']);
    const { metadata, tensors } = readSafetensors(path);
    expect(metadata).to.deep.equal({ format: 'pt', note: 'x' });
    expect([...tensors.keys()]).to.deep.equal(['a', 'h', 'b', 'l', 'i']);
    expect(Array.from(tensors.get('a')!.data as Float32Array)).to.deep.equal(Array.from(f32));
    expect(tensors.get('a')!.shape).to.deep.equal([2, 2]);
    expect(Array.from(widenToFloat32('F16', tensors.get('h')!.data))).to.deep.equal([1, -0.5]);
    expect(Array.from(widenToFloat32('BF16', tensors.get('b')!.data))).to.deep.equal([1, -2]);
    expect(Array.from(tensors.get('l')!.data as BigInt64Array)).to.deep.equal([0n, -1n, 2n ** 40n]);
    expect(Array.from(tensors.get('i')!.data as Int32Array)).to.deep.equal([7, -8]);
    // The data section starts 8-byte aligned.
    const headerLen = Number(new DataView(readFileSync(path).buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).to.equal(0);
  });

  it('converts half floats exactly, with round-to-nearest-even', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = halfToFloat(h);
      if (Number.isNaN(v)) continue;
      expect(floatToHalf(v)).to.equal(h);
    }
    expect(floatToHalf(1 + 2 ** -11)).to.equal(0x3c00); // tie -> even
    expect(floatToHalf(1 + 3 * 2 ** -11)).to.equal(0x3c02);
    expect(floatToHalf(70000)).to.equal(0x7c00);
    expect(floatToHalf(2 ** -25)).to.equal(0); // tie at the smallest subnormal -> even (0)
    expect(halfToFloat(0x0001)).to.equal(2 ** -24);
    expect(bf16ToFloat(0x4049)).to.be.closeTo(3.140625, 0);
  });

  it('rejects a header length beyond the file', () => {
    expectInvalid(rawFile({}, new Uint8Array(0), 1000n), /^bad\.safetensors: not a safetensors file \(a safetensors file starts with the 8-byte length of its JSON header; these first 8 bytes, e8 03 00 00 00 00 00 00, give more than the whole file, 10 bytes\)$/);
  });

  it('says what a file that is not safetensors looks like, without a 19-digit header length', () => {
    const zip = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 0, 0, 0, 0]);
    expectInvalid(zip, /not a safetensors file .*: it is a zip archive, as torch\.save writes a \.pt checkpoint: load it as a \.pt/);
    expectInvalid(Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20]), /: it is a Python pickle/);
    const text = new TextEncoder().encode('hello world, this is text\n');
    expectInvalid(text, /not a safetensors file \(.*, give more than the whole file, 26 bytes\): it is text \(starts with "hello wo"\)$/);
    for (const bytes of [zip, text]) {
      try { SafetensorsReader.fromBytes(bytes); } catch (err) { expect((err as Error).message).not.to.match(/\d{12}/); }
    }
  });

  it('rejects a file shorter than 8 bytes', () => {
    expectInvalid(new Uint8Array(3), /too short/);
  });

  it('rejects a header that is not JSON', () => {
    const bytes = rawFile({}, new Uint8Array(0));
    bytes[8] = 0x7b; bytes[9] = 0x78; // "{x"
    expectInvalid(bytes, /not valid UTF-8 JSON/);
  });

  it('rejects an unknown dtype, naming the tensor', () => {
    expectInvalid(rawFile({ w: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor w: unsupported dtype "C64"/);
  });

  it('rejects offsets out of range', () => {
    expectInvalid(rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), /tensor w: data_offsets \[0, 8\] out of range/);
  });

  it('rejects a shape x dtype size mismatch', () => {
    expectInvalid(rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor w: 8 bytes but shape \[3\] x F32 needs 12/);
  });

  it('rejects overlapping tensors', () => {
    const header = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
    expectInvalid(rawFile(header, new Uint8Array(12)), /tensor b: .* overlap/);
  });

  it('rejects offsets that do not cover the data', () => {
    expectInvalid(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /tensor a: gap of 4 bytes/);
    expectInvalid(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)), /cover 4 bytes but the data section is 8/);
  });

  it('rejects non-string metadata and bad shapes', () => {
    expectInvalid(rawFile({ __metadata__: { a: 1 } }, new Uint8Array(0)), /__metadata__.a is not a string/);
    expectInvalid(rawFile({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, new Uint8Array(0)), /tensor a: shape \[-1\]/);
  });

  it('names the file when it is missing or truncated', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    expect(() => SafetensorsReader.open(join(dir, 'nope.safetensors'))).to.throw(/nope.safetensors: no such file/);
    const truncated = join(dir, 'cut.safetensors');
    writeFileSync(truncated, rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(16)).subarray(0, 40));
    expect(() => SafetensorsReader.open(truncated)).to.throw(SafetensorsError, /cut.safetensors/);
  });

  it('leaves no file behind when writing fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const path = join(dir, 'x.safetensors');
    let error: unknown;
    try {
      await writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [3], data: new Float32Array(2) }]);
    } catch (err) { error = err; }
    expect(error).to.be.instanceOf(SafetensorsError);
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('serializes in memory to the same bytes as on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const entries = [{ name: 'a', dtype: 'F32' as const, shape: [2], data: Float32Array.from([1, 2]) }];
    await writeSafetensors(join(dir, 'x.safetensors'), entries, { k: 'v' });
    const mem = await serializeSafetensors(entries, { k: 'v' });
    expect(Buffer.from(mem).equals(readFileSync(join(dir, 'x.safetensors')))).to.equal(true);
  });

  it('reads the tiny fixture checkpoint', function () {
    requireFixtures(this, 'tiny/tiny.safetensors');
    const reader = SafetensorsReader.open(fixturePath('tiny/tiny.safetensors'));
    try {
      expect(reader.tensors.size).to.equal(101);
      const pos = reader.read('blip.text_encoder.embeddings.position_ids');
      expect(pos.dtype).to.equal('I64');
      expect(pos.shape).to.deep.equal([1, 512]);
      expect((pos.data as BigInt64Array)[511]).to.equal(511n);
      expect(reader.info('blip.visual_encoder.cls_token').shape).to.deep.equal([1, 1, 64]);
    } finally {
      reader.close();
    }
  });
});
