/** `imagereward eval DATA`: preference accuracy of a model (optionally with a trained head) as upstream test.py. */
import { flagOption, type Command } from '../command.js';
import { loadPreferenceDataset } from '../../train/dataset.js';
import { datasetFeatures } from '../../api/datasetFeatures.js';
import { evaluatePreferences } from '../../train/evaluate.js';
import { featureCacheOption, loadModelFromArgs, MODEL_OPTIONS, MODEL_USAGE, onePositional } from './modelOptions.js';

const usage = [
  'usage: imagereward eval DATA [--head HEAD] [--cache DIR] [options]',
  '',
  'Preference accuracy exactly as upstream test.py: every pair of generations of a prompt with different',
  'human ranks counts; it is right only when the preferred one gets the strictly higher reward (a',
  'predicted tie is wrong); human ties are skipped.',
  '',
  '  --cache DIR        reuse / fill a feature cache (see `imagereward features`)',
  MODEL_USAGE,
  '',
  'JSON: {"dataset", "model", "head", "accuracy", "correct", "pairs", "records", "images", "rewards"}',
].join('\n');

export const evalCommand: Command = {
  name: 'eval',
  summary: 'preference accuracy on a ranked dataset (upstream test.py)',
  usage,
  options: { ...MODEL_OPTIONS, cache: { type: 'string' } },
  async run(args, io) {
    const data = onePositional(args, 'DATA file', usage);
    const cache = featureCacheOption(args, usage, false);
    const dataset = await loadPreferenceDataset(data);
    const model = await loadModelFromArgs(args, io);
    try {
      const f = await datasetFeatures(model, dataset, cache, io.progress, flagOption(args, 'verify'));
      const result = await evaluatePreferences(model.model, f.records);
      const summary = {
        dataset: dataset.file, model: model.description.source.requested, head: model.description.head ?? null,
        accuracy: result.accuracy, correct: result.correct, pairs: result.pairs,
        records: dataset.records.length, images: f.reused + f.computed, rewards: result.rewards,
      };
      io.out(flagOption(args, 'json') ? JSON.stringify(summary)
        : `accuracy ${(100 * result.accuracy).toFixed(2)}% (${result.correct}/${result.pairs} pairs, ${summary.records} prompts)`);
      return 0;
    } finally {
      model.dispose();
    }
  },
};
