import { expect } from 'chai';
import { BertTokenizer, TokenizerError } from '../src/tokenizer/index.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { SeededRandom } from '../src/util/random.js';

const VOCAB = 'vocab/bert-base-uncased-vocab.txt';

/** A seeded generator, so every run checks the same strings. */
function rng(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

/** Pieces that exercise every branch: specials, controls, marks, CJK, astral, new-in-Unicode-15+ code points. */
const FRAGMENTS = [
  'a', 'painting', ' ', ', ', 'GREG', 'rutkowski', '8k', '[CLS]', '[SEP]', '[PAD]', '[MASK]', '[DEC]', '[ENC]', '[cls]',
  '[SEP', 'ΟΔΟΣ', 'İ', 'é', 'e\u0301', '\u0345', '\t', '\n', '\r\n', '\u0000', '\u0085', '\u2028', '\u3000', '\ufeff',
  '\ufffd', '猫', '\u{20000}', '\u{2CEB0}', '😀', '👍🏽', '\u{1FAE8}', '\uA7DC', '\u{1171E}', 'ﬁ', '！', '…', '#', '##',
];

/** A random valid string: fragments, or code points from anywhere in Unicode except the surrogates. */
function randomText(next: () => number): string {
  let s = '';
  const n = Math.floor(next() * 60);
  for (let i = 0; i < n; i++) {
    if (next() < 0.5) {
      s += FRAGMENTS[Math.floor(next() * FRAGMENTS.length)]!;
    } else {
      const plane = next() < 0.7 ? 0x10000 : 0x110000;
      let cp = Math.floor(next() * plane);
      if (cp >= 0xd800 && cp <= 0xdfff) cp -= 0x800;
      s += String.fromCodePoint(cp);
    }
  }
  return s;
}

describe('tokenizer: properties over random Unicode text', () => {
  let tok: BertTokenizer;

  before(async function () {
    requireFixtures(this, VOCAB);
    tok = await BertTokenizer.fromVocabFile(fixturePath(VOCAB));
  });

  it('never throws on valid strings; 35 ids, [CLS] first, one [SEP] closing the real tokens, 0-padding', () => {
    const next = rng(20240611);
    for (let trial = 0; trial < 3000; trial++) {
      const text = randomText(next);
      const { inputIds, attentionMask } = tok.encode(text);
      const pieces = tok.tokenize(text);
      const real = Math.min(pieces.length, 33) + 2;
      const problems = [
        inputIds.length === 35 && attentionMask.length === 35 ? '' : 'length is not 35',
        inputIds[0] === 101 ? '' : 'first id is not [CLS]',
        inputIds[real - 1] === 102 ? '' : '[SEP] does not follow the (truncated) pieces',
        attentionMask.every((m, i) => m === (i < real ? 1 : 0)) ? '' : 'mask is not 1 per real token, then 0',
        inputIds.every((id, i) => i < real || id === 0) ? '' : 'padding is not [PAD]=0',
        inputIds.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize) ? '' : 'id out of range',
        pieces.every((p) => /^\S+$/u.test(p)) ? '' : 'empty piece or piece with whitespace',
      ].filter(Boolean);
      expect(problems, `trial ${trial}: ${JSON.stringify(text)}`).to.deep.equal([]);
    }
  });

  it('keeps exactly the first maxLength-2 pieces for any maxLength', () => {
    const next = rng(7);
    for (let trial = 0; trial < 500; trial++) {
      const text = randomText(next);
      const maxLength = 2 + Math.floor(next() * 62);
      const full = tok.encode(text, { maxLength: 512 });
      const pieceCount = full.attentionMask.filter((m) => m === 1).length - 2;
      const kept = Math.min(pieceCount, maxLength - 2);
      const { inputIds } = tok.encode(text, { maxLength });
      expect(inputIds, `trial ${trial}: ${JSON.stringify(text)}`).to.deep.equal([
        ...full.inputIds.slice(0, kept + 1),
        102,
        ...Array<number>(maxLength - kept - 2).fill(0),
      ]);
    }
  });

  it('rejects every string with a lone surrogate, pointing at one', () => {
    const next = rng(99);
    for (let trial = 0; trial < 500; trial++) {
      const text = randomText(next);
      const at = Math.floor(next() * (text.length + 1));
      const lone = String.fromCharCode(0xd800 + Math.floor(next() * 0x800));
      // Inserting between the halves of a pair breaks that pair too; the error must point at a lone half.
      const broken = text.slice(0, at) + lone + text.slice(at);
      let err: unknown;
      try {
        tok.encode(broken);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(broken)).to.be.instanceOf(TokenizerError);
      expect((err as TokenizerError).code).to.equal('TOKENIZER_INPUT');
      const index = Number(/at index (\d+)$/.exec((err as Error).message)?.[1]);
      expect(broken.charCodeAt(index) >= 0xd800 && broken.charCodeAt(index) <= 0xdfff, JSON.stringify(broken)).to.equal(true);
    }
  });
});
