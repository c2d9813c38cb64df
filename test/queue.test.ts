/**
 * score-dataset's queue mode on a real redis-server: the CLI's checks, an unreachable Redis, two real
 * worker processes and a producer with one worker SIGKILLed mid-job (every row exactly once, rewards
 * equal to a local run), and the producer's handling of jobs that fail or answer garbage (in-process
 * BullMQ workers standing in for ours).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Queue, Worker, type Job } from 'bullmq';
import { openDataset } from '../src/dataset/source.js';
import { QueueError } from '../src/errors.js';
import { DEFAULT_JOB_OPTIONS, scoreDatasetOnQueue } from '../src/queue/producer.js';
import { connectRedis, redactRedisUrl, type RedisConnection } from '../src/queue/redis.js';
import { CHUNK_FORMAT, decodeChunk, encodeChunk } from '../src/queue/wire.js';
import { CLI_BIN, REPO_ROOT, runCli } from './helpers/cliProcess.js';
import { byRow, cli, readResultLines, TINY_FILES, tinyModelFlags } from './helpers/datasetCli.js';
import { writeJsonl, writeNoiseImages } from './helpers/datasetImages.js';
import { requireFixtures } from './helpers/fixtures.js';
import { freePort, startRedis, type RedisServer } from './helpers/redisServer.js';

/** A worker process whose stderr lines are collected as they come. */
interface WorkerProcess { readonly child: ChildProcess; readonly lines: string[]; readonly exited: Promise<number | null> }

function spawnWorker(argv: readonly string[]): WorkerProcess {
  const child = spawn(process.execPath, [CLI_BIN, 'worker', ...argv], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, lines, exited };
}

