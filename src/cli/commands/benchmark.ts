/** `imagereward benchmark DIR... --prompts FILE`: upstream test-benchmark.py's generator benchmark. */
import { basename, extname } from 'node:path';
import { flagOption, stringOption, type Command } from '../command.js';
import { InputError } from '../../errors.js';
import { benchmarkGenerator, benchmarkTable, readBenchmarkPrompts, writeBenchmarkResults, type GeneratorResult } from '../../dataset/benchmark.js';
import { checkOutputFolder } from '../../util/fs.js';
import { withTask } from '../../util/progress.js';
import { DEFAULT_MODEL, loadModelFromArgs, MODEL_OPTIONS, MODEL_USAGE, requiredOption } from './modelOptions.js';

const usage = [
  'usage: imagereward benchmark DIR... --prompts FILE [options]',
  '',
  'Upstream scripts/test-benchmark.py: each DIR holds one generator\'s images, <prompt id>_<k>.png for k = 0 ..',
  '(files in DIR / prompts) - 1. A generator\'s score is the mean over prompts of the mean reward of the',
  'prompt\'s images. Prints the markdown table and writes, into --result-dir, <name>-benchmark-<DIR name>-',
  'result.json ([{"id", "prompt", "mean_score", "rewards"}] per prompt) and <name>-benchmark-results.json',
  '({DIR name: score}). Every image must score: any failure stops the run (exit 2).',
  '',
  '  --prompts FILE     the prompt list: [{"id", "prompt"}] (upstream benchmark/benchmark-prompts.json)',
  '  --result-dir DIR   where the JSON results go (default: the current folder; must exist)',
  '  --name NAME        <name> in the result files (default: the --model name, e.g. ImageReward-v1.0)',
  MODEL_USAGE,
  '',
  'JSON: {"name", "generators": [{"generator", "dir", "imagesPerPrompt", "score"}], "files"}',
].join('\n');

export const benchmarkCommand: Command = {
  name: 'benchmark',
  summary: 'upstream\'s generator benchmark over folders of <prompt id>_<k>.png',
  usage,
  options: { ...MODEL_OPTIONS, prompts: { type: 'string' }, 'result-dir': { type: 'string' }, name: { type: 'string' } },
  async run(args, io) {
    const dirs = args.positionals;
    if (dirs.length === 0) throw new InputError(`no generator folders given\n${usage}`);
    const prompts = await readBenchmarkPrompts(requiredOption(args, 'prompts', usage));
    const resultDir = stringOption(args, 'result-dir') ?? '.';
    checkOutputFolder(`${resultDir}/x`, 'benchmark results');
    const modelName = stringOption(args, 'model') ?? DEFAULT_MODEL;
    const name = stringOption(args, 'name') ?? basename(modelName, extname(modelName));
    const model = await loadModelFromArgs(args, io);
    try {
      const results: GeneratorResult[] = [];
      await withTask(io.progress, 'benchmark', undefined, 'images', async (task) => {
        let done = 0;
        for (const dir of dirs) {
          const r = await benchmarkGenerator(model, dir, prompts, task, done);
          done += r.imagesPerPrompt * prompts.length;
          results.push(r);
        }
      });
      const files = await writeBenchmarkResults(resultDir, name, results);
      if (flagOption(args, 'json')) {
        io.out(JSON.stringify({ name, generators: results.map(({ prompts: _, ...g }) => g), files }));
      } else {
        io.out(benchmarkTable(name, results));
      }
      return 0;
    } finally {
      model.dispose();
    }
  },
};
