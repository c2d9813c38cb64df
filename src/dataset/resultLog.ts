/**
 * The append-only JSONL result log: one line per row, appended a batch at a time with one write and
 * an fdatasync, so a killed run loses at most the batch in flight. Opening an existing log repairs a
 * torn last line (a write cut short: everything after the last newline is dropped) and reads which
 * rows it holds, so a rerun appends only the missing ones.
 */
import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { DatasetError } from '../train/errors.js';
import { writeAll } from '../util/fs.js';
import { fileLines } from './lines.js';
import { rowFingerprint, type ResultRecord } from './row.js';

/** A result line may hold a long prompt and an error message; longer lines are not ours. */
const MAX_RESULT_LINE_BYTES = 4 << 20;

export interface LoggedRow {
  readonly fingerprint: string;
  readonly failed: boolean;
}

/** Drops whatever follows the last newline (a torn last line); returns the bytes dropped. */
export function repairTornTail(path: string): number {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const chunk = Buffer.alloc(1 << 16);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = readSync(fd, chunk, 0, end - start, start);
      const nl = chunk.subarray(0, n).lastIndexOf(10);
      if (nl >= 0) {
        const keep = start + nl + 1;
        if (keep < size) ftruncateSync(fd, keep);
        return size - keep;
      }
      end = start;
    }
    if (size > 0) ftruncateSync(fd, 0);
    return size;
  } finally {
    closeSync(fd);
  }
}

/** Parses one result line; anything but a record with a row number is an error naming the line. */
export function parseResultLine(text: string, file: string, line: number): ResultRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DatasetError(file, undefined, `line ${line} is not valid JSON (${(err as Error).message}): this is not a result file of score-dataset`, { cause: err });
  }
  const o = value as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || !Number.isSafeInteger(o.row) || (o.row as number) < 0 || !('reward' in o || 'error' in o)) {
    throw new DatasetError(file, undefined, `line ${line} is not a result record ({"row", "prompt", "image", "reward" | "error"}): this is not a result file of score-dataset`);
  }
  return value as ResultRecord;
}

/** Every record of a result file, in file order. */
export async function* readResults(path: string): AsyncGenerator<ResultRecord> {
  for await (const line of fileLines(path, MAX_RESULT_LINE_BYTES)) {
    if (line.text === undefined) throw new DatasetError(path, undefined, `line ${line.number} is ${line.bytes} bytes: this is not a result file of score-dataset`);
    if (line.text.trim() === '') continue;
    yield parseResultLine(line.text, path, line.number);
  }
}

export class ResultLog {
  readonly path: string;
  /** Rows already in the log, by row index. */
  readonly logged: Map<number, LoggedRow>;
  /** Bytes of a torn last line dropped on opening. */
  readonly repairedBytes: number;
  private fd: number | undefined;

  private constructor(path: string, logged: Map<number, LoggedRow>, repairedBytes: number, fd: number) {
    this.path = path;
    this.logged = logged;
    this.repairedBytes = repairedBytes;
    this.fd = fd;
  }

  /** Opens (or creates) the log for appending, after repairing and reading what it holds. */
  static async open(path: string): Promise<ResultLog> {
    const logged = new Map<number, LoggedRow>();
    let repaired = 0;
    if (existsSync(path)) {
      repaired = repairTornTail(path);
      for await (const r of readResults(path)) {
        const before = logged.get(r.row);
        if (before && before.fingerprint !== rowFingerprint(r.prompt, r.image)) throw new DatasetError(path, undefined, `holds row ${r.row} twice, for different prompts or images`);
        remember(logged, r);
      }
    }
    return new ResultLog(path, logged, repaired, openSync(path, 'a'));
  }

  /** Appends the records as lines, in one write, and waits until they are on disk. */
  append(records: readonly ResultRecord[]): void {
    if (this.fd === undefined) throw new Error('the result log is closed');
    if (records.length === 0) return;
    writeAll(this.fd, Buffer.from(records.map((r) => `${JSON.stringify(r)}\n`).join(''), 'utf8'));
    fdatasyncSync(this.fd);
    for (const r of records) remember(this.logged, r);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function remember(map: Map<number, LoggedRow>, r: ResultRecord): void {
  map.set(r.row, { fingerprint: rowFingerprint(r.prompt, r.image), failed: 'error' in r });
}
