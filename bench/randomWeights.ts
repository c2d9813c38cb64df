/** Deterministic random full-size weights and inputs for the benchmarks (no download), generated tensor by tensor. */
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../src/util/random.js';
import type { ImageRewardConfig } from '../src/model/config.js';
import { checkpointKeys } from '../src/model/checkpoint.js';
import type { KeySpec } from '../src/model/spec.js';
import type { WeightSource } from '../src/model/weights.js';
import type { TensorData } from '../src/weights/safetensors.js';

/** A seeded uniform generator in [0, 1). */
export function prng(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

/** Std per parameter so activations stay O(1): Linear weights 1/sqrt(in), norms 1, biases 0.02, tables 0.02. */
function stdFor(spec: KeySpec): { mean: number; std: number } {
  const k = spec.key;
  if (/norm\d?\.weight$|LayerNorm\.weight$|\.norm\.weight$/.test(k)) return { mean: 1, std: 0.05 };
  if (k.endsWith('.bias')) return { mean: 0, std: 0.02 };
  if (k.endsWith('patch_embed.proj.weight')) return { mean: 0, std: 1 / Math.sqrt(3 * 16 * 16) };
  if (spec.shape.length === 2 && !k.includes('embeddings')) return { mean: 0, std: 1 / Math.sqrt(spec.shape[1]!) };
  return { mean: 0, std: 0.02 };
}

/** Generates each tensor when read, so the JS side never holds the whole 1.7 GB model. */
export function randomWeights(config: ImageRewardConfig, seed: number, timing: { generateMs: number }): WeightSource {
  const specs = new Map(checkpointKeys(config).map((s) => [s.key, s] as const));
  return {
    source: `<random weights, seed ${seed}>`,
    names: [...specs.keys()],
    info: (name) => ({ dtype: specs.get(name)!.integer ? 'I64' : 'F32', shape: specs.get(name)!.shape }),
    read: (name): TensorData => {
      const started = performance.now();
      try {
        return generate(specs.get(name)!);
      } finally {
        timing.generateMs += performance.now() - started;
      }
    },
  };
  function generate(spec: KeySpec): TensorData {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.integer) return { dtype: 'I64', shape: spec.shape, data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)) };
    const { mean, std } = stdFor(spec);
    const rand = prng(seed ^ hash(spec.key));
    const half = std * Math.sqrt(3); // uniform on [-half, half] has this std
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = mean + (2 * rand() - 1) * half;
    return { dtype: 'F32', shape: spec.shape, data };
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * `n` prompts of 13+ random word ids ([CLS] ... [SEP], padded to the config's maxLength) and `n`
 * images of uniform noise in [-2, 2) (about the range of normalised pixels).
 */
export function randomInputs(config: ImageRewardConfig, n: number, seed: number): { ids: tf.Tensor2D; mask: tf.Tensor2D; pixels: tf.Tensor4D } {
  const rand = prng(seed);
  const L = config.maxLength;
  const ids = new Int32Array(n * L);
  const mask = new Int32Array(n * L);
  for (let b = 0; b < n; b++) {
    const words = 12 + b;
    ids[b * L] = 101;
    for (let i = 1; i <= words; i++) ids[b * L + i] = 1000 + Math.floor(rand() * 29000);
    ids[b * L + words + 1] = 102;
    for (let i = 0; i <= words + 1; i++) mask[b * L + i] = 1;
  }
  const S = config.vit.imgSize;
  const px = Float32Array.from({ length: n * 3 * S * S }, () => 4 * rand() - 2);
  return { ids: tf.tensor2d(ids, [n, L], 'int32'), mask: tf.tensor2d(mask, [n, L], 'int32'), pixels: tf.tensor4d(px, [n, 3, S, S]) };
}
