/** `imagereward benchmark` (in process, tiny model): upstream test-benchmark.py's means, table and files. */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageReward } from '../src/api/imagereward.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { BACKEND, cli, TINY_FILES, tinyModelFlags } from './helpers/datasetCli.js';
import { noisePng } from './helpers/datasetImages.js';

describe(`benchmark (tiny model, ${BACKEND})`, () => {
  let tmp: string;
  let ir: ImageReward;

  before(async function () {
    requireFixtures(this, ...TINY_FILES);
    tmp = mkdtempSync(join(tmpdir(), 'ir-benchmark-'));
    ir = await ImageReward.load(fixturePath('tiny/tiny.safetensors'), { backend: BACKEND, vocab: fixturePath('vocab/bert-base-uncased-vocab.txt'), log: null });
  });

  after(() => {
    ir?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('scores each generator folder as the mean over prompts of the mean reward per prompt, like upstream', async () => {
    const prompts = [{ id: '000864', prompt: 'a red fox in the snow' }, { id: '001022', prompt: 'an astronaut riding a horse' }, { id: '7', prompt: 'a bowl of fruit' }];
    writeFileSync(join(tmp, 'prompts.json'), JSON.stringify(prompts));
    const expected: Record<string, number> = {};
    const perPrompt: Record<string, number[][]> = {};
    for (const [g, k] of [['gen-a', 2], ['gen-b', 3]] as const) {
      const dir = join(tmp, g);
      mkdirSync(dir);
      perPrompt[g] = [];
      for (const [p, item] of prompts.entries()) {
        const images = Array.from({ length: k }, (_, x) => {
          const path = join(dir, `${item.id}_${x}.png`);
          writeFileSync(path, noisePng(100 * p + 10 * x + k));
          return path;
        });
        perPrompt[g].push(await ir.score(item.prompt, images));
      }
      expected[g] = perPrompt[g].map((r) => r.reduce((a, b) => a + b) / r.length).reduce((a, b) => a + b) / prompts.length;
    }
    const results = join(tmp, 'results');
    mkdirSync(results);
    const run = await cli('benchmark', join(tmp, 'gen-a'), join(tmp, 'gen-b'), '--prompts', join(tmp, 'prompts.json'), '--result-dir', results, '--name', 'ImageReward-v1.0', ...tinyModelFlags());
    expect(run.code, run.err.join('\n')).to.equal(0);
    expect(run.out.join('\n')).to.equal([
      'ImageReward-v1.0 Benchmark Results:',
      '| Model | Score   |',
      '|------:|:-------:|',
      `| gen-a | ${expected['gen-a']!.toFixed(4).padStart(7)} |`,
      `| gen-b | ${expected['gen-b']!.toFixed(4).padStart(7)} |`,
    ].join('\n'));
    const summary = JSON.parse(readFileSync(join(results, 'ImageReward-v1.0-benchmark-results.json'), 'utf8')) as Record<string, number>;
    expect(Object.keys(summary)).to.deep.equal(['gen-a', 'gen-b']);
    for (const g of ['gen-a', 'gen-b']) {
      expect(summary[g]).to.be.closeTo(expected[g]!, 1e-6);
      const detail = JSON.parse(readFileSync(join(results, `ImageReward-v1.0-benchmark-${g}-result.json`), 'utf8')) as { id: string; prompt: string; mean_score: number; rewards: number[] }[];
      expect(detail.map((d) => [d.id, d.prompt])).to.deep.equal(prompts.map((p) => [p.id, p.prompt]));
      detail.forEach((d, i) => {
        expect(d.rewards).to.have.length(perPrompt[g]![i]!.length);
        d.rewards.forEach((r, x) => expect(r).to.be.closeTo(perPrompt[g]![i]![x]!, 1e-6));
      });
    }

    rmSync(join(tmp, 'gen-b', '001022_1.png'));
    writeFileSync(join(tmp, 'gen-b', 'notes.txt'), 'keeps the file count');
    const broken = await cli('benchmark', join(tmp, 'gen-b'), '--prompts', join(tmp, 'prompts.json'), '--result-dir', results, ...tinyModelFlags(), '--json');
    expect(broken.code).to.equal(2);
    expect(broken.err.join('\n')).to.contain('001022_1.png');
  });
});
