/**
 * The reward is differentiable through the whole tiny model: tf.grad w.r.t. normalised pixels and
 * w.r.t. raw [0, 1] pixels (through the CLIP normalisation) agrees with central finite differences.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { CLIP_MEAN, CLIP_STD } from '../src/image/index.js';
import { normalizePixels, rewardGradient } from '../src/train/reward-grad.js';
import { SeededRandom } from '../src/util/random.js';
import { useTinyCase } from './helpers/tinyModel.js';

const PLANE = 224 * 224;

describe('reward gradients vs finite differences (tiny model, cpu backend, float32)', function () {
  const tiny = useTinyCase('cpu', 0, ['1.webp']);

  /** The reward of one image whose pixels are `values` (in `space`). */
  function reward(values: Float32Array, space: 'normalized' | 'raw'): number {
    return tf.tidy(() => {
      const p = tf.tensor4d(values, [1, 3, 224, 224]);
      return tiny.model.scoreTensor(tiny.ids, tiny.mask, space === 'raw' ? normalizePixels(p) : p).dataSync()[0]!;
    });
  }

  /** Central difference of the reward along `direction` (float64 arithmetic on the float32 rewards). */
  function finiteDifference(at: Float32Array, direction: Float32Array, eps: number, space: 'normalized' | 'raw'): number {
    const plus = at.map((v, i) => v + eps * direction[i]!);
    const minus = at.map((v, i) => v - eps * direction[i]!);
    return (reward(plus, space) - reward(minus, space)) / (2 * eps);
  }

  /** Indices of the k largest |gradient| entries: the pixels whose effect is well above float32 noise. */
  function topPixels(gradient: Float32Array, k: number): number[] {
    return Array.from(gradient.keys()).sort((a, b) => Math.abs(gradient[b]!) - Math.abs(gradient[a]!)).slice(0, k);
  }

  function relativeError(analytic: number, numeric: number): number {
    return Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric));
  }

  function check(at: Float32Array, gradient: Float32Array, eps: number, space: 'normalized' | 'raw'): number[] {
    const errors: number[] = [];
    for (const i of topPixels(gradient, 4)) {
      const direction = new Float32Array(at.length);
      direction[i] = 1;
      errors.push(relativeError(gradient[i]!, finiteDifference(at, direction, eps, space)));
    }
    // one random direction over every pixel: g·d against the difference quotient
    const rng = new SeededRandom(5);
    const direction = Float32Array.from({ length: at.length }, () => rng.next() - 0.5);
    const analytic = gradient.reduce((acc, g, i) => acc + g * direction[i]!, 0);
    errors.push(relativeError(analytic, finiteDifference(at, direction, eps, space)));
    return errors;
  }

  it('d reward / d normalised pixels: 4 pixels and a random direction within 1e-2 relative error', async function () {
    const before = tf.memory().numTensors;
    const { rewards, gradient } = await rewardGradient(tiny.model, tiny.ids, tiny.mask, tiny.pixels, 'normalized');
    const at = tiny.pixels.dataSync() as Float32Array;
    expect(rewards[0]).to.be.closeTo(reward(at, 'normalized'), 1e-6);
    const g = gradient.dataSync() as Float32Array;
    gradient.dispose();
    const errors = check(at, g, 5e-2, 'normalized');
    console.log(`      relative errors: ${errors.map((e) => e.toExponential(2)).join(', ')}`);
    for (const e of errors) expect(e).to.be.at.most(1e-2);
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('d reward / d raw [0,1] pixels: chain rule through the normalisation, and finite differences', async function () {
    const raw = tf.tidy(() => tiny.pixels.mul(tf.tensor4d(CLIP_STD.map(Math.fround), [1, 3, 1, 1])).add(tf.tensor4d(CLIP_MEAN.map(Math.fround), [1, 3, 1, 1]))) as tf.Tensor4D;
    const viaRaw = await rewardGradient(tiny.model, tiny.ids, tiny.mask, raw, 'raw');
    const viaNormalized = await rewardGradient(tiny.model, tiny.ids, tiny.mask, tiny.pixels, 'normalized');
    expect(viaRaw.rewards[0]).to.be.closeTo(viaNormalized.rewards[0]!, 1e-5);
    const gRaw = viaRaw.gradient.dataSync() as Float32Array;
    const gNorm = viaNormalized.gradient.dataSync() as Float32Array;
    // d/draw = d/dnormalised / std[c]
    let worst = 0;
    const scale = gNorm.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < gRaw.length; i++) {
      worst = Math.max(worst, Math.abs(gRaw[i]! - gNorm[i]! / CLIP_STD[Math.floor(i / PLANE)]!));
    }
    expect(worst / scale).to.be.lessThan(1e-5);
    const errors = check(raw.dataSync() as Float32Array, gRaw, 1e-2, 'raw');
    console.log(`      relative errors: ${errors.map((e) => e.toExponential(2)).join(', ')}`);
    for (const e of errors) expect(e).to.be.at.most(1e-2);
    tf.dispose([raw, viaRaw.gradient, viaNormalized.gradient]);
  });
});
