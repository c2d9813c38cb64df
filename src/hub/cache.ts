/** Where downloaded and converted models live: $IMAGEREWARD_CACHE, else ~/.cache/imagereward. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { HubFile } from './manifest.js';

export function defaultCacheDir(): string {
  const env = process.env.IMAGEREWARD_CACHE;
  return resolve(env ? env : join(homedir(), '.cache', 'imagereward'));
}

export function resolveCacheDir(explicit?: string): string {
  return explicit ? resolve(explicit) : defaultCacheDir();
}

/** `{cache}/{repo}/{path}`: e.g. ~/.cache/imagereward/THUDM/ImageReward/ImageReward.pt. */
export function cachedHubPath(cacheDir: string, file: HubFile): string {
  return join(cacheDir, ...file.repo.split('/'), ...file.path.split('/'));
}
