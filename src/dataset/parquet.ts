/**
 * Parquet in and out (hyparquet / hyparquet-writer). Input: `prompt` (string) and `image` columns,
 * the image a path (relative to the file), the encoded bytes, or a Hugging Face `Image` struct
 * {bytes, path}; read a window of rows at a time. Output: the result records as flat columns
 * row, prompt, image, reward, error_code, error_message (+ group, ranking for grouped inputs).
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { parquetMetadataAsync, parquetRead, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import type { ErrorCode } from '../errors.js';
import { DatasetError } from '../train/errors.js';
import { resolveImage } from './fields.js';
import { pageChecker } from './parquetPages.js';
import { badRow, type DatasetRow, type ResultRecord } from './row.js';

/** Rows read per hyparquet call (and written per row group). */
const WINDOW = 1024;

/** Most bytes one read of a Parquet file may ask for (a column chunk); a corrupt offset asks for more. */
const MAX_READ_BYTES = 1 << 30;

/**
 * The file as hyparquet's AsyncBuffer, with every range checked against the file size: corrupt
 * metadata yields offsets outside the file, which must be a typed error, not a read that never ends.
 */
async function fileBuffer(path: string): Promise<AsyncBuffer & { close(): Promise<void> }> {
  const handle = await open(path, 'r');
  const byteLength = (await handle.stat()).size;
  const readRange = async (start: number, end: number): Promise<ArrayBuffer> => {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > byteLength || end - start > MAX_READ_BYTES) {
      throw new DatasetError(path, undefined, `asks for bytes ${start}..${end} of a ${byteLength}-byte file: its metadata is corrupt`);
    }
    const out = new Uint8Array(end - start);
    let got = 0;
    while (got < out.length) {
      const { bytesRead } = await handle.read(out, got, out.length - got, start + got);
      if (bytesRead === 0) throw new DatasetError(path, undefined, 'changed size while being read');
      got += bytesRead;
    }
    return out.buffer;
  };
  return {
    byteLength,
    slice(start: number, end = byteLength): Promise<ArrayBuffer> {
      const read = readRange(start, end);
      // hyparquet prefetches ranges it may never await: a refusal must not become an unhandled rejection
      read.catch(() => {});
      return read;
    },
    close: () => handle.close(),
  };
}

/**
 * Rows [start, end) as objects. parquetRead itself, not parquetReadObjects: on some corrupt files
 * parquetRead returns without calling onComplete, and parquetReadObjects' promise would never settle.
 */
async function readWindow(path: string, file: AsyncBuffer, metadata: FileMetaData, start: number, end: number, columns?: string[]): Promise<Record<string, unknown>[]> {
  let rows: Record<string, unknown>[] | undefined;
  try {
    await parquetRead({ file, metadata, ...(columns ? { columns } : {}), rowStart: start, rowEnd: end, utf8: false, rowFormat: 'object', onComplete: (r: Record<string, unknown>[]) => { rows = r; } });
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(path, start, `cannot be read: ${(err as Error).message}`, { cause: err });
  }
  if (rows === undefined || rows.length !== end - start) {
    throw new DatasetError(path, start, `rows ${start}..${end - 1} gave ${rows?.length ?? 'no'} records: the file's row counts are wrong`);
  }
  return rows;
}

/** The name an embedded image goes by in the output: its path if the struct has one, else its content hash. */
function bytesName(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
}

function parquetRow(row: number, record: Record<string, unknown>, base: string): DatasetRow {
  const { prompt, image } = record;
  if (typeof prompt !== 'string') return badRow(row, `row ${row}: "prompt" must be a string, got ${prompt === null ? 'null' : typeof prompt}`);
  if (typeof image === 'string' && image !== '') return { row, prompt, imageName: image, image: resolveImage(base, image) };
  if (image instanceof Uint8Array && image.length > 0) return { row, prompt, imageName: bytesName(image), image };
  if (typeof image === 'object' && image !== null) {
    const { bytes, path } = image as { bytes?: unknown; path?: unknown };
    if (bytes instanceof Uint8Array && bytes.length > 0) return { row, prompt, imageName: typeof path === 'string' && path !== '' ? path : bytesName(bytes), image: bytes };
    if (typeof path === 'string' && path !== '') return { row, prompt, imageName: path, image: resolveImage(base, path) };
  }
  return badRow(row, `row ${row}: "image" must be a path, image bytes or an {bytes, path} struct`, { prompt });
}

export async function* parquetRows(path: string, base: string): AsyncGenerator<DatasetRow> {
  const file = await fileBuffer(path);
  try {
    yield* parquetFileRows(path, file, base);
  } finally {
    await file.close();
  }
}

async function* parquetFileRows(path: string, file: AsyncBuffer, base: string): AsyncGenerator<DatasetRow> {
  const metadata = await readMetadata(path, file);
  const top = new Set<string>();
  // top-level columns: the children of the root schema element
  for (let i = 1, left = metadata.schema[0]?.num_children ?? 0; left > 0 && i < metadata.schema.length; left--) {
    top.add(metadata.schema[i]!.name);
    let skip = metadata.schema[i]!.num_children ?? 0;
    i++;
    while (skip > 0) { skip += (metadata.schema[i]!.num_children ?? 0) - 1; i++; }
  }
  for (const need of ['prompt', 'image']) {
    if (!top.has(need)) throw new DatasetError(path, undefined, `has no "${need}" column (columns: ${[...top].join(', ')})`);
  }
  for await (const [start, records] of windows(path, file, metadata, ['prompt', 'image'])) {
    for (let k = 0; k < records.length; k++) yield parquetRow(start + k, records[k]!, base);
  }
}

