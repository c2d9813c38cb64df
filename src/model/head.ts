/**
 * The reward head of upstream ImageReward/ImageReward.py: MLP = Linear(H,1024), Dropout,
 * Linear(1024,128), Dropout, Linear(128,64), Dropout, Linear(64,16), Linear(16,1) (no activations;
 * dropout is the identity in eval), then reward = (mlp(cls) - mean) / std.
 *
 * Pure functions over typed params so the head can be trained with tf.Variables.
 */
import * as tf from '@tensorflow/tfjs';
import { WeightsError } from '../errors.js';
import type { HeadConfig, ImageRewardConfig } from './config.js';
import { linear as linearSpec, list, struct, type KeySpec, type LinearParams, type ParamsOf } from './spec.js';
import { linear } from '../ops/linear.js';

/** `mlp.layers.{i}` for i in HeadConfig.layerIndices (the Linears of the nn.Sequential), in order. */
export function headSpec(config: Pick<ImageRewardConfig, 'med' | 'head'>) {
  const { layerSizes, layerIndices } = config.head;
  const inputs = [config.med.hiddenSize, ...layerSizes.slice(0, -1)];
  return struct({ layers: list(layerSizes.length, (j) => linearSpec(`mlp.layers.${layerIndices[j]}`, layerSizes[j]!, inputs[j]!)) });
}

/** The head's Linears in forward order, weights [in, out]. */
export type HeadParams = ParamsOf<ReturnType<typeof headSpec>>;

/**
 * The head as plain arrays, in the layout the model uses (the same as HeadParams): per Linear of
 * headSpec, in forward order, weight [in, out] row-major and bias [out]. Training, head files, the
 * CLI and `--head` all pass this; only head files convert it (to the checkpoint's [out, in]).
 */
export interface HeadWeights {
  readonly layers: readonly { readonly weight: Float32Array; readonly bias: Float32Array }[];
}

/** The key specs of each head layer: [weight, bias] per Linear, in forward order. */
export function headLayerSpecs(config: Pick<ImageRewardConfig, 'med' | 'head'>): [KeySpec, KeySpec][] {
  const keys = headSpec(config).keys;
  return Array.from({ length: keys.length / 2 }, (_, j) => [keys[2 * j]!, keys[2 * j + 1]!]);
}

/** Checks that `weights` has the config's head layers, each with its sizes and finite values; `source` names it in errors. */
export function validateHeadWeights(weights: HeadWeights, config: Pick<ImageRewardConfig, 'med' | 'head'>, source: string): void {
  const specs = headLayerSpecs(config);
  if (weights.layers.length !== specs.length) throw new WeightsError(`${source}: ${weights.layers.length} head layers, the model has ${specs.length}`);
  specs.forEach(([w, b], j) => {
    const layer = weights.layers[j]!;
    for (const [spec, data] of [[w, layer.weight], [b, layer.bias]] as const) {
      const size = spec.shape.reduce((x, y) => x * y, 1);
      if (data.length !== size) throw new WeightsError(`${source}: ${spec.key} has ${data.length} values, expected shape ${JSON.stringify(spec.shape)}`);
      const bad = data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new WeightsError(`${source}: ${spec.key} has a non-finite value (${data[bad]}) at index ${bad}`);
    }
  });
}

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
