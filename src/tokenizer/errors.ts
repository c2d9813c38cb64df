import { ImageRewardError } from '../errors.js';

/** What went wrong: the text handed to the tokenizer, or the vocabulary it was built from. */
export type TokenizerErrorCode = 'TOKENIZER_INPUT' | 'VOCAB_INVALID';

/** A prompt the tokenizer cannot take (not a string, lone UTF-16 surrogates) or an unusable vocab.txt. */
export class TokenizerError extends ImageRewardError {
  constructor(code: TokenizerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
