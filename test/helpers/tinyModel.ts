/** The tiny fixture model (tiny/*.json + tiny.safetensors) and golden token inputs, for model tests. */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { fixturePath, requireFixtures } from './fixtures.js';
import { requireBlas } from './blas.js';
import { selectBackend, type BackendName } from '../../src/backend.js';
import { makeConfig, parseMedConfig, parseVitConfig, type ImageRewardConfig } from '../../src/model/config.js';
import { readSafetensors, type TensorData } from '../../src/weights/safetensors.js';
import { ImageRewardModel } from '../../src/model/imageRewardModel.js';

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

/** The tiny model with one golden prompt's tokens and a batch of fixture images, ready to run. */
export interface TinyCase {
  readonly model: ImageRewardModel;
  readonly ids: tf.Tensor2D;
  readonly mask: tf.Tensor2D;
  readonly pixels: tf.Tensor4D;
  dispose(): void;
}

/** Loads the tiny model, prompt `prompt`'s golden input_ids / attention_mask and the pixels of `files`. */
export function loadTinyCase(prompt: number, files: readonly string[]): TinyCase {
  const golden = readSafetensors(fixturePath('tiny/golden.safetensors')).tensors;
  const model = ImageRewardModel.fromTensors(readSafetensors(fixturePath('tiny/tiny.safetensors')).tensors, tinyConfig());
  const ids = int32Tensor2d(golden.get(`p${prompt}.input_ids`)!);
  const mask = int32Tensor2d(golden.get(`p${prompt}.attention_mask`)!);
  const pixels = pixelBatch(readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors, files);
  return {
    model, ids, mask, pixels,
    dispose() {
      [ids, mask, pixels].forEach((t) => t.dispose());
      model.dispose();
    },
  };
}

/**
 * Registers mocha hooks that select `backend`, load the tiny case before the suite and dispose it
 * after; the returned object reads through to it inside the suite's tests.
 */
export function useTinyCase(backend: BackendName, prompt: number, files: readonly string[]): TinyCase {
  let loaded: TinyCase | undefined;
  before(async function () {
    requireFixtures(this, ...TINY_FIXTURES);
    if (backend === 'wasm+blas') requireBlas(this);
    await selectBackend({ backend, log: null });
    loaded = loadTinyCase(prompt, files);
  });
  after(() => loaded?.dispose());
  const current = (): TinyCase => {
    if (!loaded) throw new Error('the tiny case is only loaded inside the suite\'s tests');
    return loaded;
  };
  return {
    get model() { return current().model; },
    get ids() { return current().ids; },
    get mask() { return current().mask; },
    get pixels() { return current().pixels; },
    dispose() { current().dispose(); },
  };
}
