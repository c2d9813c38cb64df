/**
 * Upstream scripts/test-benchmark.py's procedure on the streaming scorer: for each generator folder
 * of `<prompt id>_<k>.png` images (k = 0 .. files/prompts - 1) and the prompt list
 * ([{"id", "prompt"}], benchmark/benchmark-prompts.json), the mean reward of each prompt's images,
 * then the mean over prompts: the generator's score. Any image that cannot be scored stops the run
 * (a benchmark over a subset of the images would not compare with upstream's numbers).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { scoreBatches, type StreamScorer } from '../api/scoreStream.js';
import { FileError, ImageRewardError } from '../errors.js';
import { DatasetError } from '../train/errors.js';
import { describeFsError, readFileChecked, writeFileAtomic } from '../util/fs.js';
import type { ProgressTask } from '../util/progress.js';

export interface BenchmarkPrompt {
  readonly id: string;
  readonly prompt: string;
}

export interface PromptResult {
  readonly id: string;
  readonly prompt: string;
  /** Mean of `rewards` (upstream's mean_score). */
  readonly mean_score: number;
  readonly rewards: number[];
}

export interface GeneratorResult {
  /** The folder's name (upstream's "model"). */
  readonly generator: string;
  readonly dir: string;
  readonly imagesPerPrompt: number;
  /** Mean over prompts of the per-prompt means. */
  readonly score: number;
  readonly prompts: PromptResult[];
}

export async function readBenchmarkPrompts(path: string): Promise<BenchmarkPrompt[]> {
  const text = (await readFileChecked(path, 'prompt list', 64 << 20)).toString('utf8');
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (err) {
    throw new DatasetError(path, undefined, `is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(list) || list.length === 0) throw new DatasetError(path, undefined, 'must be a non-empty JSON array of {"id", "prompt"}');
  return list.map((item, i) => {
    const o = item as Record<string, unknown> | null;
    const id = typeof o?.id === 'number' ? String(o.id) : o?.id;
    if (typeof id !== 'string' || id === '') throw new DatasetError(path, i, '"id" must be a non-empty string');
    if (typeof o?.prompt !== 'string' || o.prompt.trim() === '') throw new DatasetError(path, i, '"prompt" must be a non-empty string');
    return { id, prompt: o.prompt };
  });
}

/** Images per prompt of a generator folder: its file count over the prompt count, as upstream counts. */
function imagesPerPrompt(dir: string, prompts: number): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new FileError(dir, `cannot list generator folder ${dir}: ${describeFsError(err)}`, { cause: err });
  }
  const k = Math.floor(names.length / prompts);
  if (k === 0) throw new FileError(dir, `generator folder ${dir} has ${names.length} files, fewer than the ${prompts} prompts`);
  return k;
}

/** Scores one generator folder; `task` counts images. */
export async function benchmarkGenerator(ir: StreamScorer, dir: string, prompts: readonly BenchmarkPrompt[], task?: ProgressTask, doneBefore = 0): Promise<GeneratorResult> {
  const k = imagesPerPrompt(dir, prompts.length);
  const pairs = function* () {
    for (let p = 0; p < prompts.length; p++) {
      for (let x = 0; x < k; x++) yield { prompt: prompts[p]!.prompt, image: join(dir, `${prompts[p]!.id}_${x}.png`), p };
    }
  };
  const rewards: number[][] = prompts.map(() => []);
  let done = doneBefore;
  for await (const batch of scoreBatches(ir, pairs())) {
    for (const r of batch) {
      if ('error' in r) throw new ImageRewardError(r.error.code, `benchmark ${basename(dir)}: ${r.error.message}`);
      rewards[r.pair.p]!.push(r.reward);
    }
    done += batch.length;
    task?.update(done);
  }
  const results = prompts.map((p, i): PromptResult => ({ id: p.id, prompt: p.prompt, mean_score: mean(rewards[i]!), rewards: rewards[i]! }));
  return { generator: basename(resolve(dir)), dir, imagesPerPrompt: k, score: mean(results.map((r) => r.mean_score)), prompts: results };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Upstream's table: `| Model | Score |`, one row per generator, 4 digits. */
export function benchmarkTable(name: string, results: readonly GeneratorResult[]): string {
  const width = Math.max(5, ...results.map((r) => r.generator.length));
  return [
    `${name} Benchmark Results:`,
    `| ${'Model'.padEnd(width)} | Score   |`,
    `|${'-'.repeat(width + 1)}:|:-------:|`,
    ...results.map((r) => `| ${r.generator.padStart(width)} | ${r.score.toFixed(4).padStart(7)} |`),
  ].join('\n');
}

/** `<name>-benchmark-<generator>-result.json` per generator and `<name>-benchmark-results.json`, each written whole. */
export async function writeBenchmarkResults(resultDir: string, name: string, results: readonly GeneratorResult[]): Promise<string[]> {
  const written: string[] = [];
  const write = async (file: string, value: unknown) => {
    const path = join(resultDir, file);
    await writeFileAtomic(path, (fd) => { writeFileSync(fd, `${JSON.stringify(value, null, 4)}\n`); });
    written.push(path);
  };
  for (const r of results) await write(`${name}-benchmark-${r.generator}-result.json`, r.prompts);
  await write(`${name}-benchmark-results.json`, Object.fromEntries(results.map((r) => [r.generator, r.score])));
  return written;
}
