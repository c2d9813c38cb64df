/**
 * `score-dataset --redis URL`: the pending rows go to a BullMQ queue in chunks, workers (`imagereward
 * worker`, src/queue/worker.ts) score them, and the results come back here to be written to OUT by the
 * same engine as a local run (dataset/scoreDataset.ts `runDataset`): resume, shards, --fail-fast and
 * the exactly-once rule (a record is written only for a pending row OUT does not hold) are the same.
 *
 * BullMQ delivers at least once (a worker killed mid-job leaves it to be retried once its lock
 * expires); rows are written exactly once because OUT is keyed by row. A chunk's job is removed from
 * Redis once its rows are on disk; a producer killed before that finds the finished job again on the
 * rerun (job ids are content-addressed, wire.ts). At most `maxQueuedChunks` jobs are in Redis at once,
 * so Redis memory, like ours, is bounded by the window, not the dataset.
 */
import { Job, Queue, QueueEvents } from 'bullmq';
import { resolve } from 'node:path';
import { InputError, QueueError } from '../errors.js';
import { runDataset, sameGroup, type BatchScorer, type PendingRow, type ScoreDatasetOptions, type ScoreDatasetSummary } from '../dataset/scoreDataset.js';
import type { DatasetSource } from '../dataset/source.js';
import type { RedisConnection } from './redis.js';
import { chunkJobId, decodeResult, encodeChunk, type ChunkJobResult } from './wire.js';

export const DEFAULT_QUEUE = 'imagereward';

/** BullMQ keys are `bull:NAME:...`: a name with a colon would address another queue's keys. */
export function queueName(name: string | undefined): string {
  if (name === undefined) return DEFAULT_QUEUE;
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) throw new InputError(`--queue ${JSON.stringify(name)}: a queue name is 1-100 letters, digits, ".", "_" or "-"`);
  return name;
}

export interface QueueJobOptions {
  /** BullMQ queue name (default "imagereward"); the workers must be started on the same one. */
  readonly queue: string;
  /** Rows per job (a group is never split, so a chunk may hold more). */
  readonly chunkRows: number;
  /** Tries per job before the run stops with QUEUE_JOB_FAILED. */
  readonly attempts: number;
  /** First retry delay in ms; doubles per retry. */
  readonly backoffMs: number;
  /** Jobs in Redis at once. */
  readonly maxQueuedChunks: number;
}

export const DEFAULT_JOB_OPTIONS: Omit<QueueJobOptions, 'queue'> = { chunkRows: 32, attempts: 3, backoffMs: 1000, maxQueuedChunks: 16 };

/** Cuts the pending rows into chunks of about `size` rows, never inside a group. */
async function* chunksOf(rows: AsyncIterable<PendingRow> | Iterable<PendingRow>, size: number): AsyncGenerator<PendingRow[]> {
  let chunk: PendingRow[] = [];
  for await (const row of rows) {
    if (chunk.length >= size && !sameGroup(chunk[chunk.length - 1]!, row)) {
      yield chunk;
      chunk = [];
    }
    chunk.push(row);
  }
  if (chunk.length > 0) yield chunk;
}

const span = (rows: readonly PendingRow[]) => `rows ${rows[0]!.row}..${rows[rows.length - 1]!.row}`;

/** Batches scored by the queue's workers; `note` gets one line when no worker is listening yet. */
export function queueScorer(redis: RedisConnection, output: string, options: QueueJobOptions, note: (line: string) => void): BatchScorer {
  return async function* (pending) {
    const queue = new Queue(options.queue, { connection: redis.client });
    const events = new QueueEvents(options.queue, { connection: redis.client });
    const inFlight = new Map<string, Promise<{ id: string; rows: PendingRow[]; result?: ChunkJobResult; failure?: string }>>();
    let model: { id: string; worker: string } | undefined; // of the first result: every later one must match
    try {
      await Promise.race([events.waitUntilReady(), redis.lost]);
      if ((await queue.getWorkersCount()) === 0) {
        note(`no worker is on queue "${options.queue}" at ${redis.url} yet; the rows wait for one: start it with \`imagereward worker --redis URL --queue ${options.queue}\``);
      }
      const collect = async () => {
        const settled = await Promise.race([...inFlight.values(), redis.lost]);
        inFlight.delete(settled.id);
        const job = await Job.fromId(queue, settled.id);
        await job?.remove();
        if (settled.failure !== undefined) {
          throw new QueueError('QUEUE_JOB_FAILED', redis.url, `job ${settled.id} (${span(settled.rows)}) ${settled.failure}; the rows scored so far are in OUT, rerun to retry the rest`);
        }
        const { records, worker, model: id } = settled.result!;
        model ??= { id, worker };
        if (id !== model.id) {
          throw new QueueError('QUEUE_JOB_FAILED', redis.url, `job ${settled.id} (${span(settled.rows)}) was scored by ${worker} with model ${id}, earlier jobs by ${model.worker} with model ${model.id}: `
            + `every worker on queue "${options.queue}" must run the same model; stop the odd one and rerun (its rows were not written)`);
        }
        return records;
      };
      for await (const rows of chunksOf(pending, options.chunkRows)) {
        const id = chunkJobId(resolve(output), rows);
        const earlier = await Job.fromId(queue, id);
        if (earlier !== undefined && (await earlier.isFailed())) await earlier.remove(); // a failure of an earlier run is retried afresh
        const job = await queue.add('score', encodeChunk(rows), {
          jobId: id, attempts: options.attempts, backoff: { type: 'exponential', delay: options.backoffMs }, removeOnComplete: false, removeOnFail: false,
        });
        inFlight.set(id, job.waitUntilFinished(events).then(
          (value: unknown) => {
            const result = decodeResult(value);
            return result ? { id, rows, result } : { id, rows, failure: 'returned a result that is not a score-dataset chunk result of this version' };
          },
          (err: unknown) => ({ id, rows, failure: `failed after ${options.attempts} attempts: ${(err as Error).message}` }),
        ));
        while (inFlight.size >= options.maxQueuedChunks) yield await collect();
      }
      while (inFlight.size > 0) yield await collect();
    } finally {
      await events.close();
      await queue.close();
    }
  };
}

export interface QueueDatasetOptions extends Omit<ScoreDatasetOptions, 'maxPairs'> {
  readonly redis: RedisConnection;
  readonly jobs: QueueJobOptions;
  /** One line for the user (no worker listening yet). */
  readonly note?: (line: string) => void;
}

export function scoreDatasetOnQueue(source: DatasetSource, options: QueueDatasetOptions): Promise<ScoreDatasetSummary> {
  return runDataset(source, options, queueScorer(options.redis, options.log, options.jobs, options.note ?? (() => {})));
}
