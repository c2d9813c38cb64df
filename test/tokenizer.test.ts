import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileError, ImageRewardError, InputError } from '../src/errors.js';
import { BERT_BASE_UNCASED_VOCAB_SHA256, BertTokenizer, TokenizerError } from '../src/tokenizer/index.js';
import { fixturePath, requireFixtures } from './helpers/fixtures.js';
import { rejection } from './helpers/assert.js';

const VOCAB = 'vocab/bert-base-uncased-vocab.txt';
const CASES = 'tokenizer/cases.json';
const DIVERGENT = 'tokenizer/divergent_cases.json';

interface GoldenCase {
  name: string;
  text: string;
  input_ids: number[];
  attention_mask: number[];
  pieces: string[];
  n_pieces: number;
  truncated: boolean;
}
interface Tokenization {
  input_ids: number[];
  attention_mask: number[];
  pieces: string[];
}
interface DivergentCase {
  name: string;
  text: string;
  python_hf_slow: Tokenization;
  transformers_js: Tokenization;
}

/** The error `fn` throws (fails the test when it throws nothing). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  expect.fail('expected an error');
}

/** A minimal vocab: the BERT specials plus `extra`, one per line. */
function tinyVocab(...extra: string[]): string {
  return ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...extra].join('\n') + '\n';
}

