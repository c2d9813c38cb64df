/** `imagereward train-head DATA -o head.safetensors`: fine-tunes the reward head on cached features. */
import { resolve } from 'node:path';
import { flagOption, stringOption, type CliContext, type Command, type ParsedCommandArgs } from '../command.js';
import { InputError } from '../../errors.js';
import { checkOutputFolder } from '../../util/fs.js';
import { loadPreferenceDataset } from '../../train/dataset.js';
import { datasetFeatures } from '../../api/datasetFeatures.js';
import { rewardScaleMetadata, writeHeadFile, type RewardScale } from '../../model/headFile.js';
import { checkImproved, stopReason } from './trainOutcome.js';
import type { HeadWeights } from '../../model/head.js';
import {
  DEFAULT_TRAIN_HEAD_OPTIONS as D, splitRecords, trainHead, type EpochMetrics, type TrainHeadOptions, type TrainHeadResult, type TrainingRecord,
} from '../../train/trainer.js';
import type { ImageRewardConfig } from '../../model/config.js';
import { featureCacheOption, loadModelFromArgs, MODEL_OPTIONS, MODEL_USAGE, onePositional, requiredOption } from './modelOptions.js';

const usage = [
  'usage: imagereward train-head DATA -o HEAD.safetensors [--val DATA2 | --val-split F] [options]',
  '',
  'Trains the reward head (mlp.layers.*) on the CLS features of DATA with the upstream pairwise loss',
  '-log σ(r_better - r_worse) over every pair with different human ranks, Adam, prompts shuffled per',
  'epoch (seeded: same seed, same result). With validation data, keeps the epoch with the lowest',
  'validation loss and stops after --patience epochs without improvement. Writes a head-only',
  'safetensors (same keys as the checkpoint) for `--head`, with the config and metrics in its metadata.',
  'Starts from the model\'s head (or from --head). A run that keeps the untrained head (no epoch lowered the',
  'validation loss, or the training loss did not fall) writes nothing and says what to change (exit 2).',
  'The new head\'s rewards are re-normalised: mean and std of its raw outputs on the training data are',
  'stored in the head file (reward_mean, reward_std) and used by --head, so 0 stays an average image.',
  '',
  '  -o, --output FILE        head file to write (required)',
  '  --cache DIR              feature cache (see `imagereward features`; not --cache-dir, the model cache);',
  '                           default: features in memory only',
  '  --val DATA2              validation dataset',
  '  --val-split F            hold out this fraction of DATA\'s prompts (seeded) for validation instead',
  `  --epochs N               (default ${D.epochs})`,
  `  --lr X                   Adam learning rate (default ${D.learningRate})`,
  `  --train-batch-size N     prompts per optimiser step; all their pairs count (default ${D.batchSize})`,
  `  --weight-decay X         L2 added to the gradient, as torch Adam weight_decay (default ${D.weightDecay})`,
  `  --seed N                 (default ${D.seed})`,
  `  --train-layers K         train only the last K of the 5 Linear layers (default ${D.trainableLayers})`,
  `  --patience N             early-stopping patience in epochs (default ${D.patience})`,
  '  --keep-upstream-scale    keep the model\'s reward constants (upstream: mean 0.16717, std 1.03334) instead of',
  '                           re-normalising on the training data',
  MODEL_USAGE,
  '',
  'JSON: {"output", "bestEpoch", "stoppedEarly", "stopReason", "pairs": {train, validation}, "initial", "best",',
  '       "history", "rewardScale": {"mean", "std", "source": "training data" | "model"}}',
].join('\n');

function numberOption(args: ParsedCommandArgs, name: string, fallback: number, valid: (n: number) => boolean, what: string): number {
  const text = stringOption(args, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !valid(n)) throw new InputError(`--${name} must be ${what}, got "${text}"`);
  return n;
}

const positiveInt = (n: number) => Number.isSafeInteger(n) && n > 0;

function trainOptions(args: ParsedCommandArgs): TrainHeadOptions {
  return {
    epochs: numberOption(args, 'epochs', D.epochs, positiveInt, 'a positive integer'),
    learningRate: numberOption(args, 'lr', D.learningRate, (n) => Number.isFinite(n) && n > 0, 'a positive number'),
    batchSize: numberOption(args, 'train-batch-size', D.batchSize, positiveInt, 'a positive integer'),
    weightDecay: numberOption(args, 'weight-decay', D.weightDecay, (n) => Number.isFinite(n) && n >= 0, 'a number >= 0'),
    seed: numberOption(args, 'seed', D.seed, Number.isSafeInteger, 'an integer'),
    trainableLayers: numberOption(args, 'train-layers', D.trainableLayers, (n) => Number.isInteger(n) && n >= 1 && n <= 5, 'an integer in 1..5'),
    patience: numberOption(args, 'patience', D.patience, positiveInt, 'a positive integer'),
  };
}

function epochMetrics(m: EpochMetrics): string {
  const val = m.validation ? `, val loss ${m.validation.loss.toFixed(4)} acc ${(100 * m.validation.accuracy).toFixed(2)}%` : '';
  return `train loss ${m.train.loss.toFixed(4)} acc ${(100 * m.train.accuracy).toFixed(2)}%${val}`;
}

