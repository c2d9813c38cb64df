/**
 * Errors that point to the fix (issue 13): weights that fit no config name the config to pass in a
 * few lines (every key only under --verbose), a file that is not safetensors says what it is, the
 * API accepts ArrayBuffer and file: URL images and names what it refuses, and no message a user
 * can get starts with an internal function name.
 */
import { expect } from 'chai';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ImageReward } from '../src/api/imagereward.js';
import { InputError } from '../src/errors.js';
import { REPO_ROOT, runCli } from './helpers/cliProcess.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';

const BACKEND = process.env.IMAGEREWARD_TEST_BACKEND ?? 'wasm';
const VOCAB = () => fixturePath('vocab/bert-base-uncased-vocab.txt');

/** stderr without the backend line: what the error itself takes. */
function errorLines(stderr: string): string[] {
  return stderr.trim().split('\n').filter((l) => !l.startsWith('imagereward: backend'));
}

describe('errors that point to the fix (real process)', function () {
  this.timeout(120_000);
  let tmp: string;
  let alone: string;

  before(function () {
    requireFixtures(this, 'tiny/tiny.safetensors', 'tiny/tiny.pt', 'tiny/med_config.json', 'tiny/vit_config.json', 'vocab/bert-base-uncased-vocab.txt', 'images/1.webp');
    tmp = mkdtempSync(join(tmpdir(), 'ir-errors-'));
    // tiny.safetensors carries no configs in its metadata: alone in a folder, it meets the v1.0 defaults
    alone = join(tmp, 'alone.safetensors');
    copyFileSync(fixturePath('tiny/tiny.safetensors'), alone);
  });

  after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  const score = (modelPath: string, ...extra: string[]) => runCli(['score', '--model', modelPath, '--vocab', VOCAB(), '--backend', BACKEND, '--prompt', 'a cat', ...extra, fixturePath('images/1.webp')]);

  it('weights that fit no config: a few lines naming --vit-config and --med-config with the sizes found, no key list', async () => {
    const run = await score(alone);
    expect(run.code, run.stderr).to.equal(2);
    const lines = errorLines(run.stderr);
    expect(lines.length, run.stderr).to.be.within(3, 8);
    expect(lines[0]).to.equal(`imagereward score: ${alone}: weights do not fit the ImageReward config: 524 missing key(s), 89 mis-shaped key(s) (first: blip.visual_encoder.blocks.2.norm1.weight)`);
    expect(run.stderr).to.contain('vision encoder: the file has 2 blocks of width 64, patch 16, image 224; the config in use has 24 of width 1024 (from ImageReward-v1.0 defaults');
    expect(run.stderr).to.contain('fix: pass --vit-config FILE (API: vitConfig), a vit_config.json with depth 2, embed_dim 64, patch_size 16, img_size 224');
    expect(run.stderr).to.contain('fix: pass --med-config FILE (API: medConfig), a med_config.json with num_hidden_layers 2, hidden_size 64, vocab_size 30524, encoder_width 64');
    expect(lines.at(-1)).to.equal('(run again with --verbose for the details)');
    expect(run.stderr).not.to.contain('blip.visual_encoder.blocks.3.norm1.bias');
  });

  it('--verbose adds the full key list; --json carries it as error.details', async () => {
    const run = await score(alone, '--verbose', '--json');
    expect(run.code, run.stderr).to.equal(2);
    expect(run.stderr).to.contain('524 missing key(s):\n  blip.visual_encoder.blocks.2.norm1.weight\n  blip.visual_encoder.blocks.2.norm1.bias');
    expect(run.stderr).to.contain('89 mis-shaped key(s):\n  blip.visual_encoder.cls_token [1, 1, 64], expected [1, 1, 1024]');
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; details: string } };
    expect(error.code).to.equal('WEIGHTS_MISMATCH');
    expect(error.details.split('\n').filter((l) => l.startsWith('  '))).to.have.length(524 + 89);
  });

  it('following the fix works: the same file with --vit-config and --med-config scores like the fixture beside its configs', async () => {
    const fixed = await score(alone, '--json', '--vit-config', fixturePath('tiny/vit_config.json'), '--med-config', fixturePath('tiny/med_config.json'));
    const reference = await score(fixturePath('tiny/tiny.safetensors'), '--json');
    expect(fixed.code, fixed.stderr).to.equal(0);
    const rewards = (run: { stdout: string }) => (JSON.parse(run.stdout) as { rewards: number[] }).rewards;
    expect(rewards(fixed)).to.have.length(1);
    expect(Number.isFinite(rewards(fixed)[0])).to.equal(true);
    expect(rewards(fixed)).to.deep.equal(rewards(reference));
  });

  it('one config alone that does not fit the other says where each came from and to pass both', async () => {
    const run = await score(alone, '--vit-config', fixturePath('tiny/vit_config.json'));
    expect(run.code).to.equal(2);
    expect(errorLines(run.stderr)).to.deep.equal([
      `imagereward score: med_config encoder_width 1024 does not match the ViT embed_dim 64 (med_config from ImageReward-v1.0 defaults: none in the file's metadata or beside it; vit_config from ${fixturePath('tiny/vit_config.json')}): pass the two configs of this model, --med-config FILE and --vit-config FILE (API: medConfig, vitConfig)`,
    ]);
  });

  it('a text file or a .pt named .safetensors: "not a safetensors file" and what it is, no 19-digit header length', async () => {
    const text = join(tmp, 'notes.safetensors');
    writeFileSync(text, 'hello world, this is not a model\n');
    const pt = join(tmp, 'checkpoint.safetensors');
    copyFileSync(fixturePath('tiny/tiny.pt'), pt);
    const a = await score(text);
    expect(a.code).to.equal(2);
    expect(errorLines(a.stderr)).to.deep.equal([`imagereward score: ${text}: not a safetensors file (a safetensors file starts with the 8-byte length of its JSON header; these first 8 bytes, 68 65 6c 6c 6f 20 77 6f, give more than the whole file, 33 bytes): it is text (starts with "hello wo")`]);
    const b = await score(pt);
    expect(b.code).to.equal(2);
    expect(b.stderr).to.contain(`${pt}: not a safetensors file (`).and.contain(`give more than the whole file, ${statSync(pt).size} bytes): `);
    expect(b.stderr).to.contain('it is a zip archive, as torch.save writes a .pt checkpoint: load it as a .pt (rename it) or convert it with `imagereward convert`');
    expect(a.stderr + b.stderr).not.to.match(/\d{13}/);
  });

  it('eval on a dataset of ties says what is wrong with the data, not which function found it', async () => {
    const data = join(tmp, 'ties.json');
    copyFileSync(fixturePath('images/1.webp'), join(tmp, '1.webp'));
    copyFileSync(fixturePath('images/1.webp'), join(tmp, '2.webp'));
    writeFileSync(data, JSON.stringify([{ prompt: 'a cat', generations: ['1.webp', '2.webp'], ranking: [1, 1] }]));
    const run = await runCli(['eval', data, '--model', fixturePath('tiny/tiny.safetensors'), '--vocab', VOCAB(), '--backend', BACKEND]);
    expect(run.code, run.stderr).to.equal(2);
    expect(errorLines(run.stderr).filter((l) => l.startsWith('imagereward eval:'))).to.deep.equal([
      'imagereward eval: no pair of generations has different human ranks (every prompt\'s images are tied), so there is no accuracy to measure: give a dataset where some prompt ranks its images differently',
    ]);
  });
});

