/** Preference accuracy of a model's rewards over a dataset's features (upstream test.py). */
import * as tf from '@tensorflow/tfjs';
import { preferenceAccuracy, type PreferenceAccuracy } from './metric.js';
import type { TrainingRecord } from './trainer.js';

/** What evaluation needs of a model: ImageRewardModel.forwardHead. */
export interface FeatureScorer {
  forwardHead(cls: tf.Tensor2D): tf.Tensor1D;
}

/** Normalised rewards of every generation of every record, from their CLS features. */
export async function rewardsOfRecords(model: FeatureScorer, records: readonly TrainingRecord[]): Promise<number[][]> {
  return Promise.all(records.map(async (record) => {
    const hidden = record.features[0]?.length ?? 0;
    const flat = new Float32Array(record.features.length * hidden);
    record.features.forEach((f, i) => flat.set(f, i * hidden));
    const rewards = tf.tidy(() => model.forwardHead(tf.tensor2d(flat, [record.features.length, hidden])));
    const values = Array.from(await rewards.data());
    rewards.dispose();
    return values;
  }));
}

export interface PreferenceEvaluation extends PreferenceAccuracy {
  /** Per record, the reward of each generation, in dataset order. */
  readonly rewards: number[][];
}

export async function evaluatePreferences(model: FeatureScorer, records: readonly TrainingRecord[]): Promise<PreferenceEvaluation> {
  const rewards = await rewardsOfRecords(model, records);
  return { ...preferenceAccuracy(records.map((r) => r.ranking), rewards), rewards };
}
