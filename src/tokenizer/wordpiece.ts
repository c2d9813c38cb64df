/**
 * HF's `WordpieceTokenizer.tokenize` for one word: greedy longest-match-first over code points, later
 * pieces prefixed with '##'; a word longer than 100 code points, or one that cannot be covered by
 * vocabulary pieces, becomes a single [UNK].
 */

/** `max_input_chars_per_word` of WordpieceTokenizer. */
export const MAX_INPUT_CHARS_PER_WORD = 100;

const HIGH_SURROGATE = /[\ud800-\udbff]/;

export class WordPiece {
  /** Longest vocabulary entry in code points: no longer substring can match. */
  private readonly maxEntryChars: number;

  constructor(
    private readonly pieceIds: ReadonlyMap<string, number>,
    private readonly unkId: number,
  ) {
    let longest = 0;
    for (const entry of pieceIds.keys()) longest = Math.max(longest, codePointLength(entry));
    this.maxEntryChars = longest;
  }

  /** Appends the ids of `word`'s pieces to `out`. `word` has no whitespace (BasicTokenizer output). */
  encodeWord(word: string, out: number[]): void {
    // Code-unit offset of each code point (and of the end); null when every code point is one unit.
    const offsets = HIGH_SURROGATE.test(word) ? codePointOffsets(word) : null;
    const chars = offsets ? offsets.length - 1 : word.length;
    if (chars > MAX_INPUT_CHARS_PER_WORD) {
      out.push(this.unkId);
      return;
    }
    const unit = (k: number): number => (offsets ? offsets[k]! : k);
    const found: number[] = [];
    for (let start = 0; start < chars; ) {
      let id: number | undefined;
      let end = Math.min(chars, start + this.maxEntryChars);
      for (; end > start; end--) {
        const sub = word.slice(unit(start), unit(end));
        id = this.pieceIds.get(start > 0 ? `##${sub}` : sub);
        if (id !== undefined) break;
      }
      if (id === undefined) {
        out.push(this.unkId);
        return;
      }
      found.push(id);
      start = end;
    }
    for (const id of found) out.push(id);
  }
}

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i += s.codePointAt(i)! > 0xffff ? 2 : 1) n++;
  return n;
}

function codePointOffsets(s: string): number[] {
  const offsets: number[] = [];
  let i = 0;
  while (i < s.length) {
    offsets.push(i);
    i += s.codePointAt(i)! > 0xffff ? 2 : 1;
  }
  offsets.push(i);
  return offsets;
}
