/**
 * What travels through Redis: a chunk of rows (a job's data) and its result records (the job's return
 * value). Images go by path (workers must see the input's files at the same paths) or, for members of
 * a tar or bytes in a Parquet cell, as base64. Both directions are checked when read: Redis is shared
 * state, so a job or result of another version, or of another program on the queue, is refused, not
 * trusted.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import type { PendingRow } from '../dataset/scoreDataset.js';
import { rowKey, type ResultRecord } from '../dataset/row.js';
import type { PairFailure } from '../api/scoreStream.js';

export const CHUNK_FORMAT = 'imagereward-tfjs/score-chunk/1';

interface WireRow {
  readonly row: number;
  readonly prompt: string | null;
  readonly imageName: string | null;
  readonly image: { readonly path: string } | { readonly base64: string } | null;
  readonly group?: number;
  readonly failure?: PairFailure;
  readonly logged: boolean;
}

export interface ChunkJobData {
  readonly format: typeof CHUNK_FORMAT;
  readonly rows: readonly WireRow[];
}

export interface ChunkJobResult {
  readonly format: typeof CHUNK_FORMAT;
  readonly records: readonly ResultRecord[];
  /** host:pid of the worker that scored it. */
  readonly worker: string;
  /** The worker's model (api/featureModelId.ts rewardModelId). */
  readonly model: string;
}

function encodeRow(r: PendingRow): WireRow {
  let image: WireRow['image'];
  if (typeof r.image === 'string') image = { path: resolve(r.image) }; // workers have their own working directory
  else if (r.image instanceof Uint8Array) image = { base64: Buffer.from(r.image.buffer, r.image.byteOffset, r.image.byteLength).toString('base64') };
  else if (r.image === null && r.failure !== undefined) image = null;
  else throw new InputError(`row ${r.row}: only image paths and encoded bytes can be sent to queue workers`);
  return {
    row: r.row, prompt: r.prompt, imageName: r.imageName, image, logged: r.logged,
    ...(r.group !== undefined ? { group: r.group } : {}), ...(r.failure !== undefined ? { failure: r.failure } : {}),
  };
}

export function encodeChunk(rows: readonly PendingRow[]): ChunkJobData {
  return { format: CHUNK_FORMAT, rows: rows.map(encodeRow) };
}

/**
 * The job id: a hash of the run (its output path and a per-run nonce) and the chunk's rows (keys and
 * whether they are only there for their group's ranking). The same chunk added again within a run
 * (Redis lost the job) keeps its id; another run's jobs never share one.
 */
export function chunkJobId(run: string, rows: readonly PendingRow[]): string {
  const h = createHash('sha256').update(`${run}\n`);
  for (const r of rows) h.update(`${rowKey(r.row, r.prompt, r.imageName)}${r.logged ? '+' : ''}\n`);
  return `chunk-${h.digest('hex').slice(0, 32)}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNullableString = (v: unknown): v is string | null => v === null || typeof v === 'string';

function decodeRow(v: unknown): PendingRow {
  if (!isObject(v) || !Number.isSafeInteger(v.row) || !isNullableString(v.prompt) || !isNullableString(v.imageName) || typeof v.logged !== 'boolean') {
    throw new InputError('a queued row is not {row, prompt, imageName, image, logged}');
  }
  const image = v.image;
  let loaded: string | Uint8Array | null;
  if (isObject(image) && typeof image.path === 'string') loaded = image.path;
  else if (isObject(image) && typeof image.base64 === 'string') loaded = new Uint8Array(Buffer.from(image.base64, 'base64'));
  else if (image === null && isObject(v.failure)) loaded = null;
  else throw new InputError(`queued row ${v.row as number}: its image is neither {path} nor {base64}`);
  const failure = v.failure;
  if (failure !== undefined && !(isObject(failure) && typeof failure.code === 'string' && typeof failure.message === 'string')) {
    throw new InputError(`queued row ${v.row as number}: its failure is not {code, message}`);
  }
  if (v.group !== undefined && !Number.isSafeInteger(v.group)) throw new InputError(`queued row ${v.row as number}: its group is not an integer`);
  return {
    row: v.row as number, prompt: v.prompt as string, imageName: v.imageName as string, image: loaded as string, logged: v.logged,
    ...(v.group !== undefined ? { group: v.group as number } : {}),
    ...(failure !== undefined ? { failure: failure as unknown as PairFailure } : {}),
  };
}

/** A job's data as a worker reads it. */
export function decodeChunk(data: unknown): PendingRow[] {
  if (!isObject(data) || data.format !== CHUNK_FORMAT || !Array.isArray(data.rows)) {
    throw new InputError(`the job is not a score-dataset chunk of this version (${CHUNK_FORMAT})`);
  }
  return data.rows.map(decodeRow);
}

function isRecord(v: unknown): v is ResultRecord {
  if (!isObject(v) || !Number.isSafeInteger(v.row) || !isNullableString(v.prompt) || !isNullableString(v.image)) return false;
  if ('reward' in v) return typeof v.reward === 'number' && Number.isFinite(v.reward);
  return isObject(v.error) && typeof v.error.code === 'string' && typeof v.error.message === 'string';
}

/** A job's return value as the producer reads it; undefined when it is not one of ours. */
export function decodeResult(value: unknown): ChunkJobResult | undefined {
  if (!isObject(value) || value.format !== CHUNK_FORMAT || typeof value.worker !== 'string' || typeof value.model !== 'string' || !Array.isArray(value.records)) return undefined;
  return value.records.every(isRecord) ? (value as unknown as ChunkJobResult) : undefined;
}
