/** One line naming the machine a benchmark ran on, for reports. */
import { cpus, totalmem } from 'node:os';

export function machineLine(): string {
  const c = cpus();
  return `${c.length} x ${c[0]?.model ?? 'unknown cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

/** Median of a list of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median wall-clock milliseconds of `runs` calls of `fn` (awaited), after `warmup` untimed calls. */
export async function medianMs(fn: () => unknown, runs: number, warmup: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}