async function readMetadata(path: string, file: AsyncBuffer): Promise<FileMetaData> {
  try {
    return await parquetMetadataAsync(file);
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(path, undefined, `is not a readable Parquet file: ${(err as Error).message}`, { cause: err });
  }
}

/** The rows of `columns` (all if absent) as [first row, records], WINDOW at a time, each window's pages checked before hyparquet decodes them. */
async function* windows(path: string, file: AsyncBuffer, metadata: FileMetaData, columns?: string[]): AsyncGenerator<[number, Record<string, unknown>[]]> {
  const total = checkedRowCount(path, metadata);
  const checkPages = pageChecker(path, file, metadata, columns);
  for (let start = 0; start < total; start += WINDOW) {
    const end = Math.min(total, start + WINDOW);
    await checkPages(end);
    yield [start, await readWindow(path, file, metadata, start, end, columns)];
  }
}

/** num_rows, which must be the sum of the row groups' (a corrupt count would send the reader round a loop of empty reads). */
function checkedRowCount(path: string, metadata: { num_rows: bigint | number; row_groups: { num_rows: bigint | number }[] }): number {
  const total = Number(metadata.num_rows);
  const counts = metadata.row_groups.map((g) => Number(g.num_rows));
  const sum = counts.reduce((n, c) => n + c, 0);
  const bad = counts.find((c) => !Number.isSafeInteger(c) || c < 0);
  if (bad !== undefined) throw new DatasetError(path, undefined, `has a row group of ${bad} rows: the file is corrupt`);
  if (!Number.isSafeInteger(total) || total < 0 || total !== sum) throw new DatasetError(path, undefined, `says it has ${metadata.num_rows} rows but its row groups hold ${sum}: the file is corrupt`);
  return total;
}

/** Writes the records to a Parquet file at `path` (the caller renames it into place). */
export async function writeParquetResults(path: string, records: AsyncIterable<ResultRecord> | Iterable<ResultRecord>, grouped: boolean): Promise<void> {
  const names = ['row', 'prompt', 'image', 'reward', 'error_code', 'error_message', ...(grouped ? ['group', 'ranking'] : [])];
  const types: Record<string, string> = { row: 'INT64', prompt: 'STRING', image: 'STRING', reward: 'DOUBLE', error_code: 'STRING', error_message: 'STRING', group: 'INT64', ranking: 'INT32' };
  const converted: Record<string, 'UTF8' | undefined> = { prompt: 'UTF8', image: 'UTF8', error_code: 'UTF8', error_message: 'UTF8' };
  const writer = new ParquetWriter({
    writer: fileWriter(path),
    schema: [
      { name: 'root', num_children: names.length },
      ...names.map((name) => ({
        name,
        type: (types[name] === 'STRING' ? 'BYTE_ARRAY' : types[name]) as 'BYTE_ARRAY' | 'INT64' | 'DOUBLE' | 'INT32',
        repetition_type: (name === 'row' ? 'REQUIRED' : 'OPTIONAL') as 'REQUIRED' | 'OPTIONAL',
        ...(converted[name] ? { converted_type: converted[name] } : {}),
      })),
    ],
    createdBy: 'imagereward-tfjs score-dataset',
  });
  let batch: ResultRecord[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const column = (name: string, value: (r: ResultRecord) => unknown) => ({ name, data: batch.map(value) });
    await writer.write({
      rowGroupSize: batch.length,
      columnData: [
        column('row', (r) => BigInt(r.row)),
        column('prompt', (r) => r.prompt),
        column('image', (r) => r.image),
        column('reward', (r) => ('reward' in r ? r.reward : null)),
        column('error_code', (r) => ('error' in r ? r.error.code : null)),
        column('error_message', (r) => ('error' in r ? r.error.message : null)),
        ...(grouped ? [column('group', (r) => (r.group === undefined ? null : BigInt(r.group))), column('ranking', (r) => r.ranking ?? null)] : []),
      ] as Parameters<ParquetWriter['write']>[0]['columnData'],
    });
    batch = [];
  };
  for await (const r of records) {
    batch.push(r);
    if (batch.length >= 16 * WINDOW) await flush();
  }
  await flush();
  writer.finish();
}

/** The records of a Parquet result file written by writeParquetResults, in file order. */
export async function* readParquetResults(path: string): AsyncGenerator<ResultRecord> {
  const file = await fileBuffer(path);
  try {
    yield* parquetFileResults(path, file);
  } finally {
    await file.close();
  }
}

/** A row of a Parquet result file as hyparquet decodes it. */
interface ParquetResultRow {
  row: bigint;
  prompt: string | null;
  image: string | null;
  reward: number | null;
  error_code: ErrorCode | null;
  error_message: string | null;
  group?: bigint | null;
  ranking?: number | null;
}

async function* parquetFileResults(path: string, file: AsyncBuffer): AsyncGenerator<ResultRecord> {
  for await (const [, records] of windows(path, file, await readMetadata(path, file))) {
    for (const o of records as unknown as ParquetResultRow[]) {
      const base = { row: Number(o.row), prompt: o.prompt ?? null, image: o.image ?? null, ...(o.group !== undefined && o.group !== null ? { group: Number(o.group) } : {}) };
      const grouped = 'ranking' in o;
      yield o.error_code !== null && o.error_code !== undefined
        ? { ...base, error: { code: o.error_code, message: o.error_message ?? '' }, ...(grouped ? { ranking: null } : {}) }
        : { ...base, reward: o.reward as number, ...(grouped ? { ranking: o.ranking ?? null } : {}) };
    }
  }
}
