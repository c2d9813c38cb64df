/**
 * The BLAS kernels of wasm+blas (src/blas/kernels.ts, elementwise.ts) against the same ops on the
 * cpu backend (float64 accumulation): matMul with every transpose and batch form, Linear, LayerNorm,
 * GELU, attention (separate and packed q/k/v, mask, probabilities), and gradients under a tape.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { opsPath } from '../src/ops/dispatch.js';
import { linear } from '../src/ops/linear.js';
import { layerNorm } from '../src/ops/layerNorm.js';
import { gelu } from '../src/ops/gelu.js';
import { multiHeadAttention, packedSelfAttention } from '../src/ops/attention.js';
import { tabulated } from '../src/blas/elementwise.js';
import { elementwiseKind } from '../src/blas/kernels.js';
import { SeededRandom } from '../src/util/random.js';
import { requireBlas } from './helpers/blas.js';
import { maxAbsDiff } from './helpers/assert.js';

type Arrays = { shape: number[]; values: Float32Array }[];

function randomValues(n: number, seed: number, scale = 1): Float32Array {
  const r = new SeededRandom(seed);
  return Float32Array.from({ length: n }, () => (2 * r.next() - 1) * scale);
}

/** Runs `f` on fresh tensors of `inputs` on a backend and returns its outputs as arrays. */
async function on(backend: 'cpu' | 'wasm+blas', inputs: Arrays, f: (...ts: tf.Tensor[]) => tf.Tensor[]): Promise<Arrays> {
  await selectBackend({ backend, log: null });
  return tf.tidy(() => f(...inputs.map((i) => tf.tensor(i.values, i.shape))).map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array })));
}

async function expectSame(inputs: Arrays, f: (...ts: tf.Tensor[]) => tf.Tensor[], tol: number, expectPath?: string): Promise<void> {
  const expected = await on('cpu', inputs, f);
  let path = '';
  const actual = await on('wasm+blas', inputs, (...ts) => { path = opsPath(); return f(...ts); });
  if (expectPath) expect(path).to.equal(expectPath);
  expect(actual.map((a) => a.shape)).to.deep.equal(expected.map((e) => e.shape));
  actual.forEach((a, i) => expect(maxAbsDiff(a.values, expected[i]!.values), `output ${i}`).to.be.at.most(tol));
}

const input = (shape: number[], seed: number, scale = 1) => ({ shape, values: randomValues(shape.reduce((a, b) => a * b, 1), seed, scale) });

