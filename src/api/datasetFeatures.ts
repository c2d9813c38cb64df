/**
 * CLS features of a dataset through a loaded ImageReward, with the on-disk cache when a folder is
 * given, keyed by the weights' content (featureModelId.ts; `verify` hashes them again).
 */
import type { ImageReward } from './imagereward.js';
import type { PreferenceDataset } from '../train/dataset.js';
import { FeatureCache } from '../train/feature-cache.js';
import { extractFeatures, type ExtractedFeatures } from '../train/features.js';
import { featureModelId } from './featureModelId.js';
import { withTask, type Progress } from '../util/progress.js';

export interface DatasetFeatures extends ExtractedFeatures {
  readonly modelId: string;
}

export async function datasetFeatures(
  model: ImageReward,
  dataset: PreferenceDataset,
  cacheDir: string | undefined,
  progress: Progress,
  verify = false,
): Promise<DatasetFeatures> {
  const source = model.description.source;
  const { id: modelId, label } = await featureModelId(source, model.config, cacheDir, verify);
  const cache = cacheDir === undefined ? undefined : new FeatureCache(cacheDir, modelId, model.config.med.hiddenSize, {
    label, about: { model: source.requested, weights: source.weightsPath },
  });
  const total = dataset.records.reduce((n, r) => n + r.generations.length, 0);
  const extracted = await withTask(progress, 'features', total, 'images', (task) => extractFeatures(model, dataset, {
    ...(cache ? { cache } : {}),
    chunkSize: model.batchSize,
    onProgress: (p) => task.update(p.done, `${p.reused} from the cache`),
  }));
  return { ...extracted, modelId };
}
