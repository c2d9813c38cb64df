/**
 * Resumable, verified download of one file. Bytes go to `{dest}.partial`; an interrupted transfer
 * is continued with an HTTP Range request (now, up to `retries` times, or on the next run). On
 * SIGINT / SIGTERM the `.partial` is kept on purpose (it is what the next run resumes, under a
 * visible name, and the CLI says so) while the hidden verification copy is removed. The file
 * is renamed to `dest` only after its size and sha256 check out; a file that fails its check is
 * deleted, so the cache never holds a bad copy. Redirects (the hub answers 302 to its CDN) are
 * followed by hand so that the hub's `x-linked-etag` / `x-linked-size` (the sha256 and size of an
 * LFS file, sent on the redirect itself) can be read.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, existsSync, fsyncSync, closeSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeAll } from '../util/fs.js';
import { onInterrupt, removeOnInterrupt } from '../util/interrupt.js';
import { DownloadError } from './errors.js';

export interface DownloadOptions {
  /** The expected sha256 (hex); default: the hub's `x-linked-etag` when it is a sha256. */
  readonly expectedSha256?: string;
  /** The expected size in bytes; default: the hub's `x-linked-size`, else the response's length. */
  readonly expectedSize?: number;
  /** Bytes received so far, and the expected total when known. */
  readonly onProgress?: (received: number, total: number | undefined) => void;
  /** How many times a cut transfer is resumed within this call (default 3). */
  readonly retries?: number;
  /** Wait before resuming: attempt x this many ms (default 1000). */
  readonly retryDelayMs?: number;
  /** Abort a transfer that receives nothing for this long (default 60 s). */
  readonly idleTimeoutMs?: number;
}

export interface DownloadResult {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  /** How many bytes were already on disk from an earlier, interrupted run. */
  readonly resumedFrom: number;
  /** Whether the sha256 was compared with a known value ('none': no hash was known). */
  readonly verifiedBy: 'expected' | 'x-linked-etag' | 'none';
}

const MAX_REDIRECTS = 10;
const SHA256_HEX = /^[0-9a-f]{64}$/;

interface LinkedHeaders {
  sha256?: string;
  size?: number;
}

/** A failure worth retrying (the connection, not the content). */
class TransientError extends Error {}

/** No connection at all (DNS, refused): retrying at once would not help, so it ends the download. */
class UnreachableError extends Error {}

function unquoteEtag(v: string | null): string | undefined {
  return v ? v.replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase() : undefined;
}

async function request(url: string, offset: number, signal: AbortSignal): Promise<{ res: Response; linked: LinkedHeaders }> {
  const linked: LinkedHeaders = {};
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { 'user-agent': 'imagereward-tfjs', 'accept-encoding': 'identity' };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    let res: Response;
    try {
      res = await fetch(current, { redirect: 'manual', headers, signal });
    } catch (err) {
      throw new UnreachableError(`cannot reach ${new URL(current).origin}: ${networkReason(err)}`, { cause: err });
    }
    // huggingface_hub reads these from the first answer (the redirect) too: file_download.py get_hf_file_metadata.
    const etag = unquoteEtag(res.headers.get('x-linked-etag'));
    if (linked.sha256 === undefined && etag && SHA256_HEX.test(etag)) linked.sha256 = etag;
    const size = Number(res.headers.get('x-linked-size') ?? NaN);
    if (linked.size === undefined && Number.isSafeInteger(size) && size >= 0) linked.size = size;
    if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
      await res.body?.cancel();
      current = new URL(res.headers.get('location')!, current).href;
      continue;
    }
    return { res, linked };
  }
  throw new Error(`${url}: more than ${MAX_REDIRECTS} redirects`);
}

/** ECONNREFUSED, ENOTFOUND, ... from undici's `fetch failed` wrapper. */
export function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** `bytes 100-199/1000` -> {start: 100, total: 1000}; `bytes *\/1000` (unsatisfiable range) -> {total: 1000}. */
function parseContentRange(v: string | null): { start?: number; total?: number } {
  const m = v ? /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(v.trim()) : null;
  if (!m) return {};
  return { start: m[1] === undefined ? undefined : Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

async function hashFile(path: string): Promise<Hash> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash;
}

/** Downloads `url` to `dest` (see the module comment). Throws DownloadError naming url and dest. */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const partial = `${dest}.partial`;
  const untrack = onInterrupt(() => {
    const kept = existsSync(partial) ? statSync(partial).size : 0;
    return kept > 0 ? `kept ${(kept / 1048576).toFixed(1)} MiB downloaded in ${partial}: the next run resumes it (delete it to start over)` : undefined;
  });
  try {
    return await downloadTo(url, dest, partial, options);
  } finally {
    untrack();
  }
}

