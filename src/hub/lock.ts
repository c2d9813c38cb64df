/**
 * An advisory lock file beside a cache entry (`{path}.lock`), so that processes sharing a cache do
 * not append to the same `{path}.partial` at once (each would resume from the other's bytes and
 * interleave them). The lock holds its owner's pid, host and a random token; the owner touches it
 * every HEARTBEAT_MS while it works. A waiting process takes a lock over when its owner is gone:
 * same host and the pid no longer runs, or (any host, e.g. a cache on a network drive) no
 * heartbeat for STALE_MS.
 *
 * Every step is atomic, so two processes never both hold the lock (short of a live owner judged
 * stale by time):
 * - taking it: the owner record is written in full to a file of its own, then hard-linked to
 *   `{path}.lock` (link() fails when the name exists), so the lock never exists half-written;
 * - removing it (its owner releasing it, or a waiter taking over an abandoned one): the remover
 *   first creates `{path}.lock.{token}.end` the same exclusive way, for the token it saw; only
 *   that marker's creator removes the lock, and only if it still holds that token. Two waiters
 *   that both judged one lock abandoned cannot remove the lock a third process took meanwhile,
 *   which a check-then-remove would.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { writeAll } from '../util/fs.js';
import { onInterrupt } from '../util/interrupt.js';

export interface LockOwner { pid: number; host: string; token: string }

export interface LockTimings {
  /** How often a waiting process looks at the lock again (default 500 ms). */
  readonly pollMs?: number;
  /** How often the owner touches the lock (default 15 s). */
  readonly heartbeatMs?: number;
  /** A lock untouched for this long is abandoned (default 2 min). */
  readonly staleMs?: number;
}

/** What is at a lock path: its owner (null when unreadable) and an id naming this very lock. */
interface LockState { owner: LockOwner | null; id: string }

/** "process 123 on host-a", or "another process" when the lock could not be read. */
export function describeOwner(owner: LockOwner | null): string {
  return owner ? `process ${owner.pid} on ${owner.host}` : 'another process';
}

/** The lock at `lockPath`, or null when there is none. Unreadable content is named by its hash. */
function readLock(lockPath: string): LockState | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(lockPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.token === 'string' && /^\w+$/.test(parsed.token)) {
      return { owner: parsed as LockOwner, id: parsed.token };
    }
  } catch {
    // not an owner record (written by something else, or damaged): judged by its age below
  }
  return { owner: null, id: `unreadable-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}` };
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

/**
 * Creates `path` holding `me`, atomically and exclusively; false when it exists. The record is
 * written to `{path}.{token}.tmp` first and hard-linked into place; where the file system has no
 * hard links, an O_EXCL create is the fallback (an empty file for a moment, judged by its age).
 */
function createExclusive(path: string, me: LockOwner): boolean {
  const record = new TextEncoder().encode(JSON.stringify(me));
  const tmp = `${path}.${me.token}.tmp`;
  writeNew(tmp, record, 'w');
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  try {
    writeNew(path, record, 'wx');
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function writeNew(path: string, bytes: Uint8Array, flags: 'w' | 'wx'): void {
  const fd = openSync(path, flags);
  try {
    writeAll(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

/**
 * Removes the lock at `lockPath` if it still is the one named `id`: true when it is gone (removed
 * here, or not that lock any more), false when another process is removing it right now. An
 * abandoned end marker (its creator died between creating and removing it) is removed the same way.
 */
function removeLock(lockPath: string, id: string, me: LockOwner, staleMs: number): boolean {
  const marker = `${lockPath}.${id}.end`;
  if (!createExclusive(marker, me)) {
    const other = readLock(marker);
    if (other && isAbandoned(marker, other.owner, staleMs)) removeLock(marker, other.id, me, staleMs);
    return false;
  }
  try {
    if (readLock(lockPath)?.id === id) rmSync(lockPath, { force: true });
  } finally {
    rmSync(marker, { force: true });
  }
  return true;
}

/**
 * Runs `work` while holding `{path}.lock`, waiting for another owner first (`onWait` is called once,
 * with that owner, when waiting starts). The lock is removed when `work` settles. `work` gets
 * `heartbeat`, which touches the lock (at most every heartbeatMs / 4): long synchronous work calls
 * it now and then, since the timer cannot fire while it runs.
 */
export async function withFileLock<T>(
  path: string,
  work: (heartbeat: () => void) => Promise<T>,
  onWait?: (owner: LockOwner | null) => void,
  timings: LockTimings = {},
): Promise<T> {
  const lockPath = `${path}.lock`;
  const me: LockOwner = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex') };
  const staleMs = timings.staleMs ?? 120_000;
  const heartbeatMs = timings.heartbeatMs ?? 15_000;
  let waited = false;
  mkdirSync(dirname(lockPath), { recursive: true });
  while (!createExclusive(lockPath, me)) {
    const seen = readLock(lockPath);
    if (seen === null) continue; // released meanwhile: try again at once
    if (isAbandoned(lockPath, seen.owner, staleMs) && removeLock(lockPath, seen.id, me, staleMs)) continue;
    if (!waited) onWait?.(seen.owner);
    waited = true;
    await new Promise((r) => setTimeout(r, timings.pollMs ?? 500));
  }
  let touched = Date.now();
  const heartbeat = (): void => {
    const now = Date.now();
    if (now - touched < heartbeatMs / 4) return;
    touched = now;
    // only a lock that is still ours (one taken over meanwhile belongs to its new owner)
    if (readLock(lockPath)?.id !== me.token) return;
    try { utimesSync(lockPath, new Date(now), new Date(now)); } catch { /* removed meanwhile: nothing to refresh */ }
  };
  const timer = setInterval(heartbeat, heartbeatMs);
  timer.unref();
  const untrack = onInterrupt(() => { removeLock(lockPath, me.token, me, staleMs); return undefined; });
  try {
    return await work(heartbeat);
  } finally {
    untrack();
    clearInterval(timer);
    removeLock(lockPath, me.token, me, staleMs);
  }
}
