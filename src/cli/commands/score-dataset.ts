/**
 * `imagereward score-dataset INPUT --output OUT`: every row of a dataset scored in batches, results
 * appended to OUT as each batch finishes; rerun to resume, `--shard I/N` / `--shards N` to split the
 * rows over machines, `imagereward merge` to join the shard outputs; `--redis URL` to have queue
 * workers (`imagereward worker`) score the rows instead of this process.
 */
import { flagOption, stringOption, type Command } from '../command.js';
import { InputError } from '../../errors.js';
import { describeOwner, withFileLock } from '../../hub/lock.js';
import { outputFormat, planOutput } from '../../dataset/output.js';
import { checkOutputFolder } from '../../util/fs.js';
import { scoreDataset, type ScoreDatasetSummary } from '../../dataset/scoreDataset.js';
import { parseShard, shardFromEnvironment, shardOutputPath, SHARD_INDEX_VARIABLES, type Shard } from '../../dataset/shard.js';
import { DATASET_FORMATS, openDataset } from '../../dataset/source.js';
import { DEFAULT_JOB_OPTIONS, DEFAULT_QUEUE, queueName, scoreDatasetOnQueue, type QueueJobOptions } from '../../queue/producer.js';
import { connectRedis } from '../../queue/redis.js';
import type { ParsedCommandArgs } from '../command.js';
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
  'Queue mode (BullMQ on Redis): the rows are scored by `imagereward worker --redis URL` processes, on this',
  'machine or others that see INPUT\'s image files at the same paths (tar and Parquet images travel in the',
  'job); this process loads no model (model options go to the workers), sends the rows in chunks and',
  'writes OUT as results come back, in the same format, resumable the same way; it exits when every row',
  'is in. A worker killed mid-job costs a retry, never a row: OUT holds each row exactly once.',
  '  --redis URL        redis://HOST:PORT[/DB] (rediss:// for TLS); unreachable: an error within 5 s',
  `  --queue NAME       queue name (default ${DEFAULT_QUEUE}); the workers must use the same`,
  `  --chunk-size N     rows per job (default ${DEFAULT_JOB_OPTIONS.chunkRows}; a test.json group is never split)`,
  `  --attempts N       tries per job before the run stops with QUEUE_JOB_FAILED (default ${DEFAULT_JOB_OPTIONS.attempts})`,
  `  --backoff MS       delay before the first retry, doubling after each (default ${DEFAULT_JOB_OPTIONS.backoffMs})`,
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
    redis: { type: 'string' }, queue: { type: 'string' }, 'chunk-size': { type: 'string' }, attempts: { type: 'string' }, backoff: { type: 'string' },
  },
  async run(args, io) {
    const input = onePositional(args, 'INPUT', usage);
    const requested = requiredOption(args, 'output', usage);
    const shard = shardOf(stringOption(args, 'shard'), stringOption(args, 'shards'));
    const output = shard ? shardOutputPath(requested, shard) : requested;
    const source = openDataset(input, { prompt: stringOption(args, 'prompt'), format: stringOption(args, 'format') });
    const redis = stringOption(args, 'redis');
    const jobs = queueJobOptions(args, redis !== undefined);
    const maxPairs = positiveIntOption(args, 'max-rows');
    outputFormat(output);
    checkOutputFolder(output, 'results'); // before the lock, which would create a missing folder
    const common = { failFast: flagOption(args, 'fail-fast'), progress: io.progress, ...(shard ? { shard } : {}) };
    // one writer per OUT: a second run of the same command (a restarted pod, a double submit) waits
    const intoOutput = (score: (log: string) => Promise<ScoreDatasetSummary>) => withFileLock(output, async () => {
      const plan = await planOutput(output, source.grouped);
      const result = await score(plan.log);
      await plan.finish();
      return result;
    }, (owner) => io.err(`imagereward score-dataset: waiting for ${describeOwner(owner)}, which is writing ${output}`));
    let summary: ScoreDatasetSummary;
    if (jobs) {
      const connection = await connectRedis(redis!);
      try {
        const note = (line: string) => io.err(`imagereward score-dataset: ${line}`);
        summary = await intoOutput((log) => scoreDatasetOnQueue(source, { ...common, log, redis: connection, jobs, note }));
      } finally {
        await connection.close();
      }
    } else {
      const model = await loadModelFromArgs(args, io);
      try {
        summary = await intoOutput((log) => scoreDataset(model, source, { ...common, log, ...(maxPairs !== undefined ? { maxPairs } : {}) }));
      } finally {
        model.dispose();
      }
    }
    const full = { input, output, shard: shard ? `${shard.index}/${shard.count}` : null, ...summary };
    if (flagOption(args, 'json')) io.out(JSON.stringify(full));
    else io.out(`${summary.rows} rows in ${output}: ${summary.scored} scored now, ${summary.resumed} already there, ${summary.errors} errors (${summary.seconds} s, ${summary.imagesPerSecond} images/s)`);
    if (summary.errors > 0) io.err(`imagereward score-dataset: ${summary.errors} of ${summary.rows} rows could not be scored (error rows in ${output})`);
    return summary.errors > 0 ? 2 : 0;
  },
};

const QUEUE_ONLY = ['queue', 'chunk-size', 'attempts', 'backoff'] as const;

/** The job options with --redis; without it, none of them may be given. With it, no model option may be (the workers load the model). */
function queueJobOptions(args: ParsedCommandArgs, queueMode: boolean): QueueJobOptions | undefined {
  if (!queueMode) {
    const given = QUEUE_ONLY.find((name) => args.values[name] !== undefined);
    if (given) throw new InputError(`--${given} is for the queue mode: give --redis URL too`);
    return undefined;
  }
  const forWorkers = [...Object.keys(MODEL_OPTIONS).filter((name) => name !== 'json'), 'max-rows'].find((name) => args.values[name] !== undefined);
  if (forWorkers) throw new InputError(`--${forWorkers} is for the workers: with --redis this process scores nothing, give it to \`imagereward worker\``);
  const backoff = stringOption(args, 'backoff');
  const backoffMs = backoff === undefined ? DEFAULT_JOB_OPTIONS.backoffMs : Number(backoff);
  if (!Number.isSafeInteger(backoffMs) || backoffMs < 0) throw new InputError(`--backoff must be milliseconds (an integer >= 0), got "${backoff}"`);
  return {
    ...DEFAULT_JOB_OPTIONS,
    queue: queueName(stringOption(args, 'queue')),
    chunkRows: positiveIntOption(args, 'chunk-size') ?? DEFAULT_JOB_OPTIONS.chunkRows,
    attempts: positiveIntOption(args, 'attempts') ?? DEFAULT_JOB_OPTIONS.attempts,
    backoffMs,
  };
}
