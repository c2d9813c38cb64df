/**
 * Joins shard outputs (or any result files of one input) into one result file in row order: each row
 * once (a row in two files must be the same prompt and image; the first copy is kept), every shard
 * of a `.shard-I-of-N` set present, and no row missing between 0 and the last.
 */
import { extname } from 'node:path';
import { InputError } from '../errors.js';
import { DatasetError } from '../train/errors.js';
import { readParquetResults } from './parquet.js';
import { readResults } from './resultLog.js';
import { rowFingerprint, type ResultRecord } from './row.js';
import { shardOfPath } from './shard.js';

export interface MergedResults {
  /** Records by row, rows 0..n-1. */
  readonly records: ResultRecord[];
  readonly errors: number;
  /** Copies of a row dropped because an earlier file held it. */
  readonly duplicates: number;
}

/** Refuses a set of shard files that misses a shard or mixes shard counts. */
export function checkShardSet(files: readonly string[]): void {
  const shards = files.map((f) => ({ f, s: shardOfPath(f) })).filter((x) => x.s !== undefined);
  if (shards.length === 0) return;
  const counts = new Set(shards.map((x) => x.s!.count));
  if (counts.size > 1) throw new InputError(`the files mix shard counts (${[...counts].join(', ')}): ${shards.map((x) => x.f).join(', ')}`);
  const n = [...counts][0]!;
  const have = new Set(shards.map((x) => x.s!.index));
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !have.has(i));
  if (missing.length > 0) throw new InputError(`shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${n} missing from the files to merge`);
}

export async function mergeResults(files: readonly string[]): Promise<MergedResults> {
  if (files.length === 0) throw new InputError('merge: no result files given');
  checkShardSet(files);
  const byRow = new Map<number, { record: ResultRecord; fingerprint: string; file: string }>();
  let duplicates = 0;
  for (const file of files) {
    const records = extname(file).toLowerCase() === '.parquet' ? readParquetResults(file) : readResults(file);
    for await (const record of records) {
      const fingerprint = rowFingerprint(record.prompt, record.image);
      const had = byRow.get(record.row);
      if (had) {
        if (had.fingerprint !== fingerprint) throw new DatasetError(file, undefined, `row ${record.row} is for another prompt or image than in ${had.file}: these are results of different inputs`);
        duplicates++;
        continue;
      }
      byRow.set(record.row, { record, fingerprint, file });
    }
  }
  const last = Math.max(-1, ...byRow.keys());
  const missing: number[] = [];
  for (let row = 0; row <= last && missing.length < 10; row++) if (!byRow.has(row)) missing.push(row);
  if (missing.length > 0) throw new InputError(`merge: rows ${missing.join(', ')}${missing.length === 10 ? ', ...' : ''} are in none of the files (a shard not finished? rerun it, it resumes)`);
  const records = Array.from({ length: last + 1 }, (_, row) => byRow.get(row)!.record);
  return { records, errors: records.filter((r) => 'error' in r).length, duplicates };
}
