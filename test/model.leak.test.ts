/** No tensor outlives a forward: the live tensor count after 50 forwards equals the count after 1. */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { requireFixtures } from './helpers/fixtures.js';
import { TINY_FIXTURES, loadTinyCase, type TinyCase } from './helpers/tinyModel.js';
import { selectBackend } from '../src/backend.js';
import type { ImageRewardModel } from '../src/model/imagereward.js';

describe('model tensor leaks (wasm backend)', function () {
  let tiny: TinyCase;
  let model: ImageRewardModel;
  let ids: tf.Tensor2D;
  let mask: tf.Tensor2D;
  let pixels: tf.Tensor4D;

  before(async function () {
    requireFixtures(this, ...TINY_FIXTURES);
    await selectBackend({ backend: 'wasm', log: null });
    tiny = loadTinyCase(1, ['1.webp', '3.webp']);
    ({ model, ids, mask, pixels } = tiny);
  });

  after(() => tiny?.dispose());

  const forwards: Record<string, () => void> = {
    scoreTensor: () => model.scoreTensor(ids, mask, pixels).dispose(),
    'encodeImages + features + rewardFromFeatures': () => {
      const embeds = model.encodeImages(pixels);
      const cls = model.features(ids, mask, embeds);
      [embeds, cls, model.rewardFromFeatures(cls)].forEach((t) => t.dispose());
    },
    'forwardIntermediates with attentions': () => {
      for (const t of model.forwardIntermediates(ids, mask, pixels, { attentions: true }).values()) t.dispose();
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
    const wrong = mask.slice([0, 0], [1, 10]) as tf.Tensor2D;
    expect(() => model.forwardIntermediates(ids, wrong, pixels)).to.throw(/does not match/);
    wrong.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });
});
