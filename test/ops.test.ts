/** Each op against values worked out by hand (or by a plain-loop reference), on wasm and cpu. */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { linear } from '../src/ops/linear.js';
import { layerNorm } from '../src/ops/layerNorm.js';
import { gelu } from '../src/ops/gelu.js';
import { embedding } from '../src/ops/embedding.js';
import { patchEmbed } from '../src/ops/patchEmbed.js';
import { multiHeadAttention } from '../src/ops/attention.js';

function expectClose(actual: tf.Tensor, expected: number[], tol: number): void {
  const a = Array.from(actual.dataSync());
  expect(a).to.have.length(expected.length);
  a.forEach((v, i) => expect(v, `element ${i}`).to.be.closeTo(expected[i]!, tol));
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`ops (${backend} backend)`, function () {
    before(async function () {
      await selectBackend({ backend, log: null });
    });

    it('linear: x W + b with W stored [in, out], keeping leading dims', function () {
      tf.tidy(() => {
        const w = tf.tensor2d([[1, 0, 1], [0, 1, 1]]); // in = 2, out = 3
        const b = tf.tensor1d([0.5, 0, -1]);
        const x = tf.tensor3d([[[1, 2], [3, -4]]]); // [1, 2, 2]
        const y = linear(x, w, b);
        expect(y.shape).to.deep.equal([1, 2, 3]);
        expectClose(y, [1.5, 2, 2, 3.5, -4, -2], 0);
        expectClose(linear(tf.tensor2d([[1, 2]]), w), [1, 2, 3], 0);
        expect(() => linear(tf.tensor2d([[1, 2, 3]]), w, b)).to.throw(RangeError, /width 3/);
      });
    });

    it('layerNorm: biased variance, eps inside the sqrt, affine after', function () {
      tf.tidy(() => {
        // [1, 2, 3]: mean 2, var 2/3 -> (x - 2) / sqrt(2/3 + eps)
        const s = 1 / Math.sqrt(2 / 3 + 0.1);
        const y = layerNorm(tf.tensor2d([[1, 2, 3], [5, 5, 5]]), tf.tensor1d([2, 2, 2]), tf.tensor1d([1, 0, -1]), 0.1);
        // a constant row normalizes to 0 -> just the bias
        expectClose(y, [1 - 2 * s, 0, -1 + 2 * s, 1, 0, -1], 1e-6);
      });
    });

    it('gelu: the exact erf form, not the tanh approximation', function () {
      tf.tidy(() => {
        // x * Phi(x): Phi(1) = 0.8413447460685429, Phi(2) = 0.9772498680518208, Phi(3) = 0.9986501019683699
        const y = gelu(tf.tensor1d([0, 1, -1, 2, -3, 3]));
        expectClose(y, [0, 0.8413447460685429, -0.15865525393145707, 1.9544997361036416, -0.0040496940948903, 2.9959503059051097], 1e-6);
        // the tanh approximation gives 0.8411919906 at x = 1: far outside this tolerance
        expect(Math.abs(y.dataSync()[1]! - 0.8411919906082768)).to.be.above(1e-4);
      });
    });

    it('embedding: rows by id, any id shape', function () {
      tf.tidy(() => {
        const table = tf.tensor2d([[0, 0.5], [1, 1.5], [2, 2.5]]);
        const y = embedding(tf.tensor2d([[2, 0], [1, 1]], [2, 2], 'int32'), table);
        expect(y.shape).to.deep.equal([2, 2, 2]);
        expectClose(y, [2, 2.5, 0, 0.5, 1, 1.5, 1, 1.5], 0);
        expect(() => embedding(tf.tensor1d([1]), table)).to.throw(TypeError, /int32/);
      });
    });

    it('patchEmbed: stride-p patches in row-major order, channels summed, bias added', function () {
      tf.tidy(() => {
        // 2 channels, 4x4 image, 2x2 patches -> 4 patches; channel 1 is 100 x channel 0.
        const ch0 = Array.from({ length: 16 }, (_, i) => i);
        const pixels = tf.tensor4d([...ch0, ...ch0.map((v) => 100 * v)], [1, 2, 4, 4]);
        // output 0 = sum of channel 0 over the patch; output 1 = the top-left pixel of channel 1
        const filter = tf.buffer([2, 2, 2, 2]);
        for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) filter.set(1, y, x, 0, 0);
        filter.set(1, 0, 0, 1, 1);
        const out = patchEmbed(pixels, filter.toTensor() as tf.Tensor4D, tf.tensor1d([0.5, -1]));
        expect(out.shape).to.deep.equal([1, 4, 2]);
        // patches (row, col): (0,0) = 0,1,4,5; (0,1) = 2,3,6,7; (1,0) = 8,9,12,13; (1,1) = 10,11,14,15
        expectClose(out, [10.5, -1, 18.5, 199, 42.5, 799, 50.5, 999], 1e-4);
      });
    });

    it('multiHeadAttention: one head, additive mask, probabilities', function () {
      tf.tidy(() => {
        const q = tf.tensor3d([[[1, 0]]]);
        const k = tf.tensor3d([[[1, 0], [0, 1]]]);
        const v = tf.tensor3d([[[1, 2], [3, 4]]]);
        const e = Math.E;
        const plain = multiHeadAttention(q, k, v, { numHeads: 1, scale: 1, returnProbs: true });
        expectClose(plain.probs!, [e / (e + 1), 1 / (e + 1)], 1e-6);
        expectClose(plain.context, [(e + 3) / (e + 1), (2 * e + 4) / (e + 1)], 1e-6);
        const scaled = multiHeadAttention(q, k, v, { numHeads: 1, scale: 0.5 });
        expect(scaled.probs).to.equal(undefined);
        const p0 = Math.exp(0.5) / (Math.exp(0.5) + 1);
        expectClose(scaled.context, [p0 + 3 * (1 - p0), 2 * p0 + 4 * (1 - p0)], 1e-6);
        // (1 - 0) * -10000 on key 1: all weight on key 0
        const masked = multiHeadAttention(q, k, v, { numHeads: 1, scale: 1, mask: tf.tensor2d([[0, -10000]]) });
        expectClose(masked.context, [1, 2], 1e-6);
      });
    });

    it('multiHeadAttention: heads split the width, batch items stay apart (vs a plain-loop reference)', function () {
      tf.tidy(() => {
        const [n, len, keys, width, heads] = [2, 3, 4, 4, 2];
        const rand = (count: number, seed: number) => Array.from({ length: count }, (_, i) => Math.sin(seed * 7.1 + i * 1.3));
        const qv = rand(n * len * width, 1);
        const kv = rand(n * keys * width, 2);
        const vv = rand(n * keys * width, 3);
        const maskv = [0, 0, -10000, 0, 0, -10000, 0, 0];
        const got = multiHeadAttention(
          tf.tensor3d(qv, [n, len, width]), tf.tensor3d(kv, [n, keys, width]), tf.tensor3d(vv, [n, keys, width]),
          { numHeads: heads, scale: 0.7, mask: tf.tensor2d(maskv, [n, keys]), returnProbs: true },
        );
        const d = width / heads;
        const context: number[] = [];
        const probs: number[] = new Array(n * heads * len * keys).fill(0);
        for (let b = 0; b < n; b++) {
          for (let i = 0; i < len; i++) {
            for (let h = 0; h < heads; h++) {
              const scores = Array.from({ length: keys }, (_, j) => {
                let s = 0;
                for (let c = 0; c < d; c++) s += qv[(b * len + i) * width + h * d + c]! * kv[(b * keys + j) * width + h * d + c]!;
                return s * 0.7 + maskv[b * keys + j]!;
              });
              const m = Math.max(...scores);
              const ex = scores.map((s) => Math.exp(s - m));
              const z = ex.reduce((a, x) => a + x, 0);
              ex.forEach((x, j) => { probs[((b * heads + h) * len + i) * keys + j] = x / z; });
              for (let c = 0; c < d; c++) context[(b * len + i) * width + h * d + c] = ex.reduce((a, x, j) => a + (x / z) * vv[(b * keys + j) * width + h * d + c]!, 0);
            }
          }
        }
        expect(got.context.shape).to.deep.equal([n, len, width]);
        expect(got.probs!.shape).to.deep.equal([n, heads, len, keys]);
        expectClose(got.context, context, 1e-5);
        expectClose(got.probs!, probs, 1e-6);
      });
    });
  });
}
