/**
 * SIGINT / SIGTERM in the middle of a job (issue 13), through the real `imagereward` process:
 * convert, features, train-head and a download leave no temp file (no hidden `.tmp`, no `.verify`
 * copy, no lock) and exit 130 / 143, saying what was undone. A download keeps its visible
 * `.partial`, which the next run resumes.
 */
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { makeConfig, parseMedConfig, parseVitConfig } from '../src/model/config.js';
import { checkpointKeys } from '../src/model/checkpoint.js';
import { runCli } from './helpers/cliProcess.js';
import { FakeHub } from './helpers/fakeHub.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { stateDictPickle, torchArchive } from './helpers/torchzip.js';

const BACKEND = process.env.IMAGEREWARD_TEST_BACKEND ?? 'wasm';
const WEBP = ['1.webp', '2.webp', '3.webp', '4.webp'];

/** Every file under `dir`, relative to it, sorted. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

/** Files a killed job must not leave: hidden temp files, verification copies, locks. */
function leftovers(dir: string): string[] {
  return filesUnder(dir).filter((f) => f.split('/').some((part) => part.startsWith('.')) || /\.(tmp|verify|lock)$|\.lock\./.test(f));
}

/**
 * A checkpoint of the tiny layout with a 300-block ViT of width 16 (3677 small tensors, ~6 MB):
 * converting it takes about a second and a half, long enough to be interrupted half-way.
 */
function deepCheckpoint(dir: string): { pt: string; med: string; vit: string } {
  const vitJson = { ...JSON.parse(readFileSync(fixturePath('tiny/vit_config.json'), 'utf8')) as object, depth: 300, embed_dim: 16, num_heads: 1 };
  const medJson = {
    ...JSON.parse(readFileSync(fixturePath('tiny/med_config.json'), 'utf8')) as object,
    hidden_size: 16, num_attention_heads: 1, intermediate_size: 16, encoder_width: 16, vocab_size: 64,
  };
  const vit = join(dir, 'vit_config.json');
  const med = join(dir, 'med_config.json');
  writeFileSync(vit, JSON.stringify(vitJson));
  writeFileSync(med, JSON.stringify(medJson));
  const config = makeConfig(parseVitConfig(JSON.stringify(vitJson), vit), parseMedConfig(JSON.stringify(medJson), med));
  const storages: Record<string, Uint8Array> = {};
  const tensors = checkpointKeys(config).map((spec, i) => {
    const numel = spec.shape.reduce((a, b) => a * b, 1);
    storages[String(i)] = new Uint8Array(numel * (spec.integer ? 8 : 4));
    return { key: spec.key, storageClass: spec.integer ? 'LongStorage' : 'FloatStorage', storageKey: String(i), numel, shape: spec.shape };
  });
  const pt = join(dir, 'deep.pt');
  writeFileSync(pt, torchArchive(stateDictPickle(tensors), storages));
  return { pt, med, vit };
}

