/**
 * The exact (erf) GELU of torch nn.GELU() (vit.py Mlp) and of HF `gelu` (med.py, hidden_act "gelu"):
 * x * 0.5 * (1 + erf(x / sqrt(2))). Not the tanh approximation. tfjs computes erf with the
 * Abramowitz-Stegun 7.1.26 polynomial (|error| <= 1.5e-7), far below the 1e-4 parity bar; the BLAS
 * path's one-pass kernel uses the same polynomial.
 */
import * as tf from '@tensorflow/tfjs';
import { FUSED_KERNELS, opsPath } from './dispatch.js';

export function gelu<T extends tf.Tensor>(x: T): T {
  if (opsPath() === 'fused') return tf.engine().runKernel(FUSED_KERNELS.gelu, { x }, {}) as T;
  return tf.tidy(() => x.mul(0.5).mul(x.mul(Math.SQRT1_2).erf().add(1)) as T);
}
