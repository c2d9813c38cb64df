/**
 * The feature cache through the real `imagereward` process (issue 13): keyed by the weights'
 * content (sha256 of the file, or the conversion record's hash for converted `.pt` models), not the
 * path as typed or its mtime; readable folder names; `--cache` vs `--cache-dir` mix-ups refused
 * with the right flag named.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../src/weights/safetensors.js';
import { REPO_ROOT, runCli } from './helpers/cliProcess.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';

const BACKEND = process.env.IMAGEREWARD_TEST_BACKEND ?? 'wasm';
const WEBP = ['1.webp', '2.webp', '3.webp', '4.webp'];

interface FeaturesJson { records: number; images: number; reused: number; computed: number; cache: string; modelId: string }

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('feature cache keyed by model content (real process)', function () {
  this.timeout(180_000);
  let tmp: string;
  let data: string;
  let modelDir: string;

  before(function () {
    requireFixtures(this, 'tiny/tiny.safetensors', 'tiny/tiny.pt', 'tiny/med_config.json', 'tiny/vit_config.json', 'vocab/bert-base-uncased-vocab.txt', ...WEBP.map((f) => `images/${f}`));
    tmp = mkdtempSync(join(tmpdir(), 'ir-fcache-'));
    for (const f of WEBP) copyFileSync(fixturePath(`images/${f}`), join(tmp, f));
    data = join(tmp, 'data.json');
    writeFileSync(data, JSON.stringify([
      { prompt: 'a cat', generations: WEBP, ranking: [1, 2, 3, 4] },
      { prompt: 'a dog', generations: WEBP.slice(0, 2), ranking: [2, 1] },
    ]));
    // a second copy of the tiny model (weights + configs) under another path, with another mtime
    modelDir = join(tmp, 'copy');
    mkdirSync(modelDir);
    for (const f of ['tiny.safetensors', 'med_config.json', 'vit_config.json']) copyFileSync(fixturePath(`tiny/${f}`), join(modelDir, f));
    utimesSync(join(modelDir, 'tiny.safetensors'), new Date(2001, 0, 1), new Date(2001, 0, 1));
  });

  after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  const features = async (model: string, cache: string, ...extra: string[]): Promise<FeaturesJson> => {
    const run = await runCli(['features', data, '--cache', cache, '--model', model, '--vocab', fixturePath('vocab/bert-base-uncased-vocab.txt'), '--backend', BACKEND, '--json', ...extra]);
    expect(run.code, run.stderr).to.equal(0);
    return JSON.parse(run.stdout) as FeaturesJson;
  };

  it('the same weights under another path and mtime reuse every feature; the id is the file\'s sha256', async () => {
    const cache = join(tmp, 'cache-a');
    const first = await features(fixturePath('tiny/tiny.safetensors'), cache);
    expect(first).to.include({ images: 6, reused: 0, computed: 6 });
    expect(first.modelId).to.match(new RegExp(`^sha256:${sha256(fixturePath('tiny/tiny.safetensors'))}#[0-9a-f]{12}$`));
    const copy = await features(join(modelDir, 'tiny.safetensors'), cache);
    expect(copy).to.include({ images: 6, reused: 6, computed: 0, modelId: first.modelId });
    const viaFolder = await features(modelDir, cache);
    expect(viaFolder).to.include({ reused: 6, computed: 0, modelId: first.modelId });
  });

  it('folder names are visible and say which model: <name>-<hash>/ with model.json, plus model-hashes.json', async () => {
    const cache = join(tmp, 'cache-a');
    const top = readdirSync(cache).sort();
    expect(top).to.have.length(2);
    expect(top[0]).to.equal('model-hashes.json');
    expect(top[1]).to.match(/^tiny-[0-9a-f]{12}$/);
    const folder = join(cache, top[1]!);
    const about = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8')) as Record<string, string>;
    expect(about.model_id).to.match(/^sha256:[0-9a-f]{64}#/);
    expect(about.model).to.equal(fixturePath('tiny/tiny.safetensors'));
    const names: string[] = [];
    const walk = (d: string): void => { for (const n of readdirSync(d)) { names.push(n); if (!n.includes('.')) walk(join(d, n)); } };
    walk(folder);
    expect(names.filter((n) => n.startsWith('.'))).to.deep.equal([]);
    expect(names.filter((n) => n.endsWith('.safetensors'))).to.have.length(6);
    // two paths hashed once each (the memo keeps hashes; the key includes path, inode, size and mtime)
    const memo = JSON.parse(readFileSync(join(cache, 'model-hashes.json'), 'utf8')) as { hashes: Record<string, string> };
    expect(new Set(Object.values(memo.hashes))).to.deep.equal(new Set([sha256(fixturePath('tiny/tiny.safetensors'))]));
  });

  it('other weights under the same path get another id and are computed again', async () => {
    const cache = join(tmp, 'cache-b');
    const dir = join(tmp, 'edited');
    mkdirSync(dir);
    for (const f of ['med_config.json', 'vit_config.json']) copyFileSync(fixturePath(`tiny/${f}`), join(dir, f));
    const path = join(dir, 'tiny.safetensors');
    copyFileSync(fixturePath('tiny/tiny.safetensors'), path);
    const before = await features(path, cache);
    const { metadata, tensors } = readSafetensors(path);
    const norm = tensors.get('blip.visual_encoder.norm.weight')!;
    (norm.data as Float32Array)[0]! += 0.5;
    await writeSafetensors(path, [...tensors].map(([name, t]) => ({ name, ...t })), metadata);
    const after = await features(path, cache);
    expect(after.modelId).not.to.equal(before.modelId);
    expect(after).to.include({ reused: 0, computed: 6 });
  });

  it('a .pt model is identified by its conversion record\'s sha256 (no second hash of the converted file)', async () => {
    const cache = join(tmp, 'cache-pt');
    const modelCache = join(tmp, 'models');
    const pt = join(tmp, 'pt');
    mkdirSync(pt);
    for (const f of ['tiny.pt', 'med_config.json', 'vit_config.json']) copyFileSync(fixturePath(`tiny/${f}`), join(pt, f));
    const result = await features(join(pt, 'tiny.pt'), cache, '--cache-dir', modelCache);
    const converted = readdirSync(join(modelCache, 'converted')).filter((n) => n.endsWith('.safetensors'));
    expect(converted).to.have.length(1);
    const record = JSON.parse(readFileSync(join(modelCache, 'converted', `${converted[0]}.record.json`), 'utf8')) as { output: { sha256: string } };
    expect(result.modelId).to.match(new RegExp(`^sha256:${record.output.sha256}#`));
    expect(record.output.sha256).to.equal(sha256(join(modelCache, 'converted', converted[0]!)));
    expect(existsSync(join(cache, 'model-hashes.json'))).to.equal(false);
  });

  it('--cache-dir without --cache on features / train-head / eval is refused naming --cache; --cache on score names --cache-dir', async () => {
    const model = ['--model', fixturePath('tiny/tiny.safetensors'), '--vocab', fixturePath('vocab/bert-base-uncased-vocab.txt')];
    const train = await runCli(['train-head', data, '-o', join(tmp, 'head.safetensors'), '--cache-dir', 'feats', ...model]);
    expect(train.code).to.equal(2);
    expect(train.stderr.trim()).to.equal('imagereward train-head: --cache-dir feats is the model cache (downloads, conversions), not the feature cache: pass --cache feats for the features (or set IMAGEREWARD_CACHE to move the model cache and keep the features in memory); give both flags if you meant both');
    const feats = await runCli(['features', data, '--cache-dir', 'feats', ...model]);
    expect(feats.code).to.equal(2);
    expect(feats.stderr.trim()).to.equal('imagereward features: --cache-dir feats is the model cache (downloads, conversions), not the feature cache: pass --cache feats for the features; give both flags if you meant both');
    const evalRun = await runCli(['eval', data, '--cache-dir', 'feats', ...model]);
    expect(evalRun.code).to.equal(2);
    expect(evalRun.stderr).to.contain('pass --cache feats for the features');
    const score = await runCli(['score', '--cache', 'feats', '--prompt', 'x', ...model, join(tmp, '1.webp')]);
    expect(score.code).to.equal(2);
    expect(score.stderr).to.contain('(score has no feature cache: --cache DIR belongs to features, eval and train-head; the model cache is --cache-dir DIR)');
    expect(existsSync(join(REPO_ROOT, 'feats')), 'a refused run created ./feats').to.equal(false);
  });
});
