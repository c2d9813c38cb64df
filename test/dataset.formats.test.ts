/**
 * score-dataset's other inputs and outputs (in process, tiny model): Parquet in (paths, bytes)
 * and out (resumable), upstream's test.json with per-group ranking, and
 * webdataset .tar shards; each against the rewards of scoreMany / the golden ranks.
 */
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import tar from 'tar-stream';
import { ImageReward } from '../src/api/imagereward.js';
import { readParquetResults } from '../src/dataset/parquet.js';
import type { ResultRecord } from '../src/dataset/row.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { GOLDEN_FILES, goldenValues, readGolden, type Golden } from './helpers/golden.js';
import { maxAbsDiff } from './helpers/assert.js';
import { BACKEND, cli, readResultLines, TINY_FILES, tinyModelFlags } from './helpers/datasetCli.js';
import { noisePng } from './helpers/datasetImages.js';

const WEBP = ['1.webp', '2.webp', '3.webp', '4.webp'];

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A tar of [name, bytes] members, in order. */
async function tarOf(members: readonly [string, Uint8Array | string][]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => { chunks.push(c as Buffer); });
  const done = new Promise<void>((r) => { pack.on('end', () => r()); });
  for (const [name, body] of members) pack.entry({ name }, Buffer.from(body));
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