describe('image inputs of the API: ArrayBuffer and URL', function () {
  this.timeout(120_000);
  let model: ImageReward;
  let image: string;

  before(async function () {
    requireFixtures(this, 'tiny/tiny.safetensors', 'vocab/bert-base-uncased-vocab.txt', 'images/1.webp');
    image = fixturePath('images/1.webp');
    model = await ImageReward.load(fixturePath('tiny/tiny.safetensors'), { vocab: VOCAB(), backend: BACKEND, log: null });
  });

  after(() => model?.dispose());

  it('scores an ArrayBuffer and a file: URL exactly like the path', async () => {
    const bytes = readFileSync(image);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const [byPath, byBuffer, byUrl] = await model.score('a cat', [image, buffer, pathToFileURL(image)]);
    expect(byBuffer).to.equal(byPath);
    expect(byUrl).to.equal(byPath);
  });

  it('names what it refuses: an http URL, a Float32Array, a plain object', async () => {
    const refused = async (input: unknown) => {
      try {
        await model.score('a cat', [image, input as string]);
      } catch (err) {
        expect(err).to.be.instanceOf(InputError);
        return (err as Error).message;
      }
      throw new Error('expected an InputError');
    };
    expect(await refused(new URL('https://example.com/cat.png'))).to.equal('image 1: https://example.com/cat.png is a https URL; only file: URLs are read (fetch it yourself and pass the bytes as a Uint8Array)');
    expect(await refused(new Float32Array(4))).to.match(/^image 1: expected a file path or file: URL, encoded PNG\/JPEG\/WebP bytes \(Uint8Array, Buffer or ArrayBuffer\), .*, got a Float32Array$/);
    expect(await refused({ url: 'x' })).to.match(/, got an object without width, height and data$/);
  });
});

describe('messages users can get start with no internal function name', () => {
  /** Every `new XError(`name: ...` of an error class users see (ImageRewardError and its kin), in src/. */
  function offenders(): string[] {
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts')) {
          const text = readFileSync(path, 'utf8');
          for (const m of text.matchAll(/new ([A-Z][A-Za-z]*Error)\((?:[^,()`'"]*, )?[`'"]([a-z]+[A-Z][A-Za-z0-9]*): /g)) {
            if (!['RangeError', 'TypeError', 'Error'].includes(m[1]!)) found.push(`${path.slice(REPO_ROOT.length + 1)}: ${m[0]}`);
          }
        }
      }
    };
    walk(join(REPO_ROOT, 'src'));
    return found;
  }

  it('finds none in src/ (internal assertions, RangeError / TypeError, are reported as internal errors)', () => {
    expect(offenders()).to.deep.equal([]);
  });
});
