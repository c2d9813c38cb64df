/**
 * Checks the pages of the Parquet column chunks a read is about to decode, before hyparquet (1.33,
 * pinned) decodes them. hyparquet trusts the counts and lengths a page gives: a page header field
 * left out becomes a NaN offset, which a DataView reads as 0, so its RLE decoder re-reads one byte
 * forever (the fuzz target's hangs); an RLE run longer than the values left grows the output array
 * until V8 aborts the process; a bit-packed run of width 0 and negative length never ends; and
 * uncompressed_page_size, value counts and delta prefix lengths are allocated as given. So every
 * header field the decoder uses must be present and in range, and every RLE / bit-packed run and
 * delta header is walked here first, from the byte positions the decoder will read them at (its
 * own functions decode the levels and lengths those positions depend on, once they are checked).
 * Checks rather than a worker with a watchdog: V8 aborts the whole process on an oversized array,
 * from a worker thread too.
 */
import { parquetSchema, type AsyncBuffer, type ColumnMetaData, type Encoding, type FileMetaData, type PageHeader, type SchemaTree } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { decompressPage } from 'hyparquet/src/datapage.js';
import { deltaBinaryUnpack } from 'hyparquet/src/delta.js';
import { readRleBitPackedHybrid } from 'hyparquet/src/encoding.js';
import { getMaxDefinitionLevel, getMaxRepetitionLevel, getTreePath } from 'hyparquet/src/schema.js';
import { DatasetError } from '../train/errors.js';

/** Most values one page may hold: the decoder builds arrays of this many per page (writers cut pages at about 20,000 rows). */
const MAX_PAGE_VALUES = 1 << 20;
/** Most bytes one page may decompress or (DELTA_BYTE_ARRAY) decode to. */
const MAX_PAGE_BYTES = 1 << 28;
/** Snappy's best element, a 3-byte copy, emits 64 bytes: no real page expands more than this. */
const SNAPPY_MAX_RATIO = 22;

/** A page the checks refuse; the caller names the file, column and page. */
class PageProblem extends Error {}
const refuse = (problem: string): never => { throw new PageProblem(problem); };
const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

interface Column {
  name: string;
  meta: ColumnMetaData;
  maxDefinition: number;
  typeLength: number | undefined;
}

/**
 * A check to await before reading rows up to `end`: it checks, in file order, the chunks of the
 * `columns` (all if absent) in every row group not yet checked that starts before `end`.
 */
export function pageChecker(path: string, file: AsyncBuffer, metadata: FileMetaData, columns?: readonly string[]): (end: number) => Promise<void> {
  let schema: SchemaTree | undefined;
  let group = 0;
  let checkedRows = 0;
  return async (end) => {
    try {
      schema ??= parquetSchema(metadata);
      for (; checkedRows < end && group < metadata.row_groups.length; group++) {
        const rowGroup = metadata.row_groups[group]!;
        for (const { meta_data: meta } of rowGroup.columns) {
          if (!meta) throw new DatasetError(path, undefined, `row group ${group} has a column chunk without metadata`);
          if (columns && !columns.includes(meta.path_in_schema[0]!)) continue;
          const column = describe(path, schema, meta);
          // the byte range hyparquet's planner reads for this chunk
          const offset = meta.dictionary_page_offset || meta.data_page_offset;
          const bytes = await file.slice(Number(offset), Number(offset + meta.total_compressed_size));
          checkChunk(path, `column ${column.name} (row group ${group})`, Number(offset), bytes, column, Number(rowGroup.num_rows));
        }
        checkedRows += Number(rowGroup.num_rows);
      }
    } catch (err) {
      if (err instanceof DatasetError) throw err;
      throw new DatasetError(path, undefined, `cannot be read: ${(err as Error).message}`, { cause: err });
    }
  };
}

function describe(path: string, schema: SchemaTree, meta: ColumnMetaData): Column {
  const name = JSON.stringify(meta.path_in_schema.join('.'));
  const schemaPath = getTreePath(schema, meta.path_in_schema);
  // repetition levels are not walked: no column read here (prompt, image, a result column) is a list
  if (getMaxRepetitionLevel(schemaPath) > 0) throw new DatasetError(path, undefined, `column ${name} is a list (repeated), which is not read here`);
  return { name, meta, maxDefinition: getMaxDefinitionLevel(schemaPath), typeLength: schemaPath[schemaPath.length - 1]!.element.type_length };
}

