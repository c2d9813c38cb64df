/**
 * `imagereward worker --redis URL`: a BullMQ worker that scores score-dataset's chunks (wire.ts) with
 * one model loaded once, one job at a time (the forward already uses the cores). Scoring is CPU work
 * that holds the event loop for a whole batch, so a renewal timer cannot fire during it: BullMQ's own
 * is off, and the processor extends the job's lock itself after every batch (a refused extension
 * means the job went to another worker: this one stops scoring it). The lock duration must outlast
 * one batch (default 5 minutes; a full-size batch of 4 images takes seconds on wasm+blas, about half
 * a minute on 1-thread wasm). A worker killed mid-job loses nothing but time: its lock expires,
 * another worker's stalled-job check puts the job back, and it is scored again (the producer writes
 * each row once). A job whose worker died on it 3 times is failed (MAX_STALLS).
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { hostname } from 'node:os';
import type { StreamScorer } from '../api/scoreStream.js';
import { localScorer } from '../dataset/scoreDataset.js';
import type { ResultRecord } from '../dataset/row.js';
import { yieldToSignals } from '../util/interrupt.js';
import type { RedisConnection } from './redis.js';
import { CHUNK_FORMAT, decodeChunk, type ChunkJobResult } from './wire.js';

export const DEFAULT_LOCK_DURATION_MS = 5 * 60_000;

/** A job whose worker died on it this many times is failed (the producer reports it) instead of retried forever. */
const MAX_STALLS = 3;

export interface WorkerOptions {
  readonly queue: string;
  /** How long a job stays locked without a renewal; also the stalled-job check interval. */
  readonly lockDurationMs: number;
  /** Most rows per batch (default: the scorer's, 8 x batch size). */
  readonly maxPairs?: number;
  /** One line per job started and finished. */
  readonly log: (line: string) => void;
}

export interface RunningWorker {
  /** Resolves when the worker is listening. */
  readonly ready: Promise<void>;
  /** Rejects when the Redis connection is lost for good; never resolves otherwise. */
  readonly lost: Promise<never>;
  close(): Promise<void>;
}

/** `model`: the scorer's rewardModelId, sent with every result. */
export function startWorker(ir: StreamScorer, model: string, redis: RedisConnection, options: WorkerOptions): RunningWorker {
  const name = `${hostname()}:${process.pid}`;
  const score = localScorer(ir, options.maxPairs);
  const processor = async (job: Job, token?: string): Promise<ChunkJobResult> => {
    let rows;
    try {
      rows = decodeChunk(job.data);
    } catch (err) {
      throw new UnrecoverableError((err as Error).message); // not ours: no point in retrying it
    }
    const started = performance.now();
    options.log(`job ${job.id}: rows ${rows[0]?.row}..${rows[rows.length - 1]?.row} (${rows.length}), attempt ${job.attemptsStarted}${job.stalledCounter > 0 ? ` (stalled ${job.stalledCounter}x: a worker died on it)` : ''}`);
    const records: ResultRecord[] = [];
    for await (const batch of score(rows)) {
      records.push(...batch);
      if (token !== undefined && (await job.extendLock(token, options.lockDurationMs)) === 0) {
        throw new Error(`lost the lock of job ${job.id} (it ran past --lock-duration and was given to another worker)`);
      }
      await yieldToSignals();
    }
    options.log(`job ${job.id}: done, ${records.length} records in ${((performance.now() - started) / 1000).toFixed(2)} s`);
    return { format: CHUNK_FORMAT, records, worker: name, model };
  };
  const worker = new Worker(options.queue, processor, {
    connection: redis.client,
    concurrency: 1,
    skipLockRenewal: true,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.lockDurationMs,
    maxStalledCount: MAX_STALLS,
  });
  let lastError: string | undefined;
  worker.on('error', (err: Error) => {
    // one line per new error, not one per reconnect attempt
    if (err.message !== lastError) options.log(`worker error: ${err.message}`);
    lastError = err.message;
  });
  worker.on('completed', () => { lastError = undefined; });
  worker.on('failed', (job: Job | undefined, err: Error) => options.log(`job ${job?.id ?? '?'}: failed: ${err.message}`));
  return {
    ready: worker.waitUntilReady().then(() => {}),
    lost: redis.lost,
    close: () => worker.close(),
  };
}
