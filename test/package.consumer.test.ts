/**
 * The package as a user gets it: `npm pack` this repo (which builds dist/ through `prepare`), install
 * the tarball into an empty project with `npm ci --offline`, and use it from there: the README's
 * examples exactly as README.md has them (plain-node ESM, a strict TypeScript project with
 * skipLibCheck off, require()), and the installed `imagereward` command. The slowest test of the
 * suite (one build, one install of ~500 MB from npm's cache); everything shares that one install.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readSafetensors } from '../src/weights/safetensors.js';
import { maxAbsDiff } from './helpers/assert.js';
import { installOffline, packInto, writeConsumerProject, type PackResult } from './helpers/consumerProject.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const WEBP = ['1.webp', '2.webp', '3.webp', '4.webp'];
/** The README blocks this test runs, by the file name their marker gives them. */
const README_FILES = ['rank.mjs', 'rank.ts', 'tsconfig.json', 'require.cjs'];
/** Fixture images whose golden preprocessed pixels are checked: WebP and JPEG (wasm or sharp), PNG (zlib). */
const PIXEL_FILES = ['1.webp', 'gen_rgb_640x480_q90.jpg', 'gen_rgba_320x240.png'];

/** Blocks of README.md preceded by `<!-- package.consumer.test: NAME -->`, by NAME (indentation removed). */
function readmeExamples(readme: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const m of readme.matchAll(/^( *)<!-- package\.consumer\.test: (\S+) -->\n\1```\w*\n([\s\S]*?)\n\1```$/gm)) {
    const [, indent = '', name = '', body = ''] = m;
    if (blocks.has(name)) throw new Error(`README.md has two examples named ${name}`);
    blocks.set(name, `${body.split('\n').map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line)).join('\n')}\n`);
  }
  return blocks;
}

interface Run { code: number; stdout: string; stderr: string }