describe('tokenizer: golden parity with HF python BertTokenizer (bert-base-uncased + [DEC]/[ENC])', () => {
  let tok: BertTokenizer;

  before(async function () {
    requireFixtures(this, VOCAB, CASES, DIVERGENT);
    tok = await BertTokenizer.fromVocabFile(fixturePath(VOCAB), { expectedSha256: BERT_BASE_UNCASED_VOCAB_SHA256 });
  });

  it('has 30522 vocab.txt ids plus [DEC]=30522 and [ENC]=30523', () => {
    expect(tok.vocabSize).to.equal(30524);
    expect(tok.encode('[DEC] [ENC]').inputIds.slice(0, 4)).to.deep.equal([101, 30522, 30523, 102]);
    expect(tok.tokenize('[DEC][ENC]')).to.deep.equal(['[DEC]', '[ENC]']);
  });

  it('gives exactly the ids, mask and word pieces of all 70 golden cases', () => {
    const cases = JSON.parse(readFileSync(fixturePath(CASES), 'utf8')) as GoldenCase[];
    expect(cases).to.have.length(70);
    for (const c of cases) {
      const pieces = tok.tokenize(c.text);
      expect(pieces, `${c.name}: pieces`).to.deep.equal(c.pieces);
      expect(pieces.length, `${c.name}: n_pieces`).to.equal(c.n_pieces);
      expect(pieces.length > 33, `${c.name}: truncated`).to.equal(c.truncated);
      const enc = tok.encode(c.text);
      expect(enc.inputIds, `${c.name}: input_ids`).to.deep.equal(c.input_ids);
      expect(enc.attentionMask, `${c.name}: attention_mask`).to.deep.equal(c.attention_mask);
    }
  });

  it('gives the HF python answer, not the transformers.js one, for Greek final sigma and CJK Ext-B', () => {
    const cases = JSON.parse(readFileSync(fixturePath(DIVERGENT), 'utf8')) as DivergentCase[];
    expect(cases.map((c) => c.name)).to.deep.equal(['greek_final_sigma', 'cjk_ext_b']);
    for (const c of cases) {
      const enc = tok.encode(c.text);
      expect(enc.inputIds, c.name).to.deep.equal(c.python_hf_slow.input_ids);
      expect(enc.attentionMask, c.name).to.deep.equal(c.python_hf_slow.attention_mask);
      expect(tok.tokenize(c.text), c.name).to.deep.equal(c.python_hf_slow.pieces);
      expect(enc.inputIds, c.name).to.not.deep.equal(c.transformers_js.input_ids);
    }
  });

  it('uses Python 3.11 (Unicode 14.0) character data whatever the JS engine knows', () => {
    // Values from HF python on Python 3.11. New in Unicode 15+: U+1FAE8 (emoji) and U+A7DC are `Cn` there,
    // so they are dropped (U+A7DC must not be lower-cased to U+019B first).
    expect(tok.tokenize('cat\u{1FAE8} dog')).to.deep.equal(['cat', 'dog']);
    expect(tok.tokenize('x\uA7DCy')).to.deep.equal(['x', '##y']);
    // U+1171E is Mn in Unicode 14 (stripped as an accent), Mc in later versions.
    expect(tok.tokenize('a\u{1171E}b')).to.deep.equal(['ab']);
    // CJK Ext-F is not in HF's _is_chinese_char list: it stays inside the word.
    expect(tok.tokenize('a\u{2CEB0}b')).to.deep.equal(['[UNK]']);
    expect(tok.tokenize('a\u{20000}b')).to.deep.equal(['a', '[UNK]', 'b']);
    // Per-character lower(): capital sigma is always σ, a typed final ς stays ς.
    expect(tok.tokenize('ΟΔΟΣ')).to.deep.equal(['ο', '##δ', '##ο', '##σ']);
    expect(tok.tokenize('οδος')).to.deep.equal(['ο', '##δ', '##ος']);
    // Specials are matched before cleaning: a control character inside one breaks it.
    expect(tok.tokenize('[CL\u0000S]')).to.deep.equal(['[', 'cl', '##s', ']']);
  });

  it('encodes a batch like one prompt at a time, and honours maxLength', () => {
    const texts = ['a cat', '', 'one two three four five six seven eight nine ten'];
    expect(tok.encodeBatch(texts)).to.deep.equal(texts.map((t) => tok.encode(t)));
    expect(tok.encode('a cat', { maxLength: 2 })).to.deep.equal({ inputIds: [101, 102], attentionMask: [1, 1] });
    const short = tok.encode('one two three four five six seven eight nine ten', { maxLength: 6 });
    expect(short.inputIds).to.deep.equal([101, 2028, 2048, 2093, 2176, 102]);
    expect(short.attentionMask).to.deep.equal([1, 1, 1, 1, 1, 1]);
    expect(tok.encode('a cat', { maxLength: 6 })).to.deep.equal({ inputIds: [101, 1037, 4937, 102, 0, 0], attentionMask: [1, 1, 1, 1, 0, 0] });
  });

  it('rejects a vocab file whose sha256 is not the expected one, naming the file', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'tok-'));
    try {
      const path = join(dir, 'vocab.txt');
      writeFileSync(path, readFileSync(fixturePath(VOCAB), 'utf8').replace('[MASK]', '[MASQ]\n[MASK]'));
      const err = await rejection(BertTokenizer.fromVocabFile(path, { expectedSha256: BERT_BASE_UNCASED_VOCAB_SHA256 }));
      expect(err).to.be.instanceOf(TokenizerError);
      expect((err as TokenizerError).code).to.equal('VOCAB_INVALID');
      expect(err.message).to.include(path).and.include(`expected ${BERT_BASE_UNCASED_VOCAB_SHA256}`);
      // Without a hash to check, the same (valid) file loads; ids after the insertion shift by one.
      const shifted = await BertTokenizer.fromVocabFile(path);
      expect(shifted.vocabSize).to.equal(30525);
      expect(shifted.encode('[MASK]').inputIds.slice(0, 3)).to.deep.equal([101, 104, 102]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tokenizer: vocab loading errors', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tok-vocab-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function vocabError(text: string): TokenizerError {
    const err = thrown(() => BertTokenizer.fromVocabText(text, 'my/vocab.txt'));
    expect(err).to.be.instanceOf(TokenizerError);
    expect((err as TokenizerError).code).to.equal('VOCAB_INVALID');
    expect(err.message).to.include('my/vocab.txt');
    return err as TokenizerError;
  }

  it('rejects an empty vocab', () => {
    expect(vocabError('').message).to.match(/is empty/);
    expect(vocabError('\n').message).to.match(/line 1 is empty/);
  });

  it('rejects repeated tokens, naming both lines', () => {
    expect(vocabError(tinyVocab('cat', 'dog', 'cat')).message).to.include('token "cat" on line 8 repeats line 6');
  });

  it('rejects empty lines, a byte order mark and a missing BERT special token', () => {
    expect(vocabError(tinyVocab('cat', '', 'dog')).message).to.include('line 7 is empty');
    expect(vocabError('\ufeff' + tinyVocab('cat')).message).to.include('byte order mark');
    expect(vocabError('[PAD]\n[UNK]\n[CLS]\n[SEP]\ncat\n').message).to.include('lacks the special token [MASK]');
  });

  it('rejects a file that is not UTF-8, and names a missing file', async () => {
    const bad = join(dir, 'latin1.txt');
    writeFileSync(bad, Buffer.concat([Buffer.from(tinyVocab()), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])]));
    const err = await rejection(BertTokenizer.fromVocabFile(bad));
    expect(err).to.be.instanceOf(TokenizerError);
    expect(err.message).to.equal(`vocab ${bad} is not valid UTF-8`);
    const missing = join(dir, 'nope.txt');
    const gone = await rejection(BertTokenizer.fromVocabFile(missing));
    expect(gone).to.be.instanceOf(FileError);
    expect(gone.message).to.equal(`cannot read vocab file ${missing}: no such file`);
    const badHash = await rejection(BertTokenizer.fromVocabFile(bad, { expectedSha256: 'abc' }));
    expect(badHash).to.be.instanceOf(InputError);
  });

  it('accepts CRLF and a missing final newline like Python universal newlines', () => {
    const lf = BertTokenizer.fromVocabText(tinyVocab('cat', 'dog'));
    const crlf = BertTokenizer.fromVocabText(tinyVocab('cat', 'dog').replace(/\n/g, '\r\n').trimEnd());
    expect(crlf.vocabSize).to.equal(9);
    expect(crlf.encode('dog cat', { maxLength: 5 })).to.deep.equal(lf.encode('dog cat', { maxLength: 5 }));
    expect(lf.encode('dog cat', { maxLength: 5 }).inputIds).to.deep.equal([2, 6, 5, 3, 0]);
  });

  it('appends [DEC]/[ENC] after vocab.txt, or reuses their ids when vocab.txt has them', () => {
    const plain = BertTokenizer.fromVocabText(tinyVocab('cat'));
    expect(plain.vocabSize).to.equal(8);
    expect(plain.encode('[DEC][ENC]', { maxLength: 4 }).inputIds).to.deep.equal([2, 6, 7, 3]);
    const has = BertTokenizer.fromVocabText(tinyVocab('[ENC]', 'cat'));
    expect(has.vocabSize).to.equal(8);
    expect(has.encode('[DEC][ENC]', { maxLength: 4 }).inputIds).to.deep.equal([2, 7, 5, 3]);
  });
});

