/**
 * Tokenizing 10,000 DiffusionDB-length prompts (10-60 words: subjects, styles, artists, numbers, commas),
 * generated deterministically. Budget: under 1 s for all of them. Baseline, measured in the same run: a
 * bare lower-case + whitespace split of the same prompts (the least any tokenizer must do).
 */
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { BERT_BASE_UNCASED_VOCAB_SHA256, BertTokenizer } from '../src/tokenizer/index.js';
import { machineLine, median } from './machine.js';

const PROMPTS = 10_000;
const REPEATS = 7;
const BUDGET_MS = 1000;

const SUBJECTS = ['a portrait of a cyberpunk samurai', 'an astronaut riding a horse', 'a cozy cottage in the woods', 'a dragon over a medieval city',
  'a bowl of ramen', 'an ancient temple overgrown with vines', 'a robot reading a book', 'a fox in the snow', 'Mount Fuji at sunset', 'a steampunk airship'];
const STYLES = ['highly detailed', 'digital painting', 'octane render', 'unreal engine 5', 'trending on ArtStation', 'concept art', 'sharp focus',
  'volumetric lighting', 'matte painting', 'hyperrealistic', 'cinematic', 'studio ghibli style', 'bokeh', 'intricate', 'elegant', 'smooth'];
const ARTISTS = ['Greg Rutkowski', 'Alphonse Mucha', 'Artgerm', 'Makoto Shinkai', 'Beeple', 'Wlop', 'Ilya Kuvshinov', 'Simon Stålenhag', 'H.R. Giger'];
const EXTRAS = ['8k', '4k uhd', '35mm', 'f/1.8', '1girl', 'masterpiece', 'best quality', '(detailed:1.2)', 'ar 16:9', 'v5', 'seed 1234'];

/** Deterministic LCG so every run tokenizes the same prompts. */
function makePrompts(count: number): string[] {
  let state = 12345;
  const next = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  const pick = (xs: readonly string[]): string => xs[next(xs.length)]!;
  const prompts: string[] = [];
  for (let i = 0; i < count; i++) {
    const targetWords = 10 + next(51);
    const parts = [pick(SUBJECTS)];
    let words = parts[0]!.split(' ').length;
    while (words < targetWords) {
      const roll = next(10);
      const part = roll < 5 ? pick(STYLES) : roll < 8 ? `by ${pick(ARTISTS)}` : pick(EXTRAS);
      parts.push(part);
      words += part.split(' ').length;
    }
    prompts.push(parts.join(', '));
  }
  return prompts;
}

interface Timing {
  wallMs: number;
  /** Process CPU time (user + system): steadier than wall time on a machine shared with other jobs. */
  cpuMs: number;
}

function time(fn: () => void): Timing {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const vocabPath = process.env.IMAGEREWARD_VOCAB ??
  join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'fixtures', 'vocab', 'bert-base-uncased-vocab.txt');

console.log(machineLine());
let tok: BertTokenizer | undefined;
const loadMs = await (async () => {
  const t0 = process.hrtime.bigint();
  tok = await BertTokenizer.fromVocabFile(vocabPath, { expectedSha256: BERT_BASE_UNCASED_VOCAB_SHA256 });
  return Number(process.hrtime.bigint() - t0) / 1e6;
})();
const tokenizer = tok!;
const prompts = makePrompts(PROMPTS);
const words = prompts.reduce((n, p) => n + p.split(' ').length, 0);
const pieces = prompts.reduce((n, p) => n + tokenizer.tokenize(p).length, 0);
const truncated = prompts.filter((p) => tokenizer.tokenize(p).length > 33).length;
console.log(`vocab load + sha256: ${loadMs.toFixed(1)} ms`);
console.log(`${PROMPTS} prompts: ${(words / PROMPTS).toFixed(1)} words, ${(pieces / PROMPTS).toFixed(1)} pieces on average; ${truncated} truncated to 33 pieces`);

let sink = 0;
const baseline: Timing[] = [];
const encode: Timing[] = [];
const tokenizeAll: Timing[] = [];
for (let r = 0; r < REPEATS; r++) {
  tokenizeAll.push(time(() => {
    for (const p of prompts) sink += tokenizer.tokenize(p).length;
  }));
  baseline.push(time(() => {
    for (const p of prompts) sink += p.toLowerCase().split(/\s+/).length;
  }));
  encode.push(time(() => {
    for (const e of tokenizer.encodeBatch(prompts)) sink += e.inputIds[1]!;
  }));
}
const wall = median(encode.map((t) => t.wallMs));
const cpu = median(encode.map((t) => t.cpuMs));
const baseWall = median(baseline.map((t) => t.wallMs));
const baseCpu = median(baseline.map((t) => t.cpuMs));
console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`);
console.log(`encodeBatch(${PROMPTS}), median of ${REPEATS}: wall ${wall.toFixed(1)} ms (${((wall * 1000) / PROMPTS).toFixed(1)} us/prompt), ` +
  `cpu ${cpu.toFixed(1)} ms (${((cpu * 1000) / PROMPTS).toFixed(1)} us/prompt); wall runs: ${encode.map((t) => t.wallMs.toFixed(0)).join(', ')} ms`);
console.log(`tokenize() of every piece (no truncation, no early stop), median: wall ${median(tokenizeAll.map((t) => t.wallMs)).toFixed(1)} ms, ` +
  `cpu ${median(tokenizeAll.map((t) => t.cpuMs)).toFixed(1)} ms`);
console.log(`baseline lower+split, median: wall ${baseWall.toFixed(1)} ms, cpu ${baseCpu.toFixed(1)} ms; ` +
  `encode / baseline = ${(wall / baseWall).toFixed(1)}x wall, ${(cpu / baseCpu).toFixed(1)}x cpu`);
console.log(`budget ${BUDGET_MS} ms: wall ${((100 * wall) / BUDGET_MS).toFixed(0)}%, cpu ${((100 * cpu) / BUDGET_MS).toFixed(0)}% ` +
  `${wall < BUDGET_MS ? '(OK)' : '(OVER BUDGET)'}  [sink ${sink % 10}]`);
