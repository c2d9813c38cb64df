/**
 * 1024x1024 JPEG decoding with the TypeScript libjpeg-turbo port (src/image/jpegjs), which serves
 * CMYK / YCCK files and h1v2-upsampled (4:4:0) files: YCbCr 4:4:0 baseline, YCbCr 4:2:0 progressive,
 * YCCK 2x2/1x1/1x1/2x2, CMYK 4:4:4 baseline and progressive. The baseline is the
 * wasm libjpeg decoder on a 1024x1024 YCbCr 4:2:0 file from the same generator, measured in the same
 * run, next to the TypeScript decoder on that same file (identical bytes checked).
 * Next to each TypeScript median: the garbage collector's time per decode over the timed runs, and
 * how many of its pauses were mark-compact (major) collections.
 * Needs gcc and libjpeg's headers to build test/data/make_cmyk_jpegs.c; skips otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { decodeJpegJs } from '../src/image/jpegjs/decoder.js';
import { decodeJpegRgba, keepChannels } from '../src/image/wasmCodecs.js';
import { machineLine, medianMs } from './machine.js';

const RUNS = 9;
const WARMUP = 2;

const gcEntries: PerformanceEntry[] = [];
new PerformanceObserver((list) => gcEntries.push(...list.getEntries())).observe({ entryTypes: ['gc'] });

/** medianMs of `fn`, and the GC pauses that its timed runs caused (entries arrive after a macrotask). */
async function timed(fn: () => unknown): Promise<{ ms: number; gc: string }> {
  for (let i = 0; i < WARMUP; i++) await fn();
  await new Promise((resolve) => setImmediate(resolve));
  gcEntries.length = 0;
  const ms = await medianMs(fn, RUNS, 0);
  await new Promise((resolve) => setImmediate(resolve));
  const gcMs = gcEntries.reduce((sum, e) => sum + e.duration, 0) / RUNS;
  const major = gcEntries.filter((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR).length;
  return { ms, gc: `GC ${gcMs.toFixed(1)} ms/decode, ${major} mark-compact in ${RUNS} runs` };
}

console.log(machineLine());
const dir = mkdtempSync(join(tmpdir(), 'jpeg-cmyk-bench-'));
try {
  const tool = join(dir, 'make_cmyk_jpegs');
  try {
    execFileSync('gcc', ['-O2', '-o', tool, 'test/data/make_cmyk_jpegs.c', '-ljpeg'], { stdio: 'pipe' });
  } catch {
    console.log('skipped: gcc + libjpeg headers are needed to write the 1024x1024 test JPEGs');
    process.exit(0);
  }
  const make = (name: string, space: string, sampling: string, progressive: number): Uint8Array => {
    const path = join(dir, name);
    execFileSync(tool, [path, '1024', '1024', space, sampling, '75', String(progressive), '0', 'auto', '7']);
    return readFileSync(path);
  };
  console.log(`1024x1024, quality 75, median of ${RUNS} runs after ${WARMUP} warm-up`);
  const ycc = make('ycc420.jpg', 'ycc', 'default', 0);
  const wasmMs = await medianMs(() => decodeJpegRgba(ycc), RUNS, WARMUP);
  const tsYcc = await timed(() => decodeJpegJs(ycc, 'ycc420.jpg'));
  const same = Buffer.from(decodeJpegJs(ycc, 'ycc420.jpg').data).equals(Buffer.from(keepChannels((await decodeJpegRgba(ycc)).pixels, 3)));
  console.log(`YCbCr 4:2:0 baseline: wasm (baseline) ${wasmMs.toFixed(1)} ms | TypeScript ${tsYcc.ms.toFixed(1)} ms (${tsYcc.gc}) | speed x${(wasmMs / tsYcc.ms).toFixed(2)} of the baseline | identical bytes: ${same}`);
  for (const [name, space, sampling, progressive] of [
    ['YCbCr 4:4:0 (1x2/1x1/1x1) baseline', 'ycc', '1x2,1x1,1x1', 0],
    ['YCbCr 4:2:0 progressive', 'ycc', 'default', 1],
    ['YCCK 2x2/1x1/1x1/2x2 baseline', 'ycck', 'default', 0],
    ['CMYK 1x1 baseline', 'cmyk', 'default', 0],
    ['CMYK 1x1 progressive', 'cmyk', 'default', 1],
  ] as const) {
    const file = make(`${space}-${sampling.replace(/\W/g, '')}-${progressive}.jpg`, space, sampling, progressive);
    const ts = await timed(() => decodeJpegJs(file, name));
    console.log(`${name} (${(file.length / 1024).toFixed(0)} KB): TypeScript ${ts.ms.toFixed(1)} ms (${ts.gc}) | speed x${(wasmMs / ts.ms).toFixed(2)} of the baseline`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
