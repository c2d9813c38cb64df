/**
 * score-dataset as a real process, SIGKILLed at random moments (seeded, so the moments repeat) and
 * rerun each time: the result file must end with exactly one line per input row, no torn line, and
 * the rewards of a clean run.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../src/util/random.js';
import { CLI_BIN, REPO_ROOT } from './helpers/cliProcess.js';
import { requireFixtures } from './helpers/fixtures.js';
import { maxAbsDiff } from './helpers/assert.js';
import { byRow, readResultLines, TINY_FILES, tinyModelFlags } from './helpers/datasetCli.js';
import { writeJsonl, writeNoiseImages } from './helpers/datasetImages.js';

interface Ended { code: number | null; signal: NodeJS.Signals | null; stderr: string; killedAfterMs?: number }

/**
 * Runs the CLI; with `killAfterMs`, SIGKILLs it that long after its first progress line (the model is
 * loaded and rows are being scored), or lets it finish if it is done before.
 */
function runScoreDataset(argv: readonly string[], killAfterMs?: number): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...argv], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (killAfterMs !== undefined && timer === undefined && stderr.includes('score-dataset: ')) {
        timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, ...(killAfterMs !== undefined ? { killedAfterMs: killAfterMs } : {}) });
    });
  });
}

describe('score-dataset killed with SIGKILL at random moments', function () {
  let tmp: string;

  before(function () {
    requireFixtures(this, ...TINY_FILES);
    tmp = mkdtempSync(join(tmpdir(), 'ir-dataset-kill-'));
  });

  after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  it('resumes to exactly one line per row with the rewards of a clean run', async function () {
    const { rows } = writeNoiseImages(tmp, 60);
    const input = join(tmp, 'rows.jsonl');
    writeJsonl(input, rows);
    const common = [...tinyModelFlags(), '--batch-size', '2', '--max-rows', '2', '--quiet'];

    const clean = join(tmp, 'clean.jsonl');
    const ok = await runScoreDataset(['score-dataset', input, '--output', clean, ...common]);
    expect(ok.code, ok.stderr).to.equal(0);
    const expected = readResultLines(clean);
    expect(expected).to.have.length(rows.length);

    const out = join(tmp, 'killed.jsonl');
    const random = new SeededRandom(12);
    const kills: { afterMs: number; lines: number }[] = [];
    // progress lines are how the test knows scoring began; --quiet would hide them, so not here
    const killable = common.filter((a) => a !== '--quiet');
    for (let attempt = 0; attempt < 12 && kills.length < 4; attempt++) {
      const afterMs = 50 + random.int(900);
      const run = await runScoreDataset(['score-dataset', input, '--output', out, ...killable], afterMs);
      if (run.signal !== 'SIGKILL') {
        expect(run.code, run.stderr).to.equal(0);
        break;
      }
      const text = readFileSync(out, 'utf8');
      kills.push({ afterMs, lines: text.split('\n').length - 1 });
    }
    expect(kills.length, 'runs killed before they finished').to.be.at.least(3);
    const last = await runScoreDataset(['score-dataset', input, '--output', out, ...common]);
    expect(last.code, last.stderr).to.equal(0);

    const got = readResultLines(out);
    expect(got.map((l) => l.row).sort((a, b) => a - b), `kills: ${JSON.stringify(kills)}`).to.deep.equal(rows.map((_, i) => i));
    const sorted = byRow(got);
    expect(sorted.map(({ reward: _, ...rest }) => rest)).to.deep.equal(expected.map(({ reward: _, ...rest }) => rest));
    expect(maxAbsDiff(sorted.map((l) => l.reward!), expected.map((l) => l.reward!))).to.be.at.most(1e-6);
  });
});
