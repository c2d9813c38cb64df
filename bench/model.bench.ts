/**
 * Full-size ImageReward-v1.0 forward on tfjs-backend-wasm (1 thread; IMAGEREWARD_WASM_THREADS=2 runs
 * the threaded build of src/wasmThreads.ts) with deterministic random
 * weights (no download): build time, ms per image at batch 1 and batch 4 (median of 3 after a
 * warm-up), the split between the ViT and the text encoder, and the wasm heap size (the heap never
 * shrinks, so its final size is the peak).
 */
import * as tf from '@tensorflow/tfjs';
import { machineLine, median } from './machine.js';
import { SeededRandom } from '../src/util/random.js';
import { selectBackend } from '../src/backend.js';
import { IMAGEREWARD_V1, type ImageRewardConfig } from '../src/model/config.js';
import { checkpointKeys, type KeySpec } from '../src/model/keys.js';
import { ImageRewardModel } from '../src/model/imageRewardModel.js';
import type { WeightSource } from '../src/model/weights.js';
import type { TensorData } from '../src/weights/safetensors.js';

const RUNS = 3;

/** A seeded uniform generator in [0, 1). */
function prng(seed: number): () => number {
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
function randomWeights(config: ImageRewardConfig, seed: number, timing: { generateMs: number }): WeightSource {
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

function inputs(n: number, seed: number): { ids: tf.Tensor2D; mask: tf.Tensor2D; pixels: tf.Tensor4D } {
  const rand = prng(seed);
  const L = IMAGEREWARD_V1.maxLength;
  const ids = new Int32Array(n * L);
  const mask = new Int32Array(n * L);
  for (let b = 0; b < n; b++) {
    const words = 12 + b;
    ids[b * L] = 101;
    for (let i = 1; i <= words; i++) ids[b * L + i] = 1000 + Math.floor(rand() * 29000);
    ids[b * L + words + 1] = 102;
    for (let i = 0; i <= words + 1; i++) mask[b * L + i] = 1;
  }
  const S = IMAGEREWARD_V1.vit.imgSize;
  const px = Float32Array.from({ length: n * 3 * S * S }, () => 4 * rand() - 2);
  return { ids: tf.tensor2d(ids, [n, L], 'int32'), mask: tf.tensor2d(mask, [n, L], 'int32'), pixels: tf.tensor4d(px, [n, 3, S, S]) };
}

function heapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
  return backend.wasm?.HEAPU8.buffer.byteLength ?? NaN;
}

/** Multiply-add FLOPs of one forward per image (matmuls only; everything else is <3%). */
function forwardFlops(config: ImageRewardConfig, textLength: number): number {
  const { vit, med } = config;
  const T = (vit.imgSize / vit.patchSize) ** 2 + 1;
  const E = vit.embedDim;
  const hidden = E * vit.mlpRatio;
  const patches = 2 * (T - 1) * vit.inChans * vit.patchSize ** 2 * E;
  const vitBlock = 2 * T * E * (4 * E + 2 * hidden) + 4 * T * T * E;
  const L = textLength;
  const H = med.hiddenSize;
  const bertLayer = 2 * L * H * (6 * H + 2 * med.intermediateSize) + 4 * T * med.encoderWidth * H + 4 * L * L * H + 4 * L * T * H;
  return patches + vit.depth * vitBlock + med.numHiddenLayers * bertLayer;
}

/** Baseline measured in the same run: one plain 2D matMul of ViT-L fc1's size, in GFLOP/s. */
function matmulBaselineGflops(): number {
  const a = tf.randomUniform([197, 1024]) as tf.Tensor2D;
  const b = tf.randomUniform([1024, 4096]) as tf.Tensor2D;
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
    if (i > 0) times.push(performance.now() - t0);
  }
  [a, b].forEach((t) => t.dispose());
  return (2 * 197 * 1024 * 4096) / (median(times) * 1e6);
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

async function main(): Promise<void> {
  console.log(machineLine());
  const backend = await selectBackend({ backend: 'wasm', log: null });
  console.log(`backend: wasm, ${backend.wasmThreads} thread(s) (tfjs ${tf.version_core})`);

  const timing = { generateMs: 0 };
  let t0 = performance.now();
  const model = ImageRewardModel.fromReader(randomWeights(IMAGEREWARD_V1, 1234, timing), IMAGEREWARD_V1);
  const buildMs = performance.now() - t0;
  console.log(
    `build ${(model.parameterCount() / 1e6).toFixed(1)} M params: ${buildMs.toFixed(0)} ms wall = ${timing.generateMs.toFixed(0)} ms generating random weights` +
    ` + ${(buildMs - timing.generateMs).toFixed(0)} ms validate/transpose/upload; heap ${mib(heapBytes())}`,
  );

  const baseline = matmulBaselineGflops();
  const flops = forwardFlops(IMAGEREWARD_V1, IMAGEREWARD_V1.maxLength);
  console.log(`baseline: plain matMul [197,1024]x[1024,4096] runs at ${baseline.toFixed(1)} GFLOP/s; one forward is ${(flops / 1e9).toFixed(1)} GFLOP/image`);

  for (const n of [1, 4]) {
    const { ids, mask, pixels } = inputs(n, 99 + n);
    const vitMs: number[] = [];
    const bertMs: number[] = [];
    const totalMs: number[] = [];
    const cpuMs: number[] = [];
    let rewards: Float32Array | undefined;
    for (let run = 0; run <= RUNS; run++) {
      const cpu0 = process.cpuUsage();
      t0 = performance.now();
      const embeds = model.encodeImages(pixels);
      await embeds.data();
      const t1 = performance.now();
      const cls = model.features(ids, mask, embeds);
      const reward = model.rewardFromFeatures(cls);
      rewards = (await reward.data()) as Float32Array;
      const t2 = performance.now();
      const cpu = process.cpuUsage(cpu0);
      [embeds, cls, reward].forEach((t) => t.dispose());
      if (run === 0) {
        console.log(`batch ${n}: warm-up ${(t2 - t0).toFixed(0)} ms, heap ${mib(heapBytes())}`);
        continue;
      }
      vitMs.push(t1 - t0);
      bertMs.push(t2 - t1);
      totalMs.push(t2 - t0);
      cpuMs.push((cpu.user + cpu.system) / 1000);
    }
    [ids, mask, pixels].forEach((t) => t.dispose());
    console.log(
      `batch ${n}: ${(median(totalMs) / n).toFixed(0)} ms/image (median of ${RUNS}: ${median(totalMs).toFixed(0)} ms per forward;` +
      ` ViT ${median(vitMs).toFixed(0)} ms = ${(median(vitMs) / IMAGEREWARD_V1.vit.depth).toFixed(0)} ms/block, text+head ${median(bertMs).toFixed(0)} ms)` +
      `; process CPU time ${(median(cpuMs) / n).toFixed(0)} ms/image (all threads together)` +
      `; ${(flops * n / median(totalMs) / 1e6).toFixed(1)} GFLOP/s = ${((flops * n) / (median(totalMs) * 1e6) / baseline).toFixed(2)} x the matMul baseline;` +
      ` rewards ${Array.from(rewards!, (r) => r.toFixed(3)).join(' ')}`,
    );
  }
  console.log(`wasm heap peak: ${mib(heapBytes())} of 4096 MiB; live tensors ${tf.memory().numTensors}`);
  model.dispose();
}

await main();