async function until(what: string, ms: number, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('score-dataset --redis / imagereward worker (BullMQ)', function () {
  this.timeout(180_000);
  let redis: RedisServer;
  let tmp: string;

  before(async function () {
    requireFixtures(this, ...TINY_FILES);
    redis = await startRedis(this);
    tmp = mkdtempSync(join(tmpdir(), 'ir-queue-'));
  });

  after(async () => {
    await redis?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('an unreachable Redis is a typed error naming the URL, within seconds, for the producer and the worker', async () => {
    const { rows } = writeNoiseImages(join(tmp, 'unreachable'), 2);
    const input = join(tmp, 'unreachable', 'rows.jsonl');
    writeJsonl(input, rows);
    const url = `redis://user:hunter2@127.0.0.1:${await freePort()}`;
    for (const argv of [['score-dataset', input, '--output', join(tmp, 'unreachable', 'out.jsonl'), '--redis', url, '--json'], ['worker', '--redis', url, ...tinyModelFlags(), '--json']]) {
      const started = Date.now();
      const r = await cli(...argv);
      expect(Date.now() - started, argv[0]).to.be.below(10_000);
      expect(r.code, argv[0]).to.equal(2);
      const { error } = JSON.parse(r.out[0]!) as { error: { code: string; message: string } };
      expect(error.code).to.equal('QUEUE_UNAVAILABLE');
      expect(error.message).to.include(url.replace('hunter2', '***')).and.not.include('hunter2');
    }
  });

  it('a server that accepts and never answers is QUEUE_UNAVAILABLE after 5 s, not a hang', async () => {
    const silent = createServer(() => {}); // accepts, never writes
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `redis://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const started = Date.now();
      const err = await connectRedis(url).then(() => undefined, (e: unknown) => e);
      expect(Date.now() - started).to.be.within(4_500, 8_000);
      expect(err).to.be.instanceOf(QueueError);
      expect((err as QueueError).code).to.equal('QUEUE_UNAVAILABLE');
      expect((err as QueueError).message).to.equal(`cannot reach Redis at ${url} (no answer within 5 s): start one (\`redis-server\`) or give the right --redis URL`);
    } finally {
      silent.close();
    }
  });

  it('sends image paths absolute (workers have their own working directory) and masks passwords in the query too', () => {
    const [row] = encodeChunk([{ row: 0, prompt: 'p', imageName: 'a.png', image: join('imgs', 'a.png'), logged: false }]).rows;
    expect(row!.image).to.deep.equal({ path: resolve('imgs', 'a.png') });
    expect(redactRedisUrl('redis://127.0.0.1:6379/0?password=hunter2')).to.equal('redis://127.0.0.1:6379/0?password=***');
  });

  it('refuses a URL that is not redis://, model options on the producer and queue options without --redis', async () => {
    expect(() => redactRedisUrl('http://127.0.0.1:6379')).to.throw(/must start with redis:\/\//);
    const input = join(tmp, 'unreachable', 'rows.jsonl');
    const out = join(tmp, 'unreachable', 'refused.jsonl');
    const cases: [string[], RegExp][] = [
      [['--redis', redis.url, '--model', 'x.safetensors'], /--model is for the workers/],
      [['--redis', redis.url, '--max-rows', '2'], /--max-rows is for the workers/],
      [['--chunk-size', '4'], /--chunk-size is for the queue mode: give --redis URL too/],
      [['--redis', redis.url, '--queue', 'a:b'], /a queue name is 1-100 letters/],
      [['--redis', redis.url, '--backoff=-1'], /--backoff must be milliseconds/],
    ];
    for (const [flags, message] of cases) {
      const r = await cli('score-dataset', input, '--output', out, ...flags, '--json');
      expect(r.code, flags.join(' ')).to.equal(2);
      expect((JSON.parse(r.out[0]!) as { error: { message: string } }).error.message, flags.join(' ')).to.match(message);
    }
  });

  it('2 workers + a producer, one worker SIGKILLed mid-job: every row exactly once, rewards equal to a local run', async () => {
    const dir = join(tmp, 'two-workers');
    const { rows } = writeNoiseImages(dir, 60);
    const input = join(dir, 'rows.jsonl');
    writeJsonl(input, [...rows, { prompt: 'a row whose image is missing', image: 'missing.png' }]);
    const local = join(dir, 'local.jsonl');
    expect((await cli('score-dataset', input, '--output', local, ...tinyModelFlags(), '--quiet')).code).to.equal(2); // the missing image
    const expected = byRow(readResultLines(local));

    const workerArgs = ['--redis', redis.url, '--queue', 'kill-test', '--lock-duration', '1500', '--batch-size', '1', '--max-rows', '1', ...tinyModelFlags()];
    const a = spawnWorker(workerArgs);
    const b = spawnWorker(workerArgs);
    try {
      await until('both workers to listen', 60_000, () => [a, b].every((w) => w.lines.some((l) => l.includes('waiting for jobs'))));
      // each names the model its results will carry: the weights' sha256 and the configs' hash
      for (const w of [a, b]) expect(w.lines.find((l) => l.includes('waiting for jobs'))).to.match(/\(model sha256:[0-9a-f]{64}#[0-9a-f]{12}\)$/);
      const out = join(dir, 'queued.jsonl');
      const producer = runCli(['score-dataset', input, '--output', out, '--redis', redis.url, '--queue', 'kill-test', '--chunk-size', '20', '--backoff', '100', '--json']);
      // kill worker a as soon as it has started a job (a job is 20 batches: it cannot be done yet)
      await until('worker a to start a job', 60_000, () => a.lines.some((l) => / rows \d+\.\.\d+ /.test(l)));
      a.child.kill('SIGKILL');
      const killedJob = /job (chunk-[0-9a-f]+): rows/.exec(a.lines.find((l) => / rows \d+\.\.\d+ /.test(l))!)![1]!;
      expect(a.lines.some((l) => l.includes(`job ${killedJob}: done`)), 'worker a finished its job before the kill').to.equal(false);

      const run = await producer;
      expect(run.code, run.stderr).to.equal(2); // the missing image's error row
      const summary = JSON.parse(run.stdout) as { rows: number; scored: number; errors: number };
      expect(summary).to.include({ rows: 61, scored: 61, errors: 1 });
      // the job worker a died in was delivered again, to worker b
      expect(b.lines.some((l) => l.startsWith(`imagereward worker: job ${killedJob}: rows`) && l.includes('attempt 2 (stalled 1x')), b.lines.join('\n')).to.equal(true);

      const got = readResultLines(out);
      expect(got.map((l) => l.row).sort((x, y) => x - y)).to.deep.equal(expected.map((l) => l.row));
      byRow(got).forEach((line, i) => {
        const want = expected[i]!;
        expect([line.prompt, line.image]).to.deep.equal([want.prompt, want.image]);
        if (want.error) expect(line.error?.code).to.equal(want.error.code);
        else expect(Math.abs(line.reward! - want.reward!), `row ${line.row}`).to.be.at.most(1e-6);
      });

      // every job of the run was removed once its rows were written
      expect(await jobsIn('kill-test')).to.equal(0);
      // rerunning the same command finds every row in OUT and enqueues nothing
      const again = await runCli(['score-dataset', input, '--output', out, '--redis', redis.url, '--queue', 'kill-test', '--json']);
      expect(JSON.parse(again.stdout)).to.include({ rows: 61, scored: 0, resumed: 61 });
      expect(readResultLines(out)).to.have.length(61);
    } finally {
      for (const w of [a, b]) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
      expect(await b.exited).to.equal(143);
      await a.exited;
    }
  });

  it('a producer SIGKILLed mid-run resumes from OUT; a job longer than the lock is never taken as stalled', async () => {
    const dir = join(tmp, 'producer-kill');
    const { rows } = writeNoiseImages(dir, 250); // 3 jobs for 2 workers: the third is still to come when the producer is killed
    const input = join(dir, 'rows.jsonl');
    writeJsonl(input, rows);
    const local = join(dir, 'local.jsonl');
    expect((await cli('score-dataset', input, '--output', local, ...tinyModelFlags(), '--quiet')).code).to.equal(0);
    const expected = byRow(readResultLines(local));

    // a job is 100 one-image batches (about 2 s unloaded), the lock 1.5 s (dozens of batches, the first included,
    // which warms the model up): only the lock's renewal after every batch keeps the job from being taken for stalled
    const workerArgs = ['--redis', redis.url, '--queue', 'producer-kill', '--lock-duration', '1500', '--batch-size', '1', '--max-rows', '1', ...tinyModelFlags()];
    const workers = [spawnWorker(workerArgs), spawnWorker(workerArgs)];
    try {
      await until('both workers to listen', 60_000, () => workers.every((w) => w.lines.some((l) => l.includes('waiting for jobs'))));
      const out = join(dir, 'queued.jsonl');
      const argv = ['score-dataset', input, '--output', out, '--redis', redis.url, '--queue', 'producer-kill', '--chunk-size', '100', '--json'];
      const linesIn = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 1 : 0);
      const killed = await runCli(argv, { signalPoll: () => (linesIn() >= 10 ? 'SIGKILL' : undefined) });
      expect(killed.signal).to.equal('SIGKILL');
      const written = linesIn();
      expect(written).to.be.within(10, 249);

      const resumed = await runCli(argv);
      expect(resumed.code, resumed.stderr).to.equal(0);
      expect(JSON.parse(resumed.stdout)).to.include({ rows: 250, resumed: written, scored: 250 - written });
      const got = readResultLines(out);
      expect(got.map((l) => l.row).sort((x, y) => x - y)).to.deep.equal(expected.map((l) => l.row));
      byRow(got).forEach((line, i) => expect(Math.abs(line.reward! - expected[i]!.reward!), `row ${line.row}`).to.be.at.most(1e-6));
      const log = workers.flatMap((w) => w.lines);
      expect(log.filter((l) => l.includes('stalled')), 'jobs taken for stalled').to.deep.equal([]);
      expect(log.filter((l) => / attempt [2-9]/.test(l)), 'jobs delivered twice').to.deep.equal([]);
    } finally {
      for (const w of workers) w.child.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
    }
  });

  /** Jobs of every state in a queue of the test's Redis. */
  async function jobsIn(name: string): Promise<number> {
    const connection = await connectRedis(redis.url);
    const queue = new Queue(name, { connection: connection.client });
    try {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    } finally {
      await queue.close();
      await connection.close();
    }
  }

  describe('the producer, against stand-in workers', () => {
    let connection: RedisConnection;
    let input: string;

    before(async () => {
      connection = await connectRedis(redis.url);
      const { rows } = writeNoiseImages(join(tmp, 'stand-in'), 4);
      input = join(tmp, 'stand-in', 'rows.jsonl');
      writeJsonl(input, rows);
    });

    after(async () => { await connection?.close(); });

    async function produceAgainst(queue: string, processor: (job: Job) => Promise<unknown>): Promise<unknown> {
      const worker = new Worker(queue, processor, { connection: connection.client });
      try {
        const jobs = { ...DEFAULT_JOB_OPTIONS, queue, chunkRows: 2, attempts: 2, backoffMs: 10 };
        return await scoreDatasetOnQueue(openDataset(input), { log: join(tmp, 'stand-in', `${queue}.jsonl`), redis: connection, jobs }).then(
          () => { throw new Error('the producer finished'); },
          (err: unknown) => err,
        );
      } finally {
        await worker.close();
      }
    }

    it('a job that fails every attempt stops the run with QUEUE_JOB_FAILED naming its rows and the reason', async () => {
      let calls = 0;
      const err = await produceAgainst('always-fails', async () => { calls++; throw new Error('the worker ran out of memory'); });
      expect(err).to.be.instanceOf(QueueError);
      expect((err as QueueError).code).to.equal('QUEUE_JOB_FAILED');
      expect((err as QueueError).message).to.match(/rows 0\.\.1\) failed after 2 attempts: the worker ran out of memory/);
      expect(calls).to.be.at.least(2);
    });

    it('results from workers running different models stop the run: only the first model\'s rows are written', async () => {
      let jobs = 0;
      const err = await produceAgainst('two-models', async (job) => {
        const model = jobs++ === 0 ? 'sha256:aaaa#1' : 'sha256:bbbb#1';
        const records = decodeChunk(job.data).map((r) => ({ row: r.row, prompt: r.prompt, image: r.imageName, reward: 0.5 }));
        return { format: CHUNK_FORMAT, records, worker: `stand-in:${jobs}`, model };
      });
      expect((err as QueueError).code).to.equal('QUEUE_JOB_FAILED');
      expect((err as QueueError).message).to.match(/rows 2\.\.3\) was scored by stand-in:2 with model sha256:bbbb#1, earlier jobs by stand-in:1 with model sha256:aaaa#1: every worker on queue "two-models" must run the same model/);
      expect(readResultLines(join(tmp, 'stand-in', 'two-models.jsonl')).map((l) => l.row)).to.deep.equal([0, 1]);
      expect(await jobsIn('two-models'), 'jobs left in Redis').to.equal(0);
    });

    it('a result without a record for every row of its job is refused, not written in part', async () => {
      const err = await produceAgainst('answers-part', async (job) => {
        const [first] = decodeChunk(job.data);
        return { format: CHUNK_FORMAT, records: [{ row: first!.row, prompt: first!.prompt, image: first!.imageName, reward: 0.5 }], worker: 'stand-in', model: 'sha256:aaaa#1' };
      });
      expect((err as QueueError).code).to.equal('QUEUE_JOB_FAILED');
      expect((err as QueueError).message).to.match(/^job chunk-[0-9a-f]{32} \(rows 0\.\.1\) was answered by stand-in with records that are not one per row of the job;/);
      expect(readResultLines(join(tmp, 'stand-in', 'answers-part.jsonl'))).to.deep.equal([]);
    });

    it('jobs Redis loses (FLUSHALL: a restart without persistence) are sent again within 30 s and the run completes', async function () {
      this.timeout(90_000);
      const log = join(tmp, 'stand-in', 'flushed.jsonl');
      const jobs = { ...DEFAULT_JOB_OPTIONS, queue: 'flushed', chunkRows: 2 };
      const run = scoreDatasetOnQueue(openDataset(input), { log, redis: connection, jobs });
      while ((await jobsIn('flushed')) < 2) await new Promise((r) => setTimeout(r, 20)); // both jobs are queued, no worker yet
      await connection.client.flushall();
      const worker = new Worker('flushed', async (job: Job) => {
        const records = decodeChunk(job.data).map((r) => ({ row: r.row, prompt: r.prompt, image: r.imageName, reward: r.row / 10 }));
        return { format: CHUNK_FORMAT, records, worker: 'stand-in', model: 'sha256:aaaa#1' };
      }, { connection: connection.client });
      try {
        const summary = await run;
        expect(summary).to.include({ rows: 4, scored: 4 });
        expect(byRow(readResultLines(log)).map((l) => l.reward)).to.deep.equal([0, 0.1, 0.2, 0.3]);
      } finally {
        await worker.close();
      }
    });

    it('a result that is not ours is refused, not written', async () => {
      const err = await produceAgainst('answers-garbage', async () => ({ records: [{ row: 0, reward: 'high' }] }));
      expect((err as QueueError).code).to.equal('QUEUE_JOB_FAILED');
      expect((err as QueueError).message).to.include('returned a result that is not a score-dataset chunk result');
      expect(readResultLines(join(tmp, 'stand-in', 'answers-garbage.jsonl'))).to.deep.equal([]);
    });
  });
});
