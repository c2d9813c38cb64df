/**
 * Child of test/webgpu.test.ts (a child because Dawn's Vulkan loader reads LD_LIBRARY_PATH /
 * VK_ICD_FILENAMES at process start): the tiny model through the public API on the webgpu backend,
 * every golden layer of PARITY_PAIRS and the ranks of PARITY_PROMPTS. Prints one JSON line:
 * { noAdapter: reason } | { adapter, checks, ranksMatch, numTensors before/after a repeated call };
 * with --load-only, { noAdapter } | { adapter } after the load.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageReward } from '../../src/api/imagereward.js';
import { BackendError } from '../../src/errors.js';
import { opsPath } from '../../src/ops/dispatch.js';
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
console.log(JSON.stringify({ adapter: model.description.backend.adapter, tfBackend: tf.getBackend(), opsPath: opsPath(), checks, ranksMatch, before, after }));
model.dispose();
