/**
 * CLI habits (issue 13 part 3), each through the real `imagereward` process: progress lines and
 * --quiet, partial results of `score`, stdin for `tokenize`, `preprocess` names, `inspect --out`
 * into a missing folder, the one-line backend report and --verbose.
 */
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../src/weights/safetensors.js';
import { maxAbsDiff } from './helpers/assert.js';
import { runCli } from './helpers/cliProcess.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { GOLDEN_FILES, goldenValues, readGolden, type Golden } from './helpers/golden.js';
import { blasUnavailableReason } from './helpers/blas.js';

const BACKEND = process.env.IMAGEREWARD_TEST_BACKEND ?? 'wasm';
const WEBP = ['1.webp', '2.webp', '3.webp', '4.webp'];

interface ScoreJson {
  prompt: string;
  images: string[];
  rewards: (number | null)[];
  ranking: (number | null)[];
  errors?: { index: number; image: string; code: string; message: string }[];
}

describe('CLI habits (real process)', function () {
  this.timeout(120_000);
  let golden: Golden;
  let tmp: string;
  let model: string[];
  let images: string[];

  before(function () {
    requireFixtures(this, 'tiny/tiny.safetensors', 'tiny/tiny.pt', 'tiny/med_config.json', 'tiny/vit_config.json',
      'vocab/bert-base-uncased-vocab.txt', 'images/preprocessed.safetensors', ...WEBP.map((f) => `images/${f}`), ...GOLDEN_FILES);
    golden = readGolden();
    images = WEBP.map((f) => fixturePath(`images/${f}`));
    model = ['--model', fixturePath('tiny/tiny.safetensors'), '--vocab', fixturePath('vocab/bert-base-uncased-vocab.txt'), '--backend', BACKEND];
    tmp = mkdtempSync(join(tmpdir(), 'ir-habits-'));
  });

  after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  describe('progress', () => {
    const convertArgs = () => [fixturePath('tiny/tiny.pt'), '--med-config', fixturePath('tiny/med_config.json'), '--vit-config', fixturePath('tiny/vit_config.json')];

    it('convert prints plain progress lines (not a terminal) ending at 101/101 tensors with a rate', async () => {
      const run = await runCli(['convert', ...convertArgs(), '-o', join(tmp, 'p.safetensors')]);
      expect(run.code, run.stderr).to.equal(0);
      const lines = run.stderr.trim().split('\n');
      expect(lines.every((l) => /^convert: \d+\/101 tensors \(\d+%\)/.test(l)), run.stderr).to.equal(true);
      expect(lines.at(-1)).to.match(/^convert: 101\/101 tensors \(100%\), [\d.]+ tensors\/s$/);
      expect(run.stderr).not.to.contain('\r');
    });

    it('score prints the backend line and score progress; --quiet prints nothing on stderr', async () => {
      const loud = await runCli(['score', ...model, '--prompt', golden.prompts[0]!.text, ...images]);
      expect(loud.code, loud.stderr).to.equal(0);
      expect(loud.stderr.trim().split('\n').at(-1)).to.match(/^score: 4\/4 images \(100%\), [\d.]+ images\/s$/);
      const quiet = await runCli(['score', ...model, '--prompt', golden.prompts[0]!.text, '--quiet', ...images]);
      expect(quiet.code, quiet.stderr).to.equal(0);
      expect(quiet.stderr).to.equal('');
      expect(quiet.stdout).to.equal(loud.stdout);
    });
  });

  describe('score with a bad image among good ones', () => {
    it('scores the others, lists the bad one under "errors" with null reward and rank, and exits 2', async () => {
      const bad = join(tmp, 'broken.png');
      writeFileSync(bad, 'this is not a PNG');
      const missing = join(tmp, 'missing.webp');
      const argv = [images[0]!, bad, images[1]!, images[2]!, missing, images[3]!];
      const run = await runCli(['score', ...model, '--prompt', golden.prompts[0]!.text, '--json', ...argv]);
      expect(run.code, run.stderr).to.equal(2);
      const result = JSON.parse(run.stdout) as ScoreJson;
      expect(Object.keys(result)).to.deep.equal(['prompt', 'images', 'rewards', 'ranking', 'errors']);
      expect(result.images).to.deep.equal(argv);
      const good = [0, 2, 3, 5];
      expect(result.rewards[1]).to.equal(null);
      expect(result.rewards[4]).to.equal(null);
      expect(maxAbsDiff(good.map((i) => result.rewards[i]!), goldenValues(golden, 'p0.rank.rewards'))).to.be.at.most(1e-5);
      expect(good.map((i) => result.ranking[i])).to.deep.equal(goldenValues(golden, 'p0.rank.ranks'));
      expect([result.ranking[1], result.ranking[4]]).to.deep.equal([null, null]);
      expect(result.errors!.map((e) => [e.index, e.image, e.code])).to.deep.equal([[1, bad, 'IMAGE_UNSUPPORTED'], [4, missing, 'FILE_UNREADABLE']]);
      expect(result.errors![1]!.message).to.contain('no such file');
      expect(run.stderr).to.contain('imagereward score: 2 of 6 image(s) could not be scored');
    });

    it('marks the bad row in the table too', async () => {
      const bad = join(tmp, 'broken2.png');
      writeFileSync(bad, 'nope');
      const run = await runCli(['score', ...model, '--prompt', golden.prompts[0]!.text, images[0]!, bad]);
      expect(run.code).to.equal(2);
      expect(run.stdout.trim().split('\n')).to.deep.equal([
        'rank  reward    image',
        `   1  ${goldenValues(golden, 'p0.img0.reward')[0]!.toFixed(4).padStart(8)}  ${images[0]}`,
        `   -     error  ${bad}`,
      ]);
    });

    it('--fail-fast stops at the bad image with the error and no results (exit 2)', async () => {
      const bad = join(tmp, 'broken3.png');
      writeFileSync(bad, 'nope');
      const run = await runCli(['score', ...model, '--prompt', 'x', '--json', '--fail-fast', images[0]!, bad, images[1]!]);
      expect(run.code).to.equal(2);
      expect(JSON.parse(run.stdout)).to.deep.equal({ error: { code: 'IMAGE_UNSUPPORTED', message: `${bad}: an unknown format is not a supported image format (supported: png, jpeg, webp)` } });
    });
  });

  describe('tokenize --input -', () => {
    it('reads JSON lines from stdin', async () => {
      const input = `${JSON.stringify({ text: golden.prompts[1]!.text })}\n\n${JSON.stringify({ text: golden.prompts[2]!.text })}\n`;
      const run = await runCli(['tokenize', '--vocab', fixturePath('vocab/bert-base-uncased-vocab.txt'), '--input', '-'], { input });
      expect(run.code, run.stderr).to.equal(0);
      const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { text: string; input_ids: number[] });
      expect(lines.map((l) => l.text)).to.deep.equal([golden.prompts[1]!.text, golden.prompts[2]!.text]);
      expect(lines[0]!.input_ids).to.deep.equal(goldenValues(golden, 'p1.input_ids'));
      expect(lines[1]!.input_ids).to.deep.equal(goldenValues(golden, 'p2.input_ids'));
    });

    it('names <stdin> and the line in a parse error', async () => {
      const run = await runCli(['tokenize', '--vocab', fixturePath('vocab/bert-base-uncased-vocab.txt'), '--input', '-'], { input: '{"text":"a"}\n{oops\n' });
      expect(run.code).to.equal(2);
      expect(run.stderr).to.match(/^imagereward tokenize: <stdin>:2: not valid JSON/m);
    });
  });

  describe('preprocess names', () => {
    it('tells a/x.webp from b/x.webp, keeps lone base names, and writes each image\'s own pixels', async () => {
      for (const d of ['a', 'b']) mkdirSync(join(tmp, 'names', d), { recursive: true });
      copyFileSync(images[0]!, join(tmp, 'names', 'a', 'x.webp'));
      copyFileSync(images[1]!, join(tmp, 'names', 'b', 'x.webp'));
      const out = join(tmp, 'names.safetensors');
      const run = await runCli(['preprocess', join(tmp, 'names', 'a', 'x.webp'), join(tmp, 'names', 'b', 'x.webp'), images[2]!, '--out', out, '--json']);
      expect(run.code, run.stderr).to.equal(0);
      const names = (JSON.parse(run.stdout) as { tensors: { name: string }[] }).tensors.map((t) => t.name);
      expect(names).to.deep.equal(['a/x.webp', 'b/x.webp', '3.webp']);
      const ours = readSafetensors(out).tensors;
      const theirs = readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors;
      expect(maxAbsDiff(ours.get('a/x.webp')!.data as Float32Array, theirs.get('1.webp')!.data as Float32Array)).to.be.at.most(1e-6);
      expect(maxAbsDiff(ours.get('b/x.webp')!.data as Float32Array, theirs.get('2.webp')!.data as Float32Array)).to.be.at.most(1e-6);
    });
  });

  describe('outputs into a missing folder', () => {
    it('inspect --out, preprocess --out and convert -o refuse a folder that does not exist and create nothing', async () => {
      const folder = join(tmp, 'no', 'such');
      const runs = [
        await runCli(['inspect', ...model, '--prompt', 'x', '--image', images[0]!, '--out', join(folder, 'acts.safetensors')]),
        await runCli(['preprocess', images[0]!, '--out', join(folder, 'p.safetensors')]),
        await runCli(['convert', fixturePath('tiny/tiny.pt'), '-o', join(folder, 'c.safetensors')]),
      ];
      for (const run of runs) {
        expect(run.code, run.stderr).to.equal(2);
        expect(run.stderr).to.contain(`the folder ${folder} does not exist`);
      }
      expect(existsSync(join(tmp, 'no'))).to.equal(false);
    });
  });

  describe('backend line', () => {
    it('is one short line; --verbose adds why each better backend was skipped', async function () {
      let nativeInstalled = true;
      try { await import('@tensorflow/tfjs-node' as string); } catch { nativeInstalled = false; }
      if (nativeInstalled) this.skip();
      const env = { ...process.env, IMAGEREWARD_BACKEND: '' };
      const plain = model.filter((a) => a !== '--backend' && a !== BACKEND);
      const run = await runCli(['info', ...plain], { env });
      expect(run.code, run.stderr).to.equal(0);
      // wasm+blas where a system BLAS is found (test/blas.library.test.ts covers both cases)
      const line = blasUnavailableReason() === null
        ? /^imagereward: backend wasm\+blas \(OpenBLAS [\d.]+, \d+ threads?; tfjs-node not installed\)$/
        : /^imagereward: backend wasm \(tfjs-node not installed, no usable BLAS for wasm\+blas \(--verbose says what to install\)\)$/;
      const lines = run.stderr.trim().split('\n');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(line);
      const verbose = await runCli(['info', ...plain, '--verbose'], { env });
      const verboseLines = verbose.stderr.trim().split('\n');
      expect(verboseLines[0]).to.equal(lines[0]);
      expect(verboseLines).to.have.length(blasUnavailableReason() === null ? 3 : 4);
      expect(verbose.stderr).to.match(/^imagereward: backend node-gpu skipped: Cannot find package '@tensorflow\/tfjs-node-gpu'/m);
      expect(verbose.stderr).to.match(/^imagereward: backend node skipped: Cannot find package '@tensorflow\/tfjs-node'/m);
    });
  });
});
