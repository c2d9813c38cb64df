/**
 * HF transformers' slow `BasicTokenizer` as bert-base-uncased runs it (do_lower_case=True,
 * tokenize_chinese_chars=True, strip_accents=None), together with the per-character lower-casing that
 * `PreTrainedTokenizer.tokenize()` applies to the text first. It gets the text between literal special
 * tokens and appends the words (before WordPiece) to `out`.
 */
import { isChineseChar, isControl, isNonspacingMark, isOtherWhitespace, isPunctuation, isWhitespace } from './unicode.js';

/** Printable ASCII: nothing to clean, no CJK, no whitespace but ' ' (the common prompt). */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/** Anything outside ASCII: only then can NFD or accent stripping change a word. */
const NON_ASCII = /[^\x00-\x7f]/;

export function basicTokenize(text: string, out: string[]): void {
  // Order: upstream lower-cases, then cleans, then spaces CJK. Lower-casing never creates or removes a
  // control, whitespace or CJK character (checked for every code point of Unicode 14), so cleaning first
  // gives the same text, and it keeps characters that Python 3.11 drops as unassigned (`Cn`) away from the
  // engine's newer case tables (e.g. U+A7DC, new in Unicode 16, lower-cases to the old U+019B).
  const ascii = PRINTABLE_ASCII.test(text);
  const cleaned = ascii ? text : cleanAndSpaceChineseChars(text);
  // BasicTokenizer.tokenize() also NFC-normalizes (since transformers PR #22280, 2023) and lower-cases
  // each word again: both are no-ops here, as the text is already lower-case and stripAccents applies NFD.
  for (const word of lowerLikePython(cleaned).split(' ')) {
    if (word.length > 0) splitOnPunctuation(ascii ? word : stripAccents(word), out);
  }
}

/**
 * `BasicTokenizer._clean_text` (drop NUL, U+FFFD and controls; whitespace -> ' ') fused with
 * `_tokenize_chinese_chars` (' ' around each CJK ideograph). U+2028/U+2029 also become ' ': they survive
 * `_clean_text` upstream but `whitespace_tokenize`'s `str.split()` splits on them.
 */
function cleanAndSpaceChineseChars(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    if (cp === 0 || cp === 0xfffd || isControl(cp)) {
      // dropped
    } else if (isWhitespace(cp) || isOtherWhitespace(cp)) {
      out += ' ';
    } else if (isChineseChar(cp)) {
      out += ` ${text.slice(i, i + width)} `;
    } else {
      out += text.slice(i, i + width);
    }
    i += width;
  }
  return out;
}

/**
 * Python's `str.lower()` applied one character at a time, as `PreTrainedTokenizer.tokenize()` does
 * (`re.sub(r"(<special tokens>)|(.+?)", lambda m: m.groups()[0] or m.groups()[1].lower(), text)`).
 * So 'Σ' always becomes 'σ', never the final 'ς' that a whole-word lower() (and JS toLowerCase) gives at
 * a word end. Final_Sigma is the only context rule of JS's locale-independent toLowerCase; every other
 * mapping equals Python 3.11's for all of Unicode 14 (checked code point by code point), 'İ' -> 'i̇' included.
 */
function lowerLikePython(text: string): string {
  return (text.includes('Σ') ? text.replaceAll('Σ', 'σ') : text).toLowerCase();
}

/** `BasicTokenizer._run_strip_accents`: NFD, then drop category Mn. */
function stripAccents(word: string): string {
  if (!NON_ASCII.test(word)) return word;
  const decomposed = word.normalize('NFD');
  let out = '';
  for (let i = 0; i < decomposed.length; ) {
    const cp = decomposed.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    if (!isNonspacingMark(cp)) out += decomposed.slice(i, i + width);
    i += width;
  }
  return out;
}

/** `BasicTokenizer._run_split_on_punc`: every punctuation character becomes a word of its own. */
function splitOnPunctuation(word: string, out: string[]): void {
  let start = 0;
  for (let i = 0; i < word.length; ) {
    const cp = word.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    if (isPunctuation(cp)) {
      if (i > start) out.push(word.slice(start, i));
      out.push(word.slice(i, i + width));
      start = i + width;
    }
    i += width;
  }
  if (start < word.length) out.push(word.slice(start));
}
