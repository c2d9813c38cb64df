/**
 * Child of test/webgpu.test.ts (a child because Dawn's Vulkan loader reads LD_LIBRARY_PATH /
 * VK_ICD_FILENAMES at process start): the tiny model through the public API on the webgpu backend,
 * every golden layer of PARITY_PAIRS and the ranks of PARITY_PROMPTS. Prints one JSON line:
 * { noAdapter: reason } | { adapter, checks, ranksMatch, numTensors before/after a repeated call,
 * training }; with --load-only, { noAdapter } | { adapter } after the load. `training`: the head
 * trained for 2 epochs on seeded synthetic features on webgpu, then again in this process on wasm,
 * and the largest difference of the per-epoch losses and the final weights.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageReward } from '../../src/api/imagereward.js';
import { BackendError } from '../../src/errors.js';
import { opsPath } from '../../src/ops/dispatch.js';
import { selectBackend } from '../../src/backend.js';
import { trainHead, type TrainHeadResult, type TrainingRecord } from '../../src/train/trainer.js';
import { SeededRandom } from '../../src/util/random.js';
import { maxAbsDiff } from './assert.js';
import { fixturePath } from './fixtures.js';
import { readGolden } from './golden.js';
import { checkIntermediates, checkRank, GOLDEN_IMAGES, PARITY_PAIRS, PARITY_PROMPTS, type LayerCheck } from './goldenCompare.js';

const images = GOLDEN_IMAGES.map((f) => fixturePath(`images/${f}`));
let model: ImageReward;
try {
  model = await ImageReward.load(fixturePath('tiny/tiny.safetensors'), {
    backend: 'webgpu', log: null, vocab: fixturePath('vocab/bert-base-uncased-vocab.txt'),
    medConfig: fixturePath('tiny/med_config.json'), vitConfig: fixturePath('tiny/vit_config.json'),
  });
} catch (err) {
  if (!(err instanceof BackendError)) throw err;
  console.log(JSON.stringify({ noAdapter: err.message }));
  process.exit(0);
}
if (process.argv.includes('--load-only')) {
  console.log(JSON.stringify({ adapter: model.description.backend.adapter }));
  model.dispose();
  process.exit(0);
}
const golden = readGolden();
const checks: (LayerCheck & { pair: string })[] = [];
for (const { p, j } of PARITY_PAIRS) {
  const named = await model.intermediates(golden.prompts[p]!.text, images[j]!);
  const arrays = new Map([...named].map(([k, v]) => [k, v.data as ArrayLike<number>]));
  for (const c of checkIntermediates(golden.tensors, p, j, arrays)) checks.push({ ...c, pair: `p${p}.img${j}` });
}
let ranksMatch = true;
for (const p of PARITY_PROMPTS) {
  const r = checkRank(golden.tensors, p, await model.rank(golden.prompts[p]!.text, images));
  checks.push({ ...r.check, pair: `p${p}` });
  ranksMatch &&= r.ranksMatch;
}
const before = tf.memory().numTensors;
await model.rank(golden.prompts[0]!.text, images);
const after = tf.memory().numTensors;

// head training reads tensors back every epoch: on webgpu that must work without synchronous readback
const random = new SeededRandom(7);
const hidden = model.config.med.hiddenSize;
const records: TrainingRecord[] = Array.from({ length: 6 }, () => ({
  ranking: [1, 2, 3, 4],
  features: Array.from({ length: 4 }, () => Float32Array.from({ length: hidden }, () => random.next() * 2 - 1)),
}));
const trainOptions = { epochs: 2, batchSize: 4, learningRate: 1e-3, seed: 1 };
const base = await model.headWeights();
const tfBackend = tf.getBackend();
const onGpu = await trainHead(base, model.config, records, undefined, trainOptions);
const config = model.config;
const report = { adapter: model.description.backend.adapter, tfBackend, opsPath: opsPath(), checks, ranksMatch, before, after };
model.dispose();
await selectBackend({ backend: 'wasm', log: () => {} });
const onWasm = await trainHead(base, config, records, undefined, trainOptions);
const losses = (r: TrainHeadResult) => r.history.map((m) => m.train.loss);
const weights = (r: TrainHeadResult) => r.weights.layers.flatMap((l) => [...l.weight, ...l.bias]);
const training = { epochs: onGpu.history.length - 1, lossDiff: maxAbsDiff(losses(onGpu), losses(onWasm)), weightDiff: maxAbsDiff(weights(onGpu), weights(onWasm)), lossChange: losses(onWasm)[2]! - losses(onWasm)[0]! };
console.log(JSON.stringify({ ...report, training }));
