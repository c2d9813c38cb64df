/**
 * End to end on the tiny model with a preference set generated here: PNG images whose human ranking
 * follows their brightness (darkest first); features through the on-disk cache (with an interrupted run), head
 * training from the model's own head, the head file reloaded with `--head`, and the CLI.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { ImageReward } from '../src/api/imagereward.js';
import type { CliIO } from '../src/cli/command.js';
import { main } from '../src/cli/main.js';
import { loadPreferenceDataset, type PreferenceDataset } from '../src/train/dataset.js';
import { evaluatePreferences } from '../src/train/evaluate.js';
import { FeatureCache } from '../src/train/feature-cache.js';
import { extractFeatures, type FeatureSource } from '../src/train/features.js';
import { readHeadFile, writeHeadFile } from '../src/model/headFile.js';
import type { HeadWeights } from '../src/model/head.js';
import { preferenceAccuracy } from '../src/train/metric.js';
import { SeededRandom } from '../src/util/random.js';
import { trainHead, type TrainingRecord } from '../src/train/trainer.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { maxAbsDiff } from './helpers/assert.js';

const TINY = ['tiny/tiny.safetensors', 'tiny/med_config.json', 'tiny/vit_config.json', 'vocab/bert-base-uncased-vocab.txt'];
const BACKEND = process.env.IMAGEREWARD_TEST_BACKEND ?? 'wasm';

/** A minimal RGB PNG (8-bit, filter 0 on every row). */
function encodePng(rgb: Uint8Array, width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc(height * (1 + 3 * width));
  for (let y = 0; y < height; y++) rows.set(rgb.subarray(y * 3 * width, (y + 1) * 3 * width), y * (1 + 3 * width) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A textured image whose overall brightness is `level` (0..1). */
function texturedImage(level: number, rng: SeededRandom): Uint8Array {
  const size = 48;
  const rgb = new Uint8Array(size * size * 3);
  const hue = [rng.next(), rng.next(), rng.next()];
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = Math.round(255 * Math.min(1, Math.max(0, level * (0.6 + 0.4 * hue[c]!) + 0.15 * (rng.next() - 0.5))));
  }
  return rgb;
}

const PROMPTS = ['a red fox in the snow', 'a city at night', 'a bowl of fruit', 'a mountain lake', 'portrait of an astronaut', 'a cat on a sofa'];

/** Writes the images and data.json: per prompt 4 images, ranked darkest first (one tie in the last prompt). */
function writeDataset(dir: string): string {
  const rng = new SeededRandom(42);
  const records = PROMPTS.map((prompt, p) => {
    const levels = [0.2, 0.4, 0.6, 0.8].map((l) => l + 0.1 * (rng.next() - 0.5));
    const generations = levels.map((level, i) => {
      const name = `img/p${p}_${i}.png`;
      writeFileSync(join(dir, name), encodePng(texturedImage(level, rng), 48, 48));
      return name;
    });
    const ranking = levels.map((l) => 1 + levels.filter((m) => m < l).length);
    if (p === PROMPTS.length - 1) ranking[0] = ranking[1]!; // a human tie: skipped by pairs and metric
    return { id: `r${p}`, prompt, generations, ranking };
  });
  const file = join(dir, 'data.json');
  writeFileSync(file, JSON.stringify(records, null, 1));
  return file;
}

/** Normalised rewards of features under head weights ([in, out]), float64, layer by layer. */
function referenceRewards(weights: HeadWeights, features: Float32Array, model: ImageReward): number {
  let h = Array.from(features);
  for (const { weight: w, bias: b } of weights.layers) {
    const out = b.length;
    h = Array.from(b, (bias, o) => h.reduce((acc, v, k) => acc + v * w[k * out + o]!, bias));
  }
  return (h[0]! - model.config.head.rewardMean) / model.config.head.rewardStd;
}

describe('train: tiny model end to end (generated preference set)', function () {
  let dir: string;
  let dataFile: string;
  let dataset: PreferenceDataset;
  let model: ImageReward;
  let records: TrainingRecord[];
  const loadOptions = () => ({ backend: BACKEND, vocab: fixturePath('vocab/bert-base-uncased-vocab.txt'), log: null });

  before(async function () {
    requireFixtures(this, ...TINY);
    dir = mkdtempSync(join(tmpdir(), 'ir-train-'));
    mkdirSync(join(dir, 'img'));
    dataFile = writeDataset(dir);
    dataset = await loadPreferenceDataset(dataFile);
    model = await ImageReward.load(fixturePath('tiny/tiny.safetensors'), loadOptions());
  });

  after(() => {
    model?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('caches features, resumes an interrupted run, and reuses everything on a re-run', async () => {
    const cache = new FeatureCache(join(dir, 'cache'), 'tiny-test', model.config.med.hiddenSize);
    let calls = 0;
    const interrupted: FeatureSource = {
      async features(prompt, images) {
        if (++calls > 3) throw new Error('interrupted');
        return model.features(prompt, images);
      },
    };
    let caught: unknown;
    try { await extractFeatures(interrupted, dataset, { cache, chunkSize: 2 }); } catch (err) { caught = err; }
    expect((caught as Error).message).to.equal('interrupted');
    const resumed = await extractFeatures(model, dataset, { cache, chunkSize: 2 });
    expect({ reused: resumed.reused, computed: resumed.computed }).to.deep.equal({ reused: 6, computed: 18 });
    const again = await extractFeatures(model, dataset, { cache });
    expect({ reused: again.reused, computed: again.computed }).to.deep.equal({ reused: 24, computed: 0 });
    const direct = await model.features(dataset.records[2]!.prompt, dataset.records[2]!.generations);
    direct.forEach((f, i) => {
      expect(Array.from(again.records[2]!.features[i]!)).to.deep.equal(Array.from(f));
      expect(Array.from(resumed.records[2]!.features[i]!)).to.deep.equal(Array.from(f));
    });
    expect(again.records.map((r) => r.ranking)).to.deep.equal(dataset.records.map((r) => r.ranking));
    records = again.records;
  });

  it('raises training accuracy from its initial value to >= 0.9; the saved head reloads to the same rewards', async () => {
    const base = await model.headWeights();
    const initial = await evaluatePreferences(model.model, records);
    const result = await trainHead(base, model.config, records, undefined, { epochs: 20, learningRate: 2e-5, batchSize: 2, seed: 1 });
    const first = result.history[0]!.train;
    const last = result.history[result.history.length - 1]!.train;
    console.log(`      accuracy ${first.accuracy.toFixed(3)} -> ${last.accuracy.toFixed(3)} over ${last.pairs} pairs, loss ${first.loss.toFixed(4)} -> ${last.loss.toFixed(4)}`);
    expect(first.pairs).to.equal(5 * 6 + 5);
    expect(first.accuracy).to.equal(initial.accuracy);
    expect(first.accuracy).to.be.lessThan(0.9);
    expect(last.accuracy).to.be.at.least(0.9);

    const headFile = join(dir, 'head.safetensors');
    await writeHeadFile(headFile, result.weights, model.config, { note: 'test' });
    const reloaded = await ImageReward.load(fixturePath('tiny/tiny.safetensors'), { ...loadOptions(), head: headFile });
    try {
      const rewards: number[][] = [];
      for (const [i, rec] of dataset.records.entries()) {
        const r = await reloaded.score(rec.prompt, [...rec.generations]);
        const expected = records[i]!.features.map((f) => referenceRewards(result.weights, f, model));
        expect(maxAbsDiff(r, expected), `record ${i}`).to.be.at.most(1e-5);
        rewards.push(r);
      }
      const acc = preferenceAccuracy(dataset.records.map((r) => r.ranking), rewards);
      expect(acc.correct).to.equal(last.correct);
      expect(readHeadFile(headFile, model.config).metadata.note).to.equal('test');
    } finally {
      reloaded.dispose();
    }
  });

  it('CLI: features, train-head and eval (with --head) agree with each other', async () => {
    const run = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false };
      const code = await main(argv, io);
      expect(code, err.join('\n')).to.equal(0);
      return JSON.parse(out[out.length - 1]!) as Record<string, unknown>;
    };
    const m = ['--model', fixturePath('tiny/tiny.safetensors'), '--vocab', fixturePath('vocab/bert-base-uncased-vocab.txt'), '--backend', BACKEND];
    const cache = join(dir, 'cli-cache');
    const f1 = await run('features', dataFile, ...m, '--cache', cache, '--json');
    expect(f1).to.include({ records: 6, images: 24, reused: 0, computed: 24 });
    const head = join(dir, 'cli-head.safetensors');
    const trained = await run('train-head', dataFile, ...m, '--cache', cache, '-o', head, '--epochs', '20', '--lr', '2e-5',
      '--train-batch-size', '2', '--seed', '1', '--json');
    const best = trained.best as { train: { accuracy: number; pairs: number; correct: number } };
    expect(best.train.accuracy).to.be.at.least(0.9);
    const meta = readHeadFile(head, model.config).metadata;
    expect(JSON.parse(meta.imagereward_head_training!).options).to.include({ epochs: 20, learningRate: 2e-5, batchSize: 2, seed: 1 });
    expect(JSON.parse(meta.imagereward_head_metrics!).history).to.have.length(21);
    const evaluated = await run('eval', dataFile, ...m, '--head', head, '--cache', cache, '--json');
    expect(evaluated).to.include({ pairs: 35, correct: best.train.correct, accuracy: best.train.accuracy, records: 6, images: 24 });
    const baseEval = await run('eval', dataFile, ...m, '--json');
    expect(baseEval.accuracy).to.be.lessThan(0.9);
  });
});
