/**
 * The cache of converted weights (`.pt` -> `.safetensors`), verified rather than trusted: each
 * conversion writes a record beside its output (`{out}.record.json`) with the source's size and
 * sha256 and the output's size, mtime, header sha256 and full sha256.
 * - On load the output is checked cheaply: size, header hash (the 8 + N header bytes), mtime. An
 *   mtime that moved (the file was written to, or copied) costs one full hash, which decides; with
 *   `verify` the full hash always runs.
 * - An output that fails (or has no record: a conversion killed before writing it) is converted
 *   again when the source is there, else a SafetensorsError names the files to delete.
 * - Temp files of killed conversions (writeFileAtomic's `.{name}.{pid}.{hex}.tmp`) are removed by
 *   the next conversion of the same output, under its lock.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { convertCheckpoint, type ConvertOptions } from '../convert/index.js';
import { SafetensorsError } from '../errors.js';
import { describeFsError, openForReading, writeAll, writeFileAtomic } from '../util/fs.js';

const RECORD_FORMAT = 'imagereward-tfjs/converted-record/1';

interface ConversionRecord {
  format: typeof RECORD_FORMAT;
  source: { path: string; size: number; sha256: string };
  output: { size: number; mtimeMs: number; headerSha256: string; sha256: string };
}

export type CacheVerdict = { ok: true } | { ok: false; reason: string };

export function recordPathFor(outPath: string): string {
  return `${outPath}.record.json`;
}

/** sha256 of a file, streamed (the event loop keeps running, so lock heartbeats fire). */
async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** sha256 of a safetensors file's first 8 + N bytes (length prefix and JSON header), or null when it has none. */
function headerSha256(path: string, size: number): string | null {
  const fd = openForReading(path, 'converted weights');
  try {
    const len = Buffer.alloc(8);
    if (size < 8 || readSync(fd, len, 0, 8, 0) !== 8) return null;
    const n = Number(len.readBigUInt64LE(0));
    if (n > size - 8) return null;
    const header = Buffer.alloc(n);
    if (readSync(fd, header, 0, n, 8) !== n) return null;
    return createHash('sha256').update(len).update(header).digest('hex');
  } finally {
    closeSync(fd);
  }
}

function readRecord(outPath: string): ConversionRecord | null {
  const path = recordPathFor(outPath);
  try {
    if (statSync(path).size > 1 << 16) return null; // a record is a few hundred bytes
    const r = JSON.parse(readFileSync(path, 'utf8')) as Partial<ConversionRecord>;
    const o = r.output;
    if (r.format !== RECORD_FORMAT || !o || typeof o.size !== 'number' || typeof o.mtimeMs !== 'number' || typeof o.headerSha256 !== 'string' || typeof o.sha256 !== 'string') return null;
    return r as ConversionRecord;
  } catch {
    return null; // missing or unreadable: no record
  }
}

async function writeRecord(outPath: string, record: ConversionRecord): Promise<void> {
  await writeFileAtomic(recordPathFor(outPath), (fd) => writeAll(fd, Buffer.from(`${JSON.stringify(record, null, 2)}\n`)));
}

/** Whether `outPath` is a conversion this cache made and nothing changed since (see the file comment). */
export async function checkConverted(outPath: string, verify: boolean): Promise<CacheVerdict> {
  if (!existsSync(outPath)) return { ok: false, reason: 'not converted yet' };
  const record = readRecord(outPath);
  if (record === null) return { ok: false, reason: `it has no valid conversion record ${recordPathFor(outPath)} (a conversion that did not finish)` };
  const stat = statSync(outPath);
  const o = record.output;
  if (stat.size !== o.size) return { ok: false, reason: `it is ${stat.size} bytes, the conversion wrote ${o.size}` };
  if (headerSha256(outPath, stat.size) !== o.headerSha256) return { ok: false, reason: 'its header is not the one the conversion wrote' };
  if (!verify && stat.mtimeMs === o.mtimeMs) return { ok: true };
  const sha256 = await sha256File(outPath);
  if (sha256 !== o.sha256) return { ok: false, reason: `its sha256 is ${sha256}, the conversion wrote ${o.sha256}` };
  if (stat.mtimeMs !== o.mtimeMs) await writeRecord(outPath, { ...record, output: { ...o, mtimeMs: stat.mtimeMs } }); // same bytes, touched or copied
  return { ok: true };
}

/**
 * The sha256 the conversion record states for `outPath`, while the file is still the one recorded
 * (same size and mtime; the load has checked it, see checkConverted); null when there is no record
 * or the file moved on. It is the content identity of converted weights, without hashing them again.
 */
export function recordedSha256(outPath: string): string | null {
  const record = readRecord(outPath);
  if (record === null) return null;
  try {
    const stat = statSync(outPath);
    return stat.size === record.output.size && stat.mtimeMs === record.output.mtimeMs ? record.output.sha256 : null;
  } catch {
    return null;
  }
}

/** The error for an output that failed its check when the source is gone. */
export function staleConversionError(outPath: string, ptPath: string, reason: string): SafetensorsError {
  return new SafetensorsError(
    `converted weights ${outPath} cannot be used: ${reason}; its source ${ptPath} is not there to convert it again. `
    + `Delete ${outPath} and ${recordPathFor(outPath)}, then load the model again (it is converted from a fresh download or the .pt).`,
  );
}

/** Removes the temp files that killed conversions of `outPath` (or of its record) left beside it. */
export function removeStaleTemps(outPath: string): string[] {
  const dir = dirname(outPath);
  const prefix = `.${basename(outPath)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new SafetensorsError(`cannot list ${dir}: ${describeFsError(err)}`, { cause: err });
  }
  const stale = names.filter((n) => n.startsWith(prefix) && n.endsWith('.tmp')).map((n) => join(dir, n));
  for (const path of stale) rmSync(path, { force: true });
  return stale;
}

/**
 * Converts `ptPath` to `outPath` and records the result. Call it holding `outPath`'s lock (so that
 * the temp files removed first are no other process's). `heartbeat` is called between tensors.
 */
export async function convertAndRecord(ptPath: string, outPath: string, options: ConvertOptions, heartbeat: () => void): Promise<void> {
  removeStaleTemps(outPath);
  rmSync(recordPathFor(outPath), { force: true });
  const sourceStat = statSync(ptPath);
  const sourceSha = await sha256File(ptPath);
  await convertCheckpoint(ptPath, outPath, {
    ...options,
    onProgress: (done, total, key) => {
      heartbeat();
      options.onProgress?.(done, total, key);
    },
  });
  const stat = statSync(outPath);
  const output = { size: stat.size, mtimeMs: stat.mtimeMs, headerSha256: headerSha256(outPath, stat.size) ?? '', sha256: await sha256File(outPath) };
  await writeRecord(outPath, { format: RECORD_FORMAT, source: { path: ptPath, size: sourceStat.size, sha256: sourceSha }, output });
}