describe('tokenizer: from vocab bytes (the browser path)', () => {
  it('gives the same ids as fromVocabFile, and checks the sha256 when asked', async function () {
    requireFixtures(this);
    const bytes = new Uint8Array(readFileSync(fixturePath(VOCAB)));
    const fromFile = await BertTokenizer.fromVocabFile(fixturePath(VOCAB));
    const fromBytes = await BertTokenizer.fromVocabBytes(bytes, { expectedSha256: BERT_BASE_UNCASED_VOCAB_SHA256, source: 'https://x/vocab.txt' });
    expect(fromBytes.vocabSize).to.equal(fromFile.vocabSize);
    expect(fromBytes.encode('a photo of an astronaut riding a horse [ENC]')).to.deep.equal(fromFile.encode('a photo of an astronaut riding a horse [ENC]'));
    const changed = bytes.slice();
    changed[0] = changed[0]! ^ 1;
    const err = await rejection(BertTokenizer.fromVocabBytes(changed, { expectedSha256: BERT_BASE_UNCASED_VOCAB_SHA256, source: 'https://x/vocab.txt' }));
    expect(err).to.be.instanceOf(TokenizerError);
    expect(err.message).to.match(/^vocab https:\/\/x\/vocab.txt has sha256 [0-9a-f]{64}, expected /);
    const notBytes = await rejection(BertTokenizer.fromVocabBytes('[PAD]' as unknown as Uint8Array));
    expect(notBytes).to.be.instanceOf(InputError);
  });
});

