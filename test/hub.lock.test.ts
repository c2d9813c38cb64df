/**
 * Processes sharing a cache: one download (and one conversion) per file at a time, the others wait
 * and reuse the result; abandoned locks are taken over; a lock is only ever removed by its owner.
 */
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ImageReward } from '../src/api/imagereward.js';
import { ensureHubFiles, type HubFile } from '../src/hub/index.js';
import { withFileLock, type LockOwner } from '../src/hub/lock.js';
import { rejection, sha256 } from './helpers/assert.js';
import { FakeHub } from './helpers/fakeHub.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';

/** A pid that runs nowhere on this machine (pid_max is at most 2^22). */
const DEAD_PID = 4_194_304 + 7;

interface RaceReport { trial: number; ok: boolean; error?: string; code?: string; path?: string }

function lockOf(owner: LockOwner): string {
  return JSON.stringify(owner);
}

describe('cache locks (one writer per file across processes)', function () {
  let dir: string;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'ir-lock-'));
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the work under {path}.lock and removes the lock afterwards, also when the work fails', async function () {
    const path = join(dir, 'file.bin');
    const seen = await withFileLock(path, async () => JSON.parse(readFileSync(`${path}.lock`, 'utf8')) as LockOwner);
    expect([seen.pid, seen.host]).to.deep.equal([process.pid, hostname()]);
    expect(seen.token).to.match(/^[0-9a-f]{16}$/);
    expect(existsSync(`${path}.lock`)).to.equal(false);
    const err = await rejection(withFileLock(path, async () => { throw new Error('boom'); }));
    expect((err as Error).message).to.equal('boom');
    expect(existsSync(`${path}.lock`)).to.equal(false);
  });

  it('waits while the owner runs, then takes its turn', async function () {
    const path = join(dir, 'file.bin');
    const order: string[] = [];
    let waitedFor: LockOwner | null | undefined;
    const first = withFileLock(path, async () => {
      order.push('first starts');
      await new Promise((r) => setTimeout(r, 150));
      order.push('first ends');
    });
    const second = withFileLock(path, async () => { order.push('second runs'); }, (owner) => { waitedFor = owner; }, { pollMs: 10 });
    await Promise.all([first, second]);
    expect(order).to.deep.equal(['first starts', 'first ends', 'second runs']);
    expect(waitedFor?.pid).to.equal(process.pid);
  });

  it('takes over a lock whose owner no longer runs on this host, without waiting', async function () {
    const path = join(dir, 'file.bin');
    writeFileSync(`${path}.lock`, lockOf({ pid: DEAD_PID, host: hostname(), token: 'feedfeedfeedfeed' }));
    let waited = false;
    expect(await withFileLock(path, async () => 'ran', () => { waited = true; })).to.equal('ran');
    expect(waited).to.equal(false);
    expect(existsSync(`${path}.lock`)).to.equal(false);
  });

  it('takes over a lock from another host only once its heartbeat is older than staleMs', async function () {
    const path = join(dir, 'file.bin');
    writeFileSync(`${path}.lock`, lockOf({ pid: 1, host: 'some-other-host', token: 'feedfeedfeedfeed' }));
    let waits = 0;
    const start = Date.now();
    await withFileLock(path, async () => undefined, () => { waits++; }, { pollMs: 10, staleMs: 300 });
    expect(waits).to.equal(1);
    expect(Date.now() - start).to.be.at.least(250);
    const old = new Date(Date.now() - 10_000);
    writeFileSync(`${path}.lock`, lockOf({ pid: 1, host: 'some-other-host', token: 'feedfeedfeedfeed' }));
    utimesSync(`${path}.lock`, old, old);
    waits = 0;
    await withFileLock(path, async () => undefined, () => { waits++; }, { pollMs: 10, staleMs: 300 });
    expect(waits).to.equal(0);
  });

  it('keeps the owner\'s heartbeat going during long work, and never removes a lock it no longer owns', async function () {
    const path = join(dir, 'file.bin');
    const lock = `${path}.lock`;
    await withFileLock(path, async () => {
      const old = new Date(Date.now() - 60_000);
      utimesSync(lock, old, old);
      await new Promise((r) => setTimeout(r, 120));
      expect(Date.now() - (await import('node:fs')).statSync(lock).mtimeMs).to.be.below(1_000); // touched again
      writeFileSync(lock, lockOf({ pid: process.pid, host: hostname(), token: 'another0process1' })); // taken over meanwhile
    }, undefined, { heartbeatMs: 20 });
    expect(JSON.parse(readFileSync(lock, 'utf8')).token).to.equal('another0process1');
  });

  describe('many processes racing for an abandoned lock (real processes, atomic takeover)', function () {
    const WORKERS = 6;

    /** Starts WORKERS racers (test/helpers/lockRaceWorker.ts), runs `trials` trials one after another, returns each trial's reports. */
    async function race(mode: 'lock' | 'hub', trials: number, prepare: (trial: number) => void, endpoint = ''): Promise<RaceReport[][]> {
      const reports: RaceReport[][] = Array.from({ length: trials }, () => []);
      let ready = 0;
      const exits = Array.from({ length: WORKERS }, () => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/lockRaceWorker.ts', dir, String(trials), mode, endpoint], { stdio: ['ignore', 'pipe', 'inherit'] });
        let buffered = '';
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (line === 'ready') ready++;
            else { const r = JSON.parse(line) as RaceReport; reports[r.trial]!.push(r); }
          }
        });
        return new Promise<number | null>((r) => child.on('exit', r));
      });
      const until = async (done: () => boolean): Promise<void> => { while (!done()) await new Promise((r) => setTimeout(r, 5)); };
      await until(() => ready === WORKERS);
      for (let t = 0; t < trials; t++) {
        prepare(t);
        writeFileSync(join(dir, `go-${t}`), '');
        await until(() => reports[t]!.length === WORKERS);
      }
      expect(await Promise.all(exits)).to.deep.equal(Array(WORKERS).fill(0));
      return reports;
    }

    const staleLock = (path: string): void => {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(`${path}.lock`, lockOf({ pid: DEAD_PID, host: hostname(), token: 'deaddeaddeaddead' }));
    };

    it('20 trials x 6 processes on a dead owner\'s lock: one holder at a time, every process gets its turn, nothing left behind', async function () {
      this.timeout(180_000);
      const reports = await race('lock', 20, (t) => staleLock(join(dir, String(t), 'file.bin')));
      for (const [t, trial] of reports.entries()) {
        expect(trial.filter((r) => !r.ok), `trial ${t}`).to.deep.equal([]); // an EEXIST on the holder file = two holders
        expect(readdirSync(join(dir, String(t))), `trial ${t}`).to.deep.equal([]); // no lock, marker or temp file left
      }
    });

    it('10 trials x 6 processes fetching one file from the local hub past a dead owner\'s lock: one transfer, the right bytes, no untyped error', async function () {
      this.timeout(180_000);
      const body = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 2654435761) >>> 24);
      const hub = new FakeHub(new Map([['THUDM/ImageReward/ImageReward.pt', body]]));
      hub.cdnDelayMs = 30;
      await hub.start();
      try {
        const reports = await race('hub', 10, (t) => {
          const target = join(dir, String(t), 'cache', 'THUDM', 'ImageReward', 'ImageReward.pt');
          staleLock(target);
          if (t % 2 === 1) writeFileSync(`${target}.partial`, body.subarray(0, 100_000)); // an interrupted transfer to resume
        }, hub.endpoint);
        for (const [t, trial] of reports.entries()) {
          expect(trial.filter((r) => !r.ok), `trial ${t}`).to.deep.equal([]);
          const target = join(dir, String(t), 'cache', 'THUDM', 'ImageReward', 'ImageReward.pt');
          expect(trial.map((r) => r.path)).to.deep.equal(Array(WORKERS).fill(target));
          expect(sha256(readFileSync(target)), `trial ${t}`).to.equal(sha256(body));
          expect(readdirSync(dirname(target)), `trial ${t}`).to.deep.equal(['ImageReward.pt']);
        }
        expect(hub.requests.filter((r) => r.url.startsWith('/cdn/'))).to.have.length(10); // one transfer per trial
      } finally {
        await hub.stop();
      }
    });
  });

  describe('downloads and conversions', function () {
    let hub: FakeHub;
    let pt: Uint8Array;
    const checkpoint: HubFile = { repo: 'THUDM/ImageReward', path: 'ImageReward.pt', revision: 'main' };

    before(function () {
      requireFixtures(this, 'tiny/tiny.pt', 'tiny/med_config.json', 'tiny/vit_config.json', 'vocab/bert-base-uncased-vocab.txt');
      pt = readFileSync(fixturePath('tiny/tiny.pt'));
    });

    beforeEach(async function () {
      hub = new FakeHub(new Map([['THUDM/ImageReward/ImageReward.pt', pt]]));
      await hub.start();
    });

    afterEach(async function () {
      await hub.stop();
    });

    it('two concurrent fetches of one file: one transfer, the other waits and reuses the cached file', async function () {
      const lines: string[] = [];
      const options = { cacheDir: dir, endpoint: hub.endpoint, progress: false, log: (l: string) => lines.push(l) };
      const [a, b] = await Promise.all([ensureHubFiles([checkpoint], options), ensureHubFiles([checkpoint], options)]);
      expect(a).to.deep.equal(b);
      expect(sha256(readFileSync(a[0]!))).to.equal(sha256(pt));
      expect(hub.requests.filter((r) => r.url.startsWith('/cdn/'))).to.have.length(1);
      expect(lines).to.have.length(1);
      expect(lines[0]).to.equal(`imagereward: waiting for process ${process.pid} on ${hostname()} downloading ${a[0]}`);
      expect(readdirSync(join(dir, 'THUDM', 'ImageReward'))).to.deep.equal(['ImageReward.pt']); // no .lock, no .partial
    });

    it('two processes fetching one file at once: one transfer, the other process waits for it', async function () {
      hub.cdnDelayMs = 2_500; // the transfer outlasts the second process's start-up
      const script = [
        "import { ensureHubFiles } from './src/hub/index.ts';",
        'const lines = [];',
        `const paths = await ensureHubFiles([${JSON.stringify(checkpoint)}], { cacheDir: ${JSON.stringify(dir)}, endpoint: ${JSON.stringify(hub.endpoint)}, progress: false, log: (l) => lines.push(l) });`,
        'console.log(JSON.stringify({ pid: process.pid, paths, lines }));',
      ].join('\n');
      const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd() });
      const outputs = (await Promise.all([run(), run()])).map((r) => JSON.parse(r.stdout) as { pid: number; paths: string[]; lines: string[] });
      expect(outputs[0]!.paths).to.deep.equal(outputs[1]!.paths);
      expect(sha256(readFileSync(outputs[0]!.paths[0]!))).to.equal(sha256(pt));
      expect(hub.requests.filter((r) => r.url.startsWith('/cdn/'))).to.have.length(1);
      const waiter = outputs.find((o) => o.lines.length > 0);
      const owner = outputs.find((o) => o !== waiter);
      expect(waiter?.lines).to.deep.equal([`imagereward: waiting for process ${owner!.pid} on ${hostname()} downloading ${outputs[0]!.paths[0]}`]);
      expect(readdirSync(join(dir, 'THUDM', 'ImageReward'))).to.deep.equal(['ImageReward.pt']);
    });

    it('two concurrent loads of one .pt: converted once, the other load waits for the result', async function () {
      const lines: string[] = [];
      const load = () => ImageReward.load(fixturePath('tiny/tiny.pt'), {
        backend: 'cpu', cacheDir: dir, vocab: fixturePath('vocab/bert-base-uncased-vocab.txt'), log: (l: string) => lines.push(l),
      });
      const models = await Promise.all([load(), load()]);
      models.forEach((m) => m.dispose());
      expect(lines.filter((l) => l.startsWith('imagereward: converting '))).to.have.length(1);
      expect(lines.filter((l) => l.startsWith('imagereward: waiting for '))).to.have.length(1);
      const files = readdirSync(join(dir, 'converted'));
      expect(files).to.have.length(2);
      expect(files.filter((f) => !f.endsWith('.safetensors'))).to.deep.equal([`${files.find((f) => f.endsWith('.safetensors'))}.record.json`]);
    });
  });
});
