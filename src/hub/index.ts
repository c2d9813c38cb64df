/**
 * The model hub: makes sure the files of a named model are in the cache, downloading what is
 * missing (unless offline), and says exactly which files to place where when that is impossible.
 */
import { existsSync } from 'node:fs';
import { cachedHubPath, resolveCacheDir } from './cache.js';
import { downloadFile } from './download.js';
import { describeOwner, withFileLock, type LockTimings } from './lock.js';
import { DownloadError, type MissingFile } from './errors.js';
import { HUB_MODELS, hubEndpoint, hubUrl, type HubFile, type HubModel } from './manifest.js';
import { progressOption, type Progress } from '../util/progress.js';
import { firstLine } from '../util/text.js';

export { DownloadError, placeFilesHint, type MissingFile } from './errors.js';
export { downloadFile, type DownloadOptions, type DownloadResult } from './download.js';
export { BERT_BASE_UNCASED_VOCAB, DEFAULT_HUB_ENDPOINT, HUB_MODELS, hubEndpoint, hubUrl, type HubFile, type HubModel } from './manifest.js';
export { cachedHubPath, defaultCacheDir, resolveCacheDir } from './cache.js';
export type { LockTimings } from './lock.js';

export interface HubOptions {
  /** Cache root (default $IMAGEREWARD_CACHE, else ~/.cache/imagereward). */
  readonly cacheDir?: string;
  /** Hub base URL (default $HF_ENDPOINT, else https://huggingface.co). */
  readonly endpoint?: string;
  /** Never touch the network (default: $IMAGEREWARD_OFFLINE or $HF_HUB_OFFLINE set to 1/true). */
  readonly offline?: boolean;
  /** Where download progress goes (src/util/progress.ts); true or absent: a bar when stderr is a terminal; false: none. */
  readonly progress?: Progress | boolean;
  /** Resumes within one call after a cut connection (default 3). */
  readonly retries?: number;
  readonly retryDelayMs?: number;
  /** Says what is being done (e.g. waiting for another process downloading the same file); null or absent: quiet. */
  readonly log?: ((line: string) => void) | null;
  /** The cache locks' poll, heartbeat and staleness intervals (lock.ts defaults: 500 ms, 15 s, 2 min). */
  readonly lockTimings?: LockTimings;
}

export function isHubModelName(name: string): boolean {
  return Object.hasOwn(HUB_MODELS, name);
}

export function hubModel(name: string): HubModel {
  const model = HUB_MODELS[name];
  if (!model) throw new DownloadError(`unknown model name "${name}" (known: ${Object.keys(HUB_MODELS).join(', ')})`, []);
  return model;
}

function envOffline(): boolean {
  return [process.env.IMAGEREWARD_OFFLINE, process.env.HF_HUB_OFFLINE].some((v) => v === '1' || v?.toLowerCase() === 'true');
}

/**
 * Returns the cache paths of `files`, downloading the missing ones. On failure (or offline), the
 * DownloadError lists every file still missing with its URL and cache path.
 */
export async function ensureHubFiles(files: readonly HubFile[], options: HubOptions = {}): Promise<string[]> {
  const cacheDir = resolveCacheDir(options.cacheDir);
  const endpoint = hubEndpoint(options.endpoint);
  const entries = files.map((file) => ({ file, url: hubUrl(file, endpoint), path: cachedHubPath(cacheDir, file) }));
  const missing = (): MissingFile[] => entries.filter((e) => !existsSync(e.path)).map(({ url, path }) => ({ url, path }));
  if (missing().length > 0 && (options.offline ?? envOffline())) {
    throw new DownloadError('offline mode is on and model files are missing from the cache', missing());
  }
  const progress = progressOption(options.progress);
  for (const e of entries) {
    if (existsSync(e.path)) continue;
    // One process per file at a time (processes may share the cache); a file another process
    // finished while this one waited is not downloaded again.
    await withFileLock(e.path, async () => {
      if (existsSync(e.path)) return;
      const task = progress.task(`download ${e.file.repo}/${e.file.path}`, e.file.size, 'bytes');
      try {
        await downloadFile(e.url, e.path, {
          expectedSha256: e.file.sha256,
          expectedSize: e.file.size,
          onProgress: (received, total) => {
            if (total !== undefined) task.setTotal(total);
            task.update(received);
          },
          retries: options.retries,
          retryDelayMs: options.retryDelayMs,
        });
      } catch (err) {
        if (!(err instanceof DownloadError)) throw err;
        throw new DownloadError(firstLine(err.message), missing(), { cause: err });
      } finally {
        task.finish();
      }
    }, (owner) => options.log?.(`imagereward: waiting for ${describeOwner(owner)} downloading ${e.path}`), options.lockTimings);
  }
  return entries.map((e) => e.path);
}
