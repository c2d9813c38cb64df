/**
 * Preference pairs of one record, in the order upstream builds them (train/src/rank_pair_dataset.py
 * make_data and train/src/ImageReward.py encode_data): for i < j, the generation with the smaller
 * rank is "better"; equal ranks give no pair.
 */
export interface RankPair {
  /** Index (within the record) of the generation humans preferred. */
  readonly better: number;
  readonly worse: number;
}

export function rankPairs(ranking: readonly number[]): RankPair[] {
  const pairs: RankPair[] = [];
  for (let i = 0; i < ranking.length; i++) {
    for (let j = i + 1; j < ranking.length; j++) {
      const ri = ranking[i]!;
      const rj = ranking[j]!;
      if (ri < rj) pairs.push({ better: i, worse: j });
      else if (ri > rj) pairs.push({ better: j, worse: i });
    }
  }
  return pairs;
}

/** Number of pairs with different human ranks over many records. */
export function countPairs(rankings: readonly (readonly number[])[]): number {
  return rankings.reduce((n, r) => n + rankPairs(r).length, 0);
}
