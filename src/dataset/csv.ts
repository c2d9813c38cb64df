/**
 * CSV input (csv-parse): a header row naming at least `prompt` and `image`, then one row per pair.
 * A record longer than a row may be, or broken quoting, ends the file with a DatasetError naming the
 * line: CSV cannot resynchronise after a broken quote.
 */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { DatasetError } from '../train/errors.js';
import { MAX_LINE_BYTES } from './lines.js';
import { fieldRow } from './fields.js';
import type { DatasetRow } from './row.js';

export async function* csvRows(path: string, base: string): AsyncGenerator<DatasetRow> {
  const parser = createReadStream(path).pipe(parse({
    columns: (header: string[]) => {
      const names = header.map((h) => h.trim());
      for (const need of ['prompt', 'image']) {
        if (!names.includes(need)) throw new DatasetError(path, undefined, `the CSV header has no "${need}" column (columns: ${names.join(', ')})`);
      }
      return names;
    },
    bom: true,
    record_delimiter: ['\r\n', '\n', '\r'],
    skip_empty_lines: true,
    relax_column_count: true,
    max_record_size: MAX_LINE_BYTES,
  }));
  let row = 0;
  try {
    for await (const record of parser as AsyncIterable<Record<string, string>>) {
      yield fieldRow(row, record, base, `row ${row + 1}`);
      row++;
    }
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(path, row, `is not valid CSV: ${(err as Error).message}`, { cause: err });
  } finally {
    parser.destroy();
  }
}
