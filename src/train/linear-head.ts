/**
 * The reward head as the single linear map it is. Upstream's MLP (ImageReward/ImageReward.py, class
 * MLP) is Linear -> Dropout -> Linear -> Dropout -> Linear -> Dropout -> Linear -> Linear with the
 * ReLUs commented out, so in eval mode raw(x) = x·W0ᵀW1ᵀW2ᵀW3ᵀW4ᵀ + c. Multiplying the weight chain
 * from the 1-wide end first gives the same function (up to float rounding) at O(N·H) per batch
 * instead of O(N·H·1024), and tf autograd then yields exact gradients for every layer cheaply.
 * This is for training on cached features only; scoring uses the model's layer-by-layer head.
 */
import * as tf from '@tensorflow/tfjs';

/** One nn.Linear as y = x·weight + bias: weight [in, out] (the checkpoint's [out, in] transposed), bias [out]. */
export interface LinearTensors {
  readonly weight: tf.Tensor2D;
  readonly bias: tf.Tensor1D;
}

/** The head collapsed to raw(x) = x·weightᵀ + bias, weight a [1, H] row. */
export interface CollapsedHead {
  readonly weight: tf.Tensor2D;
  readonly bias: tf.Scalar;
}

/**
 * `layers` in forward order (mlp.layers.0 first). Differentiable in every weight and bias. The
 * matrix-vector products are written as broadcast multiply + sum over the last axis: their
 * gradients are then element-wise outer products, where matMul's would need transposed products
 * (tfjs-backend-wasm runs those in a scalar fallback, and reduces other axes by transposing).
 */
export function collapseHead(layers: readonly LinearTensors[]): CollapsedHead {
  return tf.tidy(() => {
    const last = layers[layers.length - 1];
    if (!last) throw new Error('collapseHead: no layers');
    // row = W4ᵀ (a [1, 16] row); going backwards, row <- (W_l·rowᵀ)ᵀ and c += row·b_l.
    let row = last.weight.reshape([1, -1]) as tf.Tensor2D;
    let bias: tf.Tensor = last.bias.reshape([]);
    for (let l = layers.length - 2; l >= 0; l--) {
      const layer = layers[l]!;
      bias = bias.add(tf.sum(tf.mul(row.reshape([-1]), layer.bias)));
      row = tf.sum(tf.mul(layer.weight, row), 1).reshape([1, -1]) as tf.Tensor2D;
    }
    return { weight: row, bias: bias as tf.Scalar };
  });
}

/** Raw (un-normalised) rewards [N] of features [N, H]. */
export function rawRewards(head: CollapsedHead, features: tf.Tensor2D): tf.Tensor1D {
  // The [1, H] row reshaped to an [H, 1] column: a plain matMul, no transpose.
  return tf.tidy(() => tf.matMul(features, head.weight.reshape([-1, 1])).reshape([-1]).add(head.bias) as tf.Tensor1D);
}

/** Pairwise margins r(x_better) - r(x_worse) [P] from feature differences [P, H] (the bias cancels). */
export function rewardMargins(head: CollapsedHead, differences: tf.Tensor2D): tf.Tensor1D {
  // multiply + sum rather than matMul: its gradient w.r.t. the weight row stays element-wise
  return tf.tidy(() => tf.sum(tf.mul(differences, head.weight), 1) as tf.Tensor1D);
}
