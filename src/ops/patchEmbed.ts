/**
 * vit.py PatchEmbed: Conv2d(in_chans, embed_dim, kernel_size=patch, stride=patch) on NCHW pixels,
 * then `.flatten(2).transpose(1, 2)` -> [N, (S/p)^2, E] with patches in row-major (y, x) order.
 * tfjs convolves NHWC with filters [p, p, in, out], which keeps the same row-major patch order.
 */
import * as tf from '@tensorflow/tfjs';

/** pixels [N, C, S, S] (NCHW), filter [p, p, C, E] (tfjs layout), bias [E] -> [N, (S/p)^2, E]. */
export function patchEmbed(pixels: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor3D {
  return tf.tidy(() => {
    const [patch, , inChans, embedDim] = filter.shape;
    const [n, c, h, w] = pixels.shape;
    if (c !== inChans || h % patch !== 0 || w % patch !== 0) {
      throw new RangeError(`patchEmbed: pixels [${pixels.shape}] do not fit ${patch}x${patch} patches over ${inChans} channels`);
    }
    const nhwc = pixels.transpose([0, 2, 3, 1]) as tf.Tensor4D;
    const grid = tf.conv2d(nhwc, filter, patch, 'valid');
    return grid.reshape([n, (h / patch) * (w / patch), embedDim]).add(bias) as tf.Tensor3D;
  });
}
