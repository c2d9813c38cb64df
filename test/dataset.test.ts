/**
 * score-dataset (in process, tiny model): inputs, error rows, resume after a torn last line, shards
 * and merge, and the streaming API under it.
 */
import { expect } from 'chai';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ImageReward } from '../src/api/imagereward.js';
import type { ScoredPair } from '../src/api/scoreStream.js';
import { withFileLock } from '../src/hub/lock.js';
import { shardFromEnvironment, parseShard, shardOutputPath } from '../src/dataset/shard.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { GOLDEN_FILES, goldenValues, readGolden, type Golden } from './helpers/golden.js';
import { maxAbsDiff } from './helpers/assert.js';
import { BACKEND, byRow, cli, readResultLines, TINY_FILES, tinyModelFlags, type ResultLine } from './helpers/datasetCli.js';
import { noisePng, writeJsonl } from './helpers/datasetImages.js';

const WEBP = ['1.webp', '2.webp', '3.webp', '4.webp'];

describe(`score-dataset (tiny model, ${BACKEND})`, () => {
  let golden: Golden;
  let tmp: string;
  let model: string[];
  let ir: ImageReward;
  /** Golden prompts x the four WebP fixtures, then 12 generated images, then the bad rows. */
  let rows: { prompt: string; image: string }[];
  let input: string;
  let reference: number[];

  before(async function () {
    requireFixtures(this, ...TINY_FILES, ...WEBP.map((f) => `images/${f}`), ...GOLDEN_FILES);
    golden = readGolden();
    tmp = mkdtempSync(join(tmpdir(), 'ir-dataset-'));
    model = tinyModelFlags();
    for (const f of WEBP) copyFileSync(fixturePath(`images/${f}`), join(tmp, f));
    for (let i = 0; i < 12; i++) writeFileSync(join(tmp, `gen-${i}.png`), noisePng(i));
    writeFileSync(join(tmp, 'corrupt.png'), noisePng(99).subarray(0, 60)); // a PNG cut short
    rows = [
      ...golden.prompts.flatMap((p) => WEBP.map((image) => ({ prompt: p.text, image }))),
      ...Array.from({ length: 12 }, (_, i) => ({ prompt: golden.prompts[i % golden.prompts.length]!.text, image: `gen-${i}.png` })),
    ];
    input = join(tmp, 'rows.jsonl');
    writeJsonl(input, rows);
    ir = await ImageReward.load(fixturePath('tiny/tiny.safetensors'), { backend: BACKEND, vocab: fixturePath('vocab/bert-base-uncased-vocab.txt'), log: null });
    reference = await ir.scoreMany(rows.map((r) => r.prompt), rows.map((r) => join(tmp, r.image)));
  });

  after(() => {
    ir?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('writes one line per row, prompt and image as given, rewards equal to the golden ones and to scoreMany', async () => {
    const out = join(tmp, 'plain.jsonl');
    const run = await cli('score-dataset', input, '--output', out, ...model, '--batch-size', '3', '--json');
    expect(run.code, run.err.join('\n')).to.equal(0);
    const summary = JSON.parse(run.out[0]!) as Record<string, unknown>;
    expect(summary).to.include({ input, output: out, rows: rows.length, scored: rows.length, resumed: 0, errors: 0, shard: null });
    expect(summary).to.have.keys('input', 'output', 'shard', 'rows', 'scored', 'resumed', 'errors', 'seconds', 'imagesPerSecond', 'firstResultSeconds', 'memory');
    const lines = readResultLines(out);
    expect(lines.map((l) => l.row)).to.deep.equal(rows.map((_, i) => i));
    expect(lines.map((l) => ({ prompt: l.prompt, image: l.image }))).to.deep.equal(rows);
    expect(Object.keys(lines[0]!)).to.deep.equal(['row', 'prompt', 'image', 'reward']);
    golden.prompts.forEach((p, k) => {
      const got = lines.slice(4 * k, 4 * k + 4).map((l) => l.reward!);
      expect(maxAbsDiff(got, goldenValues(golden, `p${p.index}.rank.rewards`)), p.text).to.be.at.most(1e-5);
    });
    expect(maxAbsDiff(lines.map((l) => l.reward!), reference)).to.be.at.most(1e-6);
    expect(run.err.some((l) => /^score-dataset: \d+\/\d+ images \(\d+%\)/.test(l)), run.err.join('\n')).to.equal(true);
  });

  it('turns bad rows into error records and goes on; the exit code says some failed; --fail-fast stops', async () => {
    const file = join(tmp, 'bad.jsonl');
    writeFileSync(file, [
      JSON.stringify(rows[0]),
      JSON.stringify({ prompt: rows[1]!.prompt, image: 'missing.png' }),
      JSON.stringify({ prompt: '  ', image: '1.webp' }),
      '{"prompt": "cut short',
      JSON.stringify({ prompt: rows[1]!.prompt, image: 'corrupt.png' }),
      '',
      JSON.stringify({ prompt: 7, image: '1.webp' }),
      JSON.stringify(rows[1]),
    ].join('\n'));
    const out = join(tmp, 'bad-out.jsonl');
    const run = await cli('score-dataset', file, '--output', out, ...model, '--json');
    expect(run.code).to.equal(2);
    expect(JSON.parse(run.out[0]!)).to.include({ rows: 7, scored: 7, errors: 5 });
    const lines = readResultLines(out);
    expect(lines.map((l) => l.error?.code ?? 'ok')).to.deep.equal(['ok', 'FILE_UNREADABLE', 'INPUT_INVALID', 'DATASET_INVALID', 'IMAGE_INVALID', 'DATASET_INVALID', 'ok']);
    expect(lines[1]).to.deep.include({ row: 1, prompt: rows[1]!.prompt, image: 'missing.png' });
    expect(lines[1]!.error!.message).to.contain('missing.png');
    expect(lines[3]).to.deep.include({ prompt: null, image: null });
    expect(lines[3]!.error!.message).to.match(/line 4 is not valid JSON/);
    expect(lines[5]).to.deep.include({ prompt: null, image: '1.webp' });
    expect(lines[6]!.reward).to.be.closeTo(reference[1]!, 1e-6);
    expect(run.err.join('\n')).to.contain('5 of 7 rows could not be scored');

    const ff = join(tmp, 'ff.jsonl');
    const stopped = await cli('score-dataset', file, '--output', ff, ...model, '--fail-fast', '--json');
    expect(stopped.code).to.equal(2);
    expect(JSON.parse(stopped.out[0]!)).to.deep.equal({ error: { code: 'FILE_UNREADABLE', message: JSON.parse(stopped.out[0]!).error.message } });
    expect(stopped.err.join('\n')).to.match(/row 1 \("missing\.png"\)/);
    expect(readResultLines(ff).map((l) => l.row)).to.deep.equal([0]);
    const resumed = await cli('score-dataset', file, '--output', ff, ...model, '--json');
    expect(JSON.parse(resumed.out[0]!)).to.include({ rows: 7, scored: 6, resumed: 1, errors: 5 });
    expect(readResultLines(ff)).to.deep.equal(lines);
  });

  it('resumes: a rerun appends nothing, a torn last line is repaired, missing rows are appended once', async () => {
    const out = join(tmp, 'resume.jsonl');
    expect((await cli('score-dataset', input, '--output', out, ...model)).code).to.equal(0);
    const full = readFileSync(out, 'utf8');
    const again = await cli('score-dataset', input, '--output', out, ...model, '--json');
    expect(JSON.parse(again.out[0]!)).to.include({ scored: 0, resumed: rows.length });
    expect(readFileSync(out, 'utf8')).to.equal(full);
    // the last 5 rows lost and half of a sixth written: what a kill during a write leaves
    const lines = full.split('\n').filter((l) => l !== '');
    const kept = lines.slice(0, -6).map((l) => `${l}\n`).join('');
    writeFileSync(out, kept + lines[lines.length - 6]!.slice(0, 17));
    const resumed = await cli('score-dataset', input, '--output', out, ...model, '--json');
    expect(JSON.parse(resumed.out[0]!)).to.include({ scored: 6, resumed: rows.length - 6 });
    expect(byRow(readResultLines(out)).map((l) => ({ ...l, reward: Math.round(l.reward! * 1e6) }))).to.deep.equal(
      lines.map((l) => JSON.parse(l) as ResultLine).map((l) => ({ ...l, reward: Math.round(l.reward! * 1e6) })));
    // a file with no newline at all is all torn
    truncateSync(out, 10);
    expect(JSON.parse((await cli('score-dataset', input, '--output', out, ...model, '--json')).out[0]!)).to.include({ scored: rows.length, resumed: 0 });
  });

  it('lets one run write an OUT at a time: a second waits for the first, then finds nothing to do', async () => {
    const out = join(tmp, 'locked.jsonl');
    let release: () => void = () => {};
    const held = new Promise<void>((r) => { release = r; });
    let lockTaken: () => void = () => {};
    const taken = new Promise<void>((r) => { lockTaken = r; });
    // another writer: holds OUT.lock, writes the whole result, then lets go
    const first = withFileLock(out, async () => {
      lockTaken();
      await held;
      expect((await cli('score-dataset', input, '--output', join(tmp, 'for-lock.jsonl'), ...model)).code).to.equal(0);
      copyFileSync(join(tmp, 'for-lock.jsonl'), out);
    });
    await taken;
    const second = cli('score-dataset', input, '--output', out, ...model, '--json');
    await new Promise((r) => setTimeout(r, 300));
    release();
    const [, run] = await Promise.all([first, second]);
    expect(run.err.join('\n')).to.match(new RegExp(`waiting for process ${process.pid} on .*, which is writing ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(JSON.parse(run.out[0]!)).to.include({ scored: 0, resumed: rows.length });
    expect(readResultLines(out)).to.have.length(rows.length);
    expect(existsSync(`${out}.lock`)).to.equal(false);
  });

  it('refuses to resume into an OUT written for another input, and a file that is not a result file', async () => {
    const out = join(tmp, 'other.jsonl');
    writeJsonl(out, [{ row: 0, prompt: 'something else', image: '1.webp', reward: 0 }]);
    const run = await cli('score-dataset', input, '--output', out, ...model);
    expect(run.code).to.equal(2);
    expect(run.err.join('\n')).to.match(/holds row 0 for another prompt or image.*give another --output/);
    writeFileSync(out, '{"hello": 1}\n');
    const notOurs = await cli('score-dataset', input, '--output', out, ...model);
    expect(notOurs.code).to.equal(2);
    expect(notOurs.err.join('\n')).to.contain('line 1 is not a result record');
  });

  it('reads CSV (header with prompt and image) and a folder with one --prompt, with the same rewards', async () => {
    const csv = join(tmp, 'rows.csv');
    const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
    writeFileSync(csv, `\uFEFFid,prompt,image\n${rows.map((r, i) => `${i},${quote(r.prompt)},${r.image}`).join('\r\n')}\r\n`);
    const out = join(tmp, 'csv.jsonl');
    const run = await cli('score-dataset', csv, '--output', out, ...model);
    expect(run.code, run.err.join('\n')).to.equal(0);
    const lines = readResultLines(out);
    expect(lines.map((l) => ({ prompt: l.prompt, image: l.image }))).to.deep.equal(rows);
    expect(maxAbsDiff(lines.map((l) => l.reward!), reference)).to.be.at.most(1e-6);

    writeFileSync(join(tmp, 'nocol.csv'), 'prompt,picture\na,b\n');
    const bad = await cli('score-dataset', join(tmp, 'nocol.csv'), '--output', join(tmp, 'nocol.jsonl'), ...model, '--json');
    expect(bad.code).to.equal(2);
    expect(JSON.parse(bad.out[0]!).error.code).to.equal('DATASET_INVALID');
    expect(bad.err.join('\n')).to.contain('no "image" column');

    const prompt = golden.prompts[0]!.text;
    const dirOut = join(tmp, 'dir.jsonl');
    const dir = await cli('score-dataset', tmp, '--prompt', prompt, '--output', dirOut, ...model);
    expect(dir.code).to.equal(2); // corrupt.png is in the folder
    const dirLines = readResultLines(dirOut);
    const names = dirLines.map((l) => l.image);
    expect(names).to.deep.equal([...names].sort());
    expect(names).to.include.members(['1.webp', 'gen-0.png', 'corrupt.png']);
    const one = dirLines.find((l) => l.image === '2.webp')!;
    expect(one.reward).to.be.closeTo(goldenValues(golden, `p${golden.prompts[0]!.index}.rank.rewards`)[1]!, 1e-5);
    const noPrompt = await cli('score-dataset', tmp, '--output', join(tmp, 'x.jsonl'), ...model);
    expect(noPrompt.err.join('\n')).to.contain('needs --prompt');
  });

  describe('shards', () => {
    it('reads the index from --shard I/N and the array-job variables', () => {
      expect(parseShard('2/7')).to.deep.equal({ index: 2, count: 7 });
      expect(() => parseShard('7/7')).to.throw(/0 to 6/);
      expect(() => parseShard('1-3')).to.throw(/I\/N/);
      expect(shardFromEnvironment('4', { JOB_COMPLETION_INDEX: '3' })).to.deep.equal({ index: 3, count: 4 });
      expect(shardFromEnvironment('4', { AWS_BATCH_JOB_ARRAY_INDEX: '0' })).to.deep.equal({ index: 0, count: 4 });
      expect(shardFromEnvironment('4', { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1' })).to.deep.equal({ index: 3, count: 4 });
      expect(() => shardFromEnvironment('4', {})).to.throw(/JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX, SLURM_ARRAY_TASK_ID/);
      expect(() => shardFromEnvironment('4', { JOB_COMPLETION_INDEX: '4' })).to.throw(/0 to 3/);
      expect(shardOutputPath('/x/out.jsonl', { index: 2, count: 7 })).to.equal('/x/out.shard-0002-of-0007.jsonl');
    });

    it('the union of N shard outputs, merged, equals the unsharded output (N = 1, 3, 7)', async () => {
      const whole = join(tmp, 'whole.jsonl');
      expect((await cli('score-dataset', input, '--output', whole, ...model)).code).to.equal(0);
      const expected = readResultLines(whole);
      for (const n of [1, 3, 7]) {
        const out = join(tmp, `sharded-${n}.jsonl`);
        const files: string[] = [];
        for (let i = 0; i < n; i++) {
          // half through --shard, half through the Kubernetes variable
          const viaEnv = i % 2 === 1;
          if (viaEnv) process.env.JOB_COMPLETION_INDEX = String(i);
          try {
            const run = await cli('score-dataset', input, '--output', out, ...model, ...(viaEnv ? ['--shards', String(n)] : ['--shard', `${i}/${n}`]), '--json');
            expect(run.code, run.err.join('\n')).to.equal(0);
            const summary = JSON.parse(run.out[0]!) as { output: string; rows: number };
            expect(summary.output).to.equal(shardOutputPath(out, { index: i, count: n }));
            expect(summary.rows).to.equal(rows.filter((_, r) => r % n === i).length);
            expect(readResultLines(summary.output).every((l) => l.row % n === i)).to.equal(true);
            files.push(summary.output);
          } finally {
            delete process.env.JOB_COMPLETION_INDEX;
          }
        }
        const merged = join(tmp, `merged-${n}.jsonl`);
        const m = await cli('merge', '--output', merged, ...files.reverse(), '--json');
        expect(m.code, m.err.join('\n')).to.equal(0);
        expect(JSON.parse(m.out[0]!)).to.deep.equal({ output: merged, files: n, rows: rows.length, errors: 0, duplicates: 0 });
        const got = readResultLines(merged);
        expect(got.map(({ reward: _, ...rest }) => rest), `N=${n}`).to.deep.equal(expected.map(({ reward: _, ...rest }) => rest));
        expect(maxAbsDiff(got.map((l) => l.reward!), expected.map((l) => l.reward!)), `N=${n}`).to.be.at.most(1e-6);
        if (n === 7) {
          const missing = await cli('merge', '--output', join(tmp, 'm.jsonl'), ...files.slice(1));
          expect(missing.code).to.equal(2);
          expect(missing.err.join('\n')).to.match(/shard \d of 7 missing/);
        }
      }
    });

    it('merge refuses rows of different inputs and gaps, and drops identical duplicates', async () => {
      const a = join(tmp, 'a.jsonl');
      const b = join(tmp, 'b.jsonl');
      writeJsonl(a, [{ row: 0, prompt: 'p', image: 'x.png', reward: 1 }, { row: 1, prompt: 'p', image: 'y.png', reward: 2 }]);
      writeJsonl(b, [{ row: 1, prompt: 'p', image: 'y.png', reward: 2 }, { row: 2, prompt: 'p', image: 'z.png', error: { code: 'FILE_UNREADABLE', message: 'gone' } }]);
      const ok = await cli('merge', '--output', join(tmp, 'ab.jsonl'), a, b, '--json');
      expect(JSON.parse(ok.out[0]!)).to.include({ rows: 3, errors: 1, duplicates: 1 });
      appendFileSync(b, `${JSON.stringify({ row: 0, prompt: 'q', image: 'x.png', reward: 1 })}\n`);
      expect((await cli('merge', '--output', join(tmp, 'ab.jsonl'), a, b)).err.join('\n')).to.contain('row 0 is for another prompt or image');
      writeJsonl(b, [{ row: 3, prompt: 'p', image: 'w.png', reward: 1 }]);
      expect((await cli('merge', '--output', join(tmp, 'ab.jsonl'), a, b)).err.join('\n')).to.contain('rows 2 are in none of the files');
    });
  });

  describe('long lists through score / scoreMany / features', () => {
    it('hold one batch of image embeddings, not the whole list: live tensor bytes over 96 distinct images = over 8', async () => {
      const images = Array.from({ length: 96 }, (_, i) => noisePng(1000 + i));
      const prompts = images.map((_, i) => golden.prompts[i % golden.prompts.length]!.text);
      // the most tensor bytes alive when the text encoder runs (image embeddings included)
      const features = ir.model.features.bind(ir.model);
      let peak = 0;
      ir.model.features = (...args) => { peak = Math.max(peak, tf.memory().numBytes); return features(...args); };
      try {
        const few = await ir.scoreMany(prompts.slice(0, 8), images.slice(0, 8));
        const small = peak;
        peak = 0;
        const all = await ir.scoreMany(prompts, images);
        // all 96 embeddings held at once would add 96 x 197 x 64 floats = 4.8 MB
        expect(peak - small, `${small} -> ${peak}`).to.be.at.most(64 << 10);
        expect(maxAbsDiff(all.slice(0, 8), few)).to.be.at.most(1e-6);
        expect(all[50]).to.be.closeTo(await ir.score(prompts[50]!, images[50]!), 1e-6);
        const cls = await ir.features(prompts.slice(0, 6), images.slice(0, 6));
        expect(cls.map((f) => f.length)).to.deep.equal(Array(6).fill(64));
      } finally {
        ir.model.features = features;
      }
    });
  });

  describe('scoreStream', () => {
    it('yields every pair in order with the rewards of scoreMany, tensors flat; failFast throws after the good pairs', async () => {
      const pairs = rows.map((r) => ({ prompt: r.prompt, image: join(tmp, r.image) }));
      async function* slowly() { for (const p of pairs) yield p; }
      const collect = async (it: AsyncIterable<ScoredPair>) => { const out: ScoredPair[] = []; for await (const r of it) out.push(r); return out; };
      const first = await collect(ir.scoreStream(slowly()));
      const tensors = tf.memory().numTensors;
      const second = await collect(ir.scoreStream(pairs));
      expect(tf.memory().numTensors).to.equal(tensors);
      expect(first.map((r) => r.index)).to.deep.equal(pairs.map((_, i) => i));
      expect(maxAbsDiff(first.map((r) => ('reward' in r ? r.reward : NaN)), reference)).to.be.at.most(1e-6);
      expect(second.map((r) => ('reward' in r ? r.reward : NaN))).to.deep.equal(first.map((r) => ('reward' in r ? r.reward : NaN)));

      const withBad = [...pairs.slice(0, 5), { prompt: 'x', image: join(tmp, 'missing.png') }, ...pairs.slice(5)];
      const seen: number[] = [];
      let thrown: unknown;
      try {
        for await (const r of ir.scoreStream(withBad, { failFast: true })) seen.push(r.index);
      } catch (err) {
        thrown = err;
      }
      expect(seen).to.deep.equal([0, 1, 2, 3, 4]);
      expect(thrown).to.have.property('code', 'FILE_UNREADABLE');
      expect(tf.memory().numTensors).to.equal(tensors);
    });
  });
});
