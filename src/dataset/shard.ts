/**
 * Shards: shard I of N takes every unit (a row, or a whole group of a grouped input) whose index is I
 * modulo N, the same rows on every machine and every rerun. I comes from `--shard I/N`, or with
 * `--shards N` from the array index of the scheduler that started the process.
 */
import { basename, dirname, extname, join } from 'node:path';
import { InputError } from '../errors.js';

export interface Shard {
  /** 0-based. */
  readonly index: number;
  readonly count: number;
}

/** Array-job index variables, in the order they are read: Kubernetes Indexed Job, AWS Batch, Slurm. */
export const SHARD_INDEX_VARIABLES = ['JOB_COMPLETION_INDEX', 'AWS_BATCH_JOB_ARRAY_INDEX', 'SLURM_ARRAY_TASK_ID'] as const;

function count(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new InputError(`${what} must be a positive integer, got "${text}"`);
  return n;
}

function checked(index: number, n: number, what: string): Shard {
  if (!Number.isSafeInteger(index) || index < 0 || index >= n) throw new InputError(`${what}: the shard index must be 0 to ${n - 1}, got ${index}`);
  return { index, count: n };
}

/** `--shard I/N` (I 0-based). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new InputError(`--shard must be I/N (0 <= I < N), got "${text}"`);
  return checked(Number(m[1]), count(m[2]!, '--shard N'), `--shard ${text}`);
}

/**
 * `--shards N`: the index is the first of SHARD_INDEX_VARIABLES that is set. SLURM_ARRAY_TASK_ID is
 * taken relative to SLURM_ARRAY_TASK_MIN (an array may start at 1).
 */
export function shardFromEnvironment(shards: string, env: NodeJS.ProcessEnv = process.env): Shard {
  const n = count(shards, '--shards');
  const name = SHARD_INDEX_VARIABLES.find((v) => env[v] !== undefined && env[v] !== '');
  if (name === undefined) throw new InputError(`--shards ${n} needs the shard index in one of ${SHARD_INDEX_VARIABLES.join(', ')} (or give --shard I/${n})`);
  const raw = env[name]!;
  if (!/^\d+$/.test(raw)) throw new InputError(`${name} must be a non-negative integer, got "${raw}"`);
  let index = Number(raw);
  if (name === 'SLURM_ARRAY_TASK_ID' && env.SLURM_ARRAY_TASK_MIN !== undefined && /^\d+$/.test(env.SLURM_ARRAY_TASK_MIN)) index -= Number(env.SLURM_ARRAY_TASK_MIN);
  return checked(index, n, `${name}=${raw}`);
}

export function inShard(unit: number, shard: Shard | undefined): boolean {
  return shard === undefined || unit % shard.count === shard.index;
}

/** `out.jsonl` -> `out.shard-0003-of-0007.jsonl`: every shard writes its own file, `merge` joins them. */
export function shardOutputPath(output: string, shard: Shard): string {
  const ext = extname(output);
  const digits = Math.max(4, String(shard.count - 1).length);
  const tag = `shard-${String(shard.index).padStart(digits, '0')}-of-${String(shard.count).padStart(digits, '0')}`;
  return join(dirname(output), `${basename(output, ext)}.${tag}${ext}`);
}

/** The shard a file name made by shardOutputPath says it holds, if any. */
export function shardOfPath(path: string): Shard | undefined {
  const m = /\.shard-(\d+)-of-(\d+)(\.[^.]*)?$/.exec(basename(path));
  return m ? { index: Number(m[1]), count: Number(m[2]) } : undefined;
}
