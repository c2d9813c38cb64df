/**
 * The reward head of upstream ImageReward/ImageReward.py: MLP = Linear(H,1024), Dropout,
 * Linear(1024,128), Dropout, Linear(128,64), Dropout, Linear(64,16), Linear(16,1) (no activations;
 * dropout is the identity in eval), then reward = (mlp(cls) - mean) / std.
 *
 * Pure functions over a params record so the head can be trained with tf.Variables.
 */
import * as tf from '@tensorflow/tfjs';
import { IMAGEREWARD_V1_HEAD, type HeadConfig } from './config.js';

/**
 * Keyed `mlp.layers.{i}.weight` / `mlp.layers.{i}.bias` for i in HeadConfig.layerIndices.
 * Weights are [in, out] (the transpose of the checkpoint's [out, in]); biases [out].
 */
export type HeadParams = Readonly<Record<string, tf.Tensor>>;

/** Outputs of every Linear of the MLP, in order: [N, 1024], [N, 128], [N, 64], [N, 16], [N, 1]. */
export function applyHeadLayers(params: HeadParams, cls: tf.Tensor2D, head: HeadConfig = IMAGEREWARD_V1_HEAD): tf.Tensor2D[] {
  const outputs: tf.Tensor2D[] = [];
  let x = cls;
  for (const index of head.layerIndices) {
    const weight = params[`mlp.layers.${index}.weight`];
    const bias = params[`mlp.layers.${index}.bias`];
    if (!weight || !bias) throw new RangeError(`applyHead: params lack mlp.layers.${index}.weight or .bias`);
    x = tf.matMul(x, weight as tf.Tensor2D).add(bias);
    outputs.push(x);
  }
  return outputs;
}

/** (mlp(cls) - mean) / std as ImageReward.score: cls [N, H] -> rewards [N]. */
export function normalizeReward(raw: tf.Tensor2D, head: HeadConfig = IMAGEREWARD_V1_HEAD): tf.Tensor1D {
  return tf.tidy(() => raw.reshape([raw.shape[0]]).sub(head.rewardMean).div(head.rewardStd) as tf.Tensor1D);
}

/** cls [N, H] -> normalized rewards [N]. Differentiable w.r.t. params and cls. */
export function applyHead(params: HeadParams, cls: tf.Tensor2D, head: HeadConfig = IMAGEREWARD_V1_HEAD): tf.Tensor1D {
  return tf.tidy(() => {
    const outputs = applyHeadLayers(params, cls, head);
    return normalizeReward(outputs[outputs.length - 1]!, head);
  });
}