/** Walks the chunk's pages the way hyparquet's column reader steps through them. */
function checkChunk(path: string, where: string, start: number, buffer: ArrayBuffer, column: Column, rows: number): void {
  const view = new DataView(buffer);
  const reader = { view, offset: 0 };
  let values = 0;
  while (reader.offset < view.byteLength - 1) {
    const at = reader.offset;
    try {
      const header = parquetHeader(reader);
      const size = header.compressed_page_size;
      if (!isCount(size) || size > view.byteLength - reader.offset) refuse(`compressed_page_size ${size} does not fit in the column chunk`);
      const body = new Uint8Array(buffer, reader.offset, size);
      reader.offset += size;
      if (header.type === 'DICTIONARY_PAGE') {
        if (!isCount(header.dictionary_page_header?.num_values) || header.dictionary_page_header.num_values > MAX_PAGE_VALUES) {
          refuse(`a dictionary page of ${header.dictionary_page_header?.num_values} values (at most ${MAX_PAGE_VALUES} are read)`);
        }
        decompressed(body, header.uncompressed_page_size, column);
      } else if (header.type === 'DATA_PAGE') {
        values += checkDataPage(header, body, column, rows - values);
      } else if (header.type === 'DATA_PAGE_V2') {
        values += checkDataPageV2(header, body, column, rows - values);
      } else {
        refuse(`a page of type ${header.type ?? 'unknown'}, which is not read`);
      }
    } catch (err) {
      if (err instanceof DatasetError) throw err;
      const problem = err instanceof PageProblem ? err.message : `cannot be read: ${(err as Error).message}`;
      throw new DatasetError(path, undefined, `${where}, page at byte ${start + at}: ${problem}`, { cause: err });
    }
  }
  if (values !== rows) throw new DatasetError(path, undefined, `${where}: its pages hold ${values} values but the row group has ${rows} rows`);
}

/** The page's values count: present, within the cap and within the rows the row group has left. */
function checkValueCount(count: unknown, left: number): number {
  if (!isCount(count) || count > MAX_PAGE_VALUES) refuse(`a data page of ${count} values (at most ${MAX_PAGE_VALUES} are read)`);
  if ((count as number) > left) refuse(`a data page of ${count} values where the row group has ${left} rows left`);
  return count as number;
}

/** The page decompressed by hyparquet itself, once its size is known to be sane. */
function decompressed(bytes: Uint8Array, size: number, column: Column): Uint8Array {
  if (!isCount(size) || size > MAX_PAGE_BYTES) refuse(`uncompressed_page_size ${size} (at most ${MAX_PAGE_BYTES} bytes are read)`);
  if (column.meta.codec === 'SNAPPY' && size > SNAPPY_MAX_RATIO * bytes.length) refuse(`${bytes.length} snappy bytes cannot hold a ${size}-byte page`);
  return decompressPage(bytes, size, column.meta.codec, undefined);
}

function checkDataPage(header: PageHeader, body: Uint8Array, column: Column, left: number): number {
  const daph = header.data_page_header ?? refuse('a DATA_PAGE without its data_page_header');
  const count = checkValueCount(daph.num_values, left);
  const page = decompressed(body, header.uncompressed_page_size, column);
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  let at = 0;
  let nulls = 0;
  if (column.maxDefinition > 0) {
    // a 4-byte length, then the levels; the values start where the length says
    const length = view.getUint32(0, true);
    checkRuns(view, 4, bitWidth(column.maxDefinition), count, 'definition levels');
    const levels = new Array<number>(count);
    readRleBitPackedHybrid({ view, offset: 0 }, bitWidth(column.maxDefinition), levels);
    for (const level of levels) if (level !== column.maxDefinition) nulls++;
    at = 4 + length;
  }
  checkValues(view, at, daph.encoding, count - nulls, column, false);
  return count;
}

function checkDataPageV2(header: PageHeader, body: Uint8Array, column: Column, left: number): number {
  const daph = header.data_page_header_v2 ?? refuse('a DATA_PAGE_V2 without its data_page_header_v2');
  const count = checkValueCount(daph.num_values, left);
  const { num_nulls: nulls, num_rows: rows, definition_levels_byte_length: defLength, repetition_levels_byte_length: repLength } = daph;
  if (!isCount(nulls) || nulls > count) refuse(`num_nulls ${nulls} of a page of ${count} values`);
  if (rows !== count) refuse(`num_rows ${rows} of a page of ${count} values of a column that is not a list`);
  if (!isCount(defLength) || !isCount(repLength) || defLength + repLength > body.length) {
    refuse(`level lengths ${repLength} + ${defLength} do not fit in a ${body.length}-byte page`);
  }
  const levels = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = repLength;
  if (column.maxDefinition > 0) {
    checkRuns(levels, at, bitWidth(column.maxDefinition), count, 'definition levels');
    at += defLength;
  }
  const size = header.uncompressed_page_size - defLength - repLength;
  if (!isCount(size)) refuse(`uncompressed_page_size ${header.uncompressed_page_size} is smaller than its levels`);
  const stored = body.subarray(at);
  const page = daph.is_compressed !== false && size ? decompressed(stored, size, column) : stored;
  checkValues(new DataView(page.buffer, page.byteOffset, page.byteLength), 0, daph.encoding, count - nulls, column, true);
  return count;
}

