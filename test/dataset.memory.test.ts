/**
 * Memory of score-dataset is bounded by the batch, not by the dataset: the same command over 300 and
 * over 3000 distinct generated images (tiny model, real processes) peaks at the same resident set and
 * the same wasm heap. Holding every image's embedding until the end, as `score` did, would add about
 * 50 KB of wasm heap per image here (197 tokens x 64 floats): 135 MB over the larger run.
 * The children run with a 128 MiB V8 heap limit: V8 otherwise lets garbage pile up towards its much
 * larger default limit before a full collection, and peak RSS would measure its heuristics, not what
 * is live (a design that kept per-image data in JS would run out of that heap).
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cliProcess.js';
import { requireFixtures } from './helpers/fixtures.js';
import { BACKEND, readResultLines, TINY_FILES, tinyModelFlags } from './helpers/datasetCli.js';
import { writeJsonl, writeNoiseImages } from './helpers/datasetImages.js';

interface Summary { rows: number; errors: number; memory: { peakRssMiB: number; wasmHeapMiB: number | null } }

describe('score-dataset memory over thousands of distinct images', function () {
  let tmp: string;

  before(function () {
    requireFixtures(this, ...TINY_FILES);
    tmp = mkdtempSync(join(tmpdir(), 'ir-dataset-mem-'));
  });

  after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  it('peak RSS and wasm heap do not grow with the row count (300 vs 3000 rows)', async function () {
    this.timeout(600_000); // about 80 s on an idle 2-core machine; much more when it is shared
    const { rows } = writeNoiseImages(tmp, 3000, 7);
    const summaries: Summary[] = [];
    for (const n of [300, 3000]) {
      const input = join(tmp, `rows-${n}.jsonl`);
      const out = join(tmp, `out-${n}.jsonl`);
      writeJsonl(input, rows.slice(0, n));
      const run = await runCli(['score-dataset', input, '--output', out, ...tinyModelFlags(), '--batch-size', '4', '--json', '--quiet'], {
        env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=128`.trim() },
      });
      expect(run.code, run.stderr).to.equal(0);
      const summary = JSON.parse(run.stdout) as Summary;
      expect(summary).to.include({ rows: n, errors: 0 });
      expect(readResultLines(out)).to.have.length(n);
      summaries.push(summary);
    }
    const [small, large] = summaries as [Summary, Summary];
    const report = JSON.stringify(summaries.map((s) => s.memory));
    expect(large.memory.peakRssMiB, report).to.be.at.most(small.memory.peakRssMiB + 40);
    if (BACKEND.startsWith('wasm')) expect(large.memory.wasmHeapMiB!, report).to.be.at.most(small.memory.wasmHeapMiB! + 8);
  });
});
