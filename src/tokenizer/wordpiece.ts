/**
 * HF's `WordpieceTokenizer.tokenize` for one word: greedy longest-match-first over code points, later
 * pieces prefixed with '##'; a word longer than 100 code points, or one that cannot be covered by
 * vocabulary pieces, becomes a single [UNK].
 *
 * Upstream tries `chars[start:end]` for end = len .. start+1 and takes the first that is in the vocab,
 * i.e. the longest vocab entry that is a prefix of the rest of the word. A trie finds the same entry in
 * one walk, without building a string per candidate.
 */

/** `max_input_chars_per_word` of WordpieceTokenizer. */
const MAX_INPUT_CHARS_PER_WORD = 100;

const NONE = -1;

export class WordPiece {
  private readonly trie: PieceTrie;
  /** Node reached by '##', where continuation pieces start (NONE if the vocab has no '##' pieces). */
  private readonly continuationRoot: number;
  /** Code points of the word being split (a word over 100 code points is never split). */
  private readonly chars = new Int32Array(MAX_INPUT_CHARS_PER_WORD);
  /** Ids of the pieces found so far; written to the output only when the whole word is covered. */
  private readonly found = new Int32Array(MAX_INPUT_CHARS_PER_WORD);

  constructor(pieceIds: ReadonlyMap<string, number>, private readonly unkId: number) {
    this.trie = new PieceTrie(pieceIds);
    const hash = this.trie.child(PieceTrie.ROOT, 0x23);
    this.continuationRoot = hash === NONE ? NONE : this.trie.child(hash, 0x23);
  }

  /** Appends the ids of `word`'s pieces to `out`. `word` has no whitespace (BasicTokenizer output). */
  encodeWord(word: string, out: number[]): void {
    const n = this.loadChars(word);
    if (n > MAX_INPUT_CHARS_PER_WORD) {
      out.push(this.unkId);
      return;
    }
    const { trie, chars, found } = this;
    let count = 0;
    for (let start = 0; start < n; ) {
      let node = start === 0 ? PieceTrie.ROOT : this.continuationRoot;
      let bestEnd = NONE;
      let bestId = NONE;
      for (let i = start; i < n && node !== NONE; i++) {
        node = trie.child(node, chars[i]!);
        if (node !== NONE && trie.tokenId[node]! !== NONE) {
          bestEnd = i + 1;
          bestId = trie.tokenId[node]!;
        }
      }
      if (bestEnd === NONE) {
        out.push(this.unkId);
        return;
      }
      found[count++] = bestId;
      start = bestEnd;
    }
    for (let k = 0; k < count; k++) out.push(found[k]!);
  }

  /** Copies the word's code points into `chars`; returns their count (past 100 only "more than 100"). */
  private loadChars(word: string): number {
    let n = 0;
    for (let i = 0; i < word.length; n++) {
      if (n === MAX_INPUT_CHARS_PER_WORD) return n + 1;
      const cp = word.codePointAt(i)!;
      this.chars[n] = cp;
      i += cp > 0xffff ? 2 : 1;
    }
    return n;
  }
}

/**
 * The vocabulary as a trie over code points. Edges (parent, code point) -> child live in one
 * open-addressing hash table of typed arrays, at most half full, so a step allocates nothing.
 */
class PieceTrie {
  static readonly ROOT = 0;
  /** Id of the vocab entry that ends at each node, or NONE. */
  readonly tokenId: Int32Array;
  private edgeParent = new Int32Array(1024).fill(NONE);
  private edgeChar = new Int32Array(1024);
  private edgeChild = new Int32Array(1024);
  private mask = 1023;
  private edges = 0;

  constructor(pieceIds: ReadonlyMap<string, number>) {
    const tokenId: number[] = [NONE];
    for (const [entry, id] of pieceIds) {
      let node = PieceTrie.ROOT;
      for (let i = 0; i < entry.length; ) {
        const cp = entry.codePointAt(i)!;
        i += cp > 0xffff ? 2 : 1;
        let next = this.child(node, cp);
        if (next === NONE) {
          next = tokenId.length;
          tokenId.push(NONE);
          this.addEdge(node, cp, next);
        }
        node = next;
      }
      tokenId[node] = id;
    }
    this.tokenId = Int32Array.from(tokenId);
  }

  /** The node below `parent` along code point `cp`, or NONE. */
  child(parent: number, cp: number): number {
    for (let slot = this.slot(parent, cp); ; slot = (slot + 1) & this.mask) {
      const p = this.edgeParent[slot]!;
      if (p === NONE) return NONE;
      if (p === parent && this.edgeChar[slot] === cp) return this.edgeChild[slot]!;
    }
  }

  private addEdge(parent: number, cp: number, child: number): void {
    if (2 * (this.edges + 1) > this.edgeParent.length) this.grow();
    let slot = this.slot(parent, cp);
    while (this.edgeParent[slot] !== NONE) slot = (slot + 1) & this.mask;
    this.edgeParent[slot] = parent;
    this.edgeChar[slot] = cp;
    this.edgeChild[slot] = child;
    this.edges++;
  }

  private grow(): void {
    const { edgeParent, edgeChar, edgeChild } = this;
    const capacity = edgeParent.length * 2;
    this.edgeParent = new Int32Array(capacity).fill(NONE);
    this.edgeChar = new Int32Array(capacity);
    this.edgeChild = new Int32Array(capacity);
    this.mask = capacity - 1;
    this.edges = 0;
    for (let slot = 0; slot < edgeParent.length; slot++) {
      if (edgeParent[slot] !== NONE) this.addEdge(edgeParent[slot]!, edgeChar[slot]!, edgeChild[slot]!);
    }
  }

  private slot(parent: number, cp: number): number {
    let h = Math.imul(parent, 0x9e3779b1) ^ Math.imul(cp, 0x85ebca6b);
    h ^= h >>> 15;
    return h & this.mask;
  }
}
