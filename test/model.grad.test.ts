/** scoreTensor is differentiable end to end: tf.grad w.r.t. the pixels (finite-difference checks live elsewhere). */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { useTinyCase } from './helpers/tinyModel.js';
import { applyHead } from '../src/model/head.js';

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`model gradients (${backend} backend)`, function () {
    const tiny = useTinyCase(backend, 0, ['1.webp', '2.webp']);

    it('tf.grad of the summed rewards w.r.t. pixels: right shape, finite, non-zero, per image, no leaks', function () {
      const before = tf.memory().numTensors;
      const grad = tf.grad((px) => tiny.model.scoreTensor(tiny.ids, tiny.mask, px as tf.Tensor4D).sum())(tiny.pixels) as tf.Tensor4D;
      const values = grad.dataSync();
      expect(grad.shape).to.deep.equal([2, 3, 224, 224]);
      expect(values.every(Number.isFinite)).to.equal(true);
      // each image gets its own non-zero gradient
      const perImage = values.length / 2;
      for (let b = 0; b < 2; b++) {
        let norm = 0;
        for (let i = b * perImage; i < (b + 1) * perImage; i++) norm += values[i]! ** 2;
        expect(norm, `image ${b}`).to.be.above(0);
      }
      grad.dispose();
      expect(tf.memory().numTensors).to.equal(before);
    });

    it('applyHead is differentiable w.r.t. variables built from headWeights()', async function () {
      const layers = (await tiny.model.headWeights()).layers.map((l) => ({
        weight: tf.variable(tf.tensor2d(l.weight, [l.weight.length / l.bias.length, l.bias.length])),
        bias: tf.variable(tf.tensor1d(l.bias)),
      }));
      const vars = layers.flatMap((l) => [l.weight, l.bias]);
      const cls = tf.randomNormal([3, 64], 0, 1, 'float32', 7) as tf.Tensor2D;
      try {
        const direct = tiny.model.forwardHead(cls);
        const viaVars = applyHead({ layers }, cls, tiny.model.config.head);
        expect(Array.from(viaVars.dataSync())).to.deep.equal(Array.from(direct.dataSync()));
        const { grads } = tf.variableGrads(() => applyHead({ layers }, cls, tiny.model.config.head).sum() as tf.Scalar, vars);
        expect(Object.keys(grads)).to.have.length(10);
        expect(Object.values(grads).every((g) => g.dataSync().every(Number.isFinite))).to.equal(true);
        [direct, viaVars, ...Object.values(grads)].forEach((t) => t.dispose());
      } finally {
        tf.dispose([cls, ...vars]);
      }
    });
  });
}
