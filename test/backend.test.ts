import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../src/errors.js';
import { selectBackend } from '../src/backend.js';
import { blasUnavailableReason } from './helpers/blas.js';

describe('backend selection', () => {
  it('activates a named backend and says so', async () => {
    const lines: string[] = [];
    const choice = await selectBackend({ backend: 'cpu', log: (l) => lines.push(l) });
    expect(choice).to.deep.equal({ name: 'cpu', tfName: 'cpu' });
    expect(tf.getBackend()).to.equal('cpu');
    expect(lines).to.deep.equal(['imagereward: backend cpu']);
    const wasm = await selectBackend({ backend: 'wasm', log: null });
    expect(wasm.name).to.equal('wasm');
    expect(tf.getBackend()).to.equal('wasm');
  });

  it('cpu: prints only our own line, not tfjs\'s "install our node backend" banner (fresh process)', async function () {
    const script = [
      "import * as tf from '@tensorflow/tfjs';",
      "import { selectBackend } from './src/backend.ts';",
      "await selectBackend({ backend: 'cpu' });",
      'console.log(tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0]);',
    ].join('\n');
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd() });
    expect(stdout.trim()).to.equal('3');
    expect(stderr.trim()).to.equal('imagereward: backend cpu');
  });

  it('rejects an unknown backend name', async () => {
    let err: unknown;
    try { await selectBackend({ backend: 'tpu', log: null }); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(BackendError);
    expect((err as Error).message).to.match(/unknown backend "tpu" \(choose one of: node-gpu, node, wasm\+blas, wasm, cpu, webgpu\)/);
  });

  it('fails loudly, without falling back, when a named native backend is not installed', async function () {
    let installed = true;
    try { await import('@tensorflow/tfjs-node' as string); } catch { installed = false; }
    if (installed) this.skip();
    let err: unknown;
    try { await selectBackend({ backend: 'node', log: null }); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(BackendError);
    expect((err as Error).message).to.match(/backend "node" was requested but cannot be loaded/);
  });

  it('reads IMAGEREWARD_BACKEND when no backend is named', async () => {
    const saved = process.env.IMAGEREWARD_BACKEND;
    process.env.IMAGEREWARD_BACKEND = 'cpu';
    try {
      const lines: string[] = [];
      await selectBackend({ backend: 'wasm', log: null });
      const choice = await selectBackend({ log: (l) => lines.push(l) });
      expect(choice.name).to.equal('cpu');
      expect(lines).to.deep.equal(['imagereward: backend cpu']);
    } finally {
      if (saved === undefined) delete process.env.IMAGEREWARD_BACKEND; else process.env.IMAGEREWARD_BACKEND = saved;
    }
  });

  it('picks the best available backend when none is named, and reports what it skipped', async () => {
    const saved = process.env.IMAGEREWARD_BACKEND;
    delete process.env.IMAGEREWARD_BACKEND;
    try {
      let nativeInstalled = true;
      try { await import('@tensorflow/tfjs-node' as string); } catch { nativeInstalled = false; }
      const lines: string[] = [];
      const choice = await selectBackend({ log: (l) => lines.push(l) });
      if (nativeInstalled) {
        expect(choice.tfName).to.equal('tensorflow');
      } else if (blasUnavailableReason() === null) {
        expect(choice.name).to.equal('wasm+blas');
        expect(lines).to.have.length(1);
        expect(lines[0]).to.match(/^imagereward: backend wasm\+blas \((OpenBLAS|MKL|BLIS|Accelerate)[^,;]*, \d+ threads?; tfjs-node not installed\)$/);
        const verbose: string[] = [];
        await selectBackend({ log: (l) => verbose.push(l), verbose: true });
        expect(verbose[0]).to.equal(lines[0]);
        expect(verbose.slice(1)).to.have.length(2);
        expect(verbose[1]).to.match(/^imagereward: backend node-gpu skipped: Cannot find package '@tensorflow\/tfjs-node-gpu'/);
        expect(verbose[2]).to.match(/^imagereward: backend node skipped: Cannot find package '@tensorflow\/tfjs-node'/);
      } else {
        if (process.env.CI === 'true') throw new Error(`no BLAS under CI: ${blasUnavailableReason()}`);
        expect(choice.name).to.equal('wasm');
        expect(lines).to.deep.equal(['imagereward: backend wasm (tfjs-node not installed, no usable BLAS for wasm+blas (--verbose says what to install))']);
        const verbose: string[] = [];
        await selectBackend({ log: (l) => verbose.push(l), verbose: true });
        expect(verbose[3]).to.match(/^imagereward: backend wasm\+blas skipped: no optimised BLAS library: .*apt-get install libopenblas0-pthread/);
      }
    } finally {
      if (saved !== undefined) process.env.IMAGEREWARD_BACKEND = saved;
    }
  });
});
