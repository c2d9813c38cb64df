/**
 * An advisory lock file beside a cache entry (`{path}.lock`), so that processes sharing a cache do
 * not append to the same `{path}.partial` at once (each would resume from the other's bytes and
 * interleave them). The lock is created with O_EXCL and holds its owner's pid, host and a random
 * token; the owner touches it every HEARTBEAT_MS while it works. A waiting process takes a lock
 * over when its owner is gone: same host and the pid no longer runs, or (any host, e.g. a cache on
 * a network drive) no heartbeat for STALE_MS.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { writeAll } from '../util/fs.js';

export interface LockOwner { pid: number; host: string; token: string }

export interface LockTimings {
  /** How often a waiting process looks at the lock again (default 500 ms). */
  readonly pollMs?: number;
  /** How often the owner touches the lock (default 15 s). */
  readonly heartbeatMs?: number;
  /** A lock untouched for this long is abandoned (default 2 min). */
  readonly staleMs?: number;
}

/** "process 123 on host-a", or "another process" when the lock could not be read. */
export function describeOwner(owner: LockOwner | null): string {
  return owner ? `process ${owner.pid} on ${owner.host}` : 'another process';
}

function readOwner(lockPath: string): LockOwner | null {
  try {
    const parsed = JSON.parse(readFileSync(lockPath, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.token === 'string') return parsed as LockOwner;
  } catch {
    // unreadable or half-written (its owner is writing it right now): judged by its age below
  }
  return null;
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // it runs, as another user
  }
}

/** Whether the lock at `lockPath` (owned by `owner`, null when unreadable) is abandoned. */
function isAbandoned(lockPath: string, owner: LockOwner | null, staleMs: number): boolean {
  if (owner && owner.host === hostname() && !pidRuns(owner.pid)) return true;
  try {
    return Date.now() - statSync(lockPath).mtimeMs > staleMs;
  } catch {
    return false; // gone already: the next attempt to create it decides
  }
}

/** Creates the lock file exclusively; false when it exists. */
function tryCreate(lockPath: string, me: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(lockPath, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeAll(fd, new TextEncoder().encode(JSON.stringify(me)));
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Runs `work` while holding `{path}.lock`, waiting for another owner first (`onWait` is called once,
 * with that owner, when waiting starts). The lock is removed when `work` settles.
 */
export async function withFileLock<T>(path: string, work: () => Promise<T>, onWait?: (owner: LockOwner | null) => void, timings: LockTimings = {}): Promise<T> {
  const lockPath = `${path}.lock`;
  const me: LockOwner = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex') };
  const staleMs = timings.staleMs ?? 120_000;
  let waited = false;
  mkdirSync(dirname(lockPath), { recursive: true });
  while (!tryCreate(lockPath, me)) {
    const owner = readOwner(lockPath);
    if (isAbandoned(lockPath, owner, staleMs)) {
      rmSync(lockPath, { force: true });
      continue;
    }
    if (!waited) onWait?.(owner);
    waited = true;
    await new Promise((r) => setTimeout(r, timings.pollMs ?? 500));
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    try { utimesSync(lockPath, now, now); } catch { /* removed by a process that judged it stale: nothing to refresh */ }
  }, timings.heartbeatMs ?? 15_000);
  heartbeat.unref();
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    if (readOwner(lockPath)?.token === me.token) rmSync(lockPath, { force: true });
  }
}
