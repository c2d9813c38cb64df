/**
 * `score-dataset --redis URL`: the pending rows go to a BullMQ queue in chunks, workers (`imagereward
 * worker`, src/queue/worker.ts) score them, and the results come back here to be written to OUT by the
 * same engine as a local run (dataset/scoreDataset.ts `runDataset`): resume, shards, --fail-fast and
 * the exactly-once rule (a record is written only for a pending row OUT does not hold) are the same.
 *
 * BullMQ delivers at least once (a worker killed mid-job leaves it to be retried once its lock
 * expires); rows are written exactly once because OUT is keyed by row. A chunk's job is removed from
 * Redis once its rows are on disk. Job ids are this run's (wire.ts): a rerun never takes the results
 * of an earlier run's jobs, which may come from a worker with another model; the jobs a killed
 * producer leaves are scored for nothing and leave Redis a day after they finish. At most
 * `maxQueuedChunks` jobs of a run are in Redis at once, and a run that stops early removes the ones it
 * will not collect, so Redis memory, like ours, is bounded by the window.
 */
import { Job, Queue, QueueEvents } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { InputError, QueueError } from '../errors.js';
import { runDataset, sameGroup, type BatchScorer, type PendingRow, type ScoreDatasetOptions, type ScoreDatasetSummary } from '../dataset/scoreDataset.js';
import type { DatasetSource } from '../dataset/source.js';
import type { RedisConnection } from './redis.js';
import { rowFingerprint, type ResultRecord } from '../dataset/row.js';
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

/** A job's outcome: its result, or why there is none. */
interface Settled {
  readonly id: string;
  readonly rows: readonly PendingRow[];
  readonly result?: ChunkJobResult;
  readonly failure?: string;
}

/**
 * The in-flight jobs' outcomes in the order they settle. It listens to `lost` once for the whole run:
 * racing every wait against that long-lived promise would leave one reaction per job on it, and with
 * it every job's rows and records, for as long as the connection lives.
 */
class Outcomes {
  private readonly settled: Settled[] = [];
  private wake: (() => void) | undefined;
  private lostWith: { error: unknown } | undefined;
  /** Jobs added and not yet taken. */
  pending = 0;

  constructor(lost: Promise<never>) {
    lost.catch((error: unknown) => {
      this.lostWith = { error };
      this.wake?.();
    });
  }

  add(outcome: Promise<Settled>): void {
    this.pending++;
    void outcome.then((s) => {
      this.settled.push(s);
      this.wake?.();
    }, (error: unknown) => {
      // a wait that failed in itself (Redis commands failing): the run cannot go on
      this.lostWith ??= { error };
      this.wake?.();
    });
  }

  async next(): Promise<Settled> {
    for (;;) {
      if (this.lostWith) throw this.lostWith.error;
      if (this.settled.length > 0) break;
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = undefined;
    }
    this.pending--;
    return this.settled.shift()!;
  }
}

/** How often a wait checks that its job still exists (Redis restarted without persistence, keys evicted). */
const RECHECK_MS = 30_000;
/** Finished jobs a producer never collected (it was killed) leave Redis after a day. */
const KEEP_FINISHED = { age: 24 * 3600 };

/** The records must be one per row of the chunk that is not only there for its group's ranking. */
function coversRows(rows: readonly PendingRow[], records: readonly ResultRecord[]): boolean {
  const wanted = new Map(rows.filter((r) => !r.logged).map((r) => [r.row, rowFingerprint(r.prompt, r.imageName)]));
  return records.length === wanted.size && records.every((r) => wanted.get(r.row) === rowFingerprint(r.prompt, r.image) && wanted.delete(r.row));
}

