/**
 * The threaded wasm build (src/wasmThreads.ts) runs 2 threads, gives bit-identical rewards, and lets
 * the process exit by itself (its pthread workers must not hold Node's event loop).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { TINY_FIXTURES, int32Tensor2d, pixelBatch, tinyConfig } from './helpers/tinyModel.js';
import { selectBackend } from '../src/backend.js';
import { BackendError } from '../src/errors.js';
import { registerThreadedWasm } from '../src/wasmThreads.js';
import { readSafetensors } from '../src/weights/safetensors.js';
import { requireBlas } from './helpers/blas.js';
import { ImageRewardModel } from '../src/model/imageRewardModel.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..');
/** A hung process (the pthread pool holding the event loop) is killed after this and fails the test. */
const EXIT_LIMIT_MS = 90_000;

function runToExit(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8', timeout: EXIT_LIMIT_MS, env: { ...process.env, ...env } });
  return { status: child.status, signal: child.signal, stdout: child.stdout, stderr: child.stderr };
}

describe('threaded wasm backend (2 threads, tfjs-backend-wasm 4.22.0 internals)', function () {
  it('runs 2 threads and matches the 1-thread rewards bit for bit', async function () {
    requireFixtures(this, ...TINY_FIXTURES);
    const child = runToExit(['--import', 'tsx', join(here, 'helpers', 'threadedRewards.ts')], { IMAGEREWARD_WASM_THREADS: '2', IMAGEREWARD_BACKEND: '' });
    expect(child.signal, `killed after ${EXIT_LIMIT_MS} ms: it did not exit by itself`).to.equal(null);
    expect(child.status, child.stderr).to.equal(0);
    const threaded = JSON.parse(child.stdout) as { threads: number; log: string[]; rewards: number[] };
    expect(threaded.threads).to.equal(2);
    expect(threaded.log).to.deep.equal(['imagereward: backend wasm (2 threads)']);

    await selectBackend({ backend: 'wasm', log: null });
    const golden = readSafetensors(fixturePath('tiny/golden.safetensors')).tensors;
    const model = ImageRewardModel.fromTensors(readSafetensors(fixturePath('tiny/tiny.safetensors')).tensors, tinyConfig());
    const ids = int32Tensor2d(golden.get('p0.input_ids')!);
    const mask = int32Tensor2d(golden.get('p0.attention_mask')!);
    const pixels = pixelBatch(readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors, ['1.webp', '2.webp', '3.webp', '4.webp']);
    const rewards = model.scoreTensor(ids, mask, pixels);
    try {
      expect(threaded.rewards).to.deep.equal(Array.from(rewards.dataSync()));
      const expected = Array.from(golden.get('p0.rank.rewards')!.data as Float32Array);
      threaded.rewards.forEach((r, i) => expect(Math.abs(r - expected[i]!)).to.be.at.most(1e-5));
    } finally {
      [ids, mask, pixels, rewards].forEach((t) => t.dispose());
      model.dispose();
    }
  });

  it('wasm+blas on the threaded build (shared heap): 2 wasm threads x 1 BLAS thread, golden rewards, exits by itself', function () {
    requireFixtures(this, ...TINY_FIXTURES);
    requireBlas(this);
    const child = runToExit(['--import', 'tsx', join(here, 'helpers', 'threadedRewards.ts')],
      { IMAGEREWARD_WASM_THREADS: '2', IMAGEREWARD_BACKEND: 'wasm+blas', IMAGEREWARD_THREADS: '2' });
    expect(child.signal, `killed after ${EXIT_LIMIT_MS} ms: it did not exit by itself`).to.equal(null);
    expect(child.status, child.stderr).to.equal(0);
    const threaded = JSON.parse(child.stdout) as { threads: number; log: string[]; rewards: number[] };
    expect(threaded.threads).to.equal(2);
    expect(threaded.log).to.have.length(1);
    expect(threaded.log[0]).to.match(/^imagereward: backend wasm\+blas \([^,]+, 1 thread, wasm 2 threads\)$/);
    const expected = Array.from(readSafetensors(fixturePath('tiny/golden.safetensors')).tensors.get('p0.rank.rewards')!.data as Float32Array);
    threaded.rewards.forEach((r, i) => expect(Math.abs(r - expected[i]!), `reward ${i}`).to.be.at.most(1e-5));
  });

  it('the real CLI (`imagereward score --wasm-threads 2`) prints its result and exits 0 by itself', function () {
    requireFixtures(this, 'tiny/tiny.safetensors', 'tiny/med_config.json', 'tiny/vit_config.json', 'vocab/bert-base-uncased-vocab.txt', 'images/1.webp');
    const child = runToExit([join(repoRoot, 'bin', 'imagereward.js'), 'score', '--model', fixturePath('tiny/tiny.safetensors'),
      '--vocab', fixturePath('vocab/bert-base-uncased-vocab.txt'), '--backend', 'wasm', '--wasm-threads', '2',
      '--prompt', 'a photo', '--json', fixturePath('images/1.webp')]);
    expect(child.signal, `killed after ${EXIT_LIMIT_MS} ms: it did not exit by itself`).to.equal(null);
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stderr).to.contain('imagereward: backend wasm (2 threads');
    const result = JSON.parse(child.stdout) as { rewards: number[] };
    expect(result.rewards).to.have.length(1);
    expect(Number.isFinite(result.rewards[0])).to.equal(true);
  });

  it('an API script with wasmThreads: 2 that calls dispose() exits 0 by itself', function () {
    requireFixtures(this, 'tiny/tiny.safetensors', 'tiny/med_config.json', 'tiny/vit_config.json', 'vocab/bert-base-uncased-vocab.txt', 'images/1.webp');
    // A script file, not `node -e`: the pthread workers inherit execArgv, and --input-type breaks them.
    const dir = mkdtempSync(join(tmpdir(), 'imagereward-exit-'));
    const scriptPath = join(dir, 'score-and-dispose.mts');
    writeFileSync(scriptPath, [
      `import { ImageReward } from ${JSON.stringify(join(repoRoot, 'src', 'index.ts'))};`,
      `const model = await ImageReward.load(${JSON.stringify(fixturePath('tiny/tiny.safetensors'))}, { vocab: ${JSON.stringify(fixturePath('vocab/bert-base-uncased-vocab.txt'))}, backend: 'wasm', wasmThreads: 2, log: null });`,
      `const [reward] = await model.score('a photo', [${JSON.stringify(fixturePath('images/1.webp'))}]);`,
      'console.log(Number.isFinite(reward));',
      'model.dispose();',
    ].join('\n'));
    let child: ReturnType<typeof runToExit>;
    try {
      child = runToExit(['--import', 'tsx', scriptPath]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(child.signal, `killed after ${EXIT_LIMIT_MS} ms: it did not exit by itself`).to.equal(null);
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stdout.trim()).to.equal('true');
  });

  it('refuses to change the thread count of a running wasm backend, and a bad thread count', async () => {
    await selectBackend({ backend: 'wasm', log: null });
    let err: unknown;
    try { await selectBackend({ backend: 'wasm', wasmThreads: 3, log: null }); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(BackendError);
    expect((err as Error).message).to.match(/already runs with 1 thread\(s\) in this process; it cannot switch to 3/);
    expect(() => registerThreadedWasm(2)).to.throw(BackendError, /must run before the wasm backend is initialised/);
    const saved = process.env.IMAGEREWARD_WASM_THREADS;
    process.env.IMAGEREWARD_WASM_THREADS = 'two';
    try {
      err = undefined;
      try { await selectBackend({ backend: 'wasm', log: null }); } catch (e) { err = e; }
      expect(err).to.be.instanceOf(BackendError);
      expect((err as Error).message).to.equal('IMAGEREWARD_WASM_THREADS="two": wasm threads must be a positive integer');
    } finally {
      if (saved === undefined) delete process.env.IMAGEREWARD_WASM_THREADS; else process.env.IMAGEREWARD_WASM_THREADS = saved;
    }
  });
});
