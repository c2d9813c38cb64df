/**
 * The tiny model's golden parity, over plain arrays so that any environment can produce them (the
 * Node API on any backend, a browser page posting its `intermediates()`): which prompt x image pairs
 * are checked, and the worst error of every golden layer they reach. Bars: hidden layers 1e-4,
 * rewards 1e-5, token ids exact, ranks exact.
 */
import type { TensorData } from '../../src/weights/safetensors.js';

export const HIDDEN_TOL = 1e-4;
export const REWARD_TOL = 1e-5;
export const GOLDEN_IMAGES = ['1.webp', '2.webp', '3.webp', '4.webp'];
/** Every layer of three pairs (each prompt, the truncated one included), plus rank() of every prompt over all four images. */
export const PARITY_PAIRS: readonly { p: number; j: number }[] = [{ p: 0, j: 0 }, { p: 1, j: 2 }, { p: 2, j: 3 }];
export const PARITY_PROMPTS = [0, 1, 2];

export interface LayerCheck {
  readonly name: string;
  readonly err: number;
  readonly tol: number;
}

function values(t: TensorData): ArrayLike<number> {
  return t.data instanceof BigInt64Array ? Array.from(t.data, Number) : (t.data as Float32Array);
}

/** Largest |a - e| (Infinity for a NaN or a length mismatch). */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
  }
  return max;
}

/**
 * Every golden tensor of pair (p, j) that `got` (intermediates() names) has: `img{j}.NAME`,
 * `p{p}.NAME`, `p{p}.img{j}.NAME`. Token ids and masks must be exact.
 */
export function checkIntermediates(golden: ReadonlyMap<string, TensorData>, p: number, j: number, got: ReadonlyMap<string, ArrayLike<number>>): LayerCheck[] {
  const checks: LayerCheck[] = [];
  for (const [name, data] of got) {
    for (const prefix of [`img${j}.`, `p${p}.`, `p${p}.img${j}.`]) {
      const expected = golden.get(prefix + name);
      if (!expected) continue;
      const tol = expected.dtype === 'I64' ? 0 : name === 'reward' ? REWARD_TOL : HIDDEN_TOL;
      checks.push({ name, err: maxAbsDiff(data, values(expected)), tol });
    }
  }
  return checks;
}

/** The golden `p{p}.rank.rewards` / `p{p}.rank.ranks` against a rank() result. */
export function checkRank(golden: ReadonlyMap<string, TensorData>, p: number, got: { rewards: number[]; ranking: number[] }): { check: LayerCheck; ranksMatch: boolean } {
  const expectedRanks = Array.from(values(golden.get(`p${p}.rank.ranks`)!));
  return {
    check: { name: 'rank.rewards', err: maxAbsDiff(got.rewards, values(golden.get(`p${p}.rank.rewards`)!)), tol: REWARD_TOL },
    ranksMatch: JSON.stringify(expectedRanks) === JSON.stringify(got.ranking),
  };
}
