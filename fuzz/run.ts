/**
 * Mutation fuzzer: `npm run fuzz -- TARGET --seconds N [--seed S] [--batch K] [--rss-limit MiB]
 * [--heap MiB] [--hang-ms MS]`. Targets (fuzz/targets.ts): pickle, zip, safetensors, png, jpeg, webp, dataset
 * (the JSONL, CSV, webdataset tar and Parquet readers of score-dataset).
 *
 * Inputs are mutated seeds (fuzz/mutate.ts, reproducible from seed + index), run in batches in child
 * processes (fuzz/worker.ts) with a V8 heap limit and a watchdog. It reports inputs/s and counts of:
 * accepted inputs, typed refusals (by error code), untyped errors, crashes (the process died: V8 out
 * of memory, a native abort), hangs (one input ran past --hang-ms) and inputs after which the RSS was
 * above --rss-limit. Every finding's input is kept in fuzz/findings/ (git-ignored). Not part of
 * `npm test`; run it under `nice`. Exit status 1 when anything was found.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TARGETS } from './targets.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string', default: '1' },
    batch: { type: 'string', default: '5000' },
    'rss-limit': { type: 'string', default: '1024' },
    heap: { type: 'string', default: '1024' },
    'hang-ms': { type: 'string', default: '10000' },
  },
});
const name = positionals[0];
if (!name || !TARGETS[name]) {
  process.stderr.write(`usage: npm run fuzz -- TARGET --seconds N  (targets: ${Object.keys(TARGETS).join(', ')})\n`);
  process.exit(2);
}
const seconds = Number(values.seconds);
const seed = Number(values.seed);
const batch = Number(values.batch);
const rssLimit = Number(values['rss-limit']);
const hangMs = Number(values['hang-ms']);
const heap = Number(values.heap);

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const findingsDir = fileURLToPath(new URL('./findings/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), `ir-fuzz-${name}-`));
const current = join(work, 'current.bin');
const scratch = join(work, 'scratch.bin');

interface Counts {
  inputs: number; ok: number; typed: Record<string, number>; untyped: Record<string, number>;
  crash: number; hang: number; rssOver: number; maxRssMiB: number;
}
const counts: Counts = { inputs: 0, ok: 0, typed: {}, untyped: {}, crash: 0, hang: 0, rssOver: 0, maxRssMiB: 0 };
const bump = (m: Record<string, number>, k: string): void => { m[k] = (m[k] ?? 0) + 1; };

function keep(kind: string, index: number): string {
  mkdirSync(findingsDir, { recursive: true });
  const to = join(findingsDir, `${name}-${kind}-seed${seed}-${index}.bin`);
  if (existsSync(current)) copyFileSync(current, to);
  return to;
}

/** Runs inputs [first, first + count); resolves with the index to continue from. */
function runBatch(first: number, count: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${heap}`, '--import', 'tsx', WORKER, name!, String(seed), String(first), String(count), String(deadline), current, scratch], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    let inFlight = -1;
    let next = first;
    let stderr = '';
    let watchdog: NodeJS.Timeout | undefined;
    let hung = false;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => { hung = true; child.kill('SIGKILL'); }, hangMs);
    };
    arm();
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) {
        if (l.startsWith('B ')) { inFlight = Number(l.slice(2)); arm(); continue; }
        if (!l.startsWith('E ')) continue;
        const [, idx, outcome, rss, ...rest] = l.split(' ');
        const detail = rest.join(' ');
        const index = Number(idx);
        counts.inputs++;
        counts.maxRssMiB = Math.max(counts.maxRssMiB, Number(rss));
        if (outcome === 'ok') counts.ok++;
        else if (outcome === 'typed') bump(counts.typed, detail);
        else {
          if (counts.untyped[detail] === undefined) process.stdout.write(`untyped error at input ${index}: ${detail} -> ${keep('untyped', index)}\n`);
          bump(counts.untyped, detail);
        }
        if (Number(rss) > rssLimit) {
          counts.rssOver++;
          process.stdout.write(`RSS ${rss} MiB after input ${index} -> ${keep('rss', index)}\n`);
        }
        inFlight = -1;
        next = index + 1;
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      if (inFlight >= 0) {
        counts.inputs++;
        if (hung) {
          counts.hang++;
          process.stdout.write(`hang (> ${hangMs} ms) at input ${inFlight} -> ${keep('hang', inFlight)}\n`);
        } else {
          counts.crash++;
          process.stdout.write(`crash (exit ${code}, ${signal ?? 'no signal'}) at input ${inFlight} -> ${keep('crash', inFlight)}\n${stderr.slice(-600)}\n`);
        }
        return resolve(inFlight + 1);
      }
      if (code !== 0) process.stdout.write(`worker exited ${code} outside an input: ${stderr.slice(-600)}\n`);
      resolve(next);
    });
  });
}

const start = performance.now();
const deadline = Date.now() + seconds * 1000;
let index = 0;
while (Date.now() < deadline) index = await runBatch(index, batch);
const elapsed = (performance.now() - start) / 1000;
rmSync(work, { recursive: true, force: true });
const typedTotal = Object.values(counts.typed).reduce((a, b) => a + b, 0);
const untypedTotal = Object.values(counts.untyped).reduce((a, b) => a + b, 0);
process.stdout.write(`${JSON.stringify({
  target: name, seed, seconds: Math.round(elapsed), inputs: counts.inputs, inputsPerSecond: Math.round(counts.inputs / elapsed),
  ok: counts.ok, typed: typedTotal, typedByCode: counts.typed, untyped: untypedTotal, untypedByMessage: counts.untyped,
  crash: counts.crash, hang: counts.hang, rssOverLimit: counts.rssOver, rssLimitMiB: rssLimit, maxRssMiB: counts.maxRssMiB,
}, null, 2)}\n`);
process.exit(untypedTotal + counts.crash + counts.hang + counts.rssOver > 0 ? 1 : 0);
