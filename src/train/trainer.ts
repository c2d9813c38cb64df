/**
 * Fine-tunes the reward head on cached CLS features with the upstream pairwise loss.
 *
 * Mirrors upstream train/src (default, non-`rank_pair` mode): a batch is a set of prompts
 * (rank_dataset + ImageReward.encode_data), every pair of their generations with different human
 * ranks is one sample (rank_pair_dataset.make_data order), the loss is train.py loss_func,
 * cross_entropy([r_better, r_worse], target 0) = -log σ(r_better - r_worse) averaged over the pairs
 * of the batch, on the raw MLP output (before the reward normalisation), optimised by Adam
 * (betas 0.9/0.999, eps 1e-8 as options.py), prompts reshuffled every epoch, and with validation the
 * kept weights are those of the lowest validation loss (train.py "Best Val loss so far").
 * Differences, on purpose: only the head trains; no dropout (the head is then one linear map, see
 * linear-head.ts); constant learning rate; torch-style L2 weight decay (grad += wd·w, Adam's
 * `weight_decay`); early stopping after `patience` epochs without a better validation loss.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors.js';
import type { ImageRewardConfig } from '../model/config.js';
import { validateHeadWeights, type HeadWeights } from '../model/head.js';
import { collapseHead, rawRewards, rewardMargins, type LinearTensors } from './linear-head.js';
import { preferenceAccuracy } from './metric.js';
import { rankPairs, type RankPair } from './pairs.js';
import { SeededRandom } from '../util/random.js';

/** One prompt's generations: its human ranking and one CLS feature vector per generation. */
export interface TrainingRecord {
  readonly ranking: readonly number[];
  readonly features: readonly Float32Array[];
}

export interface TrainHeadOptions {
  readonly learningRate: number;
  readonly epochs: number;
  /** Prompts per optimiser step (upstream batch_size in its default, per-prompt mode). */
  readonly batchSize: number;
  /** L2 penalty added to the gradient, as torch.optim.Adam(weight_decay=...). */
  readonly weightDecay: number;
  readonly seed: number;
  /** Train only the last k Linear layers of the head (1..5); earlier ones keep the base weights. */
  readonly trainableLayers: number;
  /** With validation: stop after this many epochs without a lower validation loss. */
  readonly patience: number;
}

export const DEFAULT_TRAIN_HEAD_OPTIONS: TrainHeadOptions = {
  learningRate: 1e-5, epochs: 10, batchSize: 64, weightDecay: 0, seed: 1234, trainableLayers: 5, patience: 3,
};

export interface SplitMetrics {
  /** Mean pairwise loss -log σ(r_better - r_worse) over every pair of the split. */
  readonly loss: number;
  /** test.py preference accuracy. */
  readonly accuracy: number;
  readonly correct: number;
  readonly pairs: number;
}

export interface EpochMetrics {
  /** 0 = the base head, before any step. */
  readonly epoch: number;
  readonly train: SplitMetrics;
  readonly validation: SplitMetrics | undefined;
}

/** Mean and (population) standard deviation of a head's raw outputs over the training generations. */
export interface RawRewardStats {
  readonly mean: number;
  readonly std: number;
  /** How many (prompt, image) features they are taken over. */
  readonly count: number;
}

export interface TrainHeadResult {
  /** The kept head (lowest validation loss, else the last epoch). */
  readonly weights: HeadWeights;
  /**
   * The kept head's raw outputs on its training data: the reward scale that keeps 0 = average
   * (ImageReward.py z-scores with the base head's test-set constants, which a new head shifts).
   */
  readonly rawStats: RawRewardStats;
  readonly bestEpoch: number;
  readonly history: readonly EpochMetrics[];
  readonly stoppedEarly: boolean;
  readonly options: TrainHeadOptions;
}

/** Features of a split laid out for training: one [N, H] matrix, per-record row offsets and pairs. */
interface FeatureTable {
  readonly hidden: number;
  /** The [N, H] features, row-major, in JS and as a tensor. */
  readonly data: Float32Array;
  readonly matrix: tf.Tensor2D;
  readonly offsets: readonly number[];
  readonly pairs: readonly (readonly RankPair[])[];
  readonly records: readonly TrainingRecord[];
}

function buildTable(records: readonly TrainingRecord[], hidden: number, what: string): FeatureTable {
  const rows = records.reduce((n, r) => n + r.features.length, 0);
  const data = new Float32Array(rows * hidden);
  const offsets: number[] = [];
  let row = 0;
  records.forEach((rec, i) => {
    if (rec.features.length !== rec.ranking.length) {
      throw new InputError(`${what} record ${i}: ${rec.features.length} feature vectors for ${rec.ranking.length} ranks`);
    }
    offsets.push(row);
    for (const f of rec.features) {
      if (f.length !== hidden) throw new InputError(`${what} record ${i}: a feature vector has ${f.length} values, the model's hidden size is ${hidden}`);
      data.set(f, row * hidden);
      row++;
    }
  });
  return { hidden, data, matrix: tf.tensor2d(data, [rows, hidden]), offsets, pairs: records.map((r) => rankPairs(r.ranking)), records };
}

