/**
 * Preference accuracy exactly as upstream test.py `acc` counts it: every pair of generations of a
 * prompt with different human ranks is one trial; it is right only when the human-preferred one
 * gets the strictly higher reward, so a predicted tie counts as wrong; human ties are skipped.
 */
import { InputError } from '../errors.js';
import { rankPairs } from './pairs.js';

export interface PreferenceAccuracy {
  /** correct / pairs. */
  readonly accuracy: number;
  readonly correct: number;
  /** Pairs with different human ranks (test.py's tol_cnt). */
  readonly pairs: number;
}

export function preferenceAccuracy(
  rankings: readonly (readonly number[])[],
  rewards: readonly ArrayLike<number>[],
): PreferenceAccuracy {
  if (rankings.length !== rewards.length) {
    throw new InputError(`${rankings.length} rankings but ${rewards.length} reward lists (one list of rewards per ranked prompt)`);
  }
  let pairs = 0;
  let correct = 0;
  rankings.forEach((ranking, i) => {
    const r = rewards[i]!;
    if (r.length !== ranking.length) {
      throw new InputError(`record ${i} has ${ranking.length} ranks but ${r.length} rewards`);
    }
    for (const { better, worse } of rankPairs(ranking)) {
      pairs++;
      if (r[better]! > r[worse]!) correct++;
    }
  });
  if (pairs === 0) throw new InputError('no pair of generations has different human ranks (every prompt\'s images are tied), so there is no accuracy to measure: give a dataset where some prompt ranks its images differently');
  return { accuracy: correct / pairs, correct, pairs };
}
