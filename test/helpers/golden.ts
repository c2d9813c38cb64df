/** The tiny model's golden outputs (fixtures/tiny/golden.*), and a max-abs-error helper. */
import { readFileSync } from 'node:fs';
import { fixturePath } from './fixtures.js';
import { readSafetensors, type TensorData } from '../../src/weights/safetensors.js';

export interface Golden {
  readonly prompts: { index: number; name: string; text: string }[];
  readonly images: { index: number; file: string }[];
  readonly tensors: Map<string, TensorData>;
}

export const GOLDEN_FILES = ['tiny/golden.json', 'tiny/golden.safetensors'];

export function readGolden(): Golden {
  const json = JSON.parse(readFileSync(fixturePath('tiny/golden.json'), 'utf8')) as Golden;
  return { prompts: json.prompts, images: json.images, tensors: readSafetensors(fixturePath('tiny/golden.safetensors')).tensors };
}

/** The golden tensor's values as plain numbers (int64 included). */
export function goldenValues(g: Golden, name: string): number[] {
  const t = g.tensors.get(name);
  if (!t) throw new Error(`golden tensor ${name} not found`);
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

