/**
 * The model part of a feature-cache key: the content identity of the weights, never the path as
 * typed. CLS features depend on the base weights and the configs (not on the head), so the id is
 * `sha256:<hex of the weights file>#<hash of the configs>`. The sha256 comes from the conversion
 * record when the weights were converted here (hub models, `.pt` files: convertedCache.ts), else
 * from hashing the file, memoised in the feature cache (`model-hashes.json`, keyed by the resolved
 * path, device, inode, size and mtime) so that a 1.8 GB file is hashed once, not on every run;
 * `verify` hashes it again regardless.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import type { ModelSource } from './modelSource.js';
import { recordedSha256 } from './convertedCache.js';
import { medConfigToJson, vitConfigToJson, type ImageRewardConfig } from '../model/config.js';
import { writeAll, writeFileAtomic } from '../util/fs.js';

export interface FeatureModelId {
  /** `sha256:<64 hex>#<12 hex of the configs>`. */
  readonly id: string;
  readonly sha256: string;
  /** A readable name for the cache folder: the weights file's base name (`ImageReward`, `tiny`). */
  readonly label: string;
}

const MEMO_FILE = 'model-hashes.json';
const MEMO_FORMAT = 'imagereward-tfjs/model-hashes/1';

type Memo = Record<string, string>;

function statKey(path: string): string {
  const s = statSync(path);
  return `${resolve(path)}|${s.dev}|${s.ino}|${s.size}|${s.mtimeMs}`;
}

function readMemo(dir: string): Memo {
  try {
    const path = join(dir, MEMO_FILE);
    if (!existsSync(path) || statSync(path).size > 1 << 20) return {};
    const json = JSON.parse(readFileSync(path, 'utf8')) as { format?: unknown; hashes?: unknown };
    if (json.format !== MEMO_FORMAT || typeof json.hashes !== 'object' || json.hashes === null) return {};
    return Object.fromEntries(Object.entries(json.hashes).filter((e): e is [string, string] => typeof e[1] === 'string' && /^[0-9a-f]{64}$/.test(e[1])));
  } catch {
    return {}; // unreadable memo: hash again
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function weightsSha256(path: string, memoDir: string | undefined, verify: boolean): Promise<string> {
  const recorded = recordedSha256(path);
  if (recorded !== null && !verify) return recorded;
  const key = statKey(path);
  const memo = memoDir === undefined ? {} : readMemo(memoDir);
  if (!verify && memo[key] !== undefined) return memo[key];
  const sha256 = await sha256File(path);
  if (statKey(path) !== key) return sha256; // changed while hashed: do not memoise
  if (memoDir !== undefined) {
    const hashes = { ...memo, [key]: sha256 };
    await writeFileAtomic(join(memoDir, MEMO_FILE), (fd) => writeAll(fd, Buffer.from(`${JSON.stringify({ format: MEMO_FORMAT, hashes }, null, 2)}\n`)));
  }
  return sha256;
}

/** The id of the weights `source` loads under `config`; `memoDir` (the feature cache) keeps file hashes. */
export async function featureModelId(source: ModelSource, config: ImageRewardConfig, memoDir?: string, verify = false): Promise<FeatureModelId> {
  const configHash = createHash('sha256')
    .update(JSON.stringify([medConfigToJson(config.med), vitConfigToJson(config.vit)]))
    .digest('hex')
    .slice(0, 12);
  const sha256 = await weightsSha256(source.weightsPath, memoDir, verify);
  const label = basename(source.weightsPath, extname(source.weightsPath));
  return { id: `sha256:${sha256}#${configHash}`, sha256, label };
}

/**
 * What the rewards of a loaded model depend on: its feature id (weights and configs) and, with a head
 * overlay, that head file's content (`#head:<12 hex>`). Queue workers report it with every result, so
 * that a producer never mixes rewards of two models in one output.
 */
export async function rewardModelId(description: { readonly source: ModelSource; readonly config: ImageRewardConfig; readonly head?: string }): Promise<string> {
  const { id } = await featureModelId(description.source, description.config);
  return description.head === undefined ? id : `${id}#head:${(await sha256File(description.head)).slice(0, 12)}`;
}
