/** A folder of images scored for one prompt: every PNG / JPEG / WebP file in it (not recursive), in name order. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FileError } from '../errors.js';
import { describeFsError } from '../util/fs.js';
import type { DatasetRow } from './row.js';

export const IMAGE_EXTENSIONS = /\.(png|jpe?g|webp)$/i;

/** The image file names of `dir`, sorted by code unit (the same order on every machine). */
export function imageFileNames(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new FileError(dir, `cannot list ${dir}: ${describeFsError(err)}`, { cause: err });
  }
  return entries.filter((e) => !e.isDirectory() && IMAGE_EXTENSIONS.test(e.name)).map((e) => e.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export async function* directoryRows(dir: string, prompt: string): AsyncGenerator<DatasetRow> {
  let row = 0;
  for (const name of imageFileNames(dir)) yield { row: row++, prompt, imageName: name, image: join(dir, name) };
}
