/**
 * Weight loading and validation: every problem in one WeightsError naming the keys, unexpected
 * keys reported, optional keys accepted when absent, F16/BF16 widened exactly, checkpoint layout
 * [out, in] turned into [in, out]. Weight maps are built in memory from tiny.safetensors.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { TINY_FIXTURES, int32Tensor2d, pixelBatch, tinyConfig } from './helpers/tinyModel.js';
import { selectBackend } from '../src/backend.js';
import { ImageRewardError } from '../src/errors.js';
import { readSafetensors, serializeSafetensors, SafetensorsReader, type TensorData } from '../src/weights/safetensors.js';
import { bf16ToFloat, halfToFloat, narrowToHalf } from '../src/weights/dtype.js';
import { ImageRewardModel } from '../src/model/imageRewardModel.js';
import { checkpointKeys } from '../src/model/checkpoint.js';
import type { ImageRewardConfig } from '../src/model/config.js';

describe('model weight loading', function () {
  let config: ImageRewardConfig;
  let tiny: Map<string, TensorData>;
  let golden: Map<string, TensorData>;
  let pixels: Map<string, TensorData>;

  const QKV = 'blip.visual_encoder.blocks.0.attn.qkv.weight';
  const FC2 = 'blip.text_encoder.encoder.layer.1.output.dense.weight';
  const NORM = 'blip.visual_encoder.norm.bias';

  const edited = (edit: (m: Map<string, TensorData>) => void): Map<string, TensorData> => {
    const copy = new Map(tiny);
    edit(copy);
    return copy;
  };
  const loadError = (tensors: ReadonlyMap<string, TensorData>): ImageRewardError => {
    try {
      ImageRewardModel.fromTensors(tensors, config).dispose();
    } catch (err) {
      expect(err).to.be.instanceOf(ImageRewardError);
      expect((err as ImageRewardError).code).to.equal('WEIGHTS_MISMATCH');
      return err as ImageRewardError;
    }
    throw new Error('expected a WeightsError');
  };
  /** Reward of prompt 0 x image 0 through a model loaded from `tensors`. */
  const reward = (tensors: ReadonlyMap<string, TensorData>, cfg = config): number => {
    const model = ImageRewardModel.fromTensors(tensors, cfg);
    const ids = int32Tensor2d(golden.get('p0.input_ids')!);
    const mask = int32Tensor2d(golden.get('p0.attention_mask')!);
    const px = pixelBatch(pixels, ['1.webp']);
    try {
      const r = model.scoreTensor(ids, mask, px);
      const value = r.dataSync()[0]!;
      r.dispose();
      return value;
    } finally {
      [ids, mask, px].forEach((t) => t.dispose());
      model.dispose();
    }
  };
  const goldenReward = () => (golden.get('p0.img0.reward')!.data as Float32Array)[0]!;

  before(async function () {
    requireFixtures(this, ...TINY_FIXTURES);
    await selectBackend({ backend: 'wasm', log: null });
    config = tinyConfig();
    tiny = readSafetensors(fixturePath('tiny/tiny.safetensors')).tensors;
    golden = readSafetensors(fixturePath('tiny/golden.safetensors')).tensors;
    pixels = readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors;
  });

  it('loads the tiny checkpoint from a SafetensorsReader with no unexpected keys', function () {
    const reader = SafetensorsReader.open(fixturePath('tiny/tiny.safetensors'));
    const unexpected: string[][] = [];
    const model = ImageRewardModel.fromReader(reader, config, { onUnexpectedKeys: (k) => unexpected.push(k) });
    reader.close();
    try {
      expect(unexpected).to.deep.equal([]);
      expect(model.unexpectedKeys).to.deep.equal([]);
      const used = checkpointKeys(config).filter((s) => s.required);
      expect(model.parameterCount()).to.equal(used.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0));
    } finally {
      model.dispose();
    }
  });

  it('counts every missing key in one line and lists them all in the details', function () {
    const err = loadError(edited((m) => { m.delete(QKV); m.delete('mlp.layers.7.bias'); }));
    expect(err.message).to.equal(`<memory>: weights do not fit the ImageReward config: 2 missing key(s) (first: ${QKV})`);
    expect(err.details).to.equal(`2 missing key(s):\n  ${QKV}\n  mlp.layers.7.bias`);
  });

  it('names a mis-shaped key with both shapes', function () {
    const t = tiny.get(FC2)!;
    const err = loadError(edited((m) => m.set(FC2, { ...t, shape: [t.shape[1]!, t.shape[0]!] })));
    expect(err.details).to.include(`${FC2} [256, 64], expected [64, 256]`);
  });

  it('names a weight holding NaN or Inf, with the index', function () {
    const data = Float32Array.from(tiny.get(NORM)!.data as Float32Array);
    data[5] = NaN;
    data[7] = -Infinity;
    const err = loadError(edited((m) => m.set(NORM, { ...tiny.get(NORM)!, data })));
    expect(err.details).to.include(`${NORM}: 2 non-finite value(s), first NaN at flat index 5`);
  });

  it('collects missing, mis-shaped, wrong-dtype and NaN problems together', function () {
    const nan = Float32Array.from(tiny.get(NORM)!.data as Float32Array);
    nan[0] = NaN;
    const err = loadError(edited((m) => {
      m.delete(QKV);
      m.set(FC2, { ...tiny.get(FC2)!, shape: [1, 64 * 256] });
      m.set('mlp.layers.0.bias', { dtype: 'I64', shape: [1024], data: new BigInt64Array(1024) });
      m.set(NORM, { ...tiny.get(NORM)!, data: nan });
    }));
    expect(err.message).to.include('1 missing key(s), 1 mis-shaped key(s), 1 key(s) with a wrong dtype, 1 key(s) with bad values');
    expect(err.details).to.include('mlp.layers.0.bias is I64').and.include(`${NORM}: 1 non-finite`);
  });

  it('rejects position_ids that point outside the position table', function () {
    const ids = BigInt64Array.from({ length: 512 }, (_, i) => BigInt(i));
    ids[3] = 512n;
    const err = loadError(edited((m) => m.set('blip.text_encoder.embeddings.position_ids', { dtype: 'I64', shape: [1, 512], data: ids })));
    expect(err.details).to.include('value 512 at flat index 3');
  });

  it('reports unexpected keys through onUnexpectedKeys and unexpectedKeys, and still loads', function () {
    const extra = edited((m) => {
      m.set('blip.text_encoder.pooler.dense.weight', tiny.get(FC2)!);
      m.set('temp', { dtype: 'F32', shape: [1], data: new Float32Array([0.07]) });
    });
    const seen: string[][] = [];
    const model = ImageRewardModel.fromTensors(extra, config, { onUnexpectedKeys: (keys) => seen.push(keys) });
    expect(seen).to.deep.equal([['blip.text_encoder.pooler.dense.weight', 'temp']]);
    expect(model.unexpectedKeys).to.deep.equal(['blip.text_encoder.pooler.dense.weight', 'temp']);
    model.dispose();
  });

  it('accepts a checkpoint without position_ids and the unused projections, with the same reward', function () {
    const optional = checkpointKeys(config).filter((s) => !s.required).map((s) => s.key);
    expect(optional).to.have.length(5);
    const r = reward(edited((m) => optional.forEach((k) => m.delete(k))));
    expect(Math.abs(r - goldenReward())).to.be.at.most(1e-5);
  });

  it('qkv_bias false: the spec has no qkv.bias; a matching checkpoint loads and gives the zero-bias reward; a non-matching one uploads nothing', function () {
    const noBias: ImageRewardConfig = { ...config, vit: { ...config.vit, qkvBias: false } };
    const biasKeys = [...tiny.keys()].filter((k) => /\.attn\.qkv\.bias$/.test(k));
    expect(biasKeys).to.have.length(config.vit.depth);
    expect(checkpointKeys(noBias).map((s) => s.key)).to.deep.equal(checkpointKeys(config).map((s) => s.key).filter((k) => !biasKeys.includes(k)));
    const withoutBias = edited((m) => biasKeys.forEach((k) => m.delete(k)));
    const zeroBias = edited((m) => biasKeys.forEach((k) => m.set(k, { ...tiny.get(k)!, data: new Float32Array(tiny.get(k)!.data.length) })));
    // the same function: a Linear without bias is one with a zero bias
    expect(reward(withoutBias, noBias)).to.equal(reward(zeroBias, config));
    expect(reward(withoutBias, noBias)).to.not.equal(goldenReward());
    const before = tf.memory().numTensors;
    const missing = (() => { try { ImageRewardModel.fromTensors(withoutBias, config); } catch (err) { return err as Error; } throw new Error('loaded'); })();
    expect(missing.message).to.include(`${config.vit.depth} missing key(s)`).and.include(biasKeys[0]!);
    const t = tiny.get(QKV)!;
    const misShaped = edited((m) => { biasKeys.forEach((k) => m.delete(k)); m.set(QKV, { ...t, shape: [t.shape[1]!, t.shape[0]!] }); });
    expect(() => ImageRewardModel.fromTensors(misShaped, noBias)).to.throw(/mis-shaped/);
    expect(tf.memory().numTensors, 'tensors after the rejected loads').to.equal(before);
  });

  it('sizes the ViT MLP as upstream int(dim * mlp_ratio) (truncation, not rounding)', function () {
    const odd: ImageRewardConfig = { ...config, vit: { ...config.vit, mlpRatio: 4.995 } }; // 64 * 4.995 = 319.68: int() 319, round() 320
    const fc1 = checkpointKeys(odd).find((s) => s.key === 'blip.visual_encoder.blocks.0.mlp.fc1.weight')!;
    expect(fc1.shape).to.deep.equal([319, 64]);
  });

  it('reads weights from safetensors bytes in memory and names the source in errors', async function () {
    const entries = [...edited((m) => m.delete(QKV))].map(([name, t]) => ({ name, ...t }));
    const reader = SafetensorsReader.fromBytes(await serializeSafetensors(entries), 'edited.safetensors');
    try {
      expect(() => ImageRewardModel.fromReader(reader, config)).to.throw(/edited\.safetensors: .*1 missing key/s);
    } finally {
      reader.close();
    }
  });

  it('widens F16 and BF16 weights to exactly the float32 values they encode', function () {
    const asF16 = new Map<string, TensorData>();
    const asBf16 = new Map<string, TensorData>();
    const roundedF16 = new Map<string, TensorData>();
    const roundedBf16 = new Map<string, TensorData>();
    for (const [name, t] of tiny) {
      if (t.dtype !== 'F32') {
        [asF16, asBf16, roundedF16, roundedBf16].forEach((m) => m.set(name, t));
        continue;
      }
      const f32 = t.data as Float32Array;
      const half = narrowToHalf(f32);
      const bf16 = new Uint16Array(new Uint32Array(f32.buffer, f32.byteOffset, f32.length).map((bits) => bits >>> 16));
      asF16.set(name, { dtype: 'F16', shape: t.shape, data: half });
      asBf16.set(name, { dtype: 'BF16', shape: t.shape, data: bf16 });
      roundedF16.set(name, { dtype: 'F32', shape: t.shape, data: Float32Array.from(half, halfToFloat) });
      roundedBf16.set(name, { dtype: 'F32', shape: t.shape, data: Float32Array.from(bf16, bf16ToFloat) });
    }
    const f16 = reward(asF16);
    expect(f16).to.equal(reward(roundedF16));
    expect(reward(asBf16)).to.equal(reward(roundedBf16));
    // half precision weights move the reward, but not far
    expect(Math.abs(f16 - goldenReward())).to.be.within(1e-7, 0.05);
  });

  it('headWeights: the head in [in, out] layout (the checkpoint [out, in] transposed), in layer order, outliving the model', async function () {
    const model = ImageRewardModel.fromTensors(tiny, config);
    const head = await model.headWeights();
    model.dispose();
    expect(head.layers.map((l) => [l.weight.length, l.bias.length])).to.deep.equal([[64 * 1024, 1024], [1024 * 128, 128], [128 * 64, 64], [64 * 16, 16], [16, 1]]);
    const w = head.layers[1]!.weight; // mlp.layers.2, [1024, 128]
    const src = tiny.get('mlp.layers.2.weight')!.data as Float32Array; // [128, 1024]
    expect(w[5 * 128 + 3]).to.equal(src[3 * 1024 + 5]);
    expect(w[1023 * 128 + 127]).to.equal(src[127 * 1024 + 1023]);
    expect(Array.from(head.layers[4]!.bias)).to.deep.equal(Array.from(tiny.get('mlp.layers.7.bias')!.data as Float32Array));
  });



  it('refuses inputs of the wrong shape or dtype with an InputError', function () {
    const model = ImageRewardModel.fromTensors(tiny, config);
    const ids = int32Tensor2d(golden.get('p0.input_ids')!);
    const mask = int32Tensor2d(golden.get('p0.attention_mask')!);
    const px = pixelBatch(pixels, ['1.webp', '2.webp']);
    const small = tf.zeros([1, 3, 112, 112]) as tf.Tensor4D;
    const floatIds = ids.toFloat();
    const threeRows = ids.tile([3, 1]) as tf.Tensor2D;
    try {
      expect(() => model.encodeImages(small)).to.throw(ImageRewardError, /\[N, 3, 224, 224\]/);
      expect(() => model.scoreTensor(floatIds, mask, px)).to.throw(ImageRewardError, /inputIds must be int32/);
      expect(() => model.scoreTensor(threeRows, threeRows, px)).to.throw(ImageRewardError, /3 token rows for 2 images/);
      // one token row is broadcast over the images
      const r = model.scoreTensor(ids, mask, px);
      expect(r.shape).to.deep.equal([2]);
      r.dispose();
    } finally {
      [ids, mask, px, small, floatIds, threeRows].forEach((t) => t.dispose());
      model.dispose();
    }
    expect(() => model.encodeImages(px)).to.throw(ImageRewardError, /disposed/);
  });
});
