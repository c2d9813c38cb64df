/**
 * Gradients of the reward with respect to the image, for reward-guided generation (ReFL). Upstream
 * ImageReward.score_gard(prompt_ids, prompt_attention_mask, image) returns differentiable rewards of
 * already-normalised pixels; ReFL (ImageReward/ReFL.py) feeds it decoded images in [0, 1] after
 * torchvision Normalize(CLIP mean/std). Both spaces are offered here.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors.js';
import { CLIP_MEAN, CLIP_STD } from '../image/index.js';

/** torchvision Normalize(CLIP_MEAN, CLIP_STD) on NCHW [0, 1] pixels, as tensor ops (differentiable). */
export function normalizePixels(raw: tf.Tensor4D): tf.Tensor4D {
  if (raw.rank !== 4 || raw.shape[1] !== 3) throw new InputError(`raw pixels must be [N, 3, S, S], got [${raw.shape}]`);
  return tf.tidy(() => {
    const mean = tf.tensor4d(CLIP_MEAN.map(Math.fround), [1, 3, 1, 1]);
    const std = tf.tensor4d(CLIP_STD.map(Math.fround), [1, 3, 1, 1]);
    return raw.sub(mean).div(std) as tf.Tensor4D;
  });
}

/** What the gradient needs of a model: ImageRewardModel.scoreTensor. */
export interface DifferentiableScorer {
  scoreTensor(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, pixels: tf.Tensor4D): tf.Tensor1D;
}

/** `normalized`: pixels as the model takes them; `raw`: [0, 1] RGB, normalised inside the graph. */
export type PixelSpace = 'normalized' | 'raw';

export interface RewardGradient {
  /** Normalised rewards [N]. */
  readonly rewards: Float32Array;
  /** d(sum of rewards)/d(pixels), the shape of `pixels`; each image's slice is its own reward's gradient. Caller disposes. */
  readonly gradient: tf.Tensor4D;
}

/** Rewards of N (prompt, image) pairs and their gradient with respect to the pixels in `space`. */
export async function rewardGradient(
  model: DifferentiableScorer,
  inputIds: tf.Tensor2D,
  attentionMask: tf.Tensor2D,
  pixels: tf.Tensor4D,
  space: PixelSpace = 'normalized',
): Promise<RewardGradient> {
  const rewardsOf = (p: tf.Tensor4D): tf.Tensor1D =>
    space === 'raw' ? model.scoreTensor(inputIds, attentionMask, normalizePixels(p)) : model.scoreTensor(inputIds, attentionMask, p);
  let rewards: tf.Tensor1D | undefined;
  const { value, grad } = tf.valueAndGrad((p: tf.Tensor) => {
    rewards = tf.keep(rewardsOf(p as tf.Tensor4D)); // read after the gradient: webgpu in Node has no synchronous readback
    return rewards.sum() as tf.Scalar;
  })(pixels);
  value.dispose();
  try {
    return { rewards: Float32Array.from((await rewards!.data()) as Float32Array), gradient: grad as tf.Tensor4D };
  } finally {
    rewards!.dispose();
  }
}
