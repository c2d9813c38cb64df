/** `imagereward features DATA --cache DIR`: CLS features of a preference dataset into the feature cache. */
import { flagOption, type Command } from '../command.js';
import { loadPreferenceDataset } from '../../train/dataset.js';
import { datasetFeatures } from '../../api/datasetFeatures.js';
import { featureCacheOption, loadModelFromArgs, MODEL_OPTIONS, MODEL_USAGE, onePositional } from './modelOptions.js';

const usage = [
  'usage: imagereward features DATA --cache DIR [options]',
  '',
  'Computes the CLS feature (the reward head\'s input) of every (prompt, image) of DATA and stores it in',
  'DIR, keyed by the model\'s content (sha256 of its weights) + prompt + image content. Re-runs reuse the',
  'cache (under any path to the same weights); an interrupted run resumes.',
  'DATA: upstream test.json shape, a JSON array or JSON Lines of {"prompt", "generations": [image paths',
  'relative to DATA], "ranking": [ints, smaller = better]}.',
  '',
  '  --cache DIR        feature cache folder (required; not --cache-dir, the model cache)',
  MODEL_USAGE,
  '',
  'JSON: {"dataset", "records", "images", "reused", "computed", "cache", "modelId"}',
].join('\n');

export const featuresCommand: Command = {
  name: 'features',
  summary: 'cache the CLS features of a preference dataset',
  usage,
  options: { ...MODEL_OPTIONS, cache: { type: 'string' } },
  async run(args, io) {
    const cache = featureCacheOption(args, usage, true)!;
    const data = onePositional(args, 'DATA file', usage);
    const dataset = await loadPreferenceDataset(data);
    const model = await loadModelFromArgs(args, io);
    try {
      const f = await datasetFeatures(model, dataset, cache, io.progress, flagOption(args, 'verify'));
      const summary = {
        dataset: dataset.file, records: dataset.records.length, images: f.reused + f.computed,
        reused: f.reused, computed: f.computed, cache, modelId: f.modelId,
      };
      io.out(flagOption(args, 'json') ? JSON.stringify(summary)
        : `${summary.images} features of ${summary.records} prompts in ${cache} (${f.reused} reused, ${f.computed} computed)`);
      return 0;
    } finally {
      model.dispose();
    }
  },
};
