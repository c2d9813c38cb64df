/**
 * The character predicates of HF transformers' slow tokenizer (tokenization_utils.py `_is_whitespace`,
 * `_is_control`, `_is_punctuation`; tokenization_bert.py `BasicTokenizer._is_chinese_char`), answered
 * with Python 3.11's `unicodedata` categories (unicode-data.ts), code point by code point.
 */
import { RUN_CLASSES, RUN_STARTS } from './unicode-data.js';

/** The classes of unicode-data.ts: which `unicodedata.category` family a code point belongs to. */
const CharClass = {
  Other: 0,
  /** Category C*: Cc, Cf, Cn (unassigned in Unicode 14), Co, Cs. */
  Control: 1,
  /** Category Zs. */
  SpaceSeparator: 2,
  /** Neither C* nor Zs but `str.isspace()`: U+2028 (Zl) and U+2029 (Zp). */
  OtherWhitespace: 3,
  /** Category P*. */
  Punctuation: 4,
  /** Category Mn (what `_run_strip_accents` drops). */
  NonspacingMark: 5,
} as const;
type CharClass = (typeof CharClass)[keyof typeof CharClass];

const runStarts = Uint32Array.from(RUN_STARTS);
const runClasses = Uint8Array.from(RUN_CLASSES, (d) => Number(d));
if (runStarts.length !== runClasses.length) throw new Error('unicode-data.ts is corrupt: run starts and classes differ in length');

/** Dense copy for the Basic Multilingual Plane, where nearly all prompt text lives. */
const bmpClasses = new Uint8Array(0x10000);
for (let r = 0; r < runStarts.length && runStarts[r]! < 0x10000; r++) {
  bmpClasses.fill(runClasses[r]!, runStarts[r]!, Math.min(runStarts[r + 1] ?? 0x10000, 0x10000));
}

function charClass(cp: number): CharClass {
  if (cp < 0x10000) return bmpClasses[cp]! as CharClass;
  let lo = 0;
  let hi = runStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (runStarts[mid]! <= cp) lo = mid;
    else hi = mid - 1;
  }
  return runClasses[lo]! as CharClass;
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;

/** `_is_whitespace`: space, \t, \n, \r, or category Zs. */
export function isWhitespace(cp: number): boolean {
  return cp === SPACE || cp === TAB || cp === LF || cp === CR || charClass(cp) === CharClass.SpaceSeparator;
}

/** `_is_control`: category C* except \t, \n, \r (which count as whitespace). */
export function isControl(cp: number): boolean {
  return cp !== TAB && cp !== LF && cp !== CR && charClass(cp) === CharClass.Control;
}

/** What `str.split()` (in `whitespace_tokenize`) splits on beyond `_is_whitespace`, once controls are gone. */
export function isOtherWhitespace(cp: number): boolean {
  return charClass(cp) === CharClass.OtherWhitespace;
}

/** `_is_punctuation`: every non-alphanumeric ASCII symbol ($, +, ^, ` ... count), or category P*. */
export function isPunctuation(cp: number): boolean {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return charClass(cp) === CharClass.Punctuation;
}

/** Category Mn, which `_run_strip_accents` removes after NFD. */
export function isNonspacingMark(cp: number): boolean {
  return charClass(cp) === CharClass.NonspacingMark;
}

/**
 * `BasicTokenizer._is_chinese_char`: exactly HF's blocks (URO, Ext A-E, both compatibility blocks).
 * Later extensions (F, G, ...) are NOT in HF's list, so they stay inside words like any letter.
 */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}
