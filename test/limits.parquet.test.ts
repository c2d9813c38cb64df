/**
 * Hostile Parquet files, built page by page, give a typed DATASET_INVALID error naming the file, the
 * column and the problem, in bounded time and memory (src/dataset/parquetPages.ts checks the pages
 * before hyparquet decodes them). Each runs in a child process (test/helpers/limited.ts) with a heap
 * limit and a watchdog: before the checks some looped for good and one aborted V8. Valid files (hand-
 * built version-1 pages, hyparquet-writer's in each encoding it writes) still read the right rows.
 */
import { expect } from 'chai';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { parquetRows, readParquetResults } from '../src/dataset/parquet.js';
import type { DatasetRow } from '../src/dataset/row.js';
import { runLimited } from './helpers/limited.js';
import { useLimitSuite } from './helpers/limitSuite.js';
import { concatBytes, parquetOf, plainStrings, v1Body, type ColumnSpec } from './helpers/parquetFiles.js';

const limits = useLimitSuite('ir-limits-parquet-');
const { file, describeOutcome, expectRssWithin } = limits;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A valid 3-row `prompt` column of one version-2 page (definition levels: one RLE run of three 1s). */
const PROMPTS: ColumnSpec = {
  name: 'prompt',
  pages: [{
    header: { type: 'DATA_PAGE_V2', data_page_header_v2: { num_values: 3, num_nulls: 0, num_rows: 3, encoding: 'PLAIN', definition_levels_byte_length: 2, repetition_levels_byte_length: 0 } },
    body: concatBytes(Uint8Array.of(0x06, 0x01), plainStrings(['a cat', 'a dog', 'a cow'])),
  }],
};

/** A 3-row `image` column of one version-2 page with this header and body. */
const images = (v2: Record<string, unknown>, body: Uint8Array, extra: Partial<ColumnSpec> = {}): ColumnSpec => ({
  name: 'image', ...extra,
  pages: [{ header: { type: 'DATA_PAGE_V2', data_page_header_v2: { num_values: 3, num_nulls: 0, num_rows: 3, ...v2 } as never }, body }],
});

