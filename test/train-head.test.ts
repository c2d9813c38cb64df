import { expect } from 'chai';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { InputError, WeightsError } from '../src/errors.js';
import { IMAGEREWARD_V1, IMAGEREWARD_V1_MED, type ImageRewardConfig } from '../src/model/config.js';
import { applyHead, headLayerSpecs, type HeadWeights } from '../src/model/head.js';
import { headKeySpecs, readHeadFile, writeHeadFile } from '../src/model/headFile.js';
import { toUseLayout } from '../src/model/spec.js';
import { collapseHead, rawRewards, type LinearTensors } from '../src/train/linear-head.js';
import { SeededRandom } from '../src/util/random.js';
import { splitRecords, trainHead, type TrainingRecord } from '../src/train/trainer.js';
import { readSafetensors, writeSafetensors } from '../src/weights/safetensors.js';
import { maxAbsDiff, rejection } from './helpers/assert.js';

/** A head for hidden size 64 (the tiny model's width) with the real layer sizes. */
const CONFIG: ImageRewardConfig = { ...IMAGEREWARD_V1, med: { ...IMAGEREWARD_V1_MED, hiddenSize: 64 } };
const H = 64;

function gaussian(rng: SeededRandom): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/** Random head tensors in checkpoint layout ([out, in] weights), by key. */
function randomStoredHead(seed: number): Map<string, Float32Array> {
  const rng = new SeededRandom(seed);
  const out = new Map<string, Float32Array>();
  for (const s of headKeySpecs(CONFIG)) {
    const fanIn = s.shape.length === 2 ? s.shape[1]! : 16;
    out.set(s.key, Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => gaussian(rng) / Math.sqrt(fanIn)));
  }
  return out;
}

/** The same head as HeadWeights (the model's [in, out] layout). */
function randomHead(seed: number): HeadWeights {
  const stored = randomStoredHead(seed);
  return { layers: headLayerSpecs(CONFIG).map(([w, b]) => ({ weight: toUseLayout(w, stored.get(w.key)!).data, bias: stored.get(b.key)! })) };
}

/** Records whose human ranking follows a hidden linear preference `direction`·x (1 = best). */
function syntheticRecords(n: number, perRecord: number, direction: Float32Array, seed: number): TrainingRecord[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: n }, () => {
    const features = Array.from({ length: perRecord }, () => Float32Array.from({ length: H }, () => gaussian(rng)));
    const taste = features.map((f) => f.reduce((a, v, i) => a + v * direction[i]!, 0));
    const order = taste.map((_, i) => i).sort((a, b) => taste[b]! - taste[a]!);
    const ranking = new Array<number>(perRecord);
    order.forEach((i, pos) => { ranking[i] = pos + 1; });
    return { ranking, features };
  });
}

/** Layer-by-layer raw head output in float64 (y = x W + b, W [in, out]). */
function referenceRaw(weights: HeadWeights, x: Float32Array): number {
  let h = Array.from(x);
  for (const { weight: w, bias: b } of weights.layers) {
    const out = b.length;
    h = Array.from(b, (bias, o) => h.reduce((acc, v, k) => acc + v * w[k * out + o]!, bias));
  }
  return h[0]!;
}

function layerTensors(weights: HeadWeights): LinearTensors[] {
  return weights.layers.map((l) => ({ weight: tf.tensor2d(l.weight, [l.weight.length / l.bias.length, l.bias.length]), bias: tf.tensor1d(l.bias) }));
}

