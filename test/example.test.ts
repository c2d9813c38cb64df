import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { GOLDEN_FILES, goldenValues, readGolden } from './helpers/golden.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('README main job: examples/seed.ts', () => {
  it('ranks the four WebP images for the seed prompt (tiny model stands in for ImageReward-v1.0)', async function () {
    requireFixtures(this, 'tiny/tiny.safetensors', 'vocab/bert-base-uncased-vocab.txt', ...GOLDEN_FILES,
      ...['1', '2', '3', '4'].map((n) => `images/${n}.webp`));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(repoRoot, 'examples', 'seed.ts'),
      ...['1', '2', '3', '4'].map((n) => fixturePath(`images/${n}.webp`))], {
      cwd: repoRoot,
      env: { ...process.env, IMAGEREWARD_MODEL: fixturePath('tiny/tiny.safetensors'), IMAGEREWARD_VOCAB: fixturePath('vocab/bert-base-uncased-vocab.txt'), IMAGEREWARD_BACKEND: 'wasm' },
    });
    const golden = readGolden();
    const ranks = goldenValues(golden, 'p0.rank.ranks');
    const rewards = goldenValues(golden, 'p0.rank.rewards').map((r) => Number(r.toFixed(2)));
    expect(stdout).to.equal(`ranking: [ ${ranks.join(', ')} ]\nrewards: [ ${rewards.join(', ')} ]\n`);
  });
});
