/**
 * Where results go. A `.jsonl` OUT is itself the append-only result log. A `.parquet` OUT is written
 * once, at the end (temp file + rename), from a progress log `OUT.progress.jsonl` beside it, which a
 * rerun resumes; a rerun over a finished Parquet OUT starts its log from the Parquet rows.
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { extname } from 'node:path';
import { InputError } from '../errors.js';
import { checkOutputFolder, tempPathFor, writeAll, writeFileAtomic } from '../util/fs.js';
import { readParquetResults, writeParquetResults } from './parquet.js';
import { readResults } from './resultLog.js';
import type { ResultRecord } from './row.js';

export const OUTPUT_FORMATS = ['jsonl', 'parquet'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function outputFormat(path: string): OutputFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.parquet') return 'parquet';
  throw new InputError(`cannot tell the output format of ${path}: its name must end in .jsonl or .parquet`);
}

export interface OutputPlan {
  readonly output: string;
  readonly format: OutputFormat;
  /** The JSONL log rows are appended to. */
  readonly log: string;
  /** Writes OUT from the finished log (nothing to do for JSONL). */
  finish(): Promise<void>;
}

async function writeJsonlFile(path: string, records: AsyncIterable<ResultRecord> | Iterable<ResultRecord>): Promise<void> {
  await writeFileAtomic(path, async (fd) => {
    let lines: string[] = [];
    const flush = () => { writeAll(fd, Buffer.from(lines.join(''), 'utf8')); lines = []; };
    for await (const r of records) {
      lines.push(`${JSON.stringify(r)}\n`);
      if (lines.length >= 1024) flush();
    }
    flush();
  });
}

async function writeParquetFile(path: string, records: AsyncIterable<ResultRecord> | Iterable<ResultRecord>, grouped: boolean): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    await writeParquetResults(tmp, records, grouped);
    const fd = openSync(tmp, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Writes records to `path` in the format its extension names, all at once (temp file + rename). */
export async function writeResults(path: string, records: AsyncIterable<ResultRecord> | Iterable<ResultRecord>, grouped: boolean): Promise<void> {
  const format = outputFormat(path);
  checkOutputFolder(path, 'results');
  if (format === 'jsonl') await writeJsonlFile(path, records);
  else await writeParquetFile(path, records, grouped);
}

/** `grouped`: the input ranks groups (the Parquet OUT gets group and ranking columns). */
export async function planOutput(output: string, grouped: boolean): Promise<OutputPlan> {
  const format = outputFormat(output);
  checkOutputFolder(output, 'results');
  if (format === 'jsonl') return { output, format, log: output, finish: async () => {} };
  const log = `${output}.progress.jsonl`;
  if (!existsSync(log) && existsSync(output)) await writeJsonlFile(log, readParquetResults(output));
  return {
    output, format, log,
    async finish() {
      await writeParquetFile(output, readResults(log), grouped);
      rmSync(log, { force: true });
    },
  };
}