describe(`score-dataset formats (tiny model, ${BACKEND})`, () => {
  let golden: Golden;
  let tmp: string;
  let model: string[];
  let ir: ImageReward;
  let prompt: string;
  /** Rewards of the four WebP fixtures for `prompt`, from the golden file. */
  let webpRewards: number[];

  before(async function () {
    requireFixtures(this, ...TINY_FILES, ...WEBP.map((f) => `images/${f}`), ...GOLDEN_FILES);
    golden = readGolden();
    tmp = mkdtempSync(join(tmpdir(), 'ir-dataset-formats-'));
    model = tinyModelFlags();
    for (const f of WEBP) copyFileSync(fixturePath(`images/${f}`), join(tmp, f));
    prompt = golden.prompts[0]!.text;
    webpRewards = goldenValues(golden, `p${golden.prompts[0]!.index}.rank.rewards`);
    ir = await ImageReward.load(fixturePath('tiny/tiny.safetensors'), { backend: BACKEND, vocab: fixturePath('vocab/bert-base-uncased-vocab.txt'), log: null });
  });

  after(() => {
    ir?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('reads Parquet with image paths or image bytes, and writes Parquet (resumable)', async () => {
    const webp = WEBP.map((f) => new Uint8Array(readFileSync(join(tmp, f))));
    const paths = join(tmp, 'paths.parquet');
    writeFileSync(paths, new Uint8Array(parquetWriteBuffer({ columnData: [
      { name: 'prompt', data: WEBP.map(() => prompt), type: 'STRING' },
      { name: 'image', data: WEBP, type: 'STRING' },
      { name: 'extra', data: WEBP.map((_, i) => i), type: 'INT32' },
    ] })));
    const bytes = join(tmp, 'bytes.parquet');
    writeFileSync(bytes, new Uint8Array(parquetWriteBuffer({ columnData: [
      { name: 'prompt', data: [...WEBP.map(() => prompt), ''], type: 'STRING' },
      { name: 'image', data: [...webp, webp[0]!], type: 'BYTE_ARRAY' },
    ] })));
    for (const [input, name] of [[paths, 'p'], [bytes, 'b']] as const) {
      const out = join(tmp, `${name}.jsonl`);
      const run = await cli('score-dataset', input, '--output', out, ...model);
      const lines = readResultLines(out);
      expect(maxAbsDiff(lines.slice(0, 4).map((l) => l.reward!), webpRewards), input).to.be.at.most(1e-5);
      if (name === 'p') {
        expect(run.code, run.err.join('\n')).to.equal(0);
        expect(lines.map((l) => l.image)).to.deep.equal(WEBP);
      } else {
        expect(run.code).to.equal(2);
        expect(lines[4]!.error!.code).to.equal('INPUT_INVALID');
        expect(lines[0]!.image).to.match(/^sha256:[0-9a-f]{16}$/);
        expect(lines[4]!.image).to.equal(lines[0]!.image);
      }
    }

    // a file cut short, and one whose footer length points outside it: typed errors, no hang
    const whole = readFileSync(paths);
    for (const bad of [whole.subarray(0, whole.length - 30), Buffer.concat([whole.subarray(0, whole.length - 8), Buffer.from([0xff, 0xff, 0xff, 0x7f]), Buffer.from('PAR1')])]) {
      writeFileSync(join(tmp, 'bad.parquet'), bad);
      const refused = await cli('score-dataset', join(tmp, 'bad.parquet'), '--output', join(tmp, 'bad.jsonl'), ...model, '--json');
      expect(refused.code).to.equal(2);
      expect(JSON.parse(refused.out[0]!).error.code).to.equal('DATASET_INVALID');
    }

    const out = join(tmp, 'out.parquet');
    const first = await cli('score-dataset', paths, '--output', out, ...model, '--json');
    expect(first.code, first.err.join('\n')).to.equal(0);
    expect(existsSync(`${out}.progress.jsonl`)).to.equal(false);
    const records = await collect(readParquetResults(out));
    expect(records.map((r) => [r.row, r.prompt, r.image])).to.deep.equal(WEBP.map((f, i) => [i, prompt, f]));
    expect(maxAbsDiff(records.map((r) => (r as { reward: number }).reward), webpRewards)).to.be.at.most(1e-5);
    // a rerun over the finished file scores nothing and writes the same rows
    const again = await cli('score-dataset', paths, '--output', out, ...model, '--json');
    expect(JSON.parse(again.out[0]!)).to.include({ scored: 0, resumed: 4 });
    expect(await collect(readParquetResults(out))).to.deep.equal(records);
    // a run killed before the end leaves only the progress log: the rerun finishes it
    rmSync(out);
    writeFileSync(`${out}.progress.jsonl`, `${JSON.stringify(records[0])}\n`);
    const resumed = await cli('score-dataset', paths, '--output', out, ...model, '--json');
    expect(JSON.parse(resumed.out[0]!)).to.include({ scored: 3, resumed: 1 });
    expect(await collect(readParquetResults(out))).to.deep.equal(records);
  });

  it('reads upstream test.json: a group per record, ranked within it like upstream inference_rank', async () => {
    const json = join(tmp, 'test.json');
    const ranks = (i: number) => goldenValues(golden, `p${golden.prompts[i]!.index}.rank.ranks`);
    writeFileSync(json, JSON.stringify([
      { id: 'a', prompt: golden.prompts[0]!.text, generations: WEBP, ranking: [1, 2, 3, 4] },
      { id: 'b', prompt: golden.prompts[1]!.text, generations: [...WEBP.slice(0, 2), 'missing.png', ...WEBP.slice(2)] },
      { id: 'c', prompt: 'no generations', generations: [] },
    ]));
    const out = join(tmp, 'test-out.jsonl');
    const run = await cli('score-dataset', json, '--output', out, ...model, '--batch-size', '3', '--max-rows', '2');
    expect(run.code).to.equal(2);
    const lines = readResultLines(out);
    expect(lines.map((l) => l.group)).to.deep.equal([0, 0, 0, 0, 1, 1, 1, 1, 1, 2]);
    expect(lines.slice(0, 4).map((l) => l.ranking)).to.deep.equal(ranks(0));
    expect(maxAbsDiff(lines.slice(0, 4).map((l) => l.reward!), webpRewards)).to.be.at.most(1e-5);
    const second = lines.slice(4, 9);
    expect(second[2]).to.deep.include({ image: 'missing.png', ranking: null });
    expect([...second.slice(0, 2), ...second.slice(3)].map((l) => l.ranking)).to.deep.equal(ranks(1));
    expect(lines[9]!.error!.message).to.contain('"generations" must be a non-empty array');
    expect(Object.keys(lines[0]!)).to.deep.equal(['row', 'prompt', 'image', 'reward', 'group', 'ranking']);

    // shards take whole groups; the merged Parquet keeps group and ranking
    const files: string[] = [];
    for (let i = 0; i < 2; i++) {
      const sharded = await cli('score-dataset', json, '--output', join(tmp, 'tj.jsonl'), ...model, '--shard', `${i}/2`, '--json');
      files.push((JSON.parse(sharded.out[0]!) as { output: string }).output);
    }
    expect(readResultLines(files[1]!).map((l) => l.group)).to.deep.equal([1, 1, 1, 1, 1]);
    const merged = join(tmp, 'tj.parquet');
    expect((await cli('merge', '--output', merged, ...files)).code).to.equal(0);
    const back = await collect(readParquetResults(merged));
    expect(back.map((r: ResultRecord) => [r.row, r.group, r.ranking ?? null])).to.deep.equal(lines.map((l) => [l.row, l.group, l.ranking ?? null]));
  });

  it('reads webdataset .tar shards: image + .txt or .json caption per key; samples missing either are error rows', async () => {
    const gen = noisePng(5);
    const file = join(tmp, '00000.tar');
    writeFileSync(file, await tarOf([
      ['00000/000000000.jpg.unused', 'x'],
      ['00000/000000001.webp', readFileSync(join(tmp, '1.webp'))],
      ['00000/000000001.txt', `${prompt}\n`],
      ['00000/000000001.json', JSON.stringify({ caption: 'ignored: the .txt wins', width: 4 })],
      ['00000/000000002.png', gen],
      ['00000/000000002.json', JSON.stringify({ caption: prompt, url: 'http://x' })],
      ['00000/000000003.txt', 'a caption without an image'],
      ['00000/000000004.webp', readFileSync(join(tmp, '2.webp'))],
    ]));
    const out = join(tmp, 'tar.jsonl');
    const run = await cli('score-dataset', file, '--output', out, ...model);
    expect(run.code).to.equal(2);
    const lines = readResultLines(out);
    expect(lines.map((l) => l.image)).to.deep.equal([null, '00000/000000001.webp', '00000/000000002.png', null, '00000/000000004.webp']);
    expect(lines[1]!.reward).to.be.closeTo(webpRewards[0]!, 1e-5);
    expect(lines[1]!.prompt).to.equal(prompt);
    expect(lines[2]!.reward).to.be.closeTo((await ir.score(prompt, gen)), 1e-6);
    expect(lines[0]!.error!.message).to.contain('has no .jpg/.jpeg/.png/.webp image');
    expect(lines[3]!.error!.message).to.contain('has no .jpg');
    expect(lines[4]!.error!.message).to.contain('has no caption');

    writeFileSync(join(tmp, 'broken.tar'), (await tarOf([['a.txt', 'x'.repeat(2000)]])).subarray(0, 700));
    const broken = await cli('score-dataset', join(tmp, 'broken.tar'), '--output', join(tmp, 'broken.jsonl'), ...model, '--json');
    expect(broken.code).to.equal(2);
    expect(JSON.parse(broken.out[0]!).error.code).to.equal('DATASET_INVALID');
  });
});
