/**
 * CLS features of every (prompt, generation) of a preference dataset, through an optional
 * FeatureCache: cached entries are reused, the rest are computed in chunks and each chunk is
 * cached as soon as it is done, so an interrupted run resumes where it stopped.
 */
import { readFileChecked } from '../util/fs.js';
import type { PreferenceDataset } from './dataset.js';
import { imageContentHash, type FeatureCache } from './feature-cache.js';
import type { TrainingRecord } from './trainer.js';

/** What computes features; ImageReward (src/api) is one: its `features(prompt, paths)`. */
export interface FeatureSource {
  features(prompt: string, images: readonly string[]): Promise<Float32Array[]>;
}

export interface FeatureProgress {
  /** Images done so far (reused + computed). */
  readonly done: number;
  readonly total: number;
  readonly reused: number;
  readonly computed: number;
}

export interface ExtractFeaturesOptions {
  readonly cache?: FeatureCache;
  /** Images per FeatureSource call (default 4). */
  readonly chunkSize?: number;
  readonly onProgress?: (progress: FeatureProgress) => void;
}

export interface ExtractedFeatures {
  /** One per dataset record, in file order. */
  readonly records: TrainingRecord[];
  readonly reused: number;
  readonly computed: number;
}

export async function extractFeatures(
  source: FeatureSource,
  dataset: PreferenceDataset,
  options: ExtractFeaturesOptions = {},
): Promise<ExtractedFeatures> {
  const chunkSize = options.chunkSize ?? 4;
  const total = dataset.records.reduce((n, r) => n + r.generations.length, 0);
  let reused = 0;
  let computed = 0;
  const records: TrainingRecord[] = [];
  for (const record of dataset.records) {
    const hashes: string[] = [];
    for (const path of record.generations) hashes.push(imageContentHash(await readFileChecked(path, 'image')));
    const features: (Float32Array | undefined)[] = hashes.map((h) => options.cache?.read(record.prompt, h));
    reused += features.filter((f) => f !== undefined).length;
    const missing = features.flatMap((f, i) => (f === undefined ? [i] : []));
    options.onProgress?.({ done: reused + computed, total, reused, computed });
    for (let start = 0; start < missing.length; start += chunkSize) {
      const chunk = missing.slice(start, start + chunkSize);
      const out = await source.features(record.prompt, chunk.map((i) => record.generations[i]!));
      for (let k = 0; k < chunk.length; k++) {
        const i = chunk[k]!;
        features[i] = out[k]!;
        await options.cache?.write(record.prompt, hashes[i]!, out[k]!);
      }
      computed += chunk.length;
      options.onProgress?.({ done: reused + computed, total, reused, computed });
    }
    records.push({ ranking: record.ranking, features: features as Float32Array[] });
  }
  return { records, reused, computed };
}
