/**
 * The webgpu backend in Node, through the optional `webgpu` package (Dawn): the tiny model's golden
 * parity through the public API (test/helpers/webgpuParityChild.ts, in a child process because the
 * Vulkan loader reads its environment at process start). Where the system has no Vulkan driver but
 * Chromium's SwiftShader one is installed (/usr/lib/chromium), the child runs on it. Without an
 * adapter the test skips loudly with Dawn's reason. Software WebGPU is slow: minutes, not seconds.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireFixtures } from './helpers/fixtures.js';
import { TINY_FIXTURES } from './helpers/tinyModel.js';
import { GOLDEN_FILES } from './helpers/golden.js';
import { REPO_ROOT } from './helpers/cliProcess.js';
import { vulkanEnv } from './helpers/vulkanEnv.js';

interface ChildResult {
  noAdapter?: string;
  adapter?: { vendor: string; architecture: string; description: string };
  tfBackend: string;
  opsPath: string;
  checks: { pair: string; name: string; err: number; tol: number }[];
  ranksMatch: boolean;
  before: number;
  after: number;
  training: { epochs: number; lossDiff: number; weightDiff: number; lossChange: number };
}

async function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join('test', 'helpers', 'webgpuParityChild.ts'), ...args], {
    cwd: REPO_ROOT, env, maxBuffer: 16 << 20, timeout: 840_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult;
}

describe('webgpu backend in Node (Dawn)', function () {
  this.timeout(900_000);

  it('without an adapter, webgpu is a BackendError naming the problem (no fallback)', async function () {
    requireFixtures(this, ...TINY_FIXTURES);
    const env = { ...process.env };
    delete env.VK_ICD_FILENAMES;
    const result = await runChild(['--load-only'], env);
    if (!result.noAdapter) {
      console.warn('\n  !!! SKIPPING the no-adapter check: this machine has a WebGPU adapter without help\n');
      this.skip();
    }
    expect(result.noAdapter).to.match(/^backend "webgpu" was requested but cannot be loaded: webgpu: (navigator\.gpu\.requestAdapter\(\) found no adapter|webgpu in Node needs the optional package "webgpu")/);
  });

  it('tiny model through the API: every golden layer within 1e-4, rewards within 1e-5, ranks exact, no tensor left behind; head training equals wasm\'s', async function () {
    requireFixtures(this, ...TINY_FIXTURES, ...GOLDEN_FILES);
    const result = await runChild([], vulkanEnv());
    if (result.noAdapter) {
      console.warn(`\n  !!! SKIPPING webgpu parity: ${result.noAdapter}\n`);
      this.skip();
    }
    expect(result.tfBackend).to.equal('webgpu');
    expect(result.opsPath, 'attention as batched 4-D matMuls').to.equal('batched');
    const pairs = new Set(result.checks.map((c) => c.pair));
    expect(pairs.size).to.equal(3 + 3);
    // per pair: 4 vit + embeddings + 6 bert + cls + 5 mlp + reward, and input_ids + attention_mask
    expect(result.checks.filter((c) => c.pair === 'p0.img0')).to.have.length(20);
    const worst = new Map<string, number>();
    for (const c of result.checks) {
      worst.set(c.name, Math.max(worst.get(c.name) ?? 0, c.err));
      expect(c.err, `${c.pair} ${c.name}`).to.be.at.most(c.tol);
    }
    expect(result.ranksMatch).to.equal(true);
    expect(result.after).to.equal(result.before);
    // train-head on webgpu (reads every epoch back asynchronously) equals the same training on wasm
    expect(result.training.epochs).to.equal(2);
    expect(result.training.lossChange, 'the training moved the loss').to.be.below(0);
    expect(result.training.lossDiff).to.be.at.most(1e-5);
    expect(result.training.weightDiff).to.be.at.most(1e-5);
    const a = result.adapter!;
    console.log(`      [webgpu: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ')}] max abs err: ${[...worst].map(([n, e]) => `${n}=${e.toExponential(1)}`).join(', ')}`);
  });
});
