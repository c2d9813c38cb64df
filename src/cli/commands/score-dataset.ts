/**
 * `imagereward score-dataset INPUT --output OUT`: every row of a dataset scored in batches, results
 * appended to OUT as each batch finishes; rerun to resume, `--shard I/N` / `--shards N` to split the
 * rows over machines, `imagereward merge` to join the shard outputs.
 */
import { flagOption, stringOption, type Command } from '../command.js';
import { InputError } from '../../errors.js';
import { describeOwner, withFileLock } from '../../hub/lock.js';
import { outputFormat, planOutput } from '../../dataset/output.js';
import { checkOutputFolder } from '../../util/fs.js';
import { scoreDataset } from '../../dataset/scoreDataset.js';
import { parseShard, shardFromEnvironment, shardOutputPath, SHARD_INDEX_VARIABLES, type Shard } from '../../dataset/shard.js';
import { DATASET_FORMATS, openDataset } from '../../dataset/source.js';
import { loadModelFromArgs, MODEL_OPTIONS, MODEL_USAGE, onePositional, positiveIntOption, requiredOption } from './modelOptions.js';

const usage = [
  'usage: imagereward score-dataset INPUT --output OUT [options]',
  '',
  'Scores every row of INPUT and appends one line per row to OUT as each batch finishes. Memory is bounded',
  'by the batch, not by the dataset. Rerunning the same command resumes: only rows not yet in OUT are',
  'scored, also after a crash or SIGKILL. A second run on the same OUT waits for the first (OUT.lock).',
  '',
  'INPUT:',
  '  rows.jsonl         one {"prompt": TEXT, "image": PATH} per line (PATH relative to the file)',
  '  rows.csv           a header with "prompt" and "image" columns, one row per pair',
  '  rows.parquet       "prompt" and "image" columns; image a path, the image bytes or a {bytes, path} struct',
  '  test.json          upstream\'s shape: [{"prompt", "generations": [PATH...]}]; each record is a group,',
  '                     its rows get "group" and "ranking" (1 = best of the group)',
  '  shard.tar          webdataset (img2dataset): KEY.jpg|png|webp with its caption in KEY.txt or KEY.json',
  '                     ("caption" / "prompt"); "image" is the member name',
  '  DIR --prompt TEXT  every .png/.jpg/.jpeg/.webp in DIR (not recursive, name order), for one prompt',
  '',
  'OUT (.jsonl): {"row", "prompt", "image", "reward"} per row (prompt and image as INPUT gives them); a row',
  'that cannot be scored (missing file, corrupt image, empty prompt) is {"row", "prompt", "image",',
  '"error": {"code", "message"}} and the run goes on; the exit code is 2 when OUT holds any error row.',
  'OUT (.parquet): columns row, prompt, image, reward, error_code, error_message (+ group, ranking), written',
  'at the end (temp file + rename) from OUT.progress.jsonl, which a rerun resumes.',
  '',
  '  --output OUT       result file (required; its folder must exist)',
  '  --prompt TEXT      the prompt of every image of a folder INPUT',
  `  --format F         INPUT format when its extension does not say: ${DATASET_FORMATS.join(' | ')}`,
  '  --fail-fast        stop at the first row that cannot be scored (exit 2; rows before it are kept)',
  '  --shard I/N        score only shard I (0-based) of N: rows whose index is I modulo N; OUT becomes',
  '                     OUT.shard-000I-of-000N.jsonl (join the shards with `imagereward merge`)',
  `  --shards N         the same, I read from ${SHARD_INDEX_VARIABLES.join(', ')}`,
  '                     (Kubernetes Indexed Job, AWS Batch array job, Slurm job array)',
  '  --max-rows N       most rows per batch (default 8 x --batch-size); a batch holds at most',
  '                     --batch-size distinct images, an image repeated within it is encoded once',
  MODEL_USAGE,
  '',
  'Progress (rows done / total, rate, ETA, errors) goes to stderr. JSON summary: {"input", "output",',
  '  "shard", "rows", "scored", "resumed", "errors", "seconds", "imagesPerSecond", "firstResultSeconds",',
  '  "memory": {"peakRssMiB", "wasmHeapMiB"}}',
].join('\n');

function shardOf(shard: string | undefined, shards: string | undefined): Shard | undefined {
  if (shard !== undefined && shards !== undefined) throw new InputError('give --shard I/N or --shards N, not both');
  if (shard !== undefined) return parseShard(shard);
  return shards === undefined ? undefined : shardFromEnvironment(shards);
}

export const scoreDatasetCommand: Command = {
  name: 'score-dataset',
  summary: 'score every row of a dataset (streaming, resumable, sharded)',
  usage,
  options: {
    ...MODEL_OPTIONS, output: { type: 'string' }, prompt: { type: 'string' }, format: { type: 'string' }, 'fail-fast': { type: 'boolean' },
    shard: { type: 'string' }, shards: { type: 'string' }, 'max-rows': { type: 'string' },
  },
  async run(args, io) {
    const input = onePositional(args, 'INPUT', usage);
    const requested = requiredOption(args, 'output', usage);
    const shard = shardOf(stringOption(args, 'shard'), stringOption(args, 'shards'));
    const output = shard ? shardOutputPath(requested, shard) : requested;
    const source = openDataset(input, { prompt: stringOption(args, 'prompt'), format: stringOption(args, 'format') });
    const maxPairs = positiveIntOption(args, 'max-rows');
    outputFormat(output);
    checkOutputFolder(output, 'results'); // before the lock, which would create a missing folder
    const model = await loadModelFromArgs(args, io);
    try {
      // one writer per OUT: a second run of the same command (a restarted pod, a double submit) waits
      const summary = await withFileLock(output, async () => {
        const plan = await planOutput(output, source.grouped);
        const result = await scoreDataset(model, source, {
          log: plan.log, failFast: flagOption(args, 'fail-fast'), progress: io.progress,
          ...(shard ? { shard } : {}), ...(maxPairs !== undefined ? { maxPairs } : {}),
        });
        await plan.finish();
        return result;
      }, (owner) => io.err(`imagereward score-dataset: waiting for ${describeOwner(owner)}, which is writing ${output}`));
      const full = { input, output, shard: shard ? `${shard.index}/${shard.count}` : null, ...summary };
      if (flagOption(args, 'json')) io.out(JSON.stringify(full));
      else io.out(`${summary.rows} rows in ${output}: ${summary.scored} scored now, ${summary.resumed} already there, ${summary.errors} errors (${summary.seconds} s, ${summary.imagesPerSecond} images/s)`);
      if (summary.errors > 0) io.err(`imagereward score-dataset: ${summary.errors} of ${summary.rows} rows could not be scored (error rows in ${output})`);
      return summary.errors > 0 ? 2 : 0;
    } finally {
      model.dispose();
    }
  },
};
