/** `imagereward score --prompt TEXT IMAGE...`: rewards and ranks of images for one prompt. */
import { flagOption, type Command } from '../command.js';
import { InputError } from '../../errors.js';
import { loadModelFromArgs, MODEL_OPTIONS, MODEL_USAGE, requiredOption } from './modelOptions.js';

const usage = [
  'usage: imagereward score --prompt TEXT [options] IMAGE...',
  '',
  'Scores each image for the prompt (upstream score / inference_rank). Rewards are z-scored against the',
  'ImageReward test set (mean 0.167, std 1.033): 0 = average, higher is better. ranking[i] is the 1-based',
  'rank of IMAGE i (1 = best).',
  '',
  '  --prompt TEXT      the prompt (required)',
  MODEL_USAGE,
  '',
  'JSON: {"prompt", "images", "rewards", "ranking"}',
].join('\n');

export const scoreCommand: Command = {
  name: 'score',
  summary: 'score and rank images for a prompt',
  usage,
  options: { ...MODEL_OPTIONS, prompt: { type: 'string' } },
  async run(args, io) {
    const prompt = requiredOption(args, 'prompt', usage);
    const images = args.positionals;
    if (images.length === 0) throw new InputError(`no images given\n${usage}`);
    const model = await loadModelFromArgs(args, io);
    try {
      const { ranking, rewards } = await model.rank(prompt, images);
      if (flagOption(args, 'json')) {
        io.out(JSON.stringify({ prompt, images, rewards, ranking }));
      } else {
        io.out('rank  reward    image');
        for (let i = 0; i < images.length; i++) io.out(`${String(ranking[i]).padStart(4)}  ${rewards[i]!.toFixed(4).padStart(8)}  ${images[i]}`);
      }
      return 0;
    } finally {
      model.dispose();
    }
  },
};
