/** The threaded wasm build (src/wasmThreads.ts) runs 2 threads and gives bit-identical rewards. */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { TINY_FIXTURES, int32Tensor2d, pixelBatch, tinyConfig } from './helpers/tinyModel.js';
import { selectBackend } from '../src/backend.js';
import { BackendError } from '../src/errors.js';
import { registerThreadedWasm } from '../src/wasmThreads.js';
import { readSafetensors } from '../src/weights/safetensors.js';
import { ImageRewardModel } from '../src/model/imageRewardModel.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('threaded wasm backend (2 threads, tfjs-backend-wasm 4.22.0 internals)', function () {
  it('runs 2 threads and matches the 1-thread rewards bit for bit', async function () {
    requireFixtures(this, ...TINY_FIXTURES);
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'helpers', 'threadedRewards.ts')], {
      encoding: 'utf8', timeout: 110_000, env: { ...process.env, IMAGEREWARD_WASM_THREADS: '2' },
    });
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