/** trainHead with an epoch progress task (metrics as its note); --verbose also prints every epoch. */
async function trainWithProgress(
  base: HeadWeights, config: ImageRewardConfig, train: readonly TrainingRecord[], validation: readonly TrainingRecord[] | undefined,
  options: TrainHeadOptions, io: CliContext,
): Promise<TrainHeadResult> {
  const task = io.progress.task('train-head', options.epochs, 'epochs');
  try {
    return await trainHead(base, config, train, validation, options, (m) => {
      task.update(m.epoch, epochMetrics(m));
      if (io.verbose) io.err(`epoch ${m.epoch}: ${epochMetrics(m)}`);
    });
  } finally {
    task.finish();
  }
}

export const trainHeadCommand: Command = {
  name: 'train-head',
  summary: 'fine-tune the reward head on a ranked dataset',
  usage,
  options: {
    ...MODEL_OPTIONS,
    output: { type: 'string', short: 'o' },
    cache: { type: 'string' },
    val: { type: 'string' },
    'val-split': { type: 'string' },
    epochs: { type: 'string' },
    lr: { type: 'string' },
    'train-batch-size': { type: 'string' },
    'weight-decay': { type: 'string' },
    seed: { type: 'string' },
    'train-layers': { type: 'string' },
    patience: { type: 'string' },
    'keep-upstream-scale': { type: 'boolean' },
  },
  async run(args, io) {
    const output = resolve(requiredOption(args, 'output', usage));
    checkOutputFolder(output, 'the head file');
    const data = onePositional(args, 'DATA file', usage);
    const options = trainOptions(args);
    const valFile = stringOption(args, 'val');
    const valSplit = stringOption(args, 'val-split') === undefined ? undefined
      : numberOption(args, 'val-split', 0, (n) => n > 0 && n < 1, 'a fraction in (0, 1)');
    if (valFile !== undefined && valSplit !== undefined) throw new InputError('give --val or --val-split, not both');
    const cache = featureCacheOption(args, usage, false);
    const dataset = await loadPreferenceDataset(data);
    const valDataset = valFile === undefined ? undefined : await loadPreferenceDataset(valFile);

    const model = await loadModelFromArgs(args, io);
    try {
      const features = await datasetFeatures(model, dataset, cache, io.progress, flagOption(args, 'verify'));
      let train = features.records;
      let validation = valDataset && (await datasetFeatures(model, valDataset, cache, io.progress, flagOption(args, 'verify'))).records;
      if (valSplit !== undefined) ({ train, validation } = splitRecords(train, valSplit, options.seed));
      const result = await trainWithProgress(await model.headWeights(), model.config, train, validation, options, io);
      checkImproved(result, output);
      const best = result.history[result.bestEpoch]!;
      const { rawStats } = result;
      let scale: RewardScale | undefined;
      if (!flagOption(args, 'keep-upstream-scale')) {
        if (rawStats.std > 0 && Number.isFinite(rawStats.std) && Number.isFinite(rawStats.mean)) scale = { mean: rawStats.mean, std: rawStats.std };
        else io.err(`imagereward train-head: warning: the new head gives the same raw reward to all ${rawStats.count} training images; keeping the model's reward scale`);
      }
      const rewardScale = scale ? { ...scale, source: 'training data' } : { mean: model.config.head.rewardMean, std: model.config.head.rewardStd, source: 'model' };
      const summary = {
        output,
        bestEpoch: result.bestEpoch,
        stoppedEarly: result.stoppedEarly,
        stopReason: stopReason(result),
        pairs: { train: best.train.pairs, validation: best.validation?.pairs ?? 0 },
        initial: result.history[0]!,
        best,
        history: result.history,
        rewardScale,
      };
      const trainConfig = {
        base_model: model.description.source.requested,
        base_head: model.description.head ?? null,
        feature_model_id: features.modelId,
        train_data: dataset.file,
        validation: valDataset ? valDataset.file : valSplit !== undefined ? `split ${valSplit} of train_data` : null,
        options: result.options,
        loss: '-log sigmoid(r_better - r_worse), mean over the pairs of a batch of prompts (upstream train.py loss_func)',
      };
      await writeHeadFile(output, result.weights, model.config, {
        imagereward_head_training: JSON.stringify(trainConfig),
        imagereward_head_metrics: JSON.stringify({ bestEpoch: result.bestEpoch, stoppedEarly: result.stoppedEarly, history: result.history }),
        ...(scale ? rewardScaleMetadata(scale) : {}),
      });
      io.out(flagOption(args, 'json') ? JSON.stringify(summary)
        : `wrote ${output}: epoch ${result.bestEpoch}, train accuracy ${(100 * best.train.accuracy).toFixed(2)}%`
          + ` (from ${(100 * summary.initial.train.accuracy).toFixed(2)}%)`
          + (best.validation ? `, validation ${(100 * best.validation.accuracy).toFixed(2)}%` : '')
          + `; ${summary.stopReason}`
          + (scale ? `; rewards re-normalised on the ${rawStats.count} training images (raw mean ${rewardScale.mean.toFixed(5)}, std ${rewardScale.std.toFixed(5)}; --keep-upstream-scale keeps the model's)`
            : `; reward scale kept (mean ${rewardScale.mean.toFixed(5)}, std ${rewardScale.std.toFixed(5)})`));
      return 0;
    } finally {
      model.dispose();
    }
  },
};
