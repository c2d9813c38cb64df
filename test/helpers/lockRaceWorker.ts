/**
 * One racer of test/hub.lock.test.ts's many-process trials. Usage:
 *   node --import tsx test/helpers/lockRaceWorker.ts DIR TRIALS MODE [ENDPOINT]
 * For each trial t it waits for DIR/go-t, then (MODE 'lock') runs withFileLock(DIR/t/file.bin) around
 * a critical section that claims DIR/t/holder exclusively, or (MODE 'hub') fetches the checkpoint
 * from the fake hub at ENDPOINT into the cache DIR/t/cache. One JSON line per trial on stdout:
 * {trial, ok, error?, code?, path?}.
 */
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureHubFiles } from '../../src/hub/index.js';
import { withFileLock } from '../../src/hub/lock.js';

const [dir, trialsArg, mode, endpoint] = process.argv.slice(2) as [string, string, 'lock' | 'hub', string | undefined];
const trials = Number(trialsArg);
const timings = { pollMs: 5, heartbeatMs: 1000, staleMs: 60_000 };

async function waitFor(path: string): Promise<void> {
  while (!existsSync(path)) await new Promise((r) => setTimeout(r, 2));
}

async function critical(trialDir: string): Promise<void> {
  const holder = join(trialDir, 'holder');
  closeSync(openSync(holder, 'wx')); // EEXIST: another process holds the lock too
  await new Promise((r) => setTimeout(r, 3));
  rmSync(holder);
}

console.log('ready');
for (let t = 0; t < trials; t++) {
  await waitFor(join(dir, `go-${t}`));
  const trialDir = join(dir, String(t));
  try {
    if (mode === 'lock') {
      await withFileLock(join(trialDir, 'file.bin'), () => critical(trialDir), undefined, timings);
      console.log(JSON.stringify({ trial: t, ok: true }));
    } else {
      const [path] = await ensureHubFiles([{ repo: 'THUDM/ImageReward', path: 'ImageReward.pt', revision: 'main' }], {
        cacheDir: join(trialDir, 'cache'), endpoint, progress: false, retries: 0, lockTimings: timings,
      });
      console.log(JSON.stringify({ trial: t, ok: true, path }));
    }
  } catch (err) {
    console.log(JSON.stringify({ trial: t, ok: false, error: String((err as Error).message).split('\n')[0], code: (err as { code?: string }).code }));
  }
}