describe('limits: a hostile Parquet page is refused before hyparquet decodes it', function () {
  const cases: { name: string; bytes: () => Uint8Array; message: string }[] = [
    {
      // the dataset fuzz target's hangs: without the lengths hyparquet's offsets are NaN, a DataView
      // reads NaN as 0, and the RLE decoder reads the same zero-length run at byte 0 forever
      name: 'a DATA_PAGE_V2 header without its level lengths (was: an endless loop)',
      bytes: () => parquetOf(3, [PROMPTS, images({ encoding: 'PLAIN' }, concatBytes(Uint8Array.of(0x00, 0x00), plainStrings(['1.webp', '2.webp', '3.webp'])))]),
      message: 'column "image" (row group 0), page at byte 55: level lengths undefined + undefined do not fit in a 32-byte page',
    },
    {
      name: 'an RLE run of 2^31 - 1 definition levels in a 3-value version-1 page (was: V8 aborts growing the array)',
      bytes: () => parquetOf(3, [PROMPTS, { name: 'image', pages: [{
        header: { type: 'DATA_PAGE', data_page_header: { num_values: 3, encoding: 'PLAIN', definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' } },
        body: v1Body([0xfe, 0xff, 0xff, 0xff, 0x0f, 0x01], plainStrings(['1.webp', '2.webp', '3.webp'])),
      }] }]),
      message: 'column "image" (row group 0), page at byte 55: definition levels: an RLE run of 2147483647 values where 3 are left',
    },
    {
      // bit width 0, then a run header of 0xffffffff: bit-packed, (-1 >> 1) << 3 = -8 values
      name: 'a bit-packed run of negative length at bit width 0 (was: an endless loop)',
      bytes: () => parquetOf(3, [PROMPTS, images({ encoding: 'RLE_DICTIONARY', definition_levels_byte_length: 0, repetition_levels_byte_length: 0 }, Uint8Array.of(0x00, 0xff, 0xff, 0xff, 0xff, 0x0f), { required: true })]),
      message: 'column "image" (row group 0), page at byte 55: dictionary indices: a bit-packed run of -8 values where 3 are left',
    },
    {
      // valid as Parquet: definition levels of one RLE run of 2^30 zeros (a varint of 2^31, then the level 0)
      name: 'a page of 2^30 null prompts in a 205-byte file of 2^30 rows (was: V8 aborts filling the array)',
      bytes: () => parquetOf(2 ** 30, [
        { name: 'prompt', pages: [{ header: { type: 'DATA_PAGE_V2', data_page_header_v2: { num_values: 2 ** 30, num_nulls: 2 ** 30, num_rows: 2 ** 30, encoding: 'PLAIN', definition_levels_byte_length: 6, repetition_levels_byte_length: 0 } }, body: Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x08, 0x00) }] },
        images({}, new Uint8Array(0)),
      ]),
      message: 'column "prompt" (row group 0), page at byte 4: a data page of 1073741824 values (at most 1048576 are read)',
    },
    {
      name: 'a snappy page of 29 bytes that says it holds 256 MiB (was: 256 MiB allocated)',
      bytes: () => {
        const page = PROMPTS.pages[0]!;
        const header = { ...page.header, uncompressed_page_size: 2 ** 28, data_page_header_v2: { ...page.header.data_page_header_v2!, is_compressed: true } };
        return parquetOf(3, [{ ...PROMPTS, codec: 'SNAPPY', pages: [{ ...page, header }] }, images({}, new Uint8Array(0))]);
      },
      message: 'column "prompt" (row group 0), page at byte 4: 27 snappy bytes cannot hold a 268435454-byte page',
    },
    {
      // prefix lengths [0, 2^30] (first value 0, one block: min delta 2^30, bit widths 0), suffix lengths [1, 1]
      name: 'a DELTA_BYTE_ARRAY value that reuses 1 GiB of a 1-byte value (was: 1 GiB allocated per value)',
      bytes: () => {
        const prefixes = Uint8Array.of(0x80, 0x01, 0x04, 0x02, 0x00, 0x80, 0x80, 0x80, 0x80, 0x08, 0, 0, 0, 0);
        const suffixes = Uint8Array.of(0x80, 0x01, 0x04, 0x02, 0x02, 0x00, 0, 0, 0, 0);
        const delta = images({ num_values: 2, num_rows: 2, encoding: 'DELTA_BYTE_ARRAY', definition_levels_byte_length: 0, repetition_levels_byte_length: 0 }, concatBytes(prefixes, suffixes, Uint8Array.of(0x61, 0x62)), { required: true });
        return parquetOf(2, [{ name: 'prompt', required: true, pages: [{ header: { type: 'DATA_PAGE_V2', data_page_header_v2: { num_values: 2, num_nulls: 0, num_rows: 2, encoding: 'PLAIN', definition_levels_byte_length: 0, repetition_levels_byte_length: 0 } }, body: plainStrings(['a', 'b']) }] }, delta]);
      },
      message: 'column "image" (row group 0), page at byte 36: DELTA_BYTE_ARRAY value 1: prefix 1073741824 of a 1-byte value, suffix 1',
    },
  ];
  for (const c of cases) {
    it(c.name, async function () {
      const path = file('hostile.parquet', c.bytes());
      const o = await runLimited('parquetRows', path, { heapMiB: 128, timeoutMs: 20_000 });
      expect(o.outcome, describeOutcome(o)).to.equal('error');
      expect(o.code, describeOutcome(o)).to.equal('DATASET_INVALID');
      expect(o.message).to.equal(`${path}: ${c.message}`);
      expect(o.ms, describeOutcome(o)).to.be.below(2000);
      expectRssWithin(o, 64);
      // what hyparquet was made to allocate: array buffers are outside the heap limit and, untouched, the RSS
      expect((o as { memory?: { arrayBuffersMiB: number } }).memory!.arrayBuffersMiB, describeOutcome(o)).to.be.below(16);
    });
  }

  it('the result-file reader (merge, a resumed run) checks every column the same way', async function () {
    const path = file('hostile-results.parquet', cases[0]!.bytes());
    const o = await runLimited('parquetResults', path, { heapMiB: 128, timeoutMs: 20_000 });
    expect(o.code, describeOutcome(o)).to.equal('DATASET_INVALID');
    expect(o.message).to.equal(`${path}: ${cases[0]!.message}`);
    expect(o.ms, describeOutcome(o)).to.be.below(2000);
  });
});

describe('limits: the Parquet page checks keep every valid file readable', function () {
  it('version-1 pages (PLAIN with definition levels; a dictionary page and RLE_DICTIONARY indices) give the right rows', async function () {
    const prompts: ColumnSpec = { name: 'prompt', pages: [{
      header: { type: 'DATA_PAGE', data_page_header: { num_values: 3, encoding: 'PLAIN', definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' } },
      body: v1Body([0x06, 0x01], plainStrings(['a cat', 'a dog', ''])), // one RLE run: three 1s
    }] };
    const images: ColumnSpec = { name: 'image', pages: [
      { header: { type: 'DICTIONARY_PAGE', dictionary_page_header: { num_values: 2, encoding: 'PLAIN' } }, body: plainStrings(['1.webp', '2.png']) },
      {
        header: { type: 'DATA_PAGE', data_page_header: { num_values: 3, encoding: 'RLE_DICTIONARY', definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' } },
        // levels 1, 1, 0 bit-packed (one group); indices 1, 0 at bit width 1, bit-packed
        body: v1Body([0x03, 0x03], [0x01, 0x03, 0x01]),
      },
    ] };
    const path = file('v1.parquet', parquetOf(3, [prompts, images]));
    const rows = await collect(parquetRows(path, limits.dir));
    expect(rows.map((r: DatasetRow) => [r.row, r.prompt, r.imageName, r.failure?.code ?? null])).to.deep.equal([
      [0, 'a cat', '2.png', null],
      [1, 'a dog', '1.webp', null],
      [2, '', null, 'DATASET_INVALID'],
    ]);
  });

  it('hyparquet-writer files in each string encoding, codec, several pages and row groups, with nulls: exactly the rows written', async function () {
    const n = 2500;
    const prompt = Array.from({ length: n }, (_, i) => (i % 7 === 3 ? null : `prompt ${i % 40} ${'x'.repeat(i % 13)}`));
    const image = Array.from({ length: n }, (_, i) => (i % 11 === 5 ? null : `dir/${i % 90}.webp`));
    const encodings = [undefined, 'PLAIN', 'DELTA_LENGTH_BYTE_ARRAY', 'DELTA_BYTE_ARRAY'] as const;
    for (const encoding of encodings) {
      for (const codec of ['SNAPPY', 'UNCOMPRESSED'] as const) {
        const bytes = new Uint8Array(parquetWriteBuffer({
          codec, pageSize: 2048, rowGroupSize: 1000,
          columnData: [
            { name: 'prompt', data: prompt, type: 'STRING', ...(encoding ? { encoding } : {}) },
            { name: 'image', data: image, type: 'STRING', ...(encoding ? { encoding } : {}) },
            { name: 'n', data: Int32Array.from({ length: n }, (_, i) => i * 3), type: 'INT32', ...(encoding === 'DELTA_BYTE_ARRAY' ? { encoding: 'DELTA_BINARY_PACKED' } : {}) },
          ],
        }));
        const path = file(`valid-${encoding ?? 'auto'}-${codec}.parquet`, bytes);
        const rows = await collect(parquetRows(path, '/'));
        const what = `${encoding ?? 'auto (dictionary)'}, ${codec}`;
        expect(rows.map((r) => r.row), what).to.deep.equal(prompt.map((_, i) => i));
        expect(rows.map((r) => r.prompt), what).to.deep.equal(prompt);
        // a row with no prompt or no image is an error row
        expect(rows.map((r) => (r.failure ? null : r.imageName)), what).to.deep.equal(image.map((im, i) => (prompt[i] === null ? null : im)));
      }
    }
  });

  it('a result file with numeric columns reads back the same records', async function () {
    const bytes = new Uint8Array(parquetWriteBuffer({ pageSize: 1024, columnData: [
      { name: 'row', data: BigInt64Array.from({ length: 300 }, (_, i) => BigInt(i)), type: 'INT64', nullable: false },
      { name: 'prompt', data: Array.from({ length: 300 }, (_, i) => `p${i}`), type: 'STRING' },
      { name: 'image', data: Array.from({ length: 300 }, (_, i) => `${i}.png`), type: 'STRING' },
      { name: 'reward', data: Float64Array.from({ length: 300 }, (_, i) => i / 8 - 10), type: 'DOUBLE' },
      { name: 'error_code', data: Array.from({ length: 300 }, () => null), type: 'STRING' },
      { name: 'error_message', data: Array.from({ length: 300 }, () => null), type: 'STRING' },
    ] }));
    const records = await collect(readParquetResults(file('results.parquet', bytes)));
    expect(records.length).to.equal(300);
    expect(records[299]).to.deep.equal({ row: 299, prompt: 'p299', image: '299.png', reward: 299 / 8 - 10 });
    expect(records.map((r) => ('reward' in r ? r.reward : NaN))).to.deep.equal(Array.from({ length: 300 }, (_, i) => i / 8 - 10));
  });
});
