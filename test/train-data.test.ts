import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../src/errors.js';
import { loadPreferenceDataset, parsePreferenceDataset } from '../src/train/dataset.js';
import { DatasetError } from '../src/train/errors.js';
import { FeatureCache, imageContentHash } from '../src/train/feature-cache.js';
import { preferenceAccuracy } from '../src/train/metric.js';
import { countPairs, rankPairs } from '../src/train/pairs.js';
import { SeededRandom } from '../src/util/random.js';

/** Upstream test.py `acc`, transcribed loop for loop, as an independent oracle. */
function upstreamAcc(rankings: number[][], rewards: number[][]): number {
  let tol = 0;
  let hit = 0;
  rankings.forEach((base, idx) => {
    const item = rewards[idx]!;
    for (let i = 0; i < base.length; i++) {
      for (let j = i + 1; j < base.length; j++) {
        if (base[i]! > base[j]!) {
          tol++;
          if (item[i]! < item[j]!) hit++;
        } else if (base[i]! < base[j]!) {
          tol++;
          if (item[i]! > item[j]!) hit++;
        }
      }
    }
  });
  return hit / tol;
}

describe('train: preference datasets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prefds-'));

  it('reads the upstream test.json shape and resolves image paths against the file', async () => {
    const file = join(dir, 'test.json');
    writeFileSync(file, JSON.stringify([
      { id: '005658-0040', prompt: 'a cat', generations: ['imgs/a.png', '/abs/b.png'], ranking: [1, 2] },
      { prompt: 'a dog', generations: ['c.webp'], ranking: [1] },
    ]));
    const ds = await loadPreferenceDataset(file);
    expect(ds.records).to.have.length(2);
    expect(ds.records[0]).to.deep.equal({
      index: 0, id: '005658-0040', prompt: 'a cat', generations: [join(dir, 'imgs/a.png'), '/abs/b.png'], ranking: [1, 2],
    });
    expect(ds.records[1]!.id).to.equal(undefined);
    expect(ds.records[1]!.generations).to.deep.equal([join(dir, 'c.webp')]);
  });

  it('reads JSON Lines, skipping blank lines', () => {
    const text = '{"prompt":"x","generations":["1.png","2.png"],"ranking":[2,1]}\n\n{"prompt":"y","generations":["3.png"],"ranking":[1]}\n';
    const ds = parsePreferenceDataset(text, '/data/set.jsonl');
    expect(ds.records.map((r) => r.prompt)).to.deep.equal(['x', 'y']);
    expect(ds.records[0]!.generations).to.deep.equal(['/data/1.png', '/data/2.png']);
  });

  const bad: [string, string, RegExp][] = [
    ['not json', '[{"prompt": ', /bad\.json: is not valid JSON/],
    ['a bad JSONL line', '{"prompt":"x","generations":["a"],"ranking":[1]}\n{oops}', /record #1: line 2 is not valid JSON/],
    ['no records', '[]', /contains no records/],
    ['a non-object record', '[3]', /record #0: is not a JSON object/],
    ['a missing prompt', '[{"generations":["a"],"ranking":[1]}]', /record #0: "prompt" must be a string/],
    ['empty generations', '[{"prompt":"p","generations":[],"ranking":[]}]', /"generations" must be a non-empty array/],
    ['a non-string path', '[{"prompt":"p","generations":["a",4],"ranking":[1,2]}]', /"generations"\[1\] must be a non-empty path/],
    ['a length mismatch', '[{"prompt":"p","generations":["a","b"],"ranking":[1]}]', /"ranking" has 1 entries but "generations" has 2/],
    ['a fractional rank', '[{"prompt":"p","generations":["a","b"],"ranking":[1,1.5]}]', /"ranking"\[1\] must be an integer/],
    ['a bad id', '[{"id":{},"prompt":"p","generations":["a"],"ranking":[1]}]', /"id" must be a string or number/],
  ];
  for (const [what, text, pattern] of bad) {
    it(`rejects ${what} with a DatasetError naming file and record`, () => {
      expect(() => parsePreferenceDataset(text, '/x/bad.json')).to.throw(DatasetError, pattern)
        .with.property('file', '/x/bad.json');
    });
  }

  it('reports a missing dataset file as a FileError', async () => {
    let caught: unknown;
    try { await loadPreferenceDataset(join(dir, 'missing.json')); } catch (err) { caught = err; }
    expect((caught as { code?: string }).code).to.equal('FILE_UNREADABLE');
  });
});

describe('train: pairs', () => {
  it('builds pairs in upstream order, better first, skipping ties', () => {
    expect(rankPairs([1, 2, 5, 3])).to.deep.equal([
      { better: 0, worse: 1 }, { better: 0, worse: 2 }, { better: 0, worse: 3 },
      { better: 1, worse: 2 }, { better: 1, worse: 3 }, { better: 3, worse: 2 },
    ]);
    expect(rankPairs([2, 1, 2])).to.deep.equal([{ better: 1, worse: 0 }, { better: 1, worse: 2 }]);
    expect(rankPairs([3, 3])).to.deep.equal([]);
    // upstream data/test.json record 005695-0057: 6 images, ties 1/1 and 4/4 -> 15 - 2 pairs
    expect(countPairs([[1, 2, 1, 4, 3, 4]])).to.equal(13);
  });
});

describe('train: preference accuracy (test.py acc)', () => {
  it('matches a hand count with human ties and predicted ties', () => {
    const rankings = [[1, 2, 2, 3], [2, 1], [1, 1, 1]];
    const rewards = [[0.5, 0.1, 0.3, 0.3], [0, 1], [3, 2, 1]];
    // record 0: (0,1) right, (0,2) right, (0,3) right, (1,2) human tie: skipped,
    //           (1,3) 0.1 < 0.3 wrong, (2,3) predicted tie 0.3 = 0.3 wrong
    // record 1: (1 better than 0) 1 > 0 right; record 2: all human ties, no pairs
    const acc = preferenceAccuracy(rankings, rewards);
    expect(acc).to.deep.equal({ accuracy: 4 / 6, correct: 4, pairs: 6 });
    expect(acc.accuracy).to.equal(upstreamAcc(rankings, rewards));
  });

  it('agrees with the transcribed test.py on random rankings with ties', () => {
    const rng = new SeededRandom(12345);
    const rand = (n: number) => rng.int(n);
    const rankings: number[][] = [];
    const rewards: number[][] = [];
    for (let r = 0; r < 200; r++) {
      const k = 2 + rand(8);
      rankings.push(Array.from({ length: k }, () => 1 + rand(4)));
      rewards.push(Array.from({ length: k }, () => rand(5) / 4));
    }
    const acc = preferenceAccuracy(rankings, rewards);
    expect(acc.pairs).to.equal(countPairs(rankings));
    expect(acc.accuracy).to.equal(upstreamAcc(rankings, rewards));
    expect(acc.accuracy).to.be.greaterThan(0.2).and.lessThan(0.8);
  });

  it('refuses inputs without any pair, or with mismatched lengths', () => {
    expect(() => preferenceAccuracy([[1, 1]], [[0, 1]])).to.throw(InputError, /no pair/);
    expect(() => preferenceAccuracy([[1, 2]], [[0]])).to.throw(InputError, /record 0 has 2 ranks but 1 rewards/);
  });
});

describe('train: feature cache entries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'featcache-'));
  const feature = Float32Array.from({ length: 8 }, (_, i) => i / 3);

  it('stores one entry per (model, prompt, image content) and reads it back exactly', async () => {
    const cache = new FeatureCache(dir, 'model-a', 8);
    expect(cache.read('a cat', 'ab'.repeat(32))).to.equal(undefined);
    await cache.write('a cat', 'ab'.repeat(32), feature);
    expect(Array.from(cache.read('a cat', 'ab'.repeat(32))!)).to.deep.equal(Array.from(feature));
    expect(cache.read('a dog', 'ab'.repeat(32))).to.equal(undefined);
    expect(cache.read('a cat', 'cd'.repeat(32))).to.equal(undefined);
    expect(new FeatureCache(dir, 'model-b', 8).read('a cat', 'ab'.repeat(32))).to.equal(undefined);
    expect(new FeatureCache(dir, 'model-a', 16).read('a cat', 'ab'.repeat(32))).to.equal(undefined);
    expect(imageContentHash(new Uint8Array([1, 2, 3]))).to.equal('039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81');
  });

  it('treats a damaged entry as missing and overwrites it', async () => {
    const cache = new FeatureCache(dir, 'model-a', 8);
    const path = cache.entryPath('x', 'ef'.repeat(32));
    await cache.write('x', 'ef'.repeat(32), feature);
    writeFileSync(path, 'garbage');
    expect(cache.read('x', 'ef'.repeat(32))).to.equal(undefined);
    await cache.write('x', 'ef'.repeat(32), feature);
    expect(Array.from(cache.read('x', 'ef'.repeat(32))!)).to.deep.equal(Array.from(feature));
  });
});
