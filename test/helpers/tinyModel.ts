/** The tiny fixture model (tiny/*.json + tiny.safetensors) and golden token inputs, for model tests. */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { fixturePath } from './fixtures.js';
import { makeConfig, parseMedConfig, parseVitConfig, type ImageRewardConfig } from '../../src/model/config.js';
import type { TensorData } from '../../src/weights/safetensors.js';

export const TINY_FIXTURES = ['tiny/tiny.safetensors', 'tiny/golden.safetensors', 'tiny/med_config.json', 'tiny/vit_config.json', 'images/preprocessed.safetensors'];

export function tinyConfig(): ImageRewardConfig {
  return makeConfig(
    parseVitConfig(readFileSync(fixturePath('tiny/vit_config.json'), 'utf8')),
    parseMedConfig(readFileSync(fixturePath('tiny/med_config.json'), 'utf8')),
  );
}

/** Golden data as float32 (int64 token ids and ranks widened to numbers). */
export function asFloat32(t: TensorData): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof BigInt64Array) return Float32Array.from(t.data, Number);
  throw new Error(`unexpected golden dtype ${t.dtype}`);
}

/** An int64 golden [N, L] tensor (input_ids, attention_mask) as an int32 tf tensor. */
export function int32Tensor2d(t: TensorData): tf.Tensor2D {
  return tf.tensor2d(Int32Array.from(t.data as BigInt64Array, Number), t.shape as [number, number], 'int32');
}

/** Preprocessed pixels of the given fixture images as one [N, 3, 224, 224] batch. */
export function pixelBatch(pixels: ReadonlyMap<string, TensorData>, files: readonly string[]): tf.Tensor4D {
  return tf.tidy(() => tf.concat(files.map((f) => {
    const t = pixels.get(f);
    if (!t) throw new Error(`no preprocessed pixels for ${f}`);
    return tf.tensor4d(asFloat32(t), [1, 3, 224, 224]);
  })) as tf.Tensor4D);
}
