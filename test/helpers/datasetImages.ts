/** Small distinct PNG images for the dataset tests, generated in memory (none is committed). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { concatBytes, PNG_SIGNATURE, pngChunk, u32be } from './png.js';
import { SeededRandom } from '../../src/util/random.js';

/** An RGB PNG of `size` x `size` noise, different for every `seed`. */
export function noisePng(seed: number, size = 16): Uint8Array {
  const random = new SeededRandom(seed + 1);
  const rows = new Uint8Array(size * (1 + 3 * size));
  for (let y = 0; y < size; y++) {
    const at = y * (1 + 3 * size);
    for (let x = 1; x <= 3 * size; x++) rows[at + x] = Math.floor(random.next() * 256);
  }
  const ihdr = [...u32be(size), ...u32be(size), 8, 2, 0, 0, 0];
  return concatBytes([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(rows)), pngChunk('IEND', [])]);
}

export interface GeneratedRows {
  /** One {"prompt", "image"} per row, image names relative to the folder. */
  readonly rows: { prompt: string; image: string }[];
  readonly dir: string;
}

/**
 * `count` distinct images img-00000.png ... in `dir`, and rows pairing each with one of `prompts`
 * prompts (row i: prompt i mod prompts).
 */
export function writeNoiseImages(dir: string, count: number, prompts = 3): GeneratedRows {
  mkdirSync(dir, { recursive: true });
  const rows = Array.from({ length: count }, (_, i) => {
    const image = `img-${String(i).padStart(5, '0')}.png`;
    writeFileSync(join(dir, image), noisePng(i));
    return { prompt: `prompt number ${i % prompts}: a photo of thing ${i % prompts}`, image };
  });
  return { rows, dir };
}

export function writeJsonl(path: string, rows: readonly object[]): void {
  writeFileSync(path, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
}