/** Batches scored by the queue's workers; `note` gets one line when no worker is listening yet. */
export function queueScorer(redis: RedisConnection, output: string, options: QueueJobOptions, note: (line: string) => void): BatchScorer {
  return async function* (pending) {
    const queue = new Queue(options.queue, { connection: redis.client });
    const events = new QueueEvents(options.queue, { connection: redis.client });
    const outcomes = new Outcomes(redis.lost);
    const unremoved = new Set<string>(); // this run's jobs still in Redis
    let stopped = false;
    let model: { id: string; worker: string } | undefined; // of the first result: every later one must match
    const add = async (id: string, rows: readonly PendingRow[]): Promise<Job> => {
      unremoved.add(id);
      return queue.add('score', encodeChunk(rows), {
        jobId: id, attempts: options.attempts, backoff: { type: 'exponential', delay: options.backoffMs }, removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED,
      });
    };
    const outcome = async (job: Job, rows: readonly PendingRow[]): Promise<Settled> => {
      const id = job.id!;
      for (;;) {
        try {
          const result = decodeResult(await job.waitUntilFinished(events, RECHECK_MS));
          if (!result) return { id, rows, failure: 'returned a result that is not a score-dataset chunk result of this version' };
          if (!coversRows(rows, result.records)) return { id, rows, failure: `was answered by ${result.worker} with records that are not one per row of the job` };
          return { id, rows, result };
        } catch (err) {
          if (stopped) return { id, rows, failure: 'was abandoned: the run stopped' };
          const now = await Job.fromId(queue, id);
          if (now === undefined) job = await add(id, rows); // Redis lost it: send it again
          else if (await now.isFailed()) return { id, rows, failure: `failed after ${options.attempts} attempts: ${now.failedReason || (err as Error).message}` };
          // else the wait timed out with the job still waiting or running: wait again
        }
      }
    };
    const collect = async (): Promise<Settled> => {
      const settled = await outcomes.next();
      if (settled.failure !== undefined) {
        await removeJob(settled.id);
        throw new QueueError('QUEUE_JOB_FAILED', redis.url, `job ${settled.id} (${span(settled.rows)}) ${settled.failure}; the rows scored so far are in OUT, rerun to retry the rest`);
      }
      const { worker, model: id } = settled.result!;
      model ??= { id, worker };
      if (id !== model.id) {
        await removeJob(settled.id);
        throw new QueueError('QUEUE_JOB_FAILED', redis.url, `job ${settled.id} (${span(settled.rows)}) was scored by ${worker} with model ${id}, earlier jobs by ${model.worker} with model ${model.id}: `
          + `every worker on queue "${options.queue}" must run the same model; stop the odd one and rerun (its rows were not written)`);
      }
      return settled;
    };
    /** Removes a job of this run from Redis; one that a worker holds (locked) stays until it expires (KEEP_FINISHED). */
    const removeJob = async (id: string): Promise<void> => {
      unremoved.delete(id);
      await Job.fromId(queue, id).then((job) => job?.remove()).catch(() => {});
    };
    try {
      const ready = events.waitUntilReady();
      ready.catch(() => {}); // if the connection is lost first, its rejection is expected
      await Promise.race([ready, redis.lost]);
      let first = true;
      const drain = async function* (): AsyncGenerator<readonly ResultRecord[]> {
        const settled = await collect();
        yield settled.result!.records;
        await removeJob(settled.id); // only now: the consumer has written the records before asking for more
      };
      const run = `${resolve(output)}\n${randomUUID()}`;
      for await (const rows of chunksOf(pending, options.chunkRows)) {
        const id = chunkJobId(run, rows);
        outcomes.add(outcome(await add(id, rows), rows));
        if (first && (await queue.getWorkersCount()) === 0) {
          note(`no worker is on queue "${options.queue}" at ${redis.url} yet; the rows wait for one: start it with \`imagereward worker --redis URL --queue ${options.queue}\``);
        }
        first = false;
        while (outcomes.pending >= options.maxQueuedChunks) yield* drain();
      }
      while (outcomes.pending > 0) yield* drain();
    } catch (err) {
      if (redis.client.status === 'end' && !(err instanceof QueueError)) {
        throw new QueueError('QUEUE_UNAVAILABLE', redis.url, `lost the connection to Redis at ${redis.url} (${(err as Error).message})`, { cause: err });
      }
      throw err;
    } finally {
      stopped = true;
      // jobs this run will not collect (--fail-fast, a failed job, a lost connection): out of the queue, so that
      // no worker scores them for nothing and no rerun picks up their results
      if (redis.client.status !== 'end') for (const id of [...unremoved]) await removeJob(id);
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
