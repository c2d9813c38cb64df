/**
 * No tensor outlives a forward: the live tensor count after 1 and after 50 more forwards equals the
 * count before, and the wasm heap does not grow over 50 forwards once the allocator has warmed up
 * (plain wasm and the BLAS kernels).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { useTinyCase } from './helpers/tinyModel.js';

/** The wasm heap size: it never shrinks, so growth after the warm-up would be a leak on the heap. */
function heapBytes(): number {
  return (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
}

/**
 * Forwards before the heap baseline. On a fresh backend (this file run alone) the heap grows at the
 * first and the second forward, then stays flat through 120; one more for margin. In the full suite
 * earlier files have already grown it.
 */
const WARM_UP = 3;

for (const backend of ['wasm', 'wasm+blas'] as const) {
  describe(`model tensor leaks (${backend} backend)`, function () {
    const tiny = useTinyCase(backend, 1, ['1.webp', '3.webp']);
    const forwards: Record<string, () => void> = {
      scoreTensor: () => tiny.model.scoreTensor(tiny.ids, tiny.mask, tiny.pixels).dispose(),
      'encodeImages + features + forwardHead': () => {
        const embeds = tiny.model.encodeImages(tiny.pixels);
        const cls = tiny.model.features(tiny.ids, tiny.mask, embeds);
        [embeds, cls, tiny.model.forwardHead(cls)].forEach((t) => t.dispose());
      },
      'forwardIntermediates with attentions': () => {
        for (const t of tiny.model.forwardIntermediates(tiny.ids, tiny.mask, tiny.pixels, { attentions: true }).values()) t.dispose();
      },
    };

    for (const [name, forward] of Object.entries(forwards)) {
      it(`${name}: numTensors after 1 and after 50 more forwards == before; the wasm heap after 50 more == after ${WARM_UP}`, function () {
        const before = tf.memory().numTensors;
        forward();
        const afterOne = tf.memory().numTensors;
        for (let i = 1; i < WARM_UP; i++) forward();
        const heapAfterWarmUp = heapBytes();
        for (let i = 0; i < 50; i++) forward();
        expect(tf.memory().numTensors).to.equal(afterOne);
        expect(afterOne).to.equal(before);
        expect(heapBytes(), `wasm heap bytes after ${WARM_UP} + 50 forwards vs after ${WARM_UP}`).to.equal(heapAfterWarmUp);
      });
    }

    it('a forward rejected by its input checks leaves no tensors behind', function () {
      const wrong = tiny.mask.slice([0, 0], [1, 10]) as tf.Tensor2D;
      const before = tf.memory().numTensors;
      expect(() => tiny.model.forwardIntermediates(tiny.ids, wrong, tiny.pixels)).to.throw(/does not match/);
      expect(tf.memory().numTensors).to.equal(before);
      wrong.dispose();
    });

    // Fault injection: the k-th kernel of a forward throws, for k spread over the whole forward (ViT
    // blocks, BERT layers, CLS slice, head), so every tensor held between tidies is exercised.
    const failing: Record<string, () => void> = {
      scoreTensor: () => tiny.model.scoreTensor(tiny.ids, tiny.mask, tiny.pixels).dispose(),
      'forwardIntermediates with attentions': () => {
        for (const t of tiny.model.forwardIntermediates(tiny.ids, tiny.mask, tiny.pixels, { attentions: true }).values()) t.dispose();
      },
    };
    for (const [name, forward] of Object.entries(failing)) {
      it(`${name}: a kernel failing anywhere in the forward leaves no tensors behind`, function () {
        const kernels = countKernels(forward);
        expect(kernels, 'kernels per forward').to.be.above(20);
        const positions = new Set(Array.from({ length: 40 }, (_, i) => 1 + Math.floor((i * (kernels - 1)) / 39)));
        for (const k of positions) {
          const before = tf.memory().numTensors;
          expect(() => failAtKernel(k, forward), `kernel ${k} of ${kernels}`).to.throw(InjectedFault);
          expect(tf.memory().numTensors, `tensors after a failure at kernel ${k} of ${kernels}`).to.equal(before);
        }
      });
    }
  });
}

class InjectedFault extends Error {}

type RunKernel = (...args: unknown[]) => unknown;
const engine = tf.engine() as unknown as { runKernel: RunKernel };

/** Runs `f` with tf's kernel entry point wrapped by `wrap`, restoring it afterwards. */
function withKernelHook(wrap: (run: RunKernel) => RunKernel, f: () => void): void {
  const original = engine.runKernel;
  engine.runKernel = wrap(original);
  try {
    f();
  } finally {
    engine.runKernel = original;
  }
}

function countKernels(f: () => void): number {
  let n = 0;
  withKernelHook((run) => function (this: unknown, ...args) { n++; return run.apply(this, args); }, f);
  return n;
}

/** Runs `f`, making its k-th kernel call (1-based) throw InjectedFault. */
function failAtKernel(k: number, f: () => void): void {
  let n = 0;
  withKernelHook((run) => function (this: unknown, ...args) {
    if (++n === k) throw new InjectedFault(`injected failure at kernel ${k}`);
    return run.apply(this, args);
  }, f);
}
