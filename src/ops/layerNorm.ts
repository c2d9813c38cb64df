/**
 * nn.LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * weight + bias, with the biased
 * variance as torch computes it. eps is 1e-6 in the ViT (vit.py: partial(nn.LayerNorm, eps=1e-6))
 * and config.layer_norm_eps = 1e-12 in BERT (med.py BertEmbeddings / BertSelfOutput / BertOutput).
 */
import * as tf from '@tensorflow/tfjs';

export function layerNorm<R extends tf.Rank>(x: tf.Tensor<R>, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor<R> {
  return tf.tidy(() => {
    const axis = x.rank - 1;
    const mean = x.mean(axis, true);
    const centered = x.sub(mean);
    const variance = centered.square().mean(axis, true);
    return centered.mul(variance.add(eps).rsqrt()).mul(weight).add(bias) as tf.Tensor<R>;
  });
}
