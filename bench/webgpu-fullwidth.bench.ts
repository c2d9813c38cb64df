/**
 * webgpu against wasm on the full-width model: ImageReward-v1.0's widths (ViT-L/16 1024 wide at 224 px,
 * BERT-base 768 wide with cross-attention over the image tokens, the real head) with deterministic
 * random weights, one image and one prompt, each backend in its own child process (webgpu through
 * Dawn in Node, on SwiftShader where there is no GPU). Compares the ViT output, the CLS features and
 * the reward (bars: layers 1e-4, rewards 1e-4 of wasm) and times one forward (shader compilation
 * included). Depth: BENCH_DEPTH=K runs K ViT blocks and K BERT layers (default 1), BENCH_DEPTH=full
 * the whole 24 + 12. On SwiftShader (the 2-core VM) depth 1 takes about 30 s, the full model 13 minutes
 * (780 s, reward within 1.4e-6 of wasm), hence the default; on a real GPU run it full.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { machineLine } from './machine.js';
import { randomInputs, randomWeights } from './randomWeights.js';
import { selectBackend } from '../src/backend.js';
import { IMAGEREWARD_V1, type ImageRewardConfig } from '../src/model/config.js';
import { ImageRewardModel } from '../src/model/imageRewardModel.js';
import { maxAbsDiff } from '../test/helpers/assert.js';
import { vulkanEnv } from '../test/helpers/vulkanEnv.js';

const depth = process.env.BENCH_DEPTH ?? '1';

function configAt(d: string): ImageRewardConfig {
  if (d === 'full') return IMAGEREWARD_V1;
  const k = Number(d);
  if (!Number.isSafeInteger(k) || k < 1 || k > 12) throw new Error(`BENCH_DEPTH must be 1..12 or full, got ${d}`);
  return { ...IMAGEREWARD_V1, vit: { ...IMAGEREWARD_V1.vit, depth: k }, med: { ...IMAGEREWARD_V1.med, numHiddenLayers: k } };
}

interface ChildResult {
  readonly backendLine: string;
  readonly forwardMs: number;
  readonly vit: number[];
  readonly cls: number[];
  readonly reward: number;
  readonly noAdapter?: string;
}

async function child(backend: string): Promise<ChildResult> {
  let backendLine = '';
  try {
    await selectBackend({ backend, log: (l) => { backendLine = l; } });
  } catch (err) {
    if (backend !== 'webgpu') throw err;
    return { backendLine, forwardMs: NaN, vit: [], cls: [], reward: NaN, noAdapter: (err as Error).message };
  }
  const config = configAt(depth);
  const model = ImageRewardModel.fromReader(randomWeights(config, 1234, { generateMs: 0 }), config);
  const { ids, mask, pixels } = randomInputs(config, 1, 99);
  const t0 = performance.now();
  const embeds = model.encodeImages(pixels);
  const cls = model.features(ids, mask, embeds);
  const reward = model.forwardHead(cls);
  const [e, c, r] = await Promise.all([embeds.data(), cls.data(), reward.data()]);
  const forwardMs = performance.now() - t0;
  [ids, mask, pixels, embeds, cls, reward].forEach((t) => t.dispose());
  model.dispose();
  return { backendLine, forwardMs, vit: Array.from(e), cls: Array.from(c), reward: r[0]! };
}

function runChild(backend: string): ChildResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...vulkanEnv(), IMAGEREWARD_BENCH_CHILD: backend, BENCH_DEPTH: depth }, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`${backend}: child exited ${r.status ?? r.signal}`);
  return JSON.parse(r.stdout) as ChildResult;
}

async function main(): Promise<void> {
  const config = configAt(depth);
  console.log(machineLine());
  console.log(`full-width model, ${config.vit.depth} ViT blocks (of 24) + ${config.med.numHiddenLayers} BERT layers (of 12), 1 image, 1 prompt, random weights (seed 1234)`);
  const wasm = runChild('wasm');
  const gpu = runChild('webgpu');
  if (gpu.noAdapter) {
    console.log(`webgpu: no adapter (${gpu.noAdapter}); nothing to compare`);
    return;
  }
  console.log(`${wasm.backendLine}: forward ${(wasm.forwardMs / 1000).toFixed(2)} s`);
  console.log(`${gpu.backendLine}: forward ${(gpu.forwardMs / 1000).toFixed(2)} s (first forward: shader compilation included)`);
  const rows: [string, number, number][] = [
    ['ViT output [1,197,1024]', maxAbsDiff(wasm.vit, gpu.vit), 1e-4],
    ['CLS features [1,768]', maxAbsDiff(wasm.cls, gpu.cls), 1e-4],
    ['reward', Math.abs(wasm.reward - gpu.reward), 1e-4],
  ];
  for (const [name, err, bar] of rows) console.log(`  ${name.padEnd(24)} max |webgpu - wasm| ${err.toExponential(2)} (bar ${bar.toExponential(0)}) ${err <= bar ? 'ok' : 'FAIL'}`);
  console.log(`  rewards: wasm ${wasm.reward.toFixed(6)}, webgpu ${gpu.reward.toFixed(6)}`);
  if (!rows.every(([, err, bar]) => err <= bar)) process.exitCode = 1;
}

const childBackend = process.env.IMAGEREWARD_BENCH_CHILD;
if (childBackend) {
  const result = await child(childBackend);
  // exit once the result is flushed: Dawn's instance would keep the process alive
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
} else {
  await main();
}
