/**
 * The reward head of upstream ImageReward/ImageReward.py: MLP = Linear(H,1024), Dropout,
 * Linear(1024,128), Dropout, Linear(128,64), Dropout, Linear(64,16), Linear(16,1) (no activations;
 * dropout is the identity in eval), then reward = (mlp(cls) - mean) / std.
 *
 * Pure functions over typed params so the head can be trained with tf.Variables.
 */
import * as tf from '@tensorflow/tfjs';
import type { HeadConfig, ImageRewardConfig } from './config.js';
import { linear as linearSpec, list, struct, type LinearParams, type ParamsOf } from './spec.js';
import { linear } from '../ops/linear.js';

/** `mlp.layers.{i}` for i in HeadConfig.layerIndices (the Linears of the nn.Sequential), in order. */
export function headSpec(config: Pick<ImageRewardConfig, 'med' | 'head'>) {
  const { layerSizes, layerIndices } = config.head;
  const inputs = [config.med.hiddenSize, ...layerSizes.slice(0, -1)];
  return struct({ layers: list(layerSizes.length, (j) => linearSpec(`mlp.layers.${layerIndices[j]}`, layerSizes[j]!, inputs[j]!)) });
}

/** The head's Linears in forward order, weights [in, out]. */
export type HeadParams = ParamsOf<ReturnType<typeof headSpec>>;

/** Outputs of every Linear of the MLP, in order: [N, 1024], [N, 128], [N, 64], [N, 16], [N, 1]. */
export function applyHeadLayers(params: { readonly layers: readonly LinearParams[] }, cls: tf.Tensor2D): tf.Tensor2D[] {
  const outputs: tf.Tensor2D[] = [];
  let x = cls;
  for (const layer of params.layers) {
    x = linear(x, layer.weight, layer.bias); // (N, in) -> (N, out)
    outputs.push(x);
  }
  return outputs;
}

/** (mlp(cls) - mean) / std as ImageReward.score: raw [N, 1] -> rewards [N]. */
export function normalizeReward(raw: tf.Tensor2D, head: HeadConfig): tf.Tensor1D {
  return tf.tidy(() => raw.reshape([raw.shape[0]]).sub(head.rewardMean).div(head.rewardStd) as tf.Tensor1D);
}

/** cls [N, H] -> normalized rewards [N]. Differentiable w.r.t. params and cls. */
export function applyHead(params: { readonly layers: readonly LinearParams[] }, cls: tf.Tensor2D, head: HeadConfig): tf.Tensor1D {
  return tf.tidy(() => {
    const outputs = applyHeadLayers(params, cls);
    return normalizeReward(outputs[outputs.length - 1]!, head);
  });
}
