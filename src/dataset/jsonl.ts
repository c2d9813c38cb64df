/** JSON Lines input: one `{"prompt": ..., "image": ...}` object per line; blank lines are not rows. */
import { fileLines } from './lines.js';
import { badRow, type DatasetRow } from './row.js';
import { fieldRow } from './fields.js';

export async function* jsonlRows(path: string, base: string): AsyncGenerator<DatasetRow> {
  let row = 0;
  for await (const line of fileLines(path)) {
    if (line.text !== undefined && line.text.trim() === '') continue;
    if (line.text === undefined) {
      yield badRow(row++, `line ${line.number} is ${line.bytes} bytes, longer than a row may be`);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch (err) {
      yield badRow(row++, `line ${line.number} is not valid JSON: ${(err as Error).message}`);
      continue;
    }
    yield fieldRow(row++, value, base, `line ${line.number}`);
  }
}