describe('train: head training on synthetic features', () => {
  const direction = Float32Array.from({ length: H }, (_, i) => Math.sin(i + 1));
  const train = syntheticRecords(40, 5, direction, 1);
  const validation = syntheticRecords(10, 5, direction, 2);
  const base = randomHead(7);
  const options = { learningRate: 1e-3, epochs: 15, batchSize: 8, seed: 3 };

  before(async () => {
    await selectBackend({ backend: 'wasm', log: null });
  });

  it('collapses the head into the same function as the layer-by-layer MLP (and the model head)', () => {
    const x = syntheticRecords(1, 6, direction, 9)[0]!.features;
    const layers = layerTensors(base);
    const head = collapseHead(layers);
    const X = tf.tensor2d(Float32Array.from(x.flatMap((f) => Array.from(f))), [x.length, H]);
    const collapsed = rawRewards(head, X).dataSync();
    const reference = x.map((f) => referenceRaw(base, f));
    expect(maxAbsDiff(collapsed, reference)).to.be.lessThan(1e-5);
    // src/model/head.ts applyHead takes the same [in, out] layers and normalises.
    const normalized = applyHead({ layers }, X, CONFIG.head).dataSync();
    const expected = reference.map((r) => (r - CONFIG.head.rewardMean) / CONFIG.head.rewardStd);
    expect(maxAbsDiff(normalized, expected)).to.be.lessThan(1e-5);
    tf.dispose([X, head.weight, head.bias, ...layers.flatMap((l) => [l.weight, l.bias])]);
  });

  it('gives the same gradients as autograd through the layer-by-layer head', () => {
    const x = tf.tensor2d(Float32Array.from(train[0]!.features.flatMap((f) => Array.from(f))), [5, H]);
    const layers = layerTensors(base);
    const vars = layers.flatMap((l) => [l.weight, l.bias]);
    const layered = (): tf.Scalar => {
      let h: tf.Tensor2D = x;
      for (const l of layers) h = tf.matMul(h, l.weight).add(l.bias);
      return tf.sum(tf.mul(h.reshape([-1]), tf.range(1, 6))) as tf.Scalar;
    };
    const collapsed = (): tf.Scalar => tf.sum(tf.mul(rawRewards(collapseHead(layers), x), tf.range(1, 6))) as tf.Scalar;
    const g1 = tf.grads(() => layered())(vars);
    const g2 = tf.grads(() => collapsed())(vars);
    g1.forEach((g, i) => {
      const scale = g.abs().max().dataSync()[0]!;
      expect(maxAbsDiff(g.dataSync(), g2[i]!.dataSync()) / scale, `param ${i}`).to.be.lessThan(1e-4);
    });
    tf.dispose([x, ...vars, ...g1, ...g2]);
  });

  it('learns a ranking it is shown: accuracy from ~chance to >= 0.9, validation too', async () => {
    const before = tf.memory().numTensors;
    const result = await trainHead(base, CONFIG, train, validation, options);
    const first = result.history[0]!;
    const best = result.history[result.bestEpoch]!;
    expect(first.train.pairs).to.equal(40 * 10);
    expect(first.train.accuracy).to.be.lessThan(0.75);
    expect(best.train.accuracy).to.be.at.least(0.9);
    expect(best.validation!.accuracy).to.be.at.least(0.85);
    expect(best.train.loss).to.be.lessThan(first.train.loss);
    expect(result.bestEpoch).to.be.greaterThan(0);
    // The kept weights are those of the best epoch: re-evaluate them independently.
    const rewards = train.map((r) => r.features.map((f) => referenceRaw(result.weights, f)));
    let correct = 0;
    train.forEach((r, i) => {
      for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) if (r.ranking[a]! < r.ranking[b]! && rewards[i]![a]! > rewards[i]![b]!) correct++;
    });
    expect(correct).to.equal(best.train.correct);
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('is deterministic for a seed, and the seed matters', async () => {
    const a = await trainHead(base, CONFIG, train, undefined, { ...options, epochs: 2 });
    const b = await trainHead(base, CONFIG, train, undefined, { ...options, epochs: 2 });
    const c = await trainHead(base, CONFIG, train, undefined, { ...options, epochs: 2, seed: 4 });
    a.weights.layers.forEach((l, j) => {
      expect(Array.from(b.weights.layers[j]!.weight), `layer ${j} weight`).to.deep.equal(Array.from(l.weight));
      expect(Array.from(b.weights.layers[j]!.bias), `layer ${j} bias`).to.deep.equal(Array.from(l.bias));
    });
    expect(maxAbsDiff(a.weights.layers[0]!.weight, c.weights.layers[0]!.weight)).to.be.greaterThan(0);
    expect(a.bestEpoch).to.equal(2);
  });

  it('freezes all but the last k layers', async () => {
    const result = await trainHead(base, CONFIG, train, undefined, { ...options, epochs: 2, trainableLayers: 2 });
    result.weights.layers.forEach((l, j) => {
      // biases have zero gradient under a pairwise loss (both rewards shift alike): unchanged without decay
      expect(maxAbsDiff(l.weight, base.layers[j]!.weight) === 0, `layer ${j} weight unchanged`).to.equal(j < 3);
      expect(maxAbsDiff(l.bias, base.layers[j]!.bias), `layer ${j} bias unchanged`).to.equal(0);
    });
  });

  it('applies weight decay as torch Adam does (shrinks the weights)', async () => {
    const plain = await trainHead(base, CONFIG, train, undefined, { ...options, epochs: 3 });
    const decayed = await trainHead(base, CONFIG, train, undefined, { ...options, epochs: 3, weightDecay: 5 });
    const norm = (w: Float32Array) => Math.sqrt(w.reduce((a, v) => a + v * v, 0));
    // mlp.layers.2.weight
    expect(norm(decayed.weights.layers[1]!.weight)).to.be.lessThan(norm(plain.weights.layers[1]!.weight) * 0.98);
  });

  it('stops early and keeps the best epoch when validation stops improving', async () => {
    // Validation preferences opposite to the training ones: the validation loss rises from the start.
    const opposite = syntheticRecords(10, 5, direction.map((v) => -v), 2);
    const result = await trainHead(base, CONFIG, train, opposite, { ...options, epochs: 20, patience: 2 });
    expect(result.stoppedEarly).to.equal(true);
    expect(result.history.length).to.be.lessThan(21);
    const losses = result.history.map((m) => m.validation!.loss);
    expect(losses[result.bestEpoch]).to.equal(Math.min(...losses));
    expect(result.history.length - 1 - result.bestEpoch).to.equal(2);
  });

  it('rejects bad options and inputs', async () => {
    expect(await rejection(trainHead(base, CONFIG, train, undefined, { learningRate: 0 }))).to.be.instanceOf(InputError).with.property('message').that.matches(/learning rate/);
    expect(await rejection(trainHead(base, CONFIG, train, undefined, { trainableLayers: 6 }))).to.be.instanceOf(InputError).with.property('message').that.matches(/1\.\.5/);
    expect(await rejection(trainHead(base, CONFIG, [{ ranking: [1, 1], features: train[0]!.features.slice(0, 2) }], undefined, {})))
      .to.be.instanceOf(InputError).with.property('message').that.matches(/no pair/);
    expect(await rejection(trainHead(base, CONFIG, [{ ranking: [1, 2], features: [new Float32Array(3), new Float32Array(3)] }], undefined, {})))
      .to.be.instanceOf(InputError).with.property('message').that.matches(/hidden size is 64/);
    const broken = { layers: base.layers.map((l, j) => (j === 4 ? { ...l, bias: new Float32Array(0) } : l)) };
    expect(await rejection(trainHead(broken, CONFIG, train, undefined, {}))).to.be.instanceOf(WeightsError).with.property('message').that.matches(/base head: mlp\.layers\.7\.bias has 0 values, expected shape \[1\]/);
    expect(await rejection(trainHead({ layers: base.layers.slice(1) }, CONFIG, train, undefined, {}))).to.be.instanceOf(WeightsError).with.property('message').that.matches(/4 head layers, the model has 5/);
  });

  it('splits records deterministically', () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const a = splitRecords(items, 0.25, 1);
    expect(a.validation).to.have.length(5);
    expect([...a.train, ...a.validation].sort((x, y) => x - y)).to.deep.equal(items);
    expect(splitRecords(items, 0.25, 1)).to.deep.equal(a);
    expect(splitRecords(items, 0.25, 2)).to.not.deep.equal(a);
    expect(() => splitRecords(items, 1, 1)).to.throw(InputError);
  });
});

