import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ImageReward, ImageRewardError, InputError, FileError, ConfigError, WeightsError, IMAGEREWARD_V1_HEAD } from '../src/index.js';
import { writeHeadFile } from '../src/model/headFile.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { GOLDEN_FILES, goldenValues, readGolden, type Golden } from './helpers/golden.js';
import { readSafetensors } from '../src/weights/safetensors.js';
import { FakeHub } from './helpers/fakeHub.js';
import { maxAbsDiff, rejection } from './helpers/assert.js';

const TINY = ['tiny/tiny.safetensors', 'tiny/med_config.json', 'tiny/vit_config.json', 'vocab/bert-base-uncased-vocab.txt'];
const WEBP = ['1.webp', '2.webp', '3.webp', '4.webp'].map((f) => `images/${f}`);
const BACKEND = process.env.IMAGEREWARD_TEST_BACKEND ?? 'wasm';

function loadTiny(path = fixturePath('tiny/tiny.safetensors'), extra: Parameters<typeof ImageReward.load>[1] = {}): Promise<ImageReward> {
  return ImageReward.load(path, { backend: BACKEND, vocab: fixturePath('vocab/bert-base-uncased-vocab.txt'), log: null, ...extra });
}

describe(`ImageReward API (tiny model, ${BACKEND})`, () => {
  let golden: Golden;
  let model: ImageReward;
  let images: string[];

  before(async function () {
    requireFixtures(this, ...TINY, ...WEBP, ...GOLDEN_FILES, 'images/preprocessed.safetensors');
    golden = readGolden();
    images = golden.images.map((i) => fixturePath(`images/${i.file}`));
    model = await loadTiny();
  });

  after(() => model?.dispose());

  it('takes its configs from med_config.json / vit_config.json beside a metadata-less safetensors', () => {
    const d = model.description;
    expect(d.configOrigin).to.deep.equal({ med: fixturePath('tiny/med_config.json'), vit: fixturePath('tiny/vit_config.json') });
    expect(d.config.vit.embedDim).to.equal(64);
    expect(d.config.med.numHiddenLayers).to.equal(2);
    expect(d.source.origin).to.equal('safetensors');
    expect(d.storedDtype).to.equal('F32');
  });

  it('rank(prompt, images) gives the golden rewards (<= 1e-5) and ranks for every prompt, from text and files', async () => {
    for (const p of golden.prompts) {
      const { rewards, ranking } = await model.rank(p.text, images);
      const err = maxAbsDiff(rewards, goldenValues(golden, `p${p.index}.rank.rewards`));
      expect(err, `prompt ${p.name}`).to.be.at.most(1e-5);
      expect(ranking).to.deep.equal(goldenValues(golden, `p${p.index}.rank.ranks`));
      const perImage = images.map((_, j) => goldenValues(golden, `p${p.index}.img${j}.reward`)[0]!);
      expect(maxAbsDiff(rewards, perImage)).to.be.at.most(1e-5);
    }
  });

  it('score(prompt, image) returns one number, score(prompt, images) an array', async () => {
    const one = await model.score(golden.prompts[0]!.text, images[2]!);
    expect(one).to.be.a('number');
    expect(Math.abs(one - goldenValues(golden, 'p0.img2.reward')[0]!)).to.be.at.most(1e-5);
    const many = await model.score(golden.prompts[0]!.text, [images[2]!]);
    expect(many).to.have.length(1);
    expect(many[0]).to.equal(one);
  });

  it('scoreMany pairs prompts with images and encodes each distinct image once', async () => {
    const encoded: number[] = [];
    const original = model.model.encodeImages.bind(model.model);
    model.model.encodeImages = (pixels) => { encoded.push(pixels.shape[0]); return original(pixels); };
    try {
      const prompts = golden.prompts.flatMap((p) => images.map(() => p.text));
      const paired = golden.prompts.flatMap(() => images);
      const rewards = await model.scoreMany(prompts, paired);
      const expected = golden.prompts.flatMap((p) => images.map((_, j) => goldenValues(golden, `p${p.index}.img${j}.reward`)[0]!));
      expect(maxAbsDiff(rewards, expected)).to.be.at.most(1e-5);
      // 12 pairs, 4 distinct images, batch size 4: one encoder call with 4 images.
      expect(encoded).to.deep.equal([4]);
    } finally {
      model.model.encodeImages = original;
    }
  });

  it('batches the image encoder by batchSize', async () => {
    const small = await loadTiny(undefined, { batchSize: 3 });
    const encoded: number[] = [];
    const original = small.model.encodeImages.bind(small.model);
    small.model.encodeImages = (pixels) => { encoded.push(pixels.shape[0]); return original(pixels); };
    try {
      const rewards = await small.score(golden.prompts[1]!.text, images);
      expect(encoded).to.deep.equal([3, 1]);
      expect(maxAbsDiff(rewards, goldenValues(golden, 'p1.rank.rewards'))).to.be.at.most(1e-5);
    } finally {
      small.dispose();
    }
  });

  it('features() returns the golden CLS vectors (<= 1e-4), for one prompt or paired prompts', async () => {
    const cls = await model.features(golden.prompts[0]!.text, images);
    cls.forEach((c, j) => expect(maxAbsDiff(c, goldenValues(golden, `p0.img${j}.cls`))).to.be.at.most(1e-4));
    const paired = await model.features([golden.prompts[2]!.text, golden.prompts[1]!.text], [images[3]!, images[0]!]);
    expect(maxAbsDiff(paired[0]!, goldenValues(golden, 'p2.img3.cls'))).to.be.at.most(1e-4);
    expect(maxAbsDiff(paired[1]!, goldenValues(golden, 'p1.img0.cls'))).to.be.at.most(1e-4);
  });

  it('intermediates() match the golden intermediates (<= 1e-4), ids exactly, pixels <= 1e-6', async () => {
    const named = await model.intermediates(golden.prompts[0]!.text, images[0]!, { attentions: true });
    expect(Array.from(named.get('input_ids')!.data)).to.deep.equal(goldenValues(golden, 'p0.input_ids'));
    expect(Array.from(named.get('attention_mask')!.data)).to.deep.equal(goldenValues(golden, 'p0.attention_mask'));
    const pre = readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors.get('1.webp')!;
    expect(maxAbsDiff(named.get('pixel_values')!.data, pre.data as Float32Array)).to.be.at.most(1e-6);
    const pairs: [string, string][] = [
      ['vit.patch_embed', 'img0.vit.patch_embed'], ['vit.block0', 'img0.vit.block0'], ['vit.block1', 'img0.vit.block1'],
      ['vit.norm', 'img0.vit.norm'], ['bert.embeddings', 'p0.bert.embeddings'],
      ...[0, 1].flatMap((l) => ['attention', 'crossattention', 'output'].map((k): [string, string] => [`bert.layer${l}.${k}`, `p0.img0.bert.layer${l}.${k}`])),
      ['cls', 'p0.img0.cls'], ...[0, 2, 4, 6, 7].map((i): [string, string] => [`mlp.layers.${i}`, `p0.img0.mlp.layers.${i}`]),
      ['reward', 'p0.img0.reward'], ['attn.vit.block0.probs', 'attn.vit.block0.probs'],
      ['attn.bert.layer0.crossattention.probs', 'attn.bert.layer0.crossattention.probs'],
    ];
    for (const [ours, theirs] of pairs) {
      const t = named.get(ours);
      expect(t, ours).to.not.equal(undefined);
      expect(t!.shape, ours).to.deep.equal(golden.tensors.get(theirs)!.shape);
      expect(maxAbsDiff(t!.data, goldenValues(golden, theirs)), ours).to.be.at.most(theirs.endsWith('reward') ? 1e-5 : 1e-4);
    }
  });

  it('accepts encoded bytes and preprocessed tensors ([1,3,S,S] and [3,S,S]) as images', async () => {
    const pre = readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors.get('2.webp')!;
    const t4 = tf.tensor4d(pre.data as Float32Array, [1, 3, 224, 224]);
    const t3 = tf.tensor3d(pre.data as Float32Array, [3, 224, 224]);
    try {
      const rewards = await model.score(golden.prompts[0]!.text, [readFileSync(images[1]!), t4, t3]);
      const expected = goldenValues(golden, 'p0.img1.reward')[0]!;
      for (const r of rewards) expect(Math.abs(r - expected)).to.be.at.most(1e-5);
    } finally {
      tf.dispose([t4, t3]);
    }
  });

  it('leaves no tensor behind (score, scoreMany, features, intermediates, and a failing call)', async () => {
    const before = tf.memory().numTensors;
    await model.rank(golden.prompts[0]!.text, [images[0]!, images[1]!, images[0]!]);
    await model.scoreMany(['a', 'b'], [images[0]!, images[0]!]);
    await model.features('a', [images[1]!]);
    await model.intermediates('a', images[1]!, { attentions: true });
    await rejection(model.score('a', [images[0]!, '/nonexistent.png']));
    const small = await loadTiny(undefined, { batchSize: 1 });
    const afterLoad = tf.memory().numTensors;
    await rejection(small.score('a', [images[0]!, '/nonexistent.png'])); // fails in the second encoder batch
    expect(tf.memory().numTensors).to.equal(afterLoad);
    small.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  describe('rejects bad input with InputError', () => {
    it('empty image list, empty prompt list, mismatched lengths', async () => {
      for (const [p, msg] of [
        [model.score('x', []), 'score: the list of images is empty'],
        [model.rank('x', []), 'rank: the list of images is empty'],
        [model.scoreMany([], []), 'scoreMany: the list of prompts is empty'],
        [model.scoreMany(['a', 'b'], [images[0]!]), 'scoreMany: 2 prompts but 1 images'],
        [model.features(['a'], [images[0]!, images[1]!]), 'features: 1 prompts but 2 images'],
      ] as const) {
        const err = await rejection(p);
        expect(err).to.be.instanceOf(InputError);
        expect(err.message).to.contain(msg);
      }
    });

    it('NaN in a tensor, wrong tensor shape or dtype, a non-string prompt, a non-image', async () => {
      const nan = tf.fill([1, 3, 224, 224], NaN);
      const wrong = tf.zeros([1, 3, 32, 32]);
      const ints = tf.zeros([3, 224, 224], 'int32');
      try {
        const cases: [Promise<unknown>, RegExp][] = [
          [model.score('x', nan), /tensor value NaN at flat index 0 is not finite/],
          [model.score('x', wrong), /must be a tensor of shape \[1,3,224,224\] or \[3,224,224\], got \[1,3,32,32\]/],
          [model.score('x', ints), /must be float32, got int32/],
          [model.score(42 as unknown as string, images[0]!), /prompt 0: expected a string, got number/],
          [model.score('x', [images[0]!, 7 as unknown as string]), /image 1: expected a file path or file: URL, encoded PNG\/JPEG\/WebP bytes .*, got a number$/],
        ];
        for (const [p, re] of cases) {
          const err = await rejection(p);
          expect(err).to.be.instanceOf(InputError);
          expect(err.message).to.match(re);
        }
      } finally {
        tf.dispose([nan, wrong, ints]);
      }
    });

    it('a missing image file names the file', async () => {
      const err = await rejection(model.score('x', '/nonexistent/cat.png'));
      expect(err.message).to.contain('/nonexistent/cat.png');
    });
  });
});

describe('ImageReward.load: model sources', () => {
  let cacheDir: string;
  let workDir: string;

  before(function () {
    requireFixtures(this, ...TINY, 'tiny/tiny.pt', ...GOLDEN_FILES, 'images/1.webp', 'images/2.webp');
  });

  beforeEach(() => {
    cacheDir = mkdtempSync(join(tmpdir(), 'ir-cache-'));
    workDir = mkdtempSync(join(tmpdir(), 'ir-work-'));
  });

  afterEach(() => {
    rmSync(cacheDir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });

  it('converts a .pt once into the cache and reuses it', async () => {
    const golden = readGolden();
    const lines: string[] = [];
    const first = await loadTiny(fixturePath('tiny/tiny.pt'), { cacheDir, log: (l) => lines.push(l) });
    const converted = first.description.source.weightsPath;
    expect(converted.startsWith(join(cacheDir, 'converted', 'tiny-'))).to.equal(true);
    expect(first.description.configOrigin).to.deep.equal({ med: 'metadata', vit: 'metadata' });
    const reward = await first.score(golden.prompts[0]!.text, fixturePath('images/1.webp'));
    expect(Math.abs(reward - goldenValues(golden, 'p0.img0.reward')[0]!)).to.be.at.most(1e-5);
    first.dispose();
    const second = await loadTiny(fixturePath('tiny/tiny.pt'), { cacheDir, log: (l) => lines.push(l) });
    second.dispose();
    expect(second.description.source.weightsPath).to.equal(converted);
    expect(lines.filter((l) => l.includes('converting'))).to.have.length(1);
  });

  it('loads a directory holding one weights file, its configs and vocab.txt', async () => {
    const dir = join(workDir, 'tiny');
    mkdirSync(dir);
    symlinkSync(fixturePath('tiny/tiny.safetensors'), join(dir, 'model.safetensors'));
    for (const f of ['med_config.json', 'vit_config.json']) copyFileSync(fixturePath(`tiny/${f}`), join(dir, f));
    copyFileSync(fixturePath('vocab/bert-base-uncased-vocab.txt'), join(dir, 'vocab.txt'));
    const model = await ImageReward.load(dir, { backend: BACKEND, log: null, cacheDir });
    model.dispose();
    expect(model.description.source.origin).to.equal('directory');
    expect(model.description.source.vocabPath).to.equal(join(dir, 'vocab.txt'));
    expect(model.description.config.vit.embedDim).to.equal(64);
  });

  it('refuses an ambiguous directory, naming the candidates', async () => {
    const err = await rejection(loadTiny(fixturePath('tiny'), { cacheDir }));
    expect(err).to.be.instanceOf(FileError);
    expect(err.message).to.match(/has 2 \.safetensors files \((golden|tiny)\.safetensors, (golden|tiny)\.safetensors\)/);
  });

  it('names a model path that does not exist', async () => {
    const err = await rejection(loadTiny(join(workDir, 'nope.safetensors'), { cacheDir }));
    expect(err).to.be.instanceOf(FileError);
    expect(err.message).to.contain(`model ${join(workDir, 'nope.safetensors')} not found (no such file)`);
    expect(err.message).to.contain('ImageReward-v1.0');
  });

  it('uses the v1.0 defaults when a safetensors has neither metadata nor configs beside it, and says what does not fit', async () => {
    symlinkSync(fixturePath('tiny/tiny.safetensors'), join(workDir, 'alone.safetensors'));
    const err = await rejection(loadTiny(join(workDir, 'alone.safetensors'), { cacheDir }));
    expect(err.message).to.match(/weights do not fit the ImageReward config/);
  });

  it('refuses a vocab larger than the model embedding', async () => {
    const err = await rejection(loadTiny(undefined, { cacheDir, medConfig: join(workDir, 'small.json') }));
    expect(err).to.be.instanceOf(FileError);
    const small = JSON.parse(readFileSync(fixturePath('tiny/med_config.json'), 'utf8')) as Record<string, unknown>;
    small.vocab_size = 1000;
    writeFileSync(join(workDir, 'small.json'), JSON.stringify(small));
    const err2 = await rejection(loadTiny(undefined, { cacheDir, medConfig: join(workDir, 'small.json') }));
    expect(err2).to.be.instanceOf(ConfigError);
    expect(err2.message).to.contain('has 30524 tokens but the model embeds only 1000');
  });

  it('overlays a head-only file (--head) on the base model', async () => {
    const headPath = join(workDir, 'head.safetensors');
    const plain = await loadTiny(undefined, { cacheDir });
    const layers = [...(await plain.headWeights()).layers];
    layers[4] = { weight: new Float32Array(16), bias: Float32Array.of(1.5) }; // mlp.layers.7: a constant raw reward 1.5
    await writeHeadFile(headPath, { layers }, plain.config, {});
    plain.dispose();
    const model = await loadTiny(undefined, { cacheDir, head: headPath });
    const rewards = await model.score('a cat', [fixturePath('images/1.webp'), fixturePath('images/2.webp')]);
    model.dispose();
    expect(model.description.head).to.equal(headPath);
    const expected = (1.5 - IMAGEREWARD_V1_HEAD.rewardMean) / IMAGEREWARD_V1_HEAD.rewardStd;
    for (const r of rewards) expect(Math.abs(r - expected)).to.be.at.most(1e-6);
    const notHead = join(workDir, 'not-head.safetensors');
    symlinkSync(fixturePath('tiny/tiny.safetensors'), notHead);
    const err = await rejection(loadTiny(undefined, { cacheDir, head: notHead }));
    expect(err).to.be.instanceOf(WeightsError);
    expect(err.message).to.contain('not a head tensor');
  });

  it('"ImageReward-v1.0" downloads the hub files once, converts once, then works offline', async () => {
    const golden = readGolden();
    const hub = new FakeHub(new Map([
      ['THUDM/ImageReward/ImageReward.pt', readFileSync(fixturePath('tiny/tiny.pt'))],
      ['THUDM/ImageReward/med_config.json', readFileSync(fixturePath('tiny/med_config.json'))],
      ['google-bert/bert-base-uncased/vocab.txt', readFileSync(fixturePath('vocab/bert-base-uncased-vocab.txt'))],
    ]));
    await hub.start();
    // The real model is ViT-L; the tiny stand-in needs its own ViT config.
    const options = { backend: BACKEND, log: null, cacheDir, endpoint: hub.endpoint, progress: false, vitConfig: fixturePath('tiny/vit_config.json') };
    try {
      const model = await ImageReward.load('ImageReward-v1.0', options);
      const reward = await model.score(golden.prompts[0]!.text, fixturePath('images/1.webp'));
      model.dispose();
      expect(Math.abs(reward - goldenValues(golden, 'p0.img0.reward')[0]!)).to.be.at.most(1e-5);
      expect(model.description.source.weightsPath).to.equal(join(cacheDir, 'THUDM', 'ImageReward', 'ImageReward.safetensors'));
      expect(model.description.source.vocabPath).to.equal(join(cacheDir, 'google-bert', 'bert-base-uncased', 'vocab.txt'));
      expect(existsSync(join(cacheDir, 'THUDM', 'ImageReward', 'ImageReward.pt'))).to.equal(true);
      expect(hub.requests.filter((r) => r.url.startsWith('/cdn/'))).to.have.length(3);
    } finally {
      await hub.stop();
    }
    const again = await ImageReward.load('ImageReward-v1.0', { ...options, offline: true });
    again.dispose();
    expect(hub.requests.filter((r) => r.url.startsWith('/cdn/'))).to.have.length(3);
    // The default vocab keeps its published sha256: a cached copy that changed is refused on load.
    const cachedVocab = join(cacheDir, 'google-bert', 'bert-base-uncased', 'vocab.txt');
    writeFileSync(cachedVocab, `${readFileSync(cachedVocab, 'utf8')}extra-token\n`);
    const err = await rejection(ImageReward.load('ImageReward-v1.0', { ...options, offline: true }));
    expect((err as ImageRewardError).code).to.equal('VOCAB_INVALID');
    expect(err.message).to.contain(cachedVocab);
    expect(err.message).to.match(/sha256/);
  });

  it('"ImageReward-v1.0" offline with an empty cache lists the files to place', async () => {
    const err = await rejection(ImageReward.load('ImageReward-v1.0', { backend: BACKEND, log: null, cacheDir, offline: true }));
    expect(err.message).to.contain('offline mode is on');
    for (const path of [['THUDM', 'ImageReward', 'ImageReward.pt'], ['THUDM', 'ImageReward', 'med_config.json'], ['google-bert', 'bert-base-uncased', 'vocab.txt']]) {
      expect(err.message).to.contain(`-> ${join(cacheDir, ...path)}`);
    }
    expect(err.message).to.contain('https://huggingface.co/THUDM/ImageReward/resolve/main/ImageReward.pt');
  });
});
