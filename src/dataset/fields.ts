/** The `prompt` and `image` fields of one record (a JSONL object, a CSV or Parquet row) made a row. */
import { isAbsolute, resolve } from 'node:path';
import { badRow, type DatasetRow } from './row.js';

/** A path of the input resolved against the input file's folder (absolute paths stay). */
export function resolveImage(base: string, image: string): string {
  return isAbsolute(image) ? image : resolve(base, image);
}

export function fieldRow(row: number, value: unknown, base: string, where: string): DatasetRow {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return badRow(row, `${where} is not an object with "prompt" and "image"`);
  const { prompt, image } = value as Record<string, unknown>;
  if (typeof prompt !== 'string') return badRow(row, `${where}: "prompt" must be a string, got ${describe(prompt)}`, { image });
  if (typeof image !== 'string' || image === '') return badRow(row, `${where}: "image" must be a non-empty path, got ${describe(image)}`, { prompt });
  return { row, prompt, imageName: image, image: resolveImage(base, image) };
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
