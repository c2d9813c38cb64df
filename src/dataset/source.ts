/**
 * Opens a dataset to score by its path: a folder (with one prompt), JSON Lines, CSV, and the formats
 * added by the other readers. The format comes from the extension unless given. `rows()` starts a
 * fresh pass each call (one pass counts, one scores), so nothing but the current batch is held.
 */
import { statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { FileError, InputError } from '../errors.js';
import { describeFsError } from '../util/fs.js';
import { csvRows } from './csv.js';
import { directoryRows } from './directory.js';
import { jsonlRows } from './jsonl.js';
import { parquetRows } from './parquet.js';
import { preferenceRows } from './preference.js';
import { tarRows } from './tar.js';
import type { DatasetRow } from './row.js';

export const DATASET_FORMATS = ['jsonl', 'csv', 'parquet', 'json', 'tar', 'dir'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export interface DatasetSource {
  readonly path: string;
  readonly format: DatasetFormat;
  /** Rows carry a `group` that is ranked as a whole. */
  readonly grouped: boolean;
  rows(): AsyncGenerator<DatasetRow>;
}

export interface OpenDatasetOptions {
  /** The prompt of every image of a folder input (required for folders, refused otherwise). */
  readonly prompt?: string;
  /** Overrides the format the extension implies. */
  readonly format?: string;
}

const BY_EXTENSION: Record<string, DatasetFormat> = {
  '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.csv': 'csv', '.parquet': 'parquet', '.json': 'json', '.tar': 'tar',
};

export function openDataset(path: string, options: OpenDatasetOptions = {}): DatasetSource {
  let info;
  try {
    info = statSync(path);
  } catch (err) {
    throw new FileError(path, `cannot read dataset ${path}: ${describeFsError(err)}`, { cause: err });
  }
  const format = options.format ?? (info.isDirectory() ? 'dir' : BY_EXTENSION[extname(path).toLowerCase()]);
  if (format === undefined) throw new InputError(`cannot tell the format of ${path} from its extension: give --format (${DATASET_FORMATS.join(', ')})`);
  if (!(DATASET_FORMATS as readonly string[]).includes(format)) throw new InputError(`unknown dataset format "${format}" (formats: ${DATASET_FORMATS.join(', ')})`);
  if ((format === 'dir') !== info.isDirectory()) throw new InputError(format === 'dir' ? `${path} is not a folder` : `${path} is a folder: a folder of images is read with --prompt`);
  if ((format === 'dir') !== (options.prompt !== undefined)) {
    throw new InputError(format === 'dir' ? `a folder of images needs --prompt TEXT (the prompt of every image in ${path})` : `--prompt is only for a folder of images; ${path} gives each row its prompt`);
  }
  const base = dirname(resolve(path));
  const readers: Record<DatasetFormat, () => AsyncGenerator<DatasetRow>> = {
    jsonl: () => jsonlRows(path, base),
    csv: () => csvRows(path, base),
    parquet: () => parquetRows(path, base),
    json: () => preferenceRows(path, base),
    tar: () => tarRows(path),
    dir: () => directoryRows(path, options.prompt!),
  };
  return { path, format: format as DatasetFormat, grouped: format === 'json', rows: readers[format as DatasetFormat] };
}
