/**
 * Full-size ImageReward-v1.0 forward with deterministic random weights (no download), in one run on
 * three backends, each in its own child process (the wasm thread count is fixed per process):
 * wasm (1 thread), wasm (2 threads, src/wasmThreads.ts) and wasm+blas (src/blas). For each: build
 * time, s/image at batch 1 and 4 (median of BENCH_RUNS, default 3, after a warm-up), ViT / text
 * split, peak RSS and wasm heap (the heap never shrinks: its final size is the peak). wasm+blas also
 * gives the BLAS's own sgemm throughput on [197,1024]x[1024,4096] (probed before the build and after
 * the timings), the floor (FLOPs / throughput) and the efficiency against it, and batch 8. Per-op profiles (ms per kernel per image, one extra
 * batch-4 forward) for wasm 1 thread (before) and wasm+blas (after). The rewards of wasm+blas must
 * equal wasm's within 1e-4 (exit 1 otherwise).
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { machineLine, median } from './machine.js';
import { profileKernels, profileRows } from './kernelProfile.js';
import { prng, randomInputs, randomWeights } from './randomWeights.js';
import { selectBackend, type BackendChoice } from '../src/backend.js';
import { IMAGEREWARD_V1, type ImageRewardConfig } from '../src/model/config.js';
import { ImageRewardModel } from '../src/model/imageRewardModel.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function heapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
  return backend.wasm?.HEAPU8.buffer.byteLength ?? NaN;
}

/** Multiply-add FLOPs of one forward per image (matmuls only; everything else is <3%). */
function forwardFlops(config: ImageRewardConfig, textLength: number): number {
  const { vit, med } = config;
  const T = (vit.imgSize / vit.patchSize) ** 2 + 1;
  const E = vit.embedDim;
  const hidden = E * vit.mlpRatio;
  const patches = 2 * (T - 1) * vit.inChans * vit.patchSize ** 2 * E;
  const vitBlock = 2 * T * E * (4 * E + 2 * hidden) + 4 * T * T * E;
  const L = textLength;
  const H = med.hiddenSize;
  const bertLayer = 2 * L * H * (6 * H + 2 * med.intermediateSize) + 4 * T * med.encoderWidth * H + 4 * L * L * H + 4 * L * T * H;
  return patches + vit.depth * vitBlock + med.numHiddenLayers * bertLayer;
}

/** One plain 2D matMul of ViT-L fc1's size through tfjs, in GFLOP/s. */
function matmulGflops(): number {
  const a = tf.randomUniform([197, 1024]) as tf.Tensor2D;
  const b = tf.randomUniform([1024, 4096]) as tf.Tensor2D;
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
    if (i > 0) times.push(performance.now() - t0);
  }
  [a, b].forEach((t) => t.dispose());
  return (2 * 197 * 1024 * 4096) / (median(times) * 1e6);
}

interface SgemmProbe { readonly medianGflops: number; readonly bestGflops: number }

/**
 * The BLAS's own cblas_sgemm on [197,1024]x[1024,4096] (plain JS arrays, its configured threads):
 * 30 calls after 4 warm-ups, median and best in GFLOP/s. Run before the model is built and again
 * after the timings; the faster median sets the floor (an 8-call probe after the build read 82
 * GFLOP/s where a standalone one read 123: too few calls on a machine that had just allocated 2 GB).
 */
async function sgemmProbe(): Promise<SgemmProbe> {
  const { loadBlas, CBLAS_NO_TRANS, CBLAS_ROW_MAJOR } = await import('../src/blas/library.js');
  const lib = loadBlas();
  const [m, k, n] = [197, 1024, 4096];
  const rand = prng(7);
  const a = Float32Array.from({ length: m * k }, rand);
  const b = Float32Array.from({ length: k * n }, rand);
  const c = new Float32Array(m * n);
  const gflops: number[] = [];
  for (let i = 0; i < 34; i++) {
    const t0 = performance.now();
    lib.sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, m, n, k, 1, a, k, b, n, 0, c, n);
    if (i >= 4) gflops.push((2 * m * k * n) / ((performance.now() - t0) * 1e6));
  }
  return { medianGflops: median(gflops), bestGflops: Math.max(...gflops) };
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const peakRss = () => process.resourceUsage().maxRSS * 1024;