function checkOptions(o: TrainHeadOptions, layers: number): void {
  const positiveInt = (v: number) => Number.isInteger(v) && v > 0;
  if (!(Number.isFinite(o.learningRate) && o.learningRate > 0)) throw new InputError(`learning rate must be a positive number, got ${o.learningRate}`);
  if (!positiveInt(o.epochs)) throw new InputError(`epochs must be a positive integer, got ${o.epochs}`);
  if (!positiveInt(o.batchSize)) throw new InputError(`batch size must be a positive integer, got ${o.batchSize}`);
  if (!(Number.isFinite(o.weightDecay) && o.weightDecay >= 0)) throw new InputError(`weight decay must be >= 0, got ${o.weightDecay}`);
  if (!Number.isInteger(o.seed)) throw new InputError(`seed must be an integer, got ${o.seed}`);
  if (!(Number.isInteger(o.trainableLayers) && o.trainableLayers >= 1 && o.trainableLayers <= layers)) {
    throw new InputError(`trainable layers must be an integer in 1..${layers}, got ${o.trainableLayers}`);
  }
  if (!positiveInt(o.patience)) throw new InputError(`patience must be a positive integer, got ${o.patience}`);
}

/** softplus(-d) = -log σ(d), computed without overflow. */
function pairLoss(d: number): number {
  return Math.max(-d, 0) + Math.log1p(Math.exp(-Math.abs(d)));
}

async function evaluate(layers: readonly LinearTensors[], table: FeatureTable): Promise<SplitMetrics> {
  const rewardsTensor = tf.tidy(() => rawRewards(collapseHead(layers), table.matrix));
  const rewards = (await rewardsTensor.data()) as Float32Array;
  rewardsTensor.dispose();
  const perRecord = table.records.map((rec, i) => rewards.subarray(table.offsets[i]!, table.offsets[i]! + rec.features.length));
  let loss = 0;
  table.pairs.forEach((pairs, i) => {
    const r = perRecord[i]!;
    for (const p of pairs) loss += pairLoss(r[p.better]! - r[p.worse]!);
  });
  const acc = preferenceAccuracy(table.records.map((r) => r.ranking), perRecord);
  return { loss: loss / acc.pairs, ...acc };
}

