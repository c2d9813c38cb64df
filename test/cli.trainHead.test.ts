/**
 * `train-head` outcomes through the real process (issue 13): a run that keeps the untrained head
 * (early stopping at epoch 0, or a loss that does not fall) writes nothing and says why and what to
 * change; a fine-tuned head's rewards are re-normalised on its training data (stored in the head
 * file, used by --head) so that 0 stays the average, and --keep-upstream-scale keeps the constants.
 */
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMAGEREWARD_V1_HEAD } from '../src/model/config.js';
import { readHeadFile, writeHeadFile } from '../src/model/headFile.js';
import { SafetensorsReader } from '../src/weights/safetensors.js';
import { WeightsError } from '../src/errors.js';
import { tinyConfig } from './helpers/tinyModel.js';
import { runCli } from './helpers/cliProcess.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { SeededRandom } from '../src/util/random.js';

const BACKEND = process.env.IMAGEREWARD_TEST_BACKEND ?? 'wasm';
const WEBP = ['1.webp', '2.webp', '3.webp', '4.webp'];

interface Ranked { prompt: string; generations: string[]; ranking: number[] }

function metadataOf(path: string): Readonly<Record<string, string>> {
  const reader = SafetensorsReader.open(path);
  try { return { ...reader.metadata }; } finally { reader.close(); }
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const populationStd = (xs: readonly number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

describe('train-head: no silent untrained head, re-normalised rewards (real process)', function () {
  this.timeout(180_000);
  let tmp: string;
  let train: string;
  let model: string[];

  before(function () {
    requireFixtures(this, 'tiny/tiny.safetensors', 'tiny/med_config.json', 'tiny/vit_config.json', 'vocab/bert-base-uncased-vocab.txt', ...WEBP.map((f) => `images/${f}`));
    tmp = mkdtempSync(join(tmpdir(), 'ir-trainhead-'));
    for (const f of WEBP) copyFileSync(fixturePath(`images/${f}`), join(tmp, f));
    const rng = new SeededRandom(7);
    const records: Ranked[] = Array.from({ length: 12 }, (_, i) => ({
      prompt: `prompt ${i}`, generations: rng.shuffle([...WEBP]).slice(0, 3), ranking: rng.shuffle([1, 2, 3]),
    }));
    train = join(tmp, 'train.json');
    writeFileSync(train, JSON.stringify(records));
    model = ['--model', fixturePath('tiny/tiny.safetensors'), '--vocab', fixturePath('vocab/bert-base-uncased-vocab.txt'), '--backend', BACKEND, '--cache', join(tmp, 'features')];
  });

  after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  const evalRewards = async (head: string): Promise<number[]> => {
    const run = await runCli(['eval', train, ...model, '--head', head, '--json']);
    expect(run.code, run.stderr).to.equal(0);
    return (JSON.parse(run.stdout) as { rewards: number[][] }).rewards.flat();
  };

  it('defaults: writes the head with its reward scale; under --head the training rewards have mean 0 and std 1', async () => {
    const head = join(tmp, 'head.safetensors');
    const run = await runCli(['train-head', train, '-o', head, ...model, '--json']);
    expect(run.code, run.stderr).to.equal(0);
    const summary = JSON.parse(run.stdout) as { stopReason: string; rewardScale: { mean: number; std: number; source: string }; bestEpoch: number };
    expect(summary.stopReason).to.equal('ran all 10 epochs; kept the last (without --val or --val-split there is no early stopping)');
    expect(summary.rewardScale.source).to.equal('training data');
    expect(summary.rewardScale.std).to.be.greaterThan(0);
    const meta = metadataOf(head);
    expect(Number(meta.reward_mean)).to.equal(summary.rewardScale.mean);
    expect(Number(meta.reward_std)).to.equal(summary.rewardScale.std);
    const rewards = await evalRewards(head);
    expect(rewards).to.have.length(36);
    expect(Math.abs(mean(rewards))).to.be.below(1e-4);
    expect(Math.abs(populationStd(rewards) - 1)).to.be.below(1e-4);
  });

  it('--keep-upstream-scale: no scale in the file, the same raw outputs on upstream\'s constants', async () => {
    const kept = join(tmp, 'kept.safetensors');
    const run = await runCli(['train-head', train, '-o', kept, ...model, '--keep-upstream-scale', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    const { rewardScale } = JSON.parse(run.stdout) as { rewardScale: { mean: number; std: number; source: string } };
    expect(rewardScale).to.deep.equal({ mean: IMAGEREWARD_V1_HEAD.rewardMean, std: IMAGEREWARD_V1_HEAD.rewardStd, source: 'model' });
    expect(metadataOf(kept)).not.to.have.any.keys('reward_mean', 'reward_std');
    const upstream = await evalRewards(kept);
    const renormalised = await evalRewards(join(tmp, 'head.safetensors'));
    const scale = metadataOf(join(tmp, 'head.safetensors'));
    // same seed, same training: raw = r·std + mean must agree between the two files
    upstream.forEach((r, i) => {
      const raw = r * IMAGEREWARD_V1_HEAD.rewardStd + IMAGEREWARD_V1_HEAD.rewardMean;
      expect(renormalised[i]! * Number(scale.reward_std) + Number(scale.reward_mean)).to.be.closeTo(raw, 1e-5);
    });
    expect(Math.abs(mean(upstream))).to.be.greaterThan(0.1); // what the re-normalisation corrects
  });

  it('early stopping at epoch 0 (no improvement): nothing written, exit 2, why it stopped and what to change', async () => {
    // validation ranked as the base head ranks (it starts right), training the other way round:
    // every step on the training pairs raises the validation loss
    const base = await runCli(['eval', train, ...model, '--json']);
    const baseRewards = (JSON.parse(base.stdout) as { rewards: number[][] }).rewards;
    const records = JSON.parse(readFileSync(train, 'utf8')) as Ranked[];
    const byBase = records.map((r, i) => ({ ...r, ranking: baseRewards[i]!.map((x) => 1 + baseRewards[i]!.filter((y) => y > x).length) }));
    const agree = join(tmp, 'agree.json');
    const disagree = join(tmp, 'disagree.json');
    writeFileSync(agree, JSON.stringify(byBase));
    writeFileSync(disagree, JSON.stringify(byBase.map((r) => ({ ...r, ranking: r.ranking.map((k) => 4 - k) }))));
    const out = join(tmp, 'stopped.safetensors');
    const run = await runCli(['train-head', disagree, '--val', agree, '-o', out, ...model]);
    expect(run.code, run.stderr).to.equal(2);
    expect(existsSync(out)).to.equal(false);
    expect(readdirSync(tmp).filter((n) => n.startsWith('.'))).to.deep.equal([]);
    const line = run.stderr.trim().split('\n').at(-1)!;
    expect(line).to.match(/^imagereward train-head: no epoch improved on the untrained head: the validation loss was \d\.\d{4} at epoch 0 \(the head you started from\) and never lower \(best later: \d\.\d{4} at epoch [1-3]\); stopped early at epoch 3: no lower validation loss for 3 epochs \(--patience 3\); kept epoch 0\. /);
    expect(line).to.contain(`${out} was not written. The training loss fell (`);
    expect(line).to.contain('but the validation loss did not: the 36 validation pairs disagree with the 36 training pairs (too few, or ranked differently). Give more data, a larger --val-split, a larger --patience, or a smaller --lr than 0.00001.');
    const json = await runCli(['train-head', disagree, '--val', agree, '-o', out, ...model, '--json', '--quiet']);
    expect((JSON.parse(json.stdout) as { error: { code: string } }).error.code).to.equal('TRAINING_NO_IMPROVEMENT');
  });

  it('a learning rate too small to move the loss: nothing written, suggests a larger --lr', async () => {
    const out = join(tmp, 'flat.safetensors');
    const run = await runCli(['train-head', train, '-o', out, ...model, '--lr', '1e-9', '--quiet']);
    expect(run.code).to.equal(2);
    expect(existsSync(out)).to.equal(false);
    expect(run.stderr.trim()).to.match(/the training loss went from (\d\.\d{4}) at epoch 0 \(the head you started from\) to \1 at epoch 10, less than 0\.1% lower; .*The loss barely moved .*: --lr 1e-9 is too small for 10 epochs over 36 pairs; try --lr 1e-8 or more --epochs\.$/s);
  });

  it('a head file whose reward scale is not a finite mean and a positive std is refused, naming it', async () => {
    const config = tinyConfig();
    const { weights, rewardScale } = readHeadFile(join(tmp, 'head.safetensors'), config);
    expect(rewardScale?.std).to.be.greaterThan(0);
    const bad = join(tmp, 'bad-scale.safetensors');
    await writeHeadFile(bad, weights, config, { reward_mean: '0.5', reward_std: '0' });
    expect(() => readHeadFile(bad, config)).to.throw(WeightsError, `${bad}: reward_mean "0.5" and reward_std "0" in its metadata are not a finite mean and a positive std`);
  });
});