async function downloadTo(url: string, dest: string, partial: string, options: DownloadOptions): Promise<DownloadResult> {
  const fail = (message: string, cause?: unknown): never => {
    throw new DownloadError(message, [{ url, path: dest }], cause === undefined ? undefined : { cause });
  };
  mkdirSync(dirname(dest), { recursive: true });
  let offset = existsSync(partial) ? statSync(partial).size : 0;
  const resumedFrom = offset;
  const restart = () => {
    rmSync(partial, { force: true });
    offset = 0;
  };
  const retries = options.retries ?? 3;
  const idleMs = options.idleTimeoutMs ?? 60_000;
  let linked: LinkedHeaders = {};
  let total: number | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, attempt * (options.retryDelayMs ?? 1000)));
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => abort.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
    };
    try {
      arm();
      const answer = await request(url, offset, abort.signal);
      const { res } = answer;
      linked = { ...answer.linked, ...linked };
      const range = parseContentRange(res.headers.get('content-range'));
      if (res.status === 416 && offset > 0) {
        // Range not satisfiable: the partial file is complete (or longer than the file).
        await res.body?.cancel();
        total = range.total ?? linked.size;
        if (total === offset) break;
        restart();
        continue;
      }
      if (res.status >= 500 || res.status === 429) {
        await res.body?.cancel();
        throw new TransientError(`HTTP ${res.status} ${res.statusText} from ${new URL(res.url || url).origin}`);
      }
      if (res.status !== 200 && res.status !== 206) {
        await res.body?.cancel();
        fail(`download of ${url} failed: HTTP ${res.status} ${res.statusText}`);
      }
      if (res.status === 200 && offset > 0) restart(); // server ignored the Range: start over
      if (res.status === 206 && range.start !== offset) {
        await res.body?.cancel();
        restart();
        throw new TransientError(`server answered range ${res.headers.get('content-range')} for bytes=${offset}-`);
      }
      const length = Number(res.headers.get('content-length') ?? NaN);
      total = range.total ?? (Number.isSafeInteger(length) ? offset + length : undefined);
      const fd = openSync(partial, 'a');
      try {
        options.onProgress?.(offset, options.expectedSize ?? linked.size ?? total);
        if (!res.body) throw new TransientError('response has no body');
        // the declared length (the caller's, the hub's x-linked-size, the response's): never write past it
        const limit = options.expectedSize ?? linked.size ?? total;
        for await (const chunk of res.body) {
          arm();
          const bytes = chunk as Uint8Array;
          if (limit !== undefined && offset + bytes.length > limit) {
            abort.abort();
            rmSync(partial, { force: true });
            fail(`download of ${url} sent more than the declared ${limit} bytes; stopped, and the file was discarded`);
          }
          writeAll(fd, bytes);
          offset += bytes.length;
          options.onProgress?.(offset, options.expectedSize ?? linked.size ?? total);
        }
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if (err instanceof DownloadError) throw err;
      if (err instanceof UnreachableError) fail(`download of ${url} failed: ${err.message}`, err);
      const reason = err instanceof TransientError ? err.message : `connection lost after ${offset} bytes (${networkReason(err)})`;
      if (attempt === retries) {
        const kept = existsSync(partial) ? ` (${offset} bytes kept in ${partial}; run again to resume)` : '';
        fail(`download of ${url} failed: ${reason}${kept}`, err);
      }
    } finally {
      clearTimeout(timer);
    }
  }
  // The bytes are checked as they are on disk, after moving them to a name of their own: what
  // reaches `dest` is exactly what was hashed, whatever else wrote to the `.partial` name.
  const staged = `${dest}.${randomBytes(6).toString('hex')}.verify`;
  const untrackStaged = removeOnInterrupt(staged);
  try {
    renameSync(partial, staged);
  } catch (err) {
    fail(`download of ${url}: ${partial} vanished before it could be checked (${(err as NodeJS.ErrnoException).code ?? String(err)}); run again`, err);
  }
  try {
    const size = statSync(staged).size;
    const expectedSize = options.expectedSize ?? linked.size ?? total;
    if (expectedSize !== undefined && size !== expectedSize) {
      fail(`download of ${url} is ${size} bytes, expected ${expectedSize}; the file was discarded`);
    }
    const sha256 = (await hashFile(staged)).digest('hex');
    const expectedSha = options.expectedSha256?.toLowerCase() ?? linked.sha256;
    if (expectedSha !== undefined && sha256 !== expectedSha) {
      fail(`checksum mismatch for ${url}: sha256 ${sha256}, expected ${expectedSha}; the file was discarded`);
    }
    renameSync(staged, dest);
    const verifiedBy = options.expectedSha256 ? 'expected' : linked.sha256 ? 'x-linked-etag' : 'none';
    return { path: dest, bytes: size, sha256, resumedFrom, verifiedBy };
  } finally {
    rmSync(staged, { force: true });
    untrackStaged();
  }
}