describe('BLAS kernels (wasm+blas vs cpu)', function () {
  before(function () { requireBlas(this); });
  after(async () => { await selectBackend({ backend: 'wasm', log: null }); });

  for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    it(`matMul transposeA=${transposeA} transposeB=${transposeB}: 2-D, batched 3-D, and a batch of 1 broadcast`, async () => {
      const a = (batch: number[]) => input([...batch, ...(transposeA ? [7, 5] : [5, 7])], 1);
      const b = (batch: number[]) => input([...batch, ...(transposeB ? [3, 7] : [7, 3])], 2);
      const mm = (x: tf.Tensor, y: tf.Tensor) => [tf.matMul(x, y, transposeA, transposeB)];
      await expectSame([a([]), b([])], mm, 1e-5, 'fused');
      await expectSame([a([2, 3]), b([2, 3])], mm, 1e-5);
      await expectSame([a([4]), b([1])], mm, 1e-5);
      await expectSame([a([1]), b([4])], mm, 1e-5);
    });
  }

  it('linear (bias inside the GEMM), with and without bias, 3-D input', async () => {
    await expectSame([input([2, 9, 16], 3), input([16, 24], 4), input([24], 5)], (x, w, b) => [linear(x as tf.Tensor3D, w as tf.Tensor2D, b as tf.Tensor1D)], 1e-5, 'fused');
    await expectSame([input([9, 16], 3), input([16, 24], 4)], (x, w) => [linear(x as tf.Tensor2D, w as tf.Tensor2D)], 1e-5, 'fused');
  });

  it('the elementwise parts run as WebAssembly SIMD on the wasm heap here (Node >= 16.4 has it; JS loops only without)', () => {
    expect(elementwiseKind()).to.equal('simd');
  });

  it('layerNorm (eps 1e-6 and 1e-12) and exact-erf GELU', async () => {
    for (const eps of [1e-6, 1e-12]) {
      await expectSame([input([3, 5, 64], 6, 3), input([64], 7), input([64], 8)], (x, w, b) => [layerNorm(x, w as tf.Tensor1D, b as tf.Tensor1D, eps)], 1e-5, 'fused');
    }
    await expectSame([input([4, 1000], 9, 8)], (x) => [gelu(x)], 1e-6, 'fused');
  });

  it('attention: separate q/k/v with a mask and probabilities, and packed qkv, batch 2', async () => {
    const mask = { shape: [2, 6], values: Float32Array.from([0, 0, 0, 0, -10000, -10000, 0, 0, 0, 0, 0, -10000]) };
    await expectSame([input([2, 4, 16], 10), input([2, 6, 16], 11), input([2, 6, 16], 12), mask], (q, k, v, m) => {
      const r = multiHeadAttention(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, { numHeads: 4, scale: 0.5, mask: m as tf.Tensor2D, returnProbs: true });
      return [r.context, r.probs!];
    }, 1e-5, 'fused');
    // without probabilities the 1/sum is applied to the context rows instead
    await expectSame([input([2, 4, 16], 10), input([2, 6, 16], 11), input([2, 6, 16], 12), mask], (q, k, v, m) =>
      [multiHeadAttention(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, { numHeads: 4, scale: 0.5, mask: m as tf.Tensor2D }).context], 1e-5, 'fused');
    await expectSame([input([2, 5, 48], 13)], (qkv) => [packedSelfAttention(qkv as tf.Tensor3D, { numHeads: 2, scale: 0.25 }).context], 1e-5, 'fused');
    await expectSame([input([2, 5, 48], 13)], (qkv) => {
      const r = packedSelfAttention(qkv as tf.Tensor3D, { numHeads: 2, scale: 0.25, returnProbs: true });
      return [r.context, r.probs!];
    }, 1e-5, 'fused');
  });

  it('under a gradient tape the ops take the batched path (BLAS BatchMatMul) and give cpu\'s gradients', async () => {
    const f = (x: tf.Tensor, w: tf.Tensor) => {
      const g = tf.grad((xx: tf.Tensor) => {
        const y = gelu(linear(xx as tf.Tensor3D, w as tf.Tensor2D));
        const r = packedSelfAttention(tf.concat([y, y, y], 2) as tf.Tensor3D, { numHeads: 2, scale: 0.5 });
        return r.context.square().sum();
      });
      return [g(x)];
    };
    await expectSame([input([1, 5, 8], 14), input([8, 8], 15)], f, 1e-4);
  });

  it('tabulated erf and exp match float64 references (|error| < 1e-9)', () => {
    let erf = 0;
    let exp = 0;
    for (let i = 0; i <= 100_000; i++) {
      const z = -7 + (14 * i) / 100_000;
      erf = Math.max(erf, Math.abs(tabulated.erf(z) - Math.sign(z) * tabulated.erf64(Math.abs(z))));
      const x = (-30 * i) / 100_000;
      exp = Math.max(exp, Math.abs(tabulated.exp(x) - Math.exp(x)));
    }
    expect(erf).to.be.below(1e-9);
    expect(exp).to.be.below(1e-9);
    // erf64 itself, against published values
    expect(tabulated.erf64(0.5)).to.be.closeTo(0.5204998778130465, 1e-15);
    expect(tabulated.erf64(2)).to.be.closeTo(0.9953222650189527, 1e-14);
    expect(tabulated.erf64(3.5)).to.be.closeTo(0.9999992569016276, 1e-14);
  });
});
