/** No tensor outlives a forward: the live tensor count after 50 forwards equals the count after 1. */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { useTinyCase } from './helpers/tinyModel.js';

describe('model tensor leaks (wasm backend)', function () {
  const tiny = useTinyCase('wasm', 1, ['1.webp', '3.webp']);

  const forwards: Record<string, () => void> = {
    scoreTensor: () => tiny.model.scoreTensor(tiny.ids, tiny.mask, tiny.pixels).dispose(),
    'encodeImages + features + rewardFromFeatures': () => {
      const embeds = tiny.model.encodeImages(tiny.pixels);
      const cls = tiny.model.features(tiny.ids, tiny.mask, embeds);
      [embeds, cls, tiny.model.rewardFromFeatures(cls)].forEach((t) => t.dispose());
    },
    'forwardIntermediates with attentions': () => {
      for (const t of tiny.model.forwardIntermediates(tiny.ids, tiny.mask, tiny.pixels, { attentions: true }).values()) t.dispose();
    },
  };

  for (const [name, forward] of Object.entries(forwards)) {
    it(`${name}: numTensors after 50 forwards == after 1`, function () {
      const before = tf.memory().numTensors;
      forward();
      const afterOne = tf.memory().numTensors;
      for (let i = 1; i < 50; i++) forward();
      expect(tf.memory().numTensors).to.equal(afterOne);
      expect(afterOne).to.equal(before);
    });
  }

  it('a failing forward (bad input) leaves no tensors behind', function () {
    const before = tf.memory().numTensors;
    const wrong = tiny.mask.slice([0, 0], [1, 10]) as tf.Tensor2D;
    expect(() => tiny.model.forwardIntermediates(tiny.ids, wrong, tiny.pixels)).to.throw(/does not match/);
    wrong.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });
});
