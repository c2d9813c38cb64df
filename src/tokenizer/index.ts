/** The ImageReward tokenizer: bert-base-uncased WordPiece + BLIP's [DEC]/[ENC], with HF-python parity. */
export { BertTokenizer, BERT_MAX_LENGTH, IMAGEREWARD_MAX_LENGTH, type EncodeOptions, type Encoding, type VocabBytesOptions, type VocabFileOptions } from './bert.js';
export { TokenizerError, type TokenizerErrorCode } from './errors.js';
export { BERT_BASE_UNCASED_VOCAB_SHA256, BERT_SPECIAL_TOKENS, BLIP_ADDED_TOKENS } from './vocab.js';
