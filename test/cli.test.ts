import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { main } from '../src/cli/main.js';
import type { CliIO } from '../src/cli/command.js';
import { readSafetensors } from '../src/weights/safetensors.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { GOLDEN_FILES, goldenValues, readGolden, type Golden } from './helpers/golden.js';
import { maxAbsDiff } from './helpers/assert.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BACKEND = process.env.IMAGEREWARD_TEST_BACKEND ?? 'wasm';
const WEBP = ['1.webp', '2.webp', '3.webp', '4.webp'];

interface Run { code: number; out: string[]; err: string[] }

async function cli(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false };
  const code = await main(argv, io);
  return { code, out, err };
}

/** Runs the real `imagereward` bin in a child process. */
async function spawnCli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(repoRoot, 'bin', 'imagereward.js'), ...argv], { cwd: repoRoot, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe('CLI', () => {
  let golden: Golden;
  let tmp: string;
  let model: string[];
  let images: string[];

  before(function () {
    requireFixtures(this, 'tiny/tiny.safetensors', 'tiny/med_config.json', 'tiny/vit_config.json', 'vocab/bert-base-uncased-vocab.txt',
      'images/preprocessed.safetensors', ...WEBP.map((f) => `images/${f}`), ...GOLDEN_FILES);
    golden = readGolden();
    images = WEBP.map((f) => fixturePath(`images/${f}`));
    model = ['--model', fixturePath('tiny/tiny.safetensors'), '--vocab', fixturePath('vocab/bert-base-uncased-vocab.txt'), '--backend', BACKEND];
    tmp = mkdtempSync(join(tmpdir(), 'ir-cli-'));
  });

  after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  describe('score', () => {
    it('--json prints {prompt, images, rewards, ranking} matching the golden rewards (<= 1e-5) and ranks', async () => {
      for (const p of golden.prompts) {
        const run = await cli('score', ...model, '--prompt', p.text, '--json', ...images);
        expect(run.code, run.err.join('\n')).to.equal(0);
        expect(run.out).to.have.length(1);
        const result = JSON.parse(run.out[0]!) as { prompt: string; images: string[]; rewards: number[]; ranking: number[] };
        expect(Object.keys(result)).to.deep.equal(['prompt', 'images', 'rewards', 'ranking']);
        expect(result.prompt).to.equal(p.text);
        expect(result.images).to.deep.equal(images);
        expect(maxAbsDiff(result.rewards, goldenValues(golden, `p${p.index}.rank.rewards`))).to.be.at.most(1e-5);
        expect(result.ranking).to.deep.equal(goldenValues(golden, `p${p.index}.rank.ranks`));
      }
    });

    it('prints a table without --json', async () => {
      const run = await cli('score', ...model, '--prompt', golden.prompts[0]!.text, images[0]!, images[1]!);
      expect(run.code).to.equal(0);
      expect(run.out[0]).to.equal('rank  reward    image');
      const r0 = goldenValues(golden, 'p0.img0.reward')[0]!;
      expect(run.out[1]).to.equal(`   1  ${r0.toFixed(4).padStart(8)}  ${images[0]}`);
    });

    it('runs as a real process (bin/imagereward.js), saying on stderr which backend runs', async () => {
      const { code, stdout, stderr } = await spawnCli('score', ...model, '--prompt', golden.prompts[0]!.text, '--json', ...images);
      expect(code, stderr).to.equal(0);
      expect(stderr).to.contain(`imagereward: backend ${BACKEND}`);
      const result = JSON.parse(stdout) as { rewards: number[]; ranking: number[] };
      expect(maxAbsDiff(result.rewards, goldenValues(golden, 'p0.rank.rewards'))).to.be.at.most(1e-5);
      expect(result.ranking).to.deep.equal(goldenValues(golden, 'p0.rank.ranks'));
    });
  });

  describe('inspect', () => {
    it('writes every golden intermediate (<= 1e-4), ids exact, pixels <= 1e-6, attentions on request', async () => {
      const out = join(tmp, 'acts.safetensors');
      const run = await cli('inspect', ...model, '--prompt', golden.prompts[1]!.text, '--image', images[2]!, '--out', out, '--attentions', '--json');
      expect(run.code, run.err.join('\n')).to.equal(0);
      const summary = JSON.parse(run.out[0]!) as { out: string; reward: number; tensors: { name: string }[] };
      expect(summary.out).to.equal(out);
      const { tensors, metadata } = readSafetensors(out);
      expect(metadata.prompt).to.equal(golden.prompts[1]!.text);
      expect(tensors.get('input_ids')!.dtype).to.equal('I64');
      expect(Array.from(tensors.get('input_ids')!.data as BigInt64Array, Number)).to.deep.equal(goldenValues(golden, 'p1.input_ids'));
      expect(Array.from(tensors.get('attention_mask')!.data as BigInt64Array, Number)).to.deep.equal(goldenValues(golden, 'p1.attention_mask'));
      const pre = readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors.get('3.webp')!;
      expect(maxAbsDiff(tensors.get('pixel_values')!.data as Float32Array, pre.data as Float32Array)).to.be.at.most(1e-6);
      const compared: string[] = [];
      for (const [name, t] of tensors) {
        if (['input_ids', 'attention_mask', 'pixel_values'].includes(name) || name.startsWith('attn.')) continue;
        const goldenName = name.startsWith('vit.') ? `img2.${name}` : name === 'bert.embeddings' ? `p1.${name}` : `p1.img2.${name}`;
        expect(t.shape, name).to.deep.equal(golden.tensors.get(goldenName)!.shape);
        expect(maxAbsDiff(t.data as Float32Array, goldenValues(golden, goldenName)), name).to.be.at.most(name === 'reward' ? 1e-5 : 1e-4);
        compared.push(name);
      }
      expect(compared).to.include.members(['vit.patch_embed', 'vit.block0', 'vit.block1', 'vit.norm', 'bert.embeddings',
        'bert.layer0.attention', 'bert.layer0.crossattention', 'bert.layer0.output', 'bert.layer1.output', 'cls', 'mlp.layers.0', 'mlp.layers.7', 'reward']);
      expect([...tensors.keys()].filter((n) => n.startsWith('attn.'))).to.include.members(['attn.vit.block0.probs', 'attn.bert.layer0.crossattention.probs']);
      expect(Math.abs(summary.reward - goldenValues(golden, 'p1.img2.reward')[0]!)).to.be.at.most(1e-5);
    });

    it('leaves attentions out by default, and runs as a real process', async () => {
      const out = join(tmp, 'acts2.safetensors');
      const { code, stderr } = await spawnCli('inspect', ...model, '--prompt', golden.prompts[0]!.text, '--image', images[0]!, '--out', out);
      expect(code, stderr).to.equal(0);
      const { tensors } = readSafetensors(out);
      expect([...tensors.keys()].filter((n) => n.startsWith('attn.'))).to.deep.equal([]);
      expect(maxAbsDiff(tensors.get('vit.norm')!.data as Float32Array, goldenValues(golden, 'img0.vit.norm'))).to.be.at.most(1e-4);
    });
  });

  describe('tokenize', () => {
    const vocab = () => ['--vocab', fixturePath('vocab/bert-base-uncased-vocab.txt')];

    it('prints one {text, input_ids, attention_mask} line per text, equal to upstream', async () => {
      const texts = golden.prompts.map((p) => p.text);
      const run = await cli('tokenize', ...vocab(), ...texts);
      expect(run.code).to.equal(0);
      expect(run.out).to.have.length(3);
      run.out.forEach((line, k) => {
        const rec = JSON.parse(line) as { text: string; input_ids: number[]; attention_mask: number[] };
        expect(Object.keys(rec)).to.deep.equal(['text', 'input_ids', 'attention_mask']);
        expect(rec.text).to.equal(texts[k]);
        expect(rec.input_ids).to.deep.equal(goldenValues(golden, `p${k}.input_ids`));
        expect(rec.attention_mask).to.deep.equal(goldenValues(golden, `p${k}.attention_mask`));
      });
    });

    it('reads --input FILE.jsonl, and runs as a real process', async () => {
      const input = join(tmp, 'texts.jsonl');
      writeFileSync(input, `${JSON.stringify({ text: golden.prompts[2]!.text })}\n\n${JSON.stringify({ text: 'a [MASK] cat' })}\n`);
      const { code, stdout, stderr } = await spawnCli('tokenize', ...vocab(), '--input', input);
      expect(code, stderr).to.equal(0);
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { input_ids: number[] });
      expect(lines).to.have.length(2);
      expect(lines[0]!.input_ids).to.deep.equal(goldenValues(golden, 'p2.input_ids'));
      expect(lines[1]!.input_ids.slice(0, 5)).to.deep.equal([101, 1037, 103, 4937, 102]);
    });

    it('rejects a bad JSONL line naming file and line, and texts given twice over', async () => {
      const input = join(tmp, 'bad.jsonl');
      writeFileSync(input, '{"text": "ok"}\n{"txt": 1}\n');
      const run = await cli('tokenize', ...vocab(), '--input', input);
      expect(run.code).to.equal(2);
      expect(run.err.join('\n')).to.contain(`${input}:2: expected an object with a string "text" field`);
      expect((await cli('tokenize', ...vocab(), '--input', input, 'extra')).code).to.equal(2);
    });

    it('without --vocab uses the cached bert-base-uncased vocab and checks its sha256', async () => {
      const cacheDir = join(tmp, 'tok-cache');
      const cached = join(cacheDir, 'google-bert', 'bert-base-uncased', 'vocab.txt');
      mkdirSync(dirname(cached), { recursive: true });
      copyFileSync(fixturePath('vocab/bert-base-uncased-vocab.txt'), cached);
      const ok = await cli('tokenize', '--cache-dir', cacheDir, '--offline', golden.prompts[0]!.text);
      expect(ok.code, ok.err.join('\n')).to.equal(0);
      expect((JSON.parse(ok.out[0]!) as { input_ids: number[] }).input_ids).to.deep.equal(goldenValues(golden, 'p0.input_ids'));
      writeFileSync(cached, `${readFileSync(cached, 'utf8')}extra-token\n`);
      const bad = await cli('tokenize', '--cache-dir', cacheDir, '--offline', 'a cat');
      expect(bad.code).to.equal(2);
      expect(bad.err.join('\n')).to.match(/sha256/).and.to.contain(cached);
    });
  });

  describe('preprocess', () => {
    it('writes one [1,3,224,224] tensor per image named by base name, equal to upstream', async () => {
      const out = join(tmp, 'pixels.safetensors');
      const run = await cli('preprocess', ...images, '--out', out, '--json');
      expect(run.code, run.err.join('\n')).to.equal(0);
      const summary = JSON.parse(run.out[0]!) as { tensors: { name: string; format: string; width: number }[] };
      expect(summary.tensors.map((t) => t.name)).to.deep.equal(WEBP);
      expect(summary.tensors[0]!.format).to.equal('webp');
      const ours = readSafetensors(out).tensors;
      const theirs = readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors;
      for (const name of WEBP) {
        expect(ours.get(name)!.shape).to.deep.equal([1, 3, 224, 224]);
        expect(maxAbsDiff(ours.get(name)!.data as Float32Array, theirs.get(name)!.data as Float32Array), name).to.be.at.most(1e-6);
      }
    });

    it('runs as a real process', async () => {
      const out = join(tmp, 'one.safetensors');
      const { code, stdout, stderr } = await spawnCli('preprocess', images[3]!, '--out', out);
      expect(code, stderr).to.equal(0);
      expect(stdout.trim()).to.equal(`wrote 1 tensor(s) [1,3,224,224] to ${out}`);
      expect([...readSafetensors(out).tensors.keys()]).to.deep.equal(['4.webp']);
    });

    it('refuses the same image given twice', async () => {
      const run = await cli('preprocess', images[0]!, images[0]!, '--out', join(tmp, 'dup.safetensors'));
      expect(run.code).to.equal(2);
      expect(run.err.join('\n')).to.contain(`images 0 (${images[0]}) and 1 (${images[0]}) are the same file`);
    });
  });

  describe('info', () => {
    it('--json describes configs, parameter count, dtype and backend (real process)', async () => {
      const { code, stdout, stderr } = await spawnCli('info', ...model, '--json');
      expect(code, stderr).to.equal(0);
      const info = JSON.parse(stdout) as Record<string, unknown> & { med_config: Record<string, unknown>; vit_config: Record<string, unknown> };
      expect(info.model).to.equal(fixturePath('tiny/tiny.safetensors'));
      expect(info.origin).to.equal('safetensors');
      expect(info.backend).to.equal(BACKEND);
      expect(info.dtype).to.equal('F32');
      expect(info.med_config.hidden_size).to.equal(64);
      expect(info.vit_config.embed_dim).to.equal(64);
      expect(info.parameters).to.be.a('number').and.to.be.greaterThan(2_000_000);
      expect(info.configSource).to.deep.equal({ med: fixturePath('tiny/med_config.json'), vit: fixturePath('tiny/vit_config.json') });
    });
  });

  describe('bad input: exit code 2, message on stderr, JSON error with --json', () => {
    it('a missing image file', async () => {
      const run = await cli('score', ...model, '--prompt', 'x', '--json', join(tmp, 'missing.png'));
      expect(run.code).to.equal(2);
      expect(run.err.join('\n')).to.contain(join(tmp, 'missing.png'));
      const { rewards, errors } = JSON.parse(run.out.at(-1)!) as { rewards: unknown[]; errors: { code: string; message: string }[] };
      expect(rewards).to.deep.equal([null]);
      expect(errors[0]!.code).to.equal('FILE_UNREADABLE');
    });

    it('a corrupt image', async () => {
      const bad = join(tmp, 'corrupt.png');
      writeFileSync(bad, Buffer.concat([readFileSync(fixturePath('images/gen_rgb_64x48.png')).subarray(0, 100), Buffer.alloc(50, 7)]));
      const run = await cli('score', ...model, '--prompt', 'x', '--json', bad);
      expect(run.code).to.equal(2);
      expect(run.err.join('\n')).to.contain(bad);
      const { errors } = JSON.parse(run.out.at(-1)!) as { errors: { code: string }[] };
      expect(errors[0]!.code).to.equal('IMAGE_INVALID');
    });

    it('a wrong model path (real process)', async () => {
      const missing = join(tmp, 'nope.safetensors');
      const { code, stdout, stderr } = await spawnCli('score', '--model', missing, '--prompt', 'x', '--json', images[0]!);
      expect(code).to.equal(2);
      expect(stderr).to.contain(`imagereward score: model ${missing} not found (no such file)`);
      expect((JSON.parse(stdout.trim()) as { error: { code: string } }).error.code).to.equal('FILE_UNREADABLE');
    });

    it('a file that is not a model', async () => {
      const run = await cli('info', ...model.slice(2), '--model', fixturePath('images/1.webp'));
      expect(run.code).to.equal(2);
      expect(run.err.join('\n')).to.contain(fixturePath('images/1.webp'));
    });

    it('missing required options, no images, an unknown option, a bad --batch-size, an unknown command', async () => {
      const cases: [string[], string][] = [
        [['score', ...model, images[0]!], '--prompt is required'],
        [['score', ...model, '--prompt', 'x'], 'no images given'],
        [['inspect', ...model, '--prompt', 'x', '--image', images[0]!], '--out is required'],
        [['preprocess', images[0]!], '--out is required'],
        [['tokenize'], 'no texts given'],
        [['score', '--frobnicate', images[0]!], "Unknown option '--frobnicate'"],
        [['score', ...model, '--batch-size', '0', '--prompt', 'x', images[0]!], '--batch-size must be a positive integer, got "0"'],
        [['scroe'], 'unknown command "scroe"'],
      ];
      for (const [argv, message] of cases) {
        const run = await cli(...argv);
        expect(run.code, argv.join(' ')).to.equal(2);
        expect(run.err.join('\n'), argv.join(' ')).to.contain(message);
      }
    });

    it('an offline hub model names the files to place (real process)', async () => {
      const cache = join(tmp, 'empty-cache');
      const { code, stderr } = await spawnCli('score', '--prompt', 'x', '--offline', '--cache-dir', cache, '--backend', BACKEND, images[0]!);
      expect(code).to.equal(2);
      expect(stderr).to.contain('offline mode is on');
      expect(stderr).to.contain(`-> ${join(cache, 'THUDM', 'ImageReward', 'ImageReward.pt')}`);
    });
  });

  it('lists every command in --help', async () => {
    const run = await cli('--help');
    expect(run.code).to.equal(0);
    for (const name of ['score', 'inspect', 'tokenize', 'preprocess', 'info', 'convert']) expect(run.out[0]).to.match(new RegExp(`\\n  ${name} `));
  });
});
