/**
 * The reward head as the single linear map it is. Upstream's MLP (ImageReward/ImageReward.py, class
 * MLP) is Linear -> Dropout -> Linear -> Dropout -> Linear -> Dropout -> Linear -> Linear with the
 * ReLUs commented out, so in eval mode raw(x) = x·W0ᵀW1ᵀW2ᵀW3ᵀW4ᵀ + c. Multiplying the weight chain
 * from the 1-wide end first gives the same function (up to float rounding) at O(N·H) per batch
 * instead of O(N·H·1024), and tf autograd then yields exact gradients for every layer cheaply.
 * This is for training on cached features only; scoring uses the model's layer-by-layer head.
 */
import * as tf from '@tensorflow/tfjs';

/** One nn.Linear in checkpoint layout: weight [out, in], bias [out]. */
export interface LinearTensors {
  readonly weight: tf.Tensor2D;
  readonly bias: tf.Tensor1D;
}

/** The head collapsed to raw(x) = x·weightᵀ + bias, weight [1, H]. */
export interface CollapsedHead {
  readonly weight: tf.Tensor2D;
  readonly bias: tf.Scalar;
}

/** `layers` in forward order (mlp.layers.0 first). Differentiable in every weight and bias. */
export function collapseHead(layers: readonly LinearTensors[]): CollapsedHead {
  return tf.tidy(() => {
    const last = layers[layers.length - 1];
    if (!last) throw new Error('collapseHead: no layers');
    // row = W4 (a [1, 16] row); going backwards, row <- row·W_l and c += row·b_l.
    let row: tf.Tensor2D = last.weight;
    let bias: tf.Tensor = last.bias.reshape([]);
    for (let l = layers.length - 2; l >= 0; l--) {
      const layer = layers[l]!;
      bias = bias.add(tf.dot(row.reshape([-1]), layer.bias));
      row = tf.matMul(row, layer.weight);
    }
    return { weight: row, bias: bias as tf.Scalar };
  });
}

/** Raw (un-normalised) rewards [N] of features [N, H]. */
export function rawRewards(head: CollapsedHead, features: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.matMul(features, head.weight, false, true).reshape([-1]).add(head.bias) as tf.Tensor1D);
}
