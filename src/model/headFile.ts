/**
 * Head-only safetensors files: the `mlp.layers.{0,2,4,6,7}.{weight,bias}` tensors of an ImageReward
 * checkpoint (same keys, same [out, in] layout as the upstream state_dict), float32, with the
 * training config and metrics as JSON strings in `__metadata__`, and the head's reward scale
 * (RewardScale) unless it keeps the model's. Such a file overlays the head of a
 * base model (`imagereward ... --head head.safetensors`, overlayHead). In memory a head is
 * HeadWeights (the model's layout); the spec's layout step converts at the file boundary only.
 */
import { WeightsError } from '../errors.js';
import type { ImageRewardConfig } from './config.js';
import { headLayerSpecs, headSpec, validateHeadWeights, type HeadWeights } from './head.js';
import { toStoredLayout, toUseLayout, type KeySpec } from './spec.js';
import { widenToFloat32 } from '../weights/dtype.js';
import { SafetensorsReader, writeSafetensors, type TensorData } from '../weights/safetensors.js';
import type { WeightSource } from '../weights/source.js';

export const HEAD_PREFIX = 'mlp.layers.';

/** The head's keys and stored shapes for a config, in checkpoint order. */
export function headKeySpecs(config: ImageRewardConfig): KeySpec[] {
  return [...headSpec(config).keys];
}

/**
 * The reward scale a head file carries: reward = (raw - mean) / std with the mean and std of the
 * head's own raw outputs on its training data (metadata `reward_mean`, `reward_std`), so that 0
 * stays an average image under a fine-tuned head. A file without them keeps the model's constants
 * (upstream's 0.16717 / 1.03334 for ImageReward-v1.0).
 */
export interface RewardScale {
  readonly mean: number;
  readonly std: number;
}

export interface HeadFile {
  readonly weights: HeadWeights;
  readonly metadata: Readonly<Record<string, string>>;
  /** The file's own reward scale, when it has one. */
  readonly rewardScale?: RewardScale;
}

/** The metadata entries of a reward scale. */
export function rewardScaleMetadata(scale: RewardScale): Record<string, string> {
  return { reward_mean: String(scale.mean), reward_std: String(scale.std) };
}

function readRewardScale(path: string, metadata: Readonly<Record<string, string>>): RewardScale | undefined {
  const { reward_mean: meanText, reward_std: stdText } = metadata;
  if (meanText === undefined && stdText === undefined) return undefined;
  const mean = Number(meanText);
  const std = Number(stdText);
  if (meanText === undefined || stdText === undefined || !Number.isFinite(mean) || !(std > 0 && Number.isFinite(std))) {
    throw new WeightsError(`${path}: reward_mean ${JSON.stringify(meanText)} and reward_std ${JSON.stringify(stdText)} in its metadata are not a finite mean and a positive std`);
  }
  return { mean, std };
}

/** `config` with the reward normalisation of `scale` (the head file's), else unchanged. */
export function withRewardScale<C extends ImageRewardConfig>(config: C, scale: RewardScale | undefined): C {
  return scale === undefined ? config : { ...config, head: { ...config.head, rewardMean: scale.mean, rewardStd: scale.std } };
}

/**
 * Reads and validates a head file against a model config: exactly the head keys, each with the
 * checkpoint shape, F32/F16/BF16 (widened to float32), finite.
 */
export function readHeadFile(path: string, config: ImageRewardConfig): HeadFile {
  const reader = SafetensorsReader.open(path);
  try {
    const specs = new Map(headKeySpecs(config).map((s) => [s.key, s]));
    const stored = new Map<string, Float32Array>();
    for (const name of reader.names) {
      const info = reader.info(name);
      const spec = specs.get(name);
      if (!spec) throw new WeightsError(`${path}: not a head tensor: ${name} (a head file holds only ${HEAD_PREFIX}*)`);
      if (JSON.stringify(info.shape) !== JSON.stringify(spec.shape)) {
        throw new WeightsError(`${path}: ${name} has shape ${JSON.stringify(info.shape)}, the model needs ${JSON.stringify(spec.shape)}`);
      }
      if (info.dtype !== 'F32' && info.dtype !== 'F16' && info.dtype !== 'BF16') {
        throw new WeightsError(`${path}: ${name} has dtype ${info.dtype}, expected a float type`);
      }
      const { data } = reader.read(name);
      stored.set(name, Float32Array.from(widenToFloat32(info.dtype, data)));
    }
    const layers = headLayerSpecs(config).map(([w, b]) => {
      const weight = stored.get(w.key);
      const bias = stored.get(b.key);
      if (!weight) throw new WeightsError(`${path}: missing head tensor ${w.key}`);
      if (!bias) throw new WeightsError(`${path}: missing head tensor ${b.key}`);
      return { weight: toUseLayout(w, weight).data, bias };
    });
    const weights = { layers };
    validateHeadWeights(weights, config, path);
    const rewardScale = readRewardScale(path, reader.metadata);
    return { weights, metadata: { ...reader.metadata }, ...(rewardScale ? { rewardScale } : {}) };
  } finally {
    reader.close();
  }
}

/** Writes a head file atomically (float32, checkpoint keys, order and layout); `metadata` values are strings. */
export async function writeHeadFile(path: string, weights: HeadWeights, config: ImageRewardConfig, metadata: Record<string, string>): Promise<void> {
  validateHeadWeights(weights, config, path);
  const entries = headLayerSpecs(config).flatMap(([w, b], j) => [
    { name: w.key, dtype: 'F32' as const, shape: w.shape, data: toStoredLayout(w, weights.layers[j]!.weight) },
    { name: b.key, dtype: 'F32' as const, shape: b.shape, data: weights.layers[j]!.bias },
  ]);
  await writeSafetensors(path, entries, { format: 'pt', ...metadata });
}

/**
 * A WeightSource answering the head keys from `head` (in checkpoint layout, as a file would) and
 * everything else from `base`: the model loads and validates the pair as one checkpoint.
 */
export function overlayHead(base: WeightSource, head: HeadWeights, config: ImageRewardConfig, label = 'head'): WeightSource {
  validateHeadWeights(head, config, 'head');
  const stored = new Map<string, TensorData>();
  headLayerSpecs(config).forEach(([w, b], j) => {
    stored.set(w.key, { dtype: 'F32', shape: [...w.shape], data: toStoredLayout(w, head.layers[j]!.weight) });
    stored.set(b.key, { dtype: 'F32', shape: [...b.shape], data: head.layers[j]!.bias });
  });
  return {
    source: `${base.source ?? '<weights>'} + ${label}`,
    names: [...new Set([...base.names, ...stored.keys()])],
    info: (name) => stored.get(name) ?? base.info(name),
    read: (name) => stored.get(name) ?? base.read(name),
  };
}
