/**
 * Preference datasets in the shape of upstream data/test.json: one record per prompt,
 * `{"id"?, "prompt", "generations": [image paths], "ranking": [ints, smaller = better, ties allowed]}`,
 * as a JSON array or as JSON Lines. Image paths are resolved against the dataset file's folder
 * (upstream joins them with --img_prefix; here the prefix is the file's own directory).
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { readFileChecked } from '../util/fs.js';
import { DatasetError } from './errors.js';

export interface PreferenceRecord {
  /** 0-based position in the file. */
  readonly index: number;
  readonly id: string | undefined;
  readonly prompt: string;
  /** Absolute image paths. */
  readonly generations: readonly string[];
  /** Human ranks, one per generation; smaller is better, equal ranks are ties. */
  readonly ranking: readonly number[];
}

export interface PreferenceDataset {
  readonly file: string;
  readonly records: readonly PreferenceRecord[];
}

/** Reads and validates a dataset file (JSON array or JSONL). */
export async function loadPreferenceDataset(file: string): Promise<PreferenceDataset> {
  const bytes = await readFileChecked(file, 'preference dataset');
  return parsePreferenceDataset(bytes.toString('utf8'), resolve(file));
}

/** Parses dataset text; `file` names it in errors and anchors relative image paths. */
export function parsePreferenceDataset(text: string, file: string): PreferenceDataset {
  const raws = text.trimStart().startsWith('[') ? parseJsonArray(text, file) : parseJsonLines(text, file);
  if (raws.length === 0) throw new DatasetError(file, undefined, 'contains no records');
  const base = dirname(resolve(file));
  return { file, records: raws.map((raw, i) => parseRecord(raw, i, file, base)) };
}

/** `text` as a JSON array; anything else is a DatasetError naming `file` (`expected` says what it must be). */
export function parseJsonArray(text: string, file: string, expected = 'must be a JSON array of records or JSON Lines'): unknown[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DatasetError(file, undefined, `is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(json)) throw new DatasetError(file, undefined, expected);
  return json;
}

function parseJsonLines(text: string, file: string): unknown[] {
  const records: unknown[] = [];
  text.split('\n').forEach((line, lineIndex) => {
    if (line.trim() === '') return;
    try {
      records.push(JSON.parse(line));
    } catch (err) {
      throw new DatasetError(file, records.length, `line ${lineIndex + 1} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  });
  return records;
}

function parseRecord(raw: unknown, index: number, file: string, base: string): PreferenceRecord {
  const fail = (problem: string): never => { throw new DatasetError(file, index, problem); };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('is not a JSON object');
  const o = raw as Record<string, unknown>;
  if (typeof o.prompt !== 'string') fail(`"prompt" must be a string, got ${JSON.stringify(o.prompt)}`);
  const generations = o.generations;
  if (!Array.isArray(generations) || generations.length === 0) fail('"generations" must be a non-empty array of image paths');
  const gens = generations as unknown[];
  gens.forEach((g, j) => {
    if (typeof g !== 'string' || g === '') fail(`"generations"[${j}] must be a non-empty path string, got ${JSON.stringify(g)}`);
  });
  const ranking = o.ranking;
  if (!Array.isArray(ranking)) fail('"ranking" must be an array of integers');
  const ranks = ranking as unknown[];
  if (ranks.length !== gens.length) fail(`"ranking" has ${ranks.length} entries but "generations" has ${gens.length}`);
  ranks.forEach((r, j) => {
    if (typeof r !== 'number' || !Number.isInteger(r)) fail(`"ranking"[${j}] must be an integer, got ${JSON.stringify(r)}`);
  });
  const id = o.id;
  if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') fail(`"id" must be a string or number, got ${JSON.stringify(id)}`);
  return {
    index,
    id: id === undefined ? undefined : String(id),
    prompt: o.prompt as string,
    generations: (gens as string[]).map((g) => (isAbsolute(g) ? g : resolve(base, g))),
    ranking: ranks as number[],
  };
}
