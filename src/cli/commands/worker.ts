/**
 * `imagereward worker --redis URL`: scores the chunks `score-dataset --redis URL` puts on the queue,
 * with the model loaded once, until SIGINT / SIGTERM (a job in flight is then retried by another
 * worker once its lock expires) or until Redis is gone for good (exit 2, QUEUE_UNAVAILABLE).
 */
import { stringOption, type Command } from '../command.js';
import { DEFAULT_QUEUE, queueName } from '../../queue/producer.js';
import { rewardModelId } from '../../api/featureModelId.js';
import { connectRedis } from '../../queue/redis.js';
import { DEFAULT_LOCK_DURATION_MS, startWorker } from '../../queue/worker.js';
import { loadModelFromArgs, MODEL_OPTIONS, MODEL_USAGE, positiveIntOption, requiredOption } from './modelOptions.js';

const usage = [
  'usage: imagereward worker --redis URL [--queue NAME] [options]',
  '',
  'A queue worker for `imagereward score-dataset INPUT --output OUT --redis URL`: loads the model once and',
  'scores the queued chunks of rows, one at a time, until stopped (SIGINT / SIGTERM). Run as many as you',
  'like, on any machine that sees INPUT\'s image files at the same paths. Every worker of a queue must run',
  'the same model: each result carries the model\'s id (weights sha256, configs, head), and the producer stops',
  'with QUEUE_JOB_FAILED when two differ. Stopping or killing a worker mid-job costs a retry: the job goes',
  'back to the queue when its lock expires and another worker scores it.',
  '',
  '  --redis URL           redis://HOST:PORT[/DB] (rediss:// for TLS); unreachable: an error within 5 s',
  `  --queue NAME          queue name (default ${DEFAULT_QUEUE}), the producer's --queue`,
  `  --lock-duration MS    how long a job is locked without renewal (default ${DEFAULT_LOCK_DURATION_MS}); the lock is`,
  '                        renewed after every batch, so it must outlast one batch; a killed worker\'s job',
  '                        is retried after about twice this',
  '  --max-rows N          most rows per batch (default 8 x --batch-size)',
  MODEL_USAGE,
  '',
  'One line per job on stderr (rows, attempt, seconds).',
].join('\n');

export const workerCommand: Command = {
  name: 'worker',
  summary: 'score queued score-dataset chunks from Redis (BullMQ)',
  usage,
  options: { ...MODEL_OPTIONS, redis: { type: 'string' }, queue: { type: 'string' }, 'lock-duration': { type: 'string' }, 'max-rows': { type: 'string' } },
  async run(args, io) {
    const url = requiredOption(args, 'redis', usage);
    const queue = queueName(stringOption(args, 'queue'));
    const lockDurationMs = positiveIntOption(args, 'lock-duration') ?? DEFAULT_LOCK_DURATION_MS;
    const maxPairs = positiveIntOption(args, 'max-rows');
    const redis = await connectRedis(url);
    try {
      const model = await loadModelFromArgs(args, io);
      try {
        const modelId = await rewardModelId(model.description);
        const worker = startWorker(model, modelId, redis, {
          queue, lockDurationMs, ...(maxPairs !== undefined ? { maxPairs } : {}), log: (line) => io.err(`imagereward worker: ${line}`),
        });
        try {
          await Promise.race([worker.ready, worker.lost]);
          io.err(`imagereward worker: waiting for jobs on queue "${queue}" at ${redis.url} (model ${modelId})`);
          return await worker.lost;
        } finally {
          await worker.close();
        }
      } finally {
        model.dispose();
      }
    } finally {
      await redis.close();
    }
  },
};
