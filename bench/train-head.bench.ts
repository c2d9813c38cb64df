/**
 * Head training throughput on cached 768-d features (ImageReward-v1.0 head: 768 -> 1024 -> 128 ->
 * 64 -> 16 -> 1): pairs per second of trainHead (every pair of every epoch, evaluation included),
 * median of runs, per backend. Synthetic data: 1000 prompts x 5 generations with distinct ranks
 * (10 pairs each), default batch of 64 prompts. Baseline in the same run: the textbook step,
 * autograd through the layer-by-layer head (tf.matMul per Linear) on the same batches.
 * Target: >= 10,000 pairs/s.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend.js';
import { IMAGEREWARD_V1 } from '../src/model/config.js';
import { headLayerSpecs, type HeadWeights } from '../src/model/head.js';
import { rankPairs } from '../src/train/pairs.js';
import { SeededRandom } from '../src/util/random.js';
import { DEFAULT_TRAIN_HEAD_OPTIONS, trainHead, type TrainingRecord } from '../src/train/trainer.js';
import { machineLine, median } from './machine.js';

const PROMPTS = 1000;
const PER_PROMPT = 5;
const EPOCHS = 2;
const RUNS = 5;
const BASELINE_STEPS = 5;
const H = IMAGEREWARD_V1.med.hiddenSize;

const rng = new SeededRandom(1);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());

/** A random head in the model's layout ([in, out] weights), fan-in scaled. */
const base: HeadWeights = {
  layers: headLayerSpecs(IMAGEREWARD_V1).map(([w, b]) => {
    const [out, fanIn] = w.shape as [number, number];
    return { weight: Float32Array.from({ length: out * fanIn }, () => normal() / Math.sqrt(fanIn)), bias: Float32Array.from({ length: b.shape[0]! }, () => normal() / 4) };
  }),
};
const records: TrainingRecord[] = Array.from({ length: PROMPTS }, () => ({
  ranking: rng.shuffle([1, 2, 3, 4, 5]),
  features: Array.from({ length: PER_PROMPT }, () => Float32Array.from({ length: H }, normal)),
}));
const pairsPerEpoch = records.reduce((n, r) => n + rankPairs(r.ranking).length, 0);

/** Pairs/s of the layer-by-layer autograd step, over the first batches of prompts. */
function baselinePairsPerSecond(): number {
  const batch = DEFAULT_TRAIN_HEAD_OPTIONS.batchSize;
  const weights = base.layers.flatMap((l) => [
    tf.variable(tf.tensor2d(l.weight, [l.weight.length / l.bias.length, l.bias.length])),
    tf.variable(tf.tensor1d(l.bias)),
  ]);
  const optimizer: tf.Optimizer = tf.train.adam(1e-5, 0.9, 0.999, 1e-8);
  const times: number[] = [];
  let pairs = 0;
  for (let step = 0; step < BASELINE_STEPS + 1; step++) {
    const chunk = records.slice(step * batch, (step + 1) * batch);
    const better: number[] = [];
    const worse: number[] = [];
    chunk.forEach((r, i) => rankPairs(r.ranking).forEach((p) => { better.push(i * PER_PROMPT + p.better); worse.push(i * PER_PROMPT + p.worse); }));
    const x = tf.tensor2d(Float32Array.from(chunk.flatMap((r) => r.features.flatMap((f) => Array.from(f)))), [chunk.length * PER_PROMPT, H]);
    const t0 = performance.now();
    const betterRows = tf.gather(x, better);
    const worseRows = tf.gather(x, worse);
    const rewardOf = (rows: tf.Tensor2D) => {
      let h = rows;
      for (let l = 0; l < weights.length; l += 2) h = tf.matMul(h, weights[l] as tf.Tensor2D).add(weights[l + 1]!);
      return h;
    };
    const { value, grads } = tf.variableGrads(() => tf.softplus(tf.neg(tf.sub(rewardOf(betterRows), rewardOf(worseRows)))).mean() as tf.Scalar, weights);
    optimizer.applyGradients(grads);
    value.dataSync();
    if (step > 0) { times.push(performance.now() - t0); pairs += better.length; } // step 0 warms up
    tf.dispose([x, betterRows, worseRows, value, ...Object.values(grads)]);
  }
  tf.dispose(weights);
  optimizer.dispose();
  return pairs / (times.reduce((a, b) => a + b, 0) / 1000);
}

async function main(): Promise<void> {
  console.log(machineLine());
  console.log(`${PROMPTS} prompts x ${PER_PROMPT} generations, ${pairsPerEpoch} pairs/epoch, H=${H}, batch ${DEFAULT_TRAIN_HEAD_OPTIONS.batchSize} prompts, ${EPOCHS} epochs, median of ${RUNS}`);
  for (const backend of ['wasm', 'cpu'] as const) {
    await selectBackend({ backend, log: null });
    trainHead(base, IMAGEREWARD_V1, records, undefined, { epochs: 1 }); // warm-up
    const rates: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const t0 = performance.now();
      trainHead(base, IMAGEREWARD_V1, records, undefined, { epochs: EPOCHS });
      rates.push((EPOCHS * pairsPerEpoch) / ((performance.now() - t0) / 1000));
    }
    const trained = median(rates);
    const baseline = baselinePairsPerSecond();
    console.log(`${backend.padEnd(5)} trainHead ${trained.toFixed(0).padStart(7)} pairs/s   layer-by-layer autograd baseline ${baseline.toFixed(0).padStart(6)} pairs/s   ratio ${(trained / baseline).toFixed(1)}x   target 10000: ${trained >= 10000 ? 'met' : 'NOT met'}`);
  }
}

await main();
