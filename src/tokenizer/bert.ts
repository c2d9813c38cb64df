/**
 * `BertTokenizer.from_pretrained('bert-base-uncased')` with BLIP's added '[DEC]'/'[ENC]', called the way
 * ImageReward calls it: `tokenizer(prompt, padding='max_length', truncation=True, max_length=35)`.
 */
import { InputError } from '../errors.js';
import { readFileChecked } from '../util/fs.js';
import { basicTokenize } from './basic.js';
import { BERT_MAX_LENGTH, IMAGEREWARD_MAX_LENGTH } from './lengths.js';
import { TokenizerError } from './errors.js';
import { BERT_SPECIAL_TOKENS, BLIP_ADDED_TOKENS, decodeVocab, parseVocab, type SpecialToken, type Vocab } from './vocab.js';
import { WordPiece } from './wordpiece.js';

export { BERT_MAX_LENGTH, IMAGEREWARD_MAX_LENGTH } from './lengths.js';

export interface Encoding {
  inputIds: number[];
  attentionMask: number[];
}

export interface EncodeOptions {
  /** Total length incl. [CLS] and [SEP]; longer texts are cut, shorter ones padded. Default 35. */
  maxLength?: number;
}

export interface VocabFileOptions {
  /** Lower-case hex sha256 the file must have, e.g. BERT_BASE_UNCASED_VOCAB_SHA256. */
  expectedSha256?: string;
}

export interface VocabBytesOptions extends VocabFileOptions {
  /** Names the vocab in error messages (a path or URL; default "(vocab bytes)"). */
  source?: string;
}

/** Literal special tokens, matched case-sensitively before anything else (the added-tokens trie). */
const SPECIAL_TOKEN_PATTERN = new RegExp(
  [...BERT_SPECIAL_TOKENS, ...BLIP_ADDED_TOKENS].map((t) => t.replace(/[[\]]/g, '\\$&')).join('|'),
  'g',
);
const LONE_SURROGATE = /[\ud800-\udfff]/u;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Largest vocab.txt read: bert-base-uncased's is 226 KB. */
const MAX_VOCAB_FILE_BYTES = 16 * 2 ** 20;

export class BertTokenizer {
  /** Ids known to the model: vocab.txt lines plus '[DEC]' and '[ENC]' (30524 for bert-base-uncased). */
  readonly vocabSize: number;
  private readonly wordPiece: WordPiece;
  private readonly clsId: number;
  private readonly sepId: number;
  private readonly padId: number;

  private constructor(private readonly vocab: Vocab) {
    this.vocabSize = vocab.tokens.length;
    this.wordPiece = new WordPiece(vocab.pieceIds, this.specialId('[UNK]'));
    this.clsId = this.specialId('[CLS]');
    this.sepId = this.specialId('[SEP]');
    this.padId = this.specialId('[PAD]');
  }

  /** Reads a vocab.txt; with `expectedSha256` the file must have exactly that hash. */
  static async fromVocabFile(path: string, opts: VocabFileOptions = {}): Promise<BertTokenizer> {
    checkSha256Option(opts.expectedSha256);
    return BertTokenizer.fromVocabBytes(await readFileChecked(path, 'vocab file', MAX_VOCAB_FILE_BYTES), { ...opts, source: path });
  }

  /**
   * Builds a tokenizer from the bytes of a vocab.txt (UTF-8), e.g. fetched in a browser; with
   * `expectedSha256` they must have exactly that hash (WebCrypto: Node and secure browser pages).
   */
  static async fromVocabBytes(bytes: Uint8Array, opts: VocabBytesOptions = {}): Promise<BertTokenizer> {
    const { expectedSha256, source = '(vocab bytes)' } = opts;
    checkSha256Option(expectedSha256);
    if (!(bytes instanceof Uint8Array)) throw new InputError(`vocab bytes must be a Uint8Array, got ${describe(bytes)}`);
    if (bytes.length > MAX_VOCAB_FILE_BYTES) throw new TokenizerError('VOCAB_INVALID', `vocab ${source} is ${bytes.length} bytes, more than the ${MAX_VOCAB_FILE_BYTES} bytes a vocab may have`);
    if (expectedSha256 !== undefined) {
      const actual = await sha256Hex(bytes);
      if (actual !== expectedSha256) throw new TokenizerError('VOCAB_INVALID', `vocab ${source} has sha256 ${actual}, expected ${expectedSha256}`);
    }
    return new BertTokenizer(parseVocab(decodeVocab(bytes, source), source));
  }

