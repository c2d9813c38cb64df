/**
 * convertCheckpoint on the real torch.save fixtures (tiny.pt, tiny-fp16.pt) and on generated
 * archives: bit-exact tensors, metadata, key-set checks, atomic output, and per-layer parity of the
 * tiny model loaded from the converted file.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint, FORMAT_TAG, openTorchCheckpoint } from '../src/convert/index.js';
import { WeightsError } from '../src/errors.js';
import { selectBackend } from '../src/backend.js';
import { parseMedConfig, parseVitConfig } from '../src/model/config.js';
import { checkpointKeys } from '../src/model/checkpoint.js';
import { ImageRewardModel } from '../src/model/imageRewardModel.js';
import { halfToFloat, floatToHalf } from '../src/weights/dtype.js';
import { readSafetensors, SafetensorsReader, type TensorData } from '../src/weights/safetensors.js';
import { maxAbsDiff } from './helpers/assert.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { asFloat32, int32Tensor2d, pixelBatch, tinyConfig, TINY_FIXTURES } from './helpers/tinyModel.js';
import { stateDictPickle, torchArchive, type TensorSpec } from './helpers/torchzip.js';

const TINY = ['tiny/tiny.pt', 'tiny/tiny-fp16.pt', 'tiny/tiny.safetensors', 'tiny/med_config.json', 'tiny/vit_config.json'];
const bytesOf = (t: TensorData) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

describe('convert: convertCheckpoint', () => {
  let dir: string;
  let configs: { medConfigPath: string; vitConfigPath: string };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ir-convert-'));
    configs = { medConfigPath: fixturePath('tiny/med_config.json'), vitConfigPath: fixturePath('tiny/vit_config.json') };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('tiny fixtures', () => {
    let reference: Map<string, TensorData>;
    before(function () {
      requireFixtures(this, ...TINY);
      reference = readSafetensors(fixturePath('tiny/tiny.safetensors')).tensors;
    });

    it('tiny.pt converts to tensors bit-identical to tiny.safetensors, in checkpointKeys order', async () => {
      const out = join(dir, 'tiny.safetensors');
      const progress: number[] = [];
      const result = await convertCheckpoint(fixturePath('tiny/tiny.pt'), out, { ...configs, onProgress: (done) => progress.push(done) });
      expect(result).to.include({ outPath: out, tensors: 101, dtype: 'f32' });
      expect(result.extraKeys).to.deep.equal([]);
      expect(progress).to.deep.equal(Array.from({ length: 101 }, (_, i) => i + 1));
      const { metadata, tensors } = readSafetensors(out);
      expect([...tensors.keys()]).to.deep.equal(checkpointKeys(tinyConfig()).map((s) => s.key));
      expect(tensors.size).to.equal(reference.size);
      for (const [key, want] of reference) {
        const got = tensors.get(key)!;
        expect(got.dtype, key).to.equal(want.dtype);
        expect(got.shape, key).to.deep.equal(want.shape);
        expect(bytesOf(got).equals(bytesOf(want)), `${key} bytes`).to.equal(true);
      }
      expect(tensors.get('blip.text_encoder.embeddings.position_ids')!.dtype).to.equal('I64');
      expect(metadata).to.have.keys('format', 'imagereward', 'med_config', 'vit_config');
      expect(metadata).to.include({ format: 'pt', imagereward: FORMAT_TAG });
      expect(parseMedConfig(metadata.med_config!)).to.deep.equal(tinyConfig().med);
      expect(parseVitConfig(metadata.vit_config!)).to.deep.equal(tinyConfig().vit);
    });

    it('tiny-fp16.pt converts to the f16 values widened exactly, and --dtype f16 keeps the bits', async () => {
      const half = openTorchCheckpoint(fixturePath('tiny/tiny-fp16.pt'));
      const out32 = join(dir, 'fp16-as-f32.safetensors');
      const out16 = join(dir, 'fp16-as-f16.safetensors');
      try {
        await convertCheckpoint(fixturePath('tiny/tiny-fp16.pt'), out32, configs);
        const r16 = await convertCheckpoint(fixturePath('tiny/tiny-fp16.pt'), out16, { ...configs, dtype: 'f16' });
        expect(r16.dtype).to.equal('f16');
        const f32 = readSafetensors(out32).tensors;
        const f16 = readSafetensors(out16).tensors;
        let checked = 0;
        for (const key of half.keys) {
          const src = half.read(key);
          if (src.dtype === 'I64') {
            expect(bytesOf(f32.get(key)!).equals(bytesOf(src))).to.equal(true);
            continue;
          }
          expect(src.dtype, key).to.equal('F16');
          const bits = src.data as Uint16Array;
          expect(f16.get(key)!.dtype).to.equal('F16');
          expect(bytesOf(f16.get(key)!).equals(bytesOf(src)), `${key} f16 bits`).to.equal(true);
          const widened = f32.get(key)!.data as Float32Array;
          bits.forEach((h, i) => { if (widened[i] !== halfToFloat(h)) expect.fail(`${key}[${i}]: ${widened[i]} != ${halfToFloat(h)}`); });
          // The fp16 fixture is the f32 model rounded to half: check that too.
          const ref = reference.get(key)!.data as Float32Array;
          bits.forEach((h, i) => { if (floatToHalf(ref[i]!) !== h) expect.fail(`${key}[${i}] is not the half of the f32 weight`); });
          checked++;
        }
        expect(checked).to.equal(100);
      } finally {
        half.close();
      }
    });

    it('without the tiny configs, the v1.0 defaults reject tiny.pt by shape and leave no output', async () => {
      const out = join(dir, 'wrong-config.safetensors');
      let caught: unknown;
      try { await convertCheckpoint(fixturePath('tiny/tiny.pt'), out); } catch (err) { caught = err; }
      expect(caught).to.be.instanceOf(WeightsError);
      expect((caught as Error).message).to.match(/tensor\(s\) do not have the shape the config expects \(pass the matching --med-config \/ --vit-config\):\n  blip\.visual_encoder\.cls_token \[1, 1, 64\], expected \[1, 1, 1024\]/);
      expect(existsSync(out)).to.equal(false);
    });
  });

  describe('generated checkpoints (tiny key set, random values)', () => {
    const specs = () => checkpointKeys(tinyConfig());
    /** A torch-style archive of every key (minus `drop`, plus `extra`); values are the element index. */
    function fakeCheckpoint(name: string, opts: { drop?: string; extra?: string; asFloat?: string } = {}): string {
      const tensors: TensorSpec[] = [];
      const storages: Record<string, Uint8Array> = {};
      const keys = specs().filter((s) => s.key !== opts.drop).map((s) => ({ ...s, integer: s.integer && s.key !== opts.asFloat }));
      if (opts.extra) keys.push({ key: opts.extra, shape: [3], layout: 'plain', required: false, uploaded: false, integer: false });
      keys.forEach((s, i) => {
        const n = s.shape.reduce((a, b) => a * b, 1);
        const data = s.integer ? new Uint8Array(BigInt64Array.from({ length: n }, (_, j) => BigInt(j)).buffer)
          : new Uint8Array(Float32Array.from({ length: n }, (_, j) => j / 7 - i).buffer);
        storages[String(i)] = data;
        tensors.push({ key: s.key, storageClass: s.integer ? 'LongStorage' : 'FloatStorage', storageKey: String(i), numel: n, shape: s.shape });
      });
      const path = join(dir, name);
      writeFileSync(path, torchArchive(stateDictPickle(tensors), storages));
      return path;
    }

    it('a missing required key is an error naming it', async () => {
      const path = fakeCheckpoint('missing.pt', { drop: 'mlp.layers.7.bias' });
      let caught: unknown;
      try { await convertCheckpoint(path, join(dir, 'missing.safetensors'), configs); } catch (err) { caught = err; }
      expect(caught).to.be.instanceOf(WeightsError);
      expect((caught as Error).message).to.match(/1 required tensor\(s\) missing \(not an ImageReward checkpoint, or a config with more layers than the checkpoint\):\n  mlp\.layers\.7\.bias$/);
    });

    it('an integer buffer stored as floats is a dtype error naming it', async () => {
      const key = 'blip.text_encoder.embeddings.position_ids';
      const path = fakeCheckpoint('float-ids.pt', { asFloat: key });
      let caught: unknown;
      try { await convertCheckpoint(path, join(dir, 'float-ids.safetensors'), configs); } catch (err) { caught = err; }
      expect(caught).to.be.instanceOf(WeightsError);
      expect((caught as Error).message).to.match(new RegExp(`1 tensor\\(s\\) with a wrong dtype:\\n  ${key.replace(/\./g, '\\.')} is F32, expected I64 or I32$`));
    });

    it('extra keys are listed and not written; a missing optional key is fine', async () => {
      const path = fakeCheckpoint('extra.pt', { extra: 'blip.itm_head.weight', drop: 'blip.text_proj.bias' });
      const out = join(dir, 'extra.safetensors');
      const result = await convertCheckpoint(path, out, configs);
      expect(result.extraKeys).to.deep.equal(['blip.itm_head.weight']);
      const { tensors } = readSafetensors(out);
      expect(tensors.has('blip.itm_head.weight')).to.equal(false);
      expect(tensors.has('blip.text_proj.bias')).to.equal(false);
      expect(result.tensors).to.equal(specs().length - 1);
      const w = tensors.get('mlp.layers.0.weight')!.data as Float32Array;
      const index = specs().filter((s) => s.key !== 'blip.text_proj.bias').findIndex((s) => s.key === 'mlp.layers.0.weight');
      expect(w[8]).to.equal(Math.fround(8 / 7 - index));
    });

    it('--dtype f16 rounds f32 weights to nearest-even half and keeps position_ids I64', async () => {
      const out = join(dir, 'half.safetensors');
      await convertCheckpoint(fakeCheckpoint('half.pt'), out, { ...configs, dtype: 'f16' });
      const { tensors } = readSafetensors(out);
      const index = specs().findIndex((s) => s.key === 'blip.visual_encoder.pos_embed');
      const got = tensors.get('blip.visual_encoder.pos_embed')!;
      expect(got.dtype).to.equal('F16');
      expect([...(got.data as Uint16Array).subarray(0, 5)]).to.deep.equal([0, 1, 2, 3, 4].map((j) => floatToHalf(Math.fround(j / 7 - index))));
      expect(tensors.get('blip.text_encoder.embeddings.position_ids')!.dtype).to.equal('I64');
    });

    it('a failure half-way through leaves neither the output nor a temp file', async () => {
      const path = fakeCheckpoint('corrupt.pt');
      // Flip one data byte of a late tensor inside the archive: its CRC-32 check fails mid-conversion.
      const bytes = readFileSync(path);
      const marker = Buffer.from(new Float32Array([1 / 7 - (specs().length - 2)]).buffer);
      const at = Buffer.from(bytes).indexOf(marker);
      expect(at).to.be.greaterThan(0);
      bytes[at]! ^= 1;
      writeFileSync(path, bytes);
      const outDir = mkdtempSync(join(dir, 'out-'));
      let done = 0;
      let caught: unknown;
      try {
        await convertCheckpoint(path, join(outDir, 'x.safetensors'), { ...configs, onProgress: (d) => { done = d; } });
      } catch (err) { caught = err; }
      expect((caught as Error).message).to.match(/is corrupt \(CRC-32/);
      expect(done).to.be.greaterThan(50);
      expect(readdirSync(outDir)).to.deep.equal([]);
    });
  });

  describe('the tiny model loaded from the converted tiny.pt (wasm backend)', () => {
    let model: ImageRewardModel;
    let golden: Map<string, TensorData>;
    let pixels: Map<string, TensorData>;
    before(async function () {
      requireFixtures(this, ...TINY, ...TINY_FIXTURES);
      await selectBackend({ backend: 'wasm', log: null });
      const out = join(dir, 'parity.safetensors');
      await convertCheckpoint(fixturePath('tiny/tiny.pt'), out, configs);
      golden = readSafetensors(fixturePath('tiny/golden.safetensors')).tensors;
      pixels = readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors;
      const reader = SafetensorsReader.open(out);
      try {
        model = ImageRewardModel.fromReader(reader, tinyConfig());
      } finally {
        reader.close();
      }
    });
    const worst = { hidden: 0, reward: 0 };
    after(() => {
      model?.dispose();
      console.log(`      converted tiny.pt parity: worst hidden-layer err ${worst.hidden.toExponential(2)}, worst reward err ${worst.reward.toExponential(2)}`);
    });

    for (const p of [0, 1, 2]) {
      it(`prompt ${p} x 4 images: every golden layer within 1e-4, rewards within 1e-5`, () => {
        const ids = int32Tensor2d(golden.get(`p${p}.input_ids`)!);
        const mask = int32Tensor2d(golden.get(`p${p}.attention_mask`)!);
        let compared = 0;
        ['1.webp', '2.webp', '3.webp', '4.webp'].forEach((file, j) => {
          const px = pixelBatch(pixels, [file]);
          const got = model.forwardIntermediates(ids, mask, px);
          try {
            for (const [name, tensor] of got) {
              for (const prefix of [`img${j}.`, `p${p}.`, `p${p}.img${j}.`]) {
                const want = golden.get(prefix + name);
                if (!want) continue;
                const err = maxAbsDiff(tensor.dataSync(), asFloat32(want));
                if (name === 'reward') worst.reward = Math.max(worst.reward, err); else worst.hidden = Math.max(worst.hidden, err);
                expect(err, `${prefix}${name}`).to.be.at.most(name === 'reward' ? 1e-5 : 1e-4);
                compared++;
              }
            }
          } finally {
            [px, ...got.values()].forEach((t) => t.dispose());
          }
        });
        ids.dispose();
        mask.dispose();
        expect(compared).to.equal(4 * 18);
      });
    }
  });
});
