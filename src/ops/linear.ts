/**
 * nn.Linear with the weight stored `[in, out]` (transposed once at load), so every product is a
 * plain 2D matMul without transposeB: the only form tfjs-backend-wasm hands to XNNPACK. The bias
 * is added with a plain `add` (a fused bias is wrong on wasm with transposes or batches). On the
 * BLAS path (src/ops/dispatch.ts) one kernel computes x W + b, the bias inside the GEMM.
 */
import * as tf from '@tensorflow/tfjs';
import { FUSED_KERNELS, opsPath } from './dispatch.js';

/** y = x W + b over the last axis of x ([..., in] -> [..., out]). `weight` is [in, out]. */
export function linear<R extends tf.Rank>(x: tf.Tensor<R>, weight: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor<R> {
  return tf.tidy(() => {
    const [inFeatures, outFeatures] = weight.shape;
    const lastDim = x.shape[x.rank - 1];
    if (lastDim !== inFeatures) {
      throw new RangeError(`linear: input width ${lastDim} does not match weight [${inFeatures}, ${outFeatures}]`);
    }
    const rows = x.size / inFeatures;
    const flat = x.rank === 2 ? (x as tf.Tensor2D) : x.reshape([rows, inFeatures]) as tf.Tensor2D;
    let y: tf.Tensor2D;
    if (opsPath() === 'fused') {
      y = tf.engine().runKernel(FUSED_KERNELS.linear, bias ? { x: flat, weight, bias } : { x: flat, weight }, {}) as tf.Tensor2D;
    } else {
      y = tf.matMul(flat, weight);
      if (bias) y = y.add(bias);
    }
    return (x.rank === 2 ? y : y.reshape([...x.shape.slice(0, -1), outFeatures])) as tf.Tensor<R>;
  });
}
