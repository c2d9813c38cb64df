/**
 * Head-only safetensors files: the `mlp.layers.{0,2,4,6,7}.{weight,bias}` tensors of an ImageReward
 * checkpoint (same keys, same [out, in] layout as the upstream state_dict), float32, with the
 * training config and metrics as JSON strings in `__metadata__`. Such a file overlays the head of a
 * base model (`imagereward ... --head head.safetensors`).
 */
import { WeightsError } from '../errors.js';
import type { ImageRewardConfig } from './config.js';
import { headSpec, type HeadParams } from './head.js';
import { toStoredLayout, type KeySpec } from './spec.js';
import { widenToFloat32 } from '../weights/dtype.js';
import { SafetensorsReader, writeSafetensors } from '../weights/safetensors.js';

/** Head tensors by checkpoint key, float32, checkpoint layout (Linear weight [out, in]). */
export type HeadWeights = ReadonlyMap<string, Float32Array>;

export const HEAD_PREFIX = 'mlp.layers.';

/** The head's keys and shapes for a config, in checkpoint order. */
export function headKeySpecs(config: ImageRewardConfig): KeySpec[] {
  return [...headSpec(config).keys];
}

/** Checks that `weights` has exactly the head keys of `config`, with the right sizes and finite values. */
export function validateHeadWeights(weights: HeadWeights, config: ImageRewardConfig, source: string): void {
  const specs = headKeySpecs(config);
  const expected = new Set(specs.map((s) => s.key));
  const extra = [...weights.keys()].filter((k) => !expected.has(k));
  if (extra.length) throw new WeightsError(`${source}: not a head tensor: ${extra.join(', ')} (a head file holds only ${HEAD_PREFIX}*)`);
  for (const spec of specs) {
    const data = weights.get(spec.key);
    if (!data) throw new WeightsError(`${source}: missing head tensor ${spec.key}`);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new WeightsError(`${source}: ${spec.key} has ${data.length} values, expected shape ${JSON.stringify(spec.shape)}`);
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new WeightsError(`${source}: ${spec.key} has a non-finite value (${data[bad]}) at index ${bad}`);
  }
}

export interface HeadFile {
  readonly weights: HeadWeights;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Reads and validates a head file against a model config: exactly the head keys, each with the
 * checkpoint shape, F32/F16/BF16 (widened to float32), finite.
 */
export function readHeadFile(path: string, config: ImageRewardConfig): HeadFile {
  const reader = SafetensorsReader.open(path);
  try {
    const specs = new Map(headKeySpecs(config).map((s) => [s.key, s]));
    const weights = new Map<string, Float32Array>();
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
      weights.set(name, Float32Array.from(widenToFloat32(info.dtype, data)));
    }
    validateHeadWeights(weights, config, path);
    return { weights, metadata: { ...reader.metadata } };
  } finally {
    reader.close();
  }
}

/** Writes a head file atomically (float32, checkpoint order); `metadata` values are strings. */
export async function writeHeadFile(
  path: string,
  weights: HeadWeights,
  config: ImageRewardConfig,
  metadata: Record<string, string>,
): Promise<void> {
  validateHeadWeights(weights, config, path);
  await writeSafetensors(
    path,
    headKeySpecs(config).map((s) => ({ name: s.key, dtype: 'F32' as const, shape: s.shape, data: weights.get(s.key)! })),
    { format: 'pt', ...metadata },
  );
}

/** Head weights in checkpoint layout from typed head params (ImageRewardModel.headParams(), Linear weights [in, out]). */
export function headWeightsFromParams(params: HeadParams, config: ImageRewardConfig): HeadWeights {
  const specs = headKeySpecs(config);
  const tensors = params.layers.flatMap((l) => [l.weight, l.bias]);
  if (tensors.length !== specs.length) throw new WeightsError(`model head has ${params.layers.length} layers, the config ${specs.length / 2}`);
  const weights = new Map<string, Float32Array>();
  specs.forEach((spec, i) => {
    const t = tensors[i];
    if (!t) throw new WeightsError(`model head params lack ${spec.key}`);
    weights.set(spec.key, Float32Array.from(toStoredLayout(spec, t.dataSync() as Float32Array)));
  });
  validateHeadWeights(weights, config, 'model head');
  return weights;
}
