/** Sequence lengths, in a module of their own so that configs can name them without loading the tokenizer. */

/** ImageReward's `max_length` (ImageReward.py: `tokenizer(..., max_length=35)`). */
export const IMAGEREWARD_MAX_LENGTH = 35;
/** bert-base-uncased's `model_max_length` (the text encoder has 512 positions). */
export const BERT_MAX_LENGTH = 512;
