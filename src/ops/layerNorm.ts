/**
 * nn.LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * weight + bias, with the biased
 * variance as torch computes it. eps is 1e-6 in the ViT (vit.py: partial(nn.LayerNorm, eps=1e-6))
 * and config.layer_norm_eps = 1e-12 in BERT (med.py BertEmbeddings / BertSelfOutput / BertOutput).
 * On the BLAS path one kernel makes a single pass per row.
 */
import * as tf from '@tensorflow/tfjs';
import { FUSED_KERNELS, opsPath } from './dispatch.js';

export function layerNorm<R extends tf.Rank>(x: tf.Tensor<R>, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor<R> {
  if (opsPath() === 'fused') {
    if (x.shape[x.rank - 1] !== weight.size || bias.size !== weight.size) {
      throw new RangeError(`layerNorm: input [${x.shape}] does not fit weight [${weight.shape}] and bias [${bias.shape}]`);
    }
    return tf.engine().runKernel(FUSED_KERNELS.layerNorm, { x, weight, bias }, { eps }) as tf.Tensor<R>;
  }
  return tf.tidy(() => {
    const axis = x.rank - 1;
    const mean = x.mean(axis, true);
    const centered = x.sub(mean);
    const variance = centered.square().mean(axis, true);
    return centered.mul(variance.add(eps).rsqrt()).mul(weight).add(bias) as tf.Tensor<R>;
  });
}
