/**
 * score-dataset's engine against the same rows through `score(prompt, image)` calls (the upstream
 * pattern: one call per image), on the tiny fixture model (48 rows) and on the full-size model with
 * deterministic random weights (4 rows; BENCH_FULL=0 skips it): rows/s and the time to the first
 * result (score-dataset: until its first batch is on disk; score calls: the first call). The rows are
 * distinct generated 256x256 PNGs, each with one of 3 prompts. wasm backend, 1 thread.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineLine } from './machine.js';
import { randomWeights } from './randomWeights.js';
import { checkImageInput, imageKey, loadImage, type ImageInput } from '../src/api/imageInput.js';
import { ImageRewardCore } from '../src/api/core.js';
import { ImageReward } from '../src/api/imagereward.js';
import { selectBackend } from '../src/backend.js';
import { scoreDataset } from '../src/dataset/scoreDataset.js';
import { openDataset } from '../src/dataset/source.js';
import { IMAGEREWARD_V1 } from '../src/model/config.js';
import { ImageRewardModel } from '../src/model/imageRewardModel.js';
import { BertTokenizer } from '../src/tokenizer/index.js';
import { fixturePath } from '../test/helpers/fixtures.js';
import { noisePng, writeJsonl } from '../test/helpers/datasetImages.js';

const VOCAB = fixturePath('vocab/bert-base-uncased-vocab.txt');
const PROMPTS = ['a red fox in the snow, photograph', 'an astronaut riding a horse on the moon', 'a bowl of fruit on a wooden table, oil painting'];

/** The full-size model with random weights behind the public scoring API (ImageReward.load needs a file). */
class RandomWeightsReward extends ImageRewardCore<ImageInput> {
  readonly description = { imageDecoder: 'wasm' as const };

  constructor(model: ImageRewardModel, tokenizer: BertTokenizer) {
    super(model, tokenizer, { check: checkImageInput, key: imageKey, load: (input, size, index) => loadImage(input, size, index, 'wasm') }, 4);
  }
}

interface Measured { rowsPerSecond: number; firstResultSeconds: number }

async function viaScoreDataset(model: RandomWeightsReward | ImageReward, input: string, out: string): Promise<Measured> {
  const s = await scoreDataset(model, openDataset(input), { log: out });
  return { rowsPerSecond: s.rows / s.seconds, firstResultSeconds: s.firstResultSeconds! };
}

async function viaScoreCalls(model: RandomWeightsReward | ImageReward, rows: readonly { prompt: string; image: string }[], dir: string): Promise<Measured> {
  const t0 = performance.now();
  let first = 0;
  for (const r of rows) {
    await model.score(r.prompt, join(dir, r.image));
    first ||= performance.now() - t0;
  }
  return { rowsPerSecond: rows.length / ((performance.now() - t0) / 1000), firstResultSeconds: first / 1000 };
}

function report(label: string, rows: number, dataset: Measured, calls: Measured): void {
  console.log(`${label}, ${rows} rows`);
  console.log(`  ${rows} x score(prompt, image)  ${calls.rowsPerSecond.toFixed(2).padStart(8)} rows/s  first result ${calls.firstResultSeconds.toFixed(2)} s  (baseline)`);
  console.log(`  score-dataset            ${dataset.rowsPerSecond.toFixed(2).padStart(8)} rows/s  first result ${dataset.firstResultSeconds.toFixed(2)} s  speed x${(dataset.rowsPerSecond / calls.rowsPerSecond).toFixed(2)}`);
}

const tmp = mkdtempSync(join(tmpdir(), 'ir-bench-dataset-'));
try {
  console.log(machineLine());
  await selectBackend({ backend: 'wasm', log: null });
  for (const [label, count] of [['tiny model', 48], ['full-size model (random weights)', 4]] as const) {
    if (count === 4 && process.env.BENCH_FULL === '0') continue;
    const rows = Array.from({ length: count }, (_, i) => {
      const image = `${label.startsWith('tiny') ? 't' : 'f'}-${i}.png`;
      writeFileSync(join(tmp, image), noisePng(i, 256));
      return { prompt: PROMPTS[i % PROMPTS.length]!, image };
    });
    const input = join(tmp, `${count}.jsonl`);
    writeJsonl(input, rows);
    const model = label.startsWith('tiny')
      ? await ImageReward.load(fixturePath('tiny/tiny.safetensors'), { backend: 'wasm', vocab: VOCAB, log: null })
      : new RandomWeightsReward(ImageRewardModel.fromReader(randomWeights(IMAGEREWARD_V1, 1234, { generateMs: 0 }), IMAGEREWARD_V1), await BertTokenizer.fromVocabFile(VOCAB));
    try {
      await model.score(PROMPTS[0]!, join(tmp, rows[0]!.image)); // warm-up
      const calls = await viaScoreCalls(model, rows, tmp);
      const dataset = await viaScoreDataset(model, input, join(tmp, `${count}-out.jsonl`));
      report(label, count, dataset, calls);
    } finally {
      model.dispose();
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