interface Config { readonly label: string; readonly backend: string; readonly wasmThreads: number; readonly profile: boolean; readonly batch8: boolean }
const CONFIGS: readonly Config[] = [
  { label: 'wasm (1 thread)', backend: 'wasm', wasmThreads: 1, profile: true, batch8: false },
  { label: 'wasm (2 threads)', backend: 'wasm', wasmThreads: 2, profile: false, batch8: false },
  { label: 'wasm+blas', backend: 'wasm+blas', wasmThreads: 1, profile: true, batch8: true },
];

interface ChildResult {
  label: string;
  backendLine: string;
  msPerImage: Record<string, number>;
  rewards: Record<string, number[]>;
  heapBytes: number;
  peakRssBytes: number;
  /** sgemm probes before the model build and after the timings. */
  sgemm?: [SgemmProbe, SgemmProbe];
  profile?: [string, number, number][];
}

async function timeBatch(model: ImageRewardModel, n: number, runs: number, log: (s: string) => void): Promise<{ msPerImage: number; rewards: number[] }> {
  const { ids, mask, pixels } = randomInputs(IMAGEREWARD_V1, n, 99 + n);
  const vitMs: number[] = [];
  const totalMs: number[] = [];
  let rewards: Float32Array | undefined;
  try {
    for (let run = 0; run <= runs; run++) {
      const t0 = performance.now();
      const embeds = model.encodeImages(pixels);
      await embeds.data();
      const t1 = performance.now();
      const cls = model.features(ids, mask, embeds);
      const reward = model.forwardHead(cls);
      rewards = (await reward.data()) as Float32Array;
      const t2 = performance.now();
      [embeds, cls, reward].forEach((t) => t.dispose());
      if (run === 0) {
        log(`batch ${n}: warm-up ${(t2 - t0).toFixed(0)} ms, heap ${mib(heapBytes())}`);
        continue;
      }
      vitMs.push(t1 - t0);
      totalMs.push(t2 - t0);
    }
  } finally {
    [ids, mask, pixels].forEach((t) => t.dispose());
  }
  const ms = median(totalMs);
  log(`batch ${n}: ${(ms / n / 1000).toFixed(2)} s/image (median of ${runs}; ViT ${(median(vitMs) / n).toFixed(0)} ms/image, text+head ${((ms - median(vitMs)) / n).toFixed(0)} ms/image); rewards ${Array.from(rewards!, (r) => r.toFixed(4)).join(' ')}`);
  return { msPerImage: ms / n, rewards: Array.from(rewards!) };
}

async function child(config: Config): Promise<ChildResult> {
  const log = (line: string) => process.stderr.write(`  [${config.label}] ${line}\n`);
  let backendLine = '';
  const choice: BackendChoice = await selectBackend({ backend: config.backend, wasmThreads: config.wasmThreads, log: (l) => { backendLine = l; } });
  log(`${backendLine} (tfjs ${tf.version_core})`);
  const sgemmBefore = choice.blas ? await sgemmProbe() : undefined;
  const timing = { generateMs: 0 };
  const t0 = performance.now();
  const model = ImageRewardModel.fromReader(randomWeights(IMAGEREWARD_V1, 1234, timing), IMAGEREWARD_V1);
  const buildMs = performance.now() - t0;
  log(`build ${(model.parameterCount() / 1e6).toFixed(1)} M params: ${buildMs.toFixed(0)} ms (${timing.generateMs.toFixed(0)} ms generating); heap ${mib(heapBytes())}`);
  log(`tfjs matMul [197,1024]x[1024,4096]: ${matmulGflops().toFixed(1)} GFLOP/s`);
  const result: ChildResult = { label: config.label, backendLine, msPerImage: {}, rewards: {}, heapBytes: 0, peakRssBytes: 0 };
  for (const n of [1, 4]) {
    const r = await timeBatch(model, n, RUNS, log);
    result.msPerImage[n] = r.msPerImage;
    result.rewards[n] = r.rewards;
  }
  if (config.batch8) {
    const r = await timeBatch(model, 8, 1, log);
    result.msPerImage[8] = r.msPerImage;
  }
  if (config.profile) {
    const profile = profileKernels('wasm');
    await timeBatch(model, 4, 0, () => {});
    result.profile = profileRows(profile.totals, 4);
  }
  if (sgemmBefore) result.sgemm = [sgemmBefore, await sgemmProbe()];
  model.dispose();
  result.heapBytes = heapBytes();
  result.peakRssBytes = peakRss();
  return result;
}

