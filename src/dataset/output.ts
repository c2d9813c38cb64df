/**
 * Where results go. A `.jsonl` OUT is itself the append-only result log. Other formats are written
 * once at the end (temp file + rename) from a progress log beside OUT, which a rerun resumes.
 */
import { extname } from 'node:path';
import { InputError } from '../errors.js';
import { checkOutputFolder, writeAll, writeFileAtomic } from '../util/fs.js';
import type { ResultRecord } from './row.js';

export const OUTPUT_FORMATS = ['jsonl'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function outputFormat(path: string): OutputFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new InputError(`cannot tell the output format of ${path}: its name must end in .jsonl`);
}

export interface OutputPlan {
  readonly output: string;
  readonly format: OutputFormat;
  /** The JSONL log rows are appended to. */
  readonly log: string;
  /** Writes OUT from the finished log (nothing to do for JSONL). */
  finish(): Promise<void>;
}

export function planOutput(output: string): OutputPlan {
  const format = outputFormat(output);
  checkOutputFolder(output, 'results');
  return { output, format, log: output, finish: async () => {} };
}

/** Writes records to `path` in its format, all at once (temp file + rename). */
export async function writeResults(path: string, records: Iterable<ResultRecord>): Promise<void> {
  outputFormat(path);
  checkOutputFolder(path, 'results');
  await writeFileAtomic(path, (fd) => {
    let lines: string[] = [];
    const flush = () => { writeAll(fd, Buffer.from(lines.join(''), 'utf8')); lines = []; };
    for (const r of records) {
      lines.push(`${JSON.stringify(r)}\n`);
      if (lines.length >= 1024) flush();
    }
    flush();
  });
}
