/**
 * No tensor outlives a forward: the live tensor count after 50 forwards equals the count after 1,
 * and the wasm heap does not grow after the first forward (plain wasm and the BLAS kernels).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { useTinyCase } from './helpers/tinyModel.js';

/** The wasm heap size: it never shrinks, so growth after the first forward would be a leak on the heap. */
function heapBytes(): number {
  return (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
}

for (const backend of ['wasm', 'wasm+blas'] as const) {
  describe(`model tensor leaks (${backend} backend)`, function () {
    const tiny = useTinyCase(backend, 1, ['1.webp', '3.webp']);
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
      it(`${name}: numTensors and the wasm heap after 50 forwards == after 1`, function () {
        const before = tf.memory().numTensors;
        forward();
        const afterOne = tf.memory().numTensors;
        const heapAfterOne = heapBytes();
        for (let i = 1; i < 50; i++) forward();
        expect(tf.memory().numTensors).to.equal(afterOne);
        expect(afterOne).to.equal(before);
        expect(heapBytes(), 'wasm heap bytes after 50 forwards vs after 1').to.equal(heapAfterOne);
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
}