  /** Builds a tokenizer from vocab.txt contents; `source` names it in error messages. */
  static fromVocabText(text: string, source = '(vocab text)'): BertTokenizer {
    if (typeof text !== 'string') throw new InputError(`vocab text must be a string, got ${describe(text)}`);
    return new BertTokenizer(parseVocab(text, source));
  }

  /** Word pieces of `text`, without [CLS]/[SEP] and before truncation (upstream `tokenizer.tokenize`). */
  tokenize(text: string): string[] {
    return this.pieceIds(checkText(text, 'text'), Infinity).map((id) => this.vocab.tokens[id]!);
  }

  /** Ids and attention mask of `text`, exactly `maxLength` long: [CLS] pieces[:maxLength-2] [SEP] [PAD]... */
  encode(text: string, opts: EncodeOptions = {}): Encoding {
    return this.encodeChecked(checkText(text, 'text'), checkMaxLength(opts.maxLength));
  }

  encodeBatch(texts: readonly string[], opts: EncodeOptions = {}): Encoding[] {
    if (!Array.isArray(texts)) throw new TokenizerError('TOKENIZER_INPUT', `texts must be an array of strings, got ${describe(texts)}`);
    const maxLength = checkMaxLength(opts.maxLength);
    const checked = texts.map((t, i) => checkText(t, `texts[${i}]`));
    return checked.map((t) => this.encodeChecked(t, maxLength));
  }

  private encodeChecked(text: string, maxLength: number): Encoding {
    // prepare_for_model: truncate the pieces first ('longest_first' cuts the end), then add specials, then pad.
    const pieces = this.pieceIds(text, maxLength - 2).slice(0, maxLength - 2);
    const inputIds = [this.clsId, ...pieces, this.sepId];
    const attentionMask = new Array<number>(inputIds.length).fill(1);
    while (inputIds.length < maxLength) {
      inputIds.push(this.padId);
      attentionMask.push(0);
    }
    return { inputIds, attentionMask };
  }

  /**
   * `PreTrainedTokenizer.tokenize()`: split on literal special tokens, BasicTokenizer + WordPiece between
   * them. Pieces come out left to right and never depend on later text, so the work may stop once at least
   * `limit` are known (encode keeps only maxLength - 2); the result can then be longer than `limit`.
   */
  private pieceIds(text: string, limit: number): number[] {
    const ids: number[] = [];
    let start = 0;
    for (const match of text.matchAll(SPECIAL_TOKEN_PATTERN)) {
      this.encodeSegment(text.slice(start, match.index), ids, limit);
      if (ids.length >= limit) return ids;
      ids.push(this.specialId(match[0] as SpecialToken));
      start = match.index! + match[0].length;
    }
    this.encodeSegment(text.slice(start), ids, limit);
    return ids;
  }

  private encodeSegment(segment: string, ids: number[], limit: number): void {
    const words: string[] = [];
    basicTokenize(segment, words);
    for (let w = 0; w < words.length && ids.length < limit; w++) this.wordPiece.encodeWord(words[w]!, ids);
  }

  private specialId(token: SpecialToken): number {
    return this.vocab.specialIds.get(token)!;
  }
}

function checkSha256Option(expectedSha256: string | undefined): void {
  if (expectedSha256 !== undefined && !SHA256_HEX.test(expectedSha256)) {
    throw new InputError(`expectedSha256 must be 64 lower-case hex digits, got ${JSON.stringify(expectedSha256)}`);
  }
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function checkText(text: unknown, what: string): string {
  if (typeof text !== 'string') throw new TokenizerError('TOKENIZER_INPUT', `${what} must be a string, got ${describe(text)}`);
  const lone = LONE_SURROGATE.exec(text);
  if (lone) {
    const unit = lone[0].charCodeAt(0).toString(16).toUpperCase();
    throw new TokenizerError('TOKENIZER_INPUT', `${what} is not valid UTF-16: lone surrogate U+${unit} at index ${lone.index}`);
  }
  return text;
}

function checkMaxLength(maxLength: number | undefined): number {
  if (maxLength === undefined) return IMAGEREWARD_MAX_LENGTH;
  if (!Number.isInteger(maxLength) || maxLength < 2 || maxLength > BERT_MAX_LENGTH) {
    throw new InputError(`maxLength must be an integer from 2 (room for [CLS] and [SEP]) to ${BERT_MAX_LENGTH}, got ${String(maxLength)}`);
  }
  return maxLength;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