function runChild(config: Config): ChildResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, IMAGEREWARD_BENCH_CHILD: JSON.stringify(config) }, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 16 << 20,
  });
  if (r.status !== 0) throw new Error(`${config.label}: child exited ${r.status ?? r.signal}`);
  return JSON.parse(r.stdout) as ChildResult;
}

function printProfiles(results: readonly ChildResult[]): void {
  for (const r of results) {
    if (!r.profile) continue;
    const total = r.profile.reduce((s, row) => s + row[1], 0);
    console.log(`per-op profile, ${r.label}, batch 4 (ms per image; ${total.toFixed(0)} ms in kernels):`);
    for (const [name, ms, calls] of r.profile) console.log(`  ${name.padEnd(24)} ${ms.toFixed(1).padStart(8)} ms  ${(100 * ms / total).toFixed(1).padStart(5)}%  ${calls.toFixed(0).padStart(6)} calls`);
  }
}

async function main(): Promise<void> {
  console.log(machineLine());
  const flops = forwardFlops(IMAGEREWARD_V1, IMAGEREWARD_V1.maxLength);
  console.log(`one forward: ${(flops / 1e9).toFixed(1)} GFLOP/image (matmuls); ${RUNS} timed runs per batch size`);
  const results = CONFIGS.map(runChild);
  console.log('\nbackend            batch 1 s/img  batch 4 s/img  peak RSS   wasm heap');
  for (const r of results) {
    console.log(`${r.label.padEnd(18)} ${(r.msPerImage[1]! / 1000).toFixed(2).padStart(13)}  ${(r.msPerImage[4]! / 1000).toFixed(2).padStart(13)}  ${mib(r.peakRssBytes).padStart(9)}  ${mib(r.heapBytes).padStart(9)}`);
  }
  const base = results[0]!;
  const blas = results.find((r) => r.sgemm !== undefined)!;
  console.log(`${blas.backendLine}`);
  const [before, after] = blas.sgemm!;
  const gflops = Math.max(before.medianGflops, after.medianGflops);
  const floorMs = flops / (gflops * 1e6);
  const probe = (p: SgemmProbe) => `median ${p.medianGflops.toFixed(1)}, best ${p.bestGflops.toFixed(1)}`;
  console.log(`BLAS sgemm [197,1024]x[1024,4096], 30 calls: before the build ${probe(before)}, after the timings ${probe(after)} GFLOP/s`);
  console.log(`floor at the faster median, ${gflops.toFixed(1)} GFLOP/s: ${(floorMs / 1000).toFixed(2)} s/image`);
  for (const n of [1, 4, 8]) {
    const ms = blas.msPerImage[n];
    if (ms !== undefined) console.log(`wasm+blas batch ${n}: ${(ms / 1000).toFixed(2)} s/image = ${(ms / floorMs).toFixed(2)} x its floor (target <= 1.25 at batch 4); ${(base.msPerImage[n] ? (base.msPerImage[n]! / ms).toFixed(2) + ' x faster than wasm 1 thread' : 'fits')}`);
  }
  let worst = 0;
  for (const n of [1, 4]) base.rewards[n]!.forEach((r, i) => { worst = Math.max(worst, Math.abs(r - blas.rewards[n]![i]!)); });
  const threaded = results[1]!;
  const bitIdentical = [1, 4].every((n) => threaded.rewards[n]!.every((r, i) => r === base.rewards[n]![i]));
  console.log(`rewards: wasm+blas vs wasm max |diff| ${worst.toExponential(2)} (bar 1e-4); wasm 2 threads vs 1 thread bit-identical: ${bitIdentical}`);
  printProfiles(results);
  if (!(worst <= 1e-4) || !bitIdentical) process.exitCode = 1;
}

const childConfig = process.env.IMAGEREWARD_BENCH_CHILD;
if (childConfig) process.stdout.write(JSON.stringify(await child(JSON.parse(childConfig) as Config)));
else await main();
