/**
 * `imagereward score --prompt TEXT IMAGE...`: rewards and ranks of images for one prompt. Each image
 * is read and preprocessed on its own, so an unreadable one becomes an error entry while the others
 * are scored (batched through the encoder, `--batch-size` at a time); `--fail-fast` stops at the first.
 */
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { flagOption, type CliContext, type Command } from '../command.js';
import { ImageRewardError, InputError, type ErrorCode } from '../../errors.js';
import type { ImageReward } from '../../api/imagereward.js';
import { preprocessImage } from '../../image/index.js';
import { rankRewards } from '../../model/imageRewardModel.js';
import { withTask } from '../../util/progress.js';
import { loadModelFromArgs, MODEL_OPTIONS, MODEL_USAGE, requiredOption } from './modelOptions.js';

const usage = [
  'usage: imagereward score --prompt TEXT [options] IMAGE...',
  '',
  'Scores each image for the prompt (upstream score / inference_rank). Rewards are z-scored against the',
  'ImageReward test set (mean 0.167, std 1.033): 0 = average, higher is better. ranking[i] is the 1-based',
  'rank of IMAGE i (1 = best).',
  '',
  'An image that cannot be read or decoded does not stop the others: its reward and rank are null, it is',
  'listed under "errors", and the exit code is 2 once every other image is scored.',
  '',
  '  --prompt TEXT      the prompt (required)',
  '  --fail-fast        stop at the first bad image (exit 2, no results)',
  MODEL_USAGE,
  '',
  'JSON: {"prompt", "images", "rewards", "ranking"} plus, only when some image failed,',
  '      "errors": [{"index", "image", "code", "message"}] (rewards[index] and ranking[index] are null)',
].join('\n');

export interface ImageFailure {
  /** Position of the image in the command line's IMAGE list (0-based). */
  readonly index: number;
  readonly image: string;
  readonly code: ErrorCode;
  readonly message: string;
}

interface ScoredImages {
  /** One per image; null where the image failed. */
  readonly rewards: (number | null)[];
  readonly errors: ImageFailure[];
}

/** Pixels of one image as a [1,3,S,S] tensor, or the bad-input error that stopped it. */
async function preprocessOne(model: ImageReward, path: string): Promise<tf.Tensor4D | ImageRewardError> {
  const size = model.config.vit.imgSize;
  try {
    const { pixels } = await preprocessImage(path, { size, decoder: model.description.imageDecoder });
    return tf.tensor4d(pixels, [1, 3, size, size]);
  } catch (err) {
    if (err instanceof ImageRewardError) return err;
    throw err;
  }
}

/**
 * Rewards of `images` for `prompt`, `model.batchSize` images at a time: every image is preprocessed
 * alone (a bad one is recorded, or thrown with `failFast`), the good ones of a batch go through the
 * encoder together. An image given twice is scored once.
 */
async function scoreImages(model: ImageReward, prompt: string, images: readonly string[], failFast: boolean, io: CliContext): Promise<ScoredImages> {
  const byPath = new Map<string, number | ImageRewardError>();
  // The first spelling of each distinct file (messages name the path as given).
  const distinct = [...new Map(images.map((p) => [resolve(p), p] as const).reverse()).values()].reverse();
  await withTask(io.progress, 'score', distinct.length, 'images', async (task) => {
    for (let start = 0; start < distinct.length; start += model.batchSize) {
      const batch = distinct.slice(start, start + model.batchSize);
      const loaded = await Promise.all(batch.map((path) => preprocessOne(model, path)));
      const tensors = loaded.filter((t): t is tf.Tensor4D => t instanceof tf.Tensor);
      try {
        const firstError = loaded.find((t): t is ImageRewardError => t instanceof ImageRewardError);
        if (failFast && firstError) throw firstError;
        const rewards = tensors.length > 0 ? await model.score(prompt, tensors) : [];
        let k = 0;
        batch.forEach((path, i) => {
          const item = loaded[i]!;
          byPath.set(resolve(path), item instanceof ImageRewardError ? item : rewards[k++]!);
        });
      } finally {
        tf.dispose(tensors);
      }
      task.update(start + batch.length);
    }
  });
  const errors: ImageFailure[] = [];
  const rewards = images.map((image, index) => {
    const result = byPath.get(resolve(image))!;
    if (typeof result === 'number') return result;
    errors.push({ index, image, code: result.code, message: result.message });
    return null;
  });
  return { rewards, errors };
}

/** 1-based ranks of the scored images among themselves; null where the image failed. */
function rankScored(rewards: readonly (number | null)[]): (number | null)[] {
  const scored = rewards.flatMap((r, i) => (r === null ? [] : [i]));
  const ranks = rankRewards(scored.map((i) => rewards[i]!));
  const out = rewards.map((): number | null => null);
  scored.forEach((i, k) => { out[i] = ranks[k]!; });
  return out;
}

export const scoreCommand: Command = {
  name: 'score',
  summary: 'score and rank images for a prompt',
  usage,
  options: { ...MODEL_OPTIONS, prompt: { type: 'string' }, 'fail-fast': { type: 'boolean' } },
  async run(args, io) {
    const prompt = requiredOption(args, 'prompt', usage);
    const images = args.positionals;
    if (images.length === 0) throw new InputError(`no images given\n${usage}`);
    const model = await loadModelFromArgs(args, io);
    try {
      const { rewards, errors } = await scoreImages(model, prompt, images, flagOption(args, 'fail-fast'), io);
      const ranking = rankScored(rewards);
      for (const e of errors) io.err(`imagereward score: image ${e.index}: ${e.message}`);
      if (flagOption(args, 'json')) {
        io.out(JSON.stringify({ prompt, images, rewards, ranking, ...(errors.length > 0 ? { errors } : {}) }));
      } else {
        io.out('rank  reward    image');
        images.forEach((image, i) => {
          const r = rewards[i];
          io.out(`${String(ranking[i] ?? '-').padStart(4)}  ${(r === null ? 'error' : r!.toFixed(4)).padStart(8)}  ${image}`);
        });
      }
      if (errors.length > 0) io.err(`imagereward score: ${errors.length} of ${images.length} image(s) could not be scored`);
      return errors.length > 0 ? 2 : 0;
    } finally {
      model.dispose();
    }
  },
};
