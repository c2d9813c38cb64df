/**
 * upstream's test.json shape: a JSON array of `{"id"?, "prompt", "generations": [image paths],
 * "ranking"?}` records; each generation is a row, each record a group whose rows are ranked together
 * (the output's `ranking`: 1 = best of the group). The whole file is read at once, up to
 * MAX_JSON_BYTES (test.json is about 0.3 MB); larger sets belong in JSONL / Parquet.
 */
import { parseJsonArray } from '../train/dataset.js';
import { readFileChecked } from '../util/fs.js';
import { resolveImage } from './fields.js';
import { badRow, type DatasetRow } from './row.js';

export const MAX_JSON_BYTES = 256 << 20;

export async function* preferenceRows(path: string, base: string): AsyncGenerator<DatasetRow> {
  const text = (await readFileChecked(path, 'dataset', MAX_JSON_BYTES)).toString('utf8');
  const records = parseJsonArray(text, path, 'must be a JSON array of {"prompt", "generations"} records (test.json shape)');
  let row = 0;
  for (let group = 0; group < records.length; group++) {
    const r = records[group] as Record<string, unknown> | null;
    const generations = r && typeof r === 'object' ? r.generations : undefined;
    if (!Array.isArray(generations) || generations.length === 0) {
      yield { ...badRow(row++, `record ${group}: "generations" must be a non-empty array of image paths`, { prompt: r?.prompt }), group };
      continue;
    }
    for (const g of generations) {
      const prompt = r!.prompt;
      if (typeof prompt !== 'string') yield { ...badRow(row++, `record ${group}: "prompt" must be a string`, { image: g }), group };
      else if (typeof g !== 'string' || g === '') yield { ...badRow(row++, `record ${group}: each generation must be a non-empty path, got ${JSON.stringify(g)}`, { prompt }), group };
      else yield { row: row++, prompt, imageName: g, image: resolveImage(base, g), group };
    }
  }
}