describe('tokenizer: WordPiece on a small vocab', () => {
  let tok: BertTokenizer;
  before(() => {
    tok = BertTokenizer.fromVocabText(tinyVocab('un', 'una', '##ff', '##able', '##a', '😀', '##😀', 'a'), 'tiny');
  });

  it('takes the longest match first and falls back to [UNK] for the whole word', () => {
    expect(tok.tokenize('unaffable')).to.deep.equal(['una', '##ff', '##able']);
    expect(tok.tokenize('unaffablez un')).to.deep.equal(['[UNK]', 'un']);
  });

  it('counts a word\'s length in code points, not UTF-16 units (100 -> pieces, 101 -> [UNK])', () => {
    expect(tok.tokenize('😀'.repeat(100))).to.deep.equal(['😀', ...Array<string>(99).fill('##😀')]);
    expect(tok.tokenize('😀'.repeat(101))).to.deep.equal(['[UNK]']);
    expect(tok.tokenize('a'.repeat(100))).to.have.length(100);
    expect(tok.tokenize('a'.repeat(101))).to.deep.equal(['[UNK]']);
  });
});

describe('tokenizer: bad input', () => {
  let tok: BertTokenizer;
  before(() => {
    tok = BertTokenizer.fromVocabText(tinyVocab('cat'), 'tiny');
  });

  function inputError(fn: () => unknown): TokenizerError {
    const err = thrown(fn);
    expect(err).to.be.instanceOf(TokenizerError).and.instanceOf(ImageRewardError);
    expect((err as TokenizerError).code).to.equal('TOKENIZER_INPUT');
    return err as TokenizerError;
  }

  it('rejects non-strings', () => {
    for (const bad of [42, null, undefined, ['cat'], { text: 'cat' }]) {
      expect(inputError(() => tok.encode(bad as unknown as string)).message).to.match(/^text must be a string, got /);
      expect(inputError(() => tok.tokenize(bad as unknown as string)).message).to.match(/^text must be a string/);
    }
    expect(inputError(() => tok.encodeBatch('cat' as unknown as string[])).message).to.equal('texts must be an array of strings, got string');
    expect(inputError(() => tok.encodeBatch(['cat', 7 as unknown as string])).message).to.equal('texts[1] must be a string, got number');
  });

  it('rejects lone surrogates, naming where they are, and accepts surrogate pairs', () => {
    expect(inputError(() => tok.encode('cat\ud83d')).message).to.equal('text is not valid UTF-16: lone surrogate U+D83D at index 3');
    expect(inputError(() => tok.encode('\ude00cat')).message).to.equal('text is not valid UTF-16: lone surrogate U+DE00 at index 0');
    expect(inputError(() => tok.encode('a\ude00\ud83d')).message).to.match(/U\+DE00 at index 1$/);
    expect(inputError(() => tok.encodeBatch(['cat', 'x\ud800y'])).message).to.equal('texts[1] is not valid UTF-16: lone surrogate U+D800 at index 1');
    expect(tok.tokenize('\ud83d\ude00 cat')).to.deep.equal(['[UNK]', 'cat']);
  });

  it('rejects a maxLength that is not an integer from 2 to 512', () => {
    for (const maxLength of [1, 0, -3, 2.5, NaN, 513, Infinity]) {
      const err = thrown(() => tok.encode('cat', { maxLength }));
      expect(err, String(maxLength)).to.be.instanceOf(InputError);
      expect(err.message).to.include('maxLength must be an integer from 2');
    }
    expect(tok.encode('cat', { maxLength: 512 }).inputIds).to.have.length(512);
  });
});