describe('train: head files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'headfile-'));
  const stored = randomStoredHead(11);
  const base = randomHead(11);

  it('round-trips weights and metadata; the file has the checkpoint keys, order and [out, in] layout', async () => {
    const path = join(dir, 'head.safetensors');
    await writeHeadFile(path, base, CONFIG, { imagereward_train: '{"epochs":3}' });
    const file = readSafetensors(path);
    expect([...file.tensors.keys()]).to.deep.equal(headKeySpecs(CONFIG).map((s) => s.key));
    for (const [k, v] of stored) expect(Array.from(file.tensors.get(k)!.data as Float32Array), k).to.deep.equal(Array.from(v));
    const { weights, metadata } = readHeadFile(path, CONFIG);
    weights.layers.forEach((l, j) => {
      expect(Array.from(l.weight), `layer ${j}`).to.deep.equal(Array.from(base.layers[j]!.weight));
      expect(Array.from(l.bias), `layer ${j}`).to.deep.equal(Array.from(base.layers[j]!.bias));
    });
    expect(metadata).to.deep.equal({ format: 'pt', imagereward_train: '{"epochs":3}' });
    expect(readdirSync(dir)).to.deep.equal(['head.safetensors']);
  });

  it('rejects foreign keys, wrong shapes, missing keys and non-finite values, naming the file', async () => {
    const entries = headKeySpecs(CONFIG).map((s) => ({ name: s.key, dtype: 'F32' as const, shape: s.shape, data: stored.get(s.key)! }));
    const cases: [string, typeof entries, RegExp][] = [
      ['extra.safetensors', [...entries, { name: 'blip.text_proj.bias', dtype: 'F32', shape: [1], data: new Float32Array(1) }], /extra\.safetensors: not a head tensor: blip\.text_proj\.bias/],
      ['shape.safetensors', entries.map((e) => (e.name === 'mlp.layers.0.weight' ? { ...e, shape: [64, 1024] } : e)), /mlp\.layers\.0\.weight has shape \[64,1024\], the model needs \[1024,64\]/],
      ['missing.safetensors', entries.slice(1), /missing head tensor mlp\.layers\.0\.weight/],
      ['nan.safetensors', entries.map((e) => (e.name === 'mlp.layers.7.bias' ? { ...e, data: Float32Array.of(NaN) } : e)), /mlp\.layers\.7\.bias has a non-finite value/],
    ];
    for (const [name, list, pattern] of cases) {
      await writeSafetensors(join(dir, name), list);
      expect(() => readHeadFile(join(dir, name), CONFIG), name).to.throw(WeightsError, pattern);
    }
  });
});