describe('the npm package, packed and installed offline into a fresh project', function () {
  this.timeout(900_000);
  let tmp: string;
  let project: string;
  let pack: PackResult;
  let env: NodeJS.ProcessEnv;
  let golden: { prompt: string; rewards: number[] };

  async function run(file: string, args: string[], cwd = project): Promise<Run> {
    try {
      const { stdout, stderr } = await promisify(execFile)(file, args, { cwd, env, maxBuffer: 64 << 20 });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      if (typeof err.code !== 'number') throw e;
      return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    }
  }
  const node = (args: string[]): Promise<Run> => run(process.execPath, args);
  const images = (): string[] => WEBP.map((f) => fixturePath(`images/${f}`));

  /** The `rank\treward\timage` lines the README examples print, checked against the golden ranks and rewards. */
  function expectGoldenRanking(r: Run): void {
    expect(r.code, r.stderr).to.equal(0);
    const rows = r.stdout.trim().split('\n').map((line) => line.split('\t'));
    expect(rows.map((row) => row[2])).to.deep.equal(images());
    const rewards = rows.map((row) => Number(row[1]));
    expect(maxAbsDiff(rewards, golden.rewards)).to.be.at.most(1e-5);
    const order = [...golden.rewards.keys()].sort((a, b) => golden.rewards[b]! - golden.rewards[a]!);
    expect(rows.map((row) => Number(row[0]))).to.deep.equal(golden.rewards.map((_, i) => order.indexOf(i) + 1));
  }

  before(async function () {
    requireFixtures(this, 'tiny/tiny.safetensors', 'tiny/med_config.json', 'tiny/vit_config.json', 'tiny/golden.json',
      'vocab/bert-base-uncased-vocab.txt', 'images/preprocessed.safetensors', ...[...WEBP, ...PIXEL_FILES].map((f) => `images/${f}`));
    const json = JSON.parse(readFileSync(fixturePath('tiny/golden.json'), 'utf8')) as { prompts: { text: string }[]; rewards_score: number[][] };
    golden = { prompt: json.prompts[0]!.text, rewards: json.rewards_score[0]! };
    tmp = mkdtempSync(join(tmpdir(), 'ir-consumer-'));
    project = join(tmp, 'project');
    mkdirSync(project);
    pack = await packInto(repoRoot, tmp);
    copyFileSync(join(tmp, pack.filename), join(project, pack.filename));
    writeConsumerProject(repoRoot, project, pack, ['@types/node']);
    await installOffline(project);
    // The model as a user's folder: the weights, their configs and vocab.txt side by side.
    const model = join(tmp, 'model');
    mkdirSync(model);
    for (const f of ['tiny.safetensors', 'med_config.json', 'vit_config.json']) symlinkSync(fixturePath(`tiny/${f}`), join(model, f));
    symlinkSync(fixturePath('vocab/bert-base-uncased-vocab.txt'), join(model, 'vocab.txt'));
    for (const [name, text] of readmeExamples(readFileSync(join(repoRoot, 'README.md'), 'utf8'))) writeFileSync(join(project, name), text);
    env = { ...process.env, IMAGEREWARD_MODEL: model, IMAGEREWARD_OFFLINE: '1', IMAGEREWARD_CACHE: join(tmp, 'cache') };
  });

  after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  it('the tarball holds dist/, bin/, README.md and package.json only: no test, bench, fixture or source file', () => {
    expect(pack.files).to.include.members(['package.json', 'README.md', 'bin/imagereward.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js',
      'dist/browser/imagereward.js', 'dist/browser/index.d.ts', 'dist/browser/tfjs-backend-wasm-simd.wasm']);
    // the browser bundle's .wasm files lie beside it (it fetches them relative to its own URL)
    const stray = pack.files.filter((f) => !/^(dist\/.+\.(js|d\.ts)|dist\/browser\/[^/]+\.wasm|bin\/imagereward\.js|README\.md|package\.json|LICENSE)$/.test(f));
    expect(stray).to.deep.equal([]);
    expect(pack.files.filter((f) => /(^|\/)(test|tests|bench|fixtures|examples|scripts|src)\/|\.(safetensors|pt|webp|png|jpe?g|tgz)$|(?<!\.d)\.ts$/.test(f))).to.deep.equal([]);
    // every source module compiled (a file missing from dist/ would fail once installed)
    expect(pack.files.filter((f) => f.endsWith('.js') && f.startsWith('dist/')).length).to.be.greaterThan(50);
  });

  it('has the README examples this test runs', () => {
    expect([...readmeExamples(readFileSync(join(repoRoot, 'README.md'), 'utf8')).keys()].sort()).to.deep.equal([...README_FILES].sort());
  });

  it('installs without tsx or any devDependency of this repo, with its runtime files in place', () => {
    const installed = join(project, 'node_modules', pkg.name);
    expect(JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).version).to.equal(pkg.version);
    for (const dev of ['tsx', 'typescript', 'mocha', 'chai', 'esbuild']) expect(existsSync(join(project, 'node_modules', dev)), dev).to.equal(false);
    expect(existsSync(join(installed, 'src'))).to.equal(false);
  });

  it('the README JavaScript example (rank.mjs) runs with plain node: golden ranking and rewards (<= 1e-5)', async () => {
    expectGoldenRanking(await node(['rank.mjs', golden.prompt, ...images()]));
  });

  it('the README TypeScript example compiles under strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, nodenext, skipLibCheck false, and runs', async () => {
    const config = JSON.parse(readFileSync(join(project, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
    expect(config.compilerOptions).to.include({ strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, module: 'nodenext', skipLibCheck: false });
    const compiled = await node([tsc, '-p', 'tsconfig.json']);
    expect(compiled, 'tsc').to.deep.equal({ code: 0, stdout: '', stderr: '' });
    expectGoldenRanking(await node(['out/rank.js', golden.prompt, ...images()]));
    // its typed error path: a missing image is an ImageRewardError with a code
    const bad = await node(['out/rank.js', golden.prompt, join(tmp, 'missing.webp')]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/^[A-Z_]+: .*missing\.webp/m);
  });

  it('the README CommonJS example (require.cjs) loads the package with require()', async () => {
    const r = await node(['require.cjs', golden.prompt, images()[0]!]);
    expect(r.code, r.stderr).to.equal(0);
    expect(Math.abs(Number(r.stdout) - golden.rewards[0]!)).to.be.at.most(1e-5);
  });

  it('the installed `imagereward` command runs the compiled CLI: --version and score --json', async () => {
    const bin = join(project, 'node_modules', '.bin', 'imagereward');
    expect(await run(bin, ['--version'])).to.deep.equal({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    const r = await run(bin, ['score', '--model', env.IMAGEREWARD_MODEL!, '--prompt', golden.prompt, '--json', ...images()]);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { rewards: number[] };
    expect(maxAbsDiff(out.rewards, golden.rewards)).to.be.at.most(1e-5);
  });

  /** `imagereward preprocess` from the installed package with `decoder`: every fixture's golden pixels exactly. */
  async function expectGoldenPixels(decoder: 'wasm' | 'native'): Promise<void> {
    const bin = join(project, 'node_modules', '.bin', 'imagereward');
    const expected = readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors;
    const out = join(tmp, `pixels-${decoder}.safetensors`);
    const r = await run(bin, ['preprocess', '--image-decoder', decoder, '--out', out, '--json', ...PIXEL_FILES.map((f) => fixturePath(`images/${f}`))]);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout) as { tensors: { name: string; source: string; decoder: string }[] };
    const got = readSafetensors(out).tensors;
    expect(report.tensors.map((t) => t.source)).to.deep.equal(PIXEL_FILES.map((f) => fixturePath(`images/${f}`)));
    report.tensors.forEach((t, i) => {
      const file = PIXEL_FILES[i]!;
      expect(t.decoder, file).to.equal(file.endsWith('.png') ? 'js' : decoder);
      expect(maxAbsDiff(got.get(t.name)!.data as Float32Array, expected.get(file)!.data as Float32Array), `${decoder} ${file}`).to.be.at.most(1e-6);
    });
  }

  it('finds its wasm decoders (WebP, JPEG), zlib PNG and SIMD resize once installed: preprocess gives the golden pixels exactly', async () => {
    await expectGoldenPixels('wasm');
  });

  it('loads the optional sharp from the consumer project (--image-decoder native): the golden pixels exactly', async function () {
    if (!existsSync(join(project, 'node_modules', 'sharp'))) {
      const msg = 'sharp (optional dependency) is not installed in the consumer project';
      if (process.env.CI === 'true') throw new Error(msg);
      console.warn(`\n  !!! SKIPPING: ${msg}\n`);
      this.skip();
    }
    await expectGoldenPixels('native');
  });
});
