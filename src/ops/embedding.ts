/** nn.Embedding: rows of `weight` [vocab, H] picked by integer ids of any shape -> [...ids.shape, H]. */
import * as tf from '@tensorflow/tfjs';

export function embedding(ids: tf.Tensor, weight: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => {
    if (ids.dtype !== 'int32') throw new TypeError(`embedding: ids must be int32, got ${ids.dtype}`);
    const rows = tf.gather(weight, ids.flatten());
    return rows.reshape([...ids.shape, weight.shape[1]]);
  });
}