describe('signals during long jobs (real process)', function () {
  this.timeout(180_000);
  let tmp: string;
  let model: string[];

  before(function () {
    requireFixtures(this, 'tiny/tiny.safetensors', 'tiny/tiny.pt', 'tiny/med_config.json', 'tiny/vit_config.json', 'vocab/bert-base-uncased-vocab.txt', ...WEBP.map((f) => `images/${f}`));
    tmp = mkdtempSync(join(tmpdir(), 'ir-signals-'));
    model = ['--model', fixturePath('tiny/tiny.safetensors'), '--vocab', fixturePath('vocab/bert-base-uncased-vocab.txt'), '--backend', BACKEND];
  });

  after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  /** A dataset of `prompts` prompts over the four fixture images, in its own folder. */
  function dataset(name: string, prompts: number): string {
    const dir = join(tmp, name);
    mkdirSync(dir);
    for (const f of WEBP) copyFileSync(fixturePath(`images/${f}`), join(dir, f));
    const records = Array.from({ length: prompts }, (_, i) => ({ prompt: `prompt number ${i}`, generations: WEBP, ranking: [1, 2, 3, 4] }));
    writeFileSync(join(dir, 'data.json'), JSON.stringify(records));
    return join(dir, 'data.json');
  }

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`convert: ${signal} half-way removes the hidden temp output and exits ${code}`, async () => {
      const dir = join(tmp, `convert-${signal}`);
      mkdirSync(dir);
      const { pt, med, vit } = deepCheckpoint(dir);
      const out = join(dir, 'out.safetensors');
      const run = await runCli(['convert', pt, '--med-config', med, '--vit-config', vit, '-o', out], { signalWhen: (e) => (/^convert: \d+\/3677 tensors/m.test(e) ? signal : undefined) });
      expect(run.code, run.stderr).to.equal(code);
      expect(filesUnder(dir)).to.deep.equal(['deep.pt', 'med_config.json', 'vit_config.json']);
      expect(run.stderr.trim().split('\n').at(-1)).to.match(new RegExp(`^imagereward convert: interrupted by ${signal}; removed \\.out\\.safetensors\\.\\d+\\.[0-9a-f]{8}\\.tmp$`));
    });
  }

  it('features: SIGINT after some entries keeps the finished ones, leaves no temp file, and the next run resumes', async () => {
    const data = dataset('features', 20);
    const cache = join(tmp, 'features-cache');
    const run = await runCli(['features', data, '--cache', cache, ...model], { signalWhen: (e) => (/^features: [1-7]\d\/80 images/m.test(e) ? 'SIGINT' : undefined) });
    expect(run.code, run.stderr).to.equal(130);
    expect(run.stderr).to.match(/\nimagereward features: interrupted by SIGINT(; removed [^\n]+)?\n$/);
    expect(leftovers(cache)).to.deep.equal([]);
    const kept = filesUnder(cache).filter((f) => f.endsWith('.safetensors')).length;
    expect(kept).to.be.within(10, 79);
    const again = await runCli(['features', data, '--cache', cache, ...model, '--json']);
    expect(again.code, again.stderr).to.equal(0);
    const summary = JSON.parse(again.stdout) as { reused: number; computed: number };
    expect(summary).to.include({ reused: kept, computed: 80 - kept });
  });

  it('train-head: SIGTERM while computing features writes no head, no temp file, and exits 143', async () => {
    const data = dataset('train', 20);
    const outDir = join(tmp, 'train-out');
    mkdirSync(outDir);
    const cache = join(tmp, 'train-cache');
    const run = await runCli(['train-head', data, '-o', join(outDir, 'head.safetensors'), '--cache', cache, ...model], { signalWhen: (e) => (/^features: [1-7]\d\/80 images/m.test(e) ? 'SIGTERM' : undefined) });
    expect(run.code, run.stderr).to.equal(143);
    expect(filesUnder(outDir)).to.deep.equal([]);
    expect(leftovers(cache)).to.deep.equal([]);
  });

  describe('download', () => {
    let hub: FakeHub;
    const pt = () => readFileSync(fixturePath('tiny/tiny.pt'));

    before(async () => {
      hub = new FakeHub(new Map([
        ['THUDM/ImageReward/ImageReward.pt', new Uint8Array(pt())],
        ['THUDM/ImageReward/med_config.json', new Uint8Array(readFileSync(fixturePath('tiny/med_config.json')))],
      ]));
      hub.stallAfter = 65536;
      await hub.start();
    });

    after(async () => { await hub?.stop(); });

    it('SIGINT during a stalled download removes the lock, keeps the visible .partial (and says so), exits 130; the next run resumes it', async () => {
      const cacheDir = join(tmp, 'hub-cache');
      const partial = join(cacheDir, 'THUDM', 'ImageReward', 'ImageReward.pt.partial');
      const argv = ['score', '--model', 'ImageReward-v1.0', '--vocab', fixturePath('vocab/bert-base-uncased-vocab.txt'), '--vit-config', fixturePath('tiny/vit_config.json'),
        '--backend', BACKEND, '--cache-dir', cacheDir, '--prompt', 'a cat', fixturePath('images/1.webp')];
      const env = { ...process.env, HF_ENDPOINT: hub.endpoint };
      const run = await runCli(argv, { env, signalPoll: () => (existsSync(partial) && statSync(partial).size === 65536 ? 'SIGINT' : undefined) });
      expect(run.code, run.stderr).to.equal(130);
      expect(run.stderr.trim().split('\n').at(-1)).to.equal(`imagereward score: interrupted by SIGINT; kept 0.1 MiB downloaded in ${partial}: the next run resumes it (delete it to start over)`);
      expect(filesUnder(cacheDir)).to.deep.equal(['THUDM/ImageReward/ImageReward.pt.partial']);
      expect(leftovers(cacheDir)).to.deep.equal([]);

      hub.stallAfter = undefined;
      const again = await runCli([...argv, '--json'], { env });
      expect(again.code, again.stderr).to.equal(0);
      const ranges = hub.requests.filter((r) => r.url.startsWith('/cdn/THUDM/ImageReward/ImageReward.pt')).map((r) => r.range);
      expect(ranges).to.deep.equal([undefined, 'bytes=65536-']);
      expect(readFileSync(join(cacheDir, 'THUDM', 'ImageReward', 'ImageReward.pt')).equals(pt())).to.equal(true);
      expect(leftovers(cacheDir)).to.deep.equal([]);
    });
  });
});
