/** Shared bits of the score-dataset tests: the tiny model's CLI flags, in-process CLI runs, result files. */
import { readFileSync } from 'node:fs';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/command.js';
import { fixturePath } from './fixtures.js';

export const BACKEND = process.env.IMAGEREWARD_TEST_BACKEND ?? 'wasm';

export const TINY_FILES = ['tiny/tiny.safetensors', 'tiny/med_config.json', 'tiny/vit_config.json', 'vocab/bert-base-uncased-vocab.txt'];

/** --model / --vocab / --backend of the tiny fixture model. */
export function tinyModelFlags(): string[] {
  return ['--model', fixturePath('tiny/tiny.safetensors'), '--vocab', fixturePath('vocab/bert-base-uncased-vocab.txt'), '--backend', BACKEND];
}

export interface InProcessRun { code: number; out: string[]; err: string[] }

/** The CLI run in this process (cheap: no process start). */
export async function cli(...argv: string[]): Promise<InProcessRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false };
  const code = await main(argv, io);
  return { code, out, err };
}

export interface ResultLine {
  row: number;
  prompt: string | null;
  image: string | null;
  reward?: number;
  error?: { code: string; message: string };
  group?: number;
  ranking?: number | null;
}

/** The lines of a JSONL result file, parsed; every line must end in a newline. */
export function readResultLines(path: string): ResultLine[] {
  const text = readFileSync(path, 'utf8');
  if (text.length > 0 && !text.endsWith('\n')) throw new Error(`${path} does not end in a newline`);
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as ResultLine);
}

/** Lines sorted by row. */
export function byRow(lines: readonly ResultLine[]): ResultLine[] {
  return [...lines].sort((a, b) => a.row - b.row);
}