/** The values section at `at`, `count` values, as the decoder reads it for the page version. */
function checkValues(view: DataView, at: number, encoding: Encoding, count: number, column: Column, v2: boolean): void {
  const type = column.meta.type;
  switch (encoding) {
    case 'PLAIN':
      return; // read value by value up to count, each bounded by the page
    case 'RLE':
    case 'PLAIN_DICTIONARY':
    case 'RLE_DICTIONARY':
      // version 1 reads booleans this way, version 2 every RLE page: one bit each, after a 4-byte length
      if (v2 ? encoding === 'RLE' : type === 'BOOLEAN') return checkRuns(view, at + 4, 1, count, 'values');
      // a bit-width byte, then the runs (the version-1 reader skips them when the width is 0)
      if (view.getUint8(at) > 0 || v2) checkRuns(view, at + 1, view.getUint8(at), count, 'dictionary indices');
      return;
    case 'DELTA_BINARY_PACKED':
    case 'DELTA_LENGTH_BYTE_ARRAY':
      checkDeltaHeader(view, at);
      return;
    case 'DELTA_BYTE_ARRAY':
      return checkDeltaByteArray(view, at, count);
    case 'BYTE_STREAM_SPLIT': {
      const width = type === 'INT32' || type === 'FLOAT' ? 4 : type === 'INT64' || type === 'DOUBLE' ? 8 : type === 'FIXED_LEN_BYTE_ARRAY' ? column.typeLength ?? 0 : 0;
      if (count * width > view.byteLength - at) refuse(`BYTE_STREAM_SPLIT values need ${count} x ${width} bytes, more than the page has`);
      return;
    }
    default:
      // ALP is left out too: its vectors may all point at the same bytes, so its work is not bounded by the page
      refuse(`encoding ${encoding ?? 'unknown'}, which is not read`);
  }
}

/**
 * An RLE / bit-packed hybrid stream of `count` values of `width` bits at `at`, walked run by run
 * with the byte positions hyparquet's decoder reads: no RLE run may pass the values left, no
 * bit-packed run may be longer than the values left rounded up to its groups of 8.
 */
function checkRuns(view: DataView, at: number, width: number, count: number, what: string): void {
  const reader = { view, offset: at };
  let seen = 0;
  while (seen < count) {
    const header = varint(reader);
    const left = count - seen;
    if (header & 1) {
      // the decoder counts the values in 32-bit arithmetic, as here
      const values = (header >> 1) << 3;
      if (values < 0 || values >= left + 8) refuse(`${what}: a bit-packed run of ${values} values where ${left} are left`);
      // it reads one byte before the first value, then bytes as the values need them
      const available = view.byteLength - reader.offset;
      const bytes = values > 0 && width > 0 ? (values / 8) * width : Math.min(1, available);
      if (width > 0 && Math.max(bytes, 1) > available) refuse(`${what}: a bit-packed run past the end of the page`);
      reader.offset += bytes;
      seen = Math.min(count, seen + values);
    } else {
      const run = header >>> 1;
      if (run > left) refuse(`${what}: an RLE run of ${run} values where ${left} are left`);
      reader.offset += (width + 7) >> 3;
      if (reader.offset > view.byteLength) refuse(`${what}: an RLE run past the end of the page`);
      seen += run;
    }
  }
}

/**
 * A DELTA_BINARY_PACKED header as the spec has it (blocks of a multiple of 128 values, in miniblocks
 * of a multiple of 32): with it the decoder's loops end with the values or the page; without it they
 * may step back over the same bytes forever.
 */
function checkDeltaHeader(view: DataView, at: number): void {
  const reader = { view, offset: at };
  const blockSize = varint(reader);
  const miniblocks = varint(reader);
  if (!(blockSize > 0 && blockSize % 128 === 0 && blockSize <= MAX_PAGE_VALUES && miniblocks > 0 && blockSize % miniblocks === 0 && (blockSize / miniblocks) % 32 === 0)) {
    refuse(`a delta block of ${blockSize} values in ${miniblocks} miniblocks`);
  }
}

/** Prefix lengths, then suffix lengths: each prefix at most the previous value, all values at most MAX_PAGE_BYTES together. */
function checkDeltaByteArray(view: DataView, at: number, count: number): void {
  const reader = { view, offset: at };
  const prefixes = new Int32Array(count);
  const suffixes = new Int32Array(count);
  checkDeltaHeader(view, reader.offset);
  deltaBinaryUnpack(reader, count, prefixes);
  checkDeltaHeader(view, reader.offset);
  deltaBinaryUnpack(reader, count, suffixes);
  let previous = 0;
  let total = 0;
  for (let i = 0; i < count; i++) {
    if (prefixes[i]! < 0 || prefixes[i]! > previous || suffixes[i]! < 0) refuse(`DELTA_BYTE_ARRAY value ${i}: prefix ${prefixes[i]} of a ${previous}-byte value, suffix ${suffixes[i]}`);
    previous = prefixes[i]! + suffixes[i]!;
    total += previous;
    if (total > MAX_PAGE_BYTES) refuse(`DELTA_BYTE_ARRAY values of more than ${MAX_PAGE_BYTES} bytes`);
  }
}

/** An unsigned LEB128 varint in the decoder's 32-bit arithmetic. */
function varint(reader: { view: DataView; offset: number }): number {
  let value = 0;
  for (let shift = 0, byte = 0x80; byte & 0x80; shift += 7) {
    byte = reader.view.getUint8(reader.offset++);
    value |= (byte & 0x7f) << shift;
  }
  return value;
}

const bitWidth = (max: number): number => 32 - Math.clz32(max);
