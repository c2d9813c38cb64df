/**
 * vocab.txt: one token per line, id = line number (HF tokenization_bert.py `load_vocab`), plus the two
 * tokens BLIP's `init_tokenizer()` adds: bos_token '[DEC]' (id 30522 for bert-base-uncased), then
 * additional_special_tokens ['[ENC]'] (30523).
 */
import { TokenizerError } from './errors.js';

/** sha256 of the genuine bert-base-uncased vocab.txt (30522 lines). */
export const BERT_BASE_UNCASED_VOCAB_SHA256 = '07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3';

/** BertTokenizer's own special tokens; vocab.txt must contain them. */
export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
/** Added by BLIP's init_tokenizer(), in this order; they get the next free ids unless vocab.txt has them. */
export const BLIP_ADDED_TOKENS = ['[DEC]', '[ENC]'] as const;

export type SpecialToken = (typeof BERT_SPECIAL_TOKENS)[number] | (typeof BLIP_ADDED_TOKENS)[number];

export interface Vocab {
  /** Token of every id, vocab.txt lines first, then the added tokens. */
  readonly tokens: readonly string[];
  /** vocab.txt only: what WordPiece may match. */
  readonly pieceIds: ReadonlyMap<string, number>;
  /** Id of each special token (the BERT ones and the BLIP additions). */
  readonly specialIds: ReadonlyMap<SpecialToken, number>;
}

/** Strict UTF-8, keeping a BOM as U+FEFF like Python's 'utf-8' codec (so it is reported, not skipped). */
export function decodeVocab(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    throw new TokenizerError('VOCAB_INVALID', `vocab ${source} is not valid UTF-8`, { cause: err });
  }
}

/**
 * Parses vocab.txt text. Line breaks are '\n', '\r\n' or '\r' (Python's universal newlines); a final
 * line break is optional. Empty lines, repeated tokens, a byte order mark or a missing BERT special
 * token are errors (upstream would silently shift or shadow ids).
 */
export function parseVocab(text: string, source: string): Vocab {
  if (text.startsWith('\ufeff')) throw new TokenizerError('VOCAB_INVALID', `vocab ${source} starts with a byte order mark`);
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) throw new TokenizerError('VOCAB_INVALID', `vocab ${source} is empty`);

  const pieceIds = new Map<string, number>();
  lines.forEach((token, id) => {
    if (token === '') throw new TokenizerError('VOCAB_INVALID', `vocab ${source}: line ${id + 1} is empty`);
    const earlier = pieceIds.get(token);
    if (earlier !== undefined) {
      throw new TokenizerError('VOCAB_INVALID', `vocab ${source}: token ${JSON.stringify(token)} on line ${id + 1} repeats line ${earlier + 1}`);
    }
    pieceIds.set(token, id);
  });

  const specialIds = new Map<SpecialToken, number>();
  for (const token of BERT_SPECIAL_TOKENS) {
    const id = pieceIds.get(token);
    if (id === undefined) throw new TokenizerError('VOCAB_INVALID', `vocab ${source} lacks the special token ${token}`);
    specialIds.set(token, id);
  }
  const tokens = [...lines];
  for (const token of BLIP_ADDED_TOKENS) {
    // add_special_tokens() only appends a token the vocabulary does not already have.
    let id = pieceIds.get(token);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(token);
    }
    specialIds.set(token, id);
  }
  return { tokens, pieceIds, specialIds };
}