/** Batches of record indices for one epoch: records with at least one pair, shuffled. */
function epochBatches(table: FeatureTable, batchSize: number, rng: SeededRandom): number[][] {
  const order = rng.shuffle(table.pairs.flatMap((p, i) => (p.length > 0 ? [i] : [])));
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

/** x_better - x_worse [P, H] for every pair of the batch's records (in JS: tf.gather is slow on wasm). */
function batchDifferences(table: FeatureTable, batch: readonly number[]): tf.Tensor2D {
  const h = table.hidden;
  const count = batch.reduce((n, i) => n + table.pairs[i]!.length, 0);
  const out = new Float32Array(count * h);
  let row = 0;
  for (const i of batch) {
    for (const p of table.pairs[i]!) {
      const better = (table.offsets[i]! + p.better) * h;
      const worse = (table.offsets[i]! + p.worse) * h;
      for (let k = 0; k < h; k++) out[row * h + k] = table.data[better + k]! - table.data[worse + k]!;
      row++;
    }
  }
  return tf.tensor2d(out, [count, h]);
}

/**
 * One Adam step on the mean pairwise loss of a batch. The margin r(x_b) - r(x_w) of the linear head
 * is (x_b - x_w)·weight (the bias cancels), so the feature differences are formed in JS, outside
 * the gradient tape (no Gather on the tape: wasm has no UnsortedSegmentSum for its gradient).
 */
function trainStep(
  layers: readonly LinearTensors[],
  trainable: tf.Variable[],
  optimizer: tf.Optimizer,
  table: FeatureTable,
  batch: readonly number[],
  weightDecay: number,
): void {
  const differences = batchDifferences(table, batch);
  const { value, grads } = tf.variableGrads(() => {
    const margin = rewardMargins(collapseHead(layers), differences);
    // -log σ(m) = softplus(-m); tf.logSigmoid's gradient fails inside variableGrads (tfjs 4.22).
    return tf.softplus(tf.neg(margin)).mean() as tf.Scalar;
  }, trainable);
  // Biases get no gradient from a pairwise loss of a linear head (they shift both rewards alike);
  // with weight decay they still get wd·b, as torch Adam gives every parameter.
  const decayed = weightDecay === 0 ? grads : tf.tidy(() => {
    const out: tf.NamedTensorMap = {};
    for (const v of trainable) {
      const g = grads[v.name];
      out[v.name] = g ? tf.add(g, tf.mul(v, weightDecay)) : tf.mul(v, weightDecay);
    }
    return out;
  });
  optimizer.applyGradients(decayed);
  tf.dispose([differences, value, ...Object.values(grads), ...(decayed === grads ? [] : Object.values(decayed))]);
}

/**
 * Trains the head starting from `base` and returns the kept weights and the
 * per-epoch metrics. Deterministic for a given seed, backend and input.
 */
export async function trainHead(
  base: HeadWeights,
  config: ImageRewardConfig,
  train: readonly TrainingRecord[],
  validation: readonly TrainingRecord[] | undefined,
  options: Partial<TrainHeadOptions> = {},
  onEpoch?: (metrics: EpochMetrics) => void,
): Promise<TrainHeadResult> {
  const opts: TrainHeadOptions = { ...DEFAULT_TRAIN_HEAD_OPTIONS, ...options };
  const nLayers = config.head.layerSizes.length;
  checkOptions(opts, nLayers);
  validateHeadWeights(base, config, 'base head');
  const hidden = config.med.hiddenSize;
  const trainTable = buildTable(train, hidden, 'training');
  const valTable = validation && validation.length > 0 ? buildTable(validation, hidden, 'validation') : undefined;
  const variables: tf.Variable[] = [];
  const optimizer = tf.train.adam(opts.learningRate, 0.9, 0.999, 1e-8);
  try {
    if (trainTable.pairs.every((p) => p.length === 0)) throw new InputError('training data has no pair of generations with different human ranks');
    const layers: LinearTensors[] = [];
    base.layers.forEach((layer, l) => {
      const trainable = l >= nLayers - opts.trainableLayers;
      const out = layer.bias.length;
      const weightInit = tf.tensor2d(layer.weight, [layer.weight.length / out, out]); // [in, out], as the model holds it
      const biasInit = tf.tensor1d(layer.bias);
      const weight = tf.variable(weightInit, trainable);
      const bias = tf.variable(biasInit, trainable);
      tf.dispose([weightInit, biasInit]);
      variables.push(weight, bias);
      layers.push({ weight: weight as tf.Variable<tf.Rank.R2>, bias: bias as tf.Variable<tf.Rank.R1> });
    });
    const trainable = variables.filter((v) => v.trainable);
    // every read is asynchronous: webgpu in Node has no synchronous readback
    const snapshot = async (): Promise<HeadWeights> => ({
      layers: await Promise.all(layers.map(async (l) => ({ weight: Float32Array.from(await l.weight.data()), bias: Float32Array.from(await l.bias.data()) }))),
    });

    const measure = async (epoch: number): Promise<EpochMetrics> => {
      const m = { epoch, train: await evaluate(layers, trainTable), validation: valTable && (await evaluate(layers, valTable)) };
      onEpoch?.(m);
      return m;
    };
    const history: EpochMetrics[] = [await measure(0)];
    // With validation: the weights of the lowest validation loss so far (copied out when it drops).
    // Without: the last epoch's, copied out once at the end.
    let best = { epoch: 0, loss: history[0]!.validation?.loss ?? Infinity, weights: valTable ? await snapshot() : undefined };
    let stale = 0;
    let stoppedEarly = false;
    const rng = new SeededRandom(opts.seed);
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      for (const batch of epochBatches(trainTable, opts.batchSize, rng)) {
        trainStep(layers, trainable, optimizer, trainTable, batch, opts.weightDecay);
      }
      const m = await measure(epoch);
      history.push(m);
      if (!m.validation) {
        best = { epoch, loss: Infinity, weights: undefined };
      } else if (m.validation.loss < best.loss) {
        best = { epoch, loss: m.validation.loss, weights: await snapshot() };
        stale = 0;
      } else if (++stale >= opts.patience) {
        stoppedEarly = epoch < opts.epochs;
        break;
      }
    }
    const weights = best.weights ?? (await snapshot());
    return { weights, rawStats: await rawStats(weights, trainTable), bestEpoch: best.epoch, history, stoppedEarly, options: opts };
  } finally {
    tf.dispose([trainTable.matrix, ...(valTable ? [valTable.matrix] : []), ...variables]);
    optimizer.dispose();
  }
}

/** Mean and std (float64, population) of the raw outputs of `weights` over every row of `table`. */
async function rawStats(weights: HeadWeights, table: FeatureTable): Promise<RawRewardStats> {
  const raw = tf.tidy(() => {
    const layers = weights.layers.map((l) => ({
      weight: tf.tensor2d(l.weight, [l.weight.length / l.bias.length, l.bias.length]), // [in, out]
      bias: tf.tensor1d(l.bias),
    }));
    return rawRewards(collapseHead(layers), table.matrix); // (N)
  });
  const values = await raw.data();
  raw.dispose();
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length), count: values.length };
}

/** Splits records into train / validation deterministically: a seeded shuffle, the last `fraction` validates. */
export function splitRecords<T>(records: readonly T[], fraction: number, seed: number): { train: T[]; validation: T[] } {
  if (!(fraction > 0 && fraction < 1)) throw new InputError(`validation fraction must be in (0, 1), got ${fraction}`);
  const shuffled = new SeededRandom(seed).shuffle([...records]);
  const nVal = Math.max(1, Math.round(records.length * fraction));
  if (nVal >= records.length) throw new InputError(`cannot hold out ${nVal} of ${records.length} records for validation`);
  return { train: shuffled.slice(0, records.length - nVal), validation: shuffled.slice(records.length - nVal) };
}
