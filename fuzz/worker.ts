/**
 * One fuzz batch in its own process: inputs [first, first + count) of `target` with `seed`, stopping
 * early at the `until` time (epoch ms). Before each
 * input it writes the bytes to `current` (so the parent can keep the input that crashed or hung this
 * process) and a `B index` line; after it, an `E index outcome rssMiB [detail]` line, where outcome
 * is ok, typed (an ImageRewardError: the expected refusal) or untyped (anything else: a finding).
 */
import { writeFileSync, writeSync } from 'node:fs';
import { ImageRewardError } from '../src/errors.js';
import { mutate } from './mutate.js';
import { TARGETS } from './targets.js';

const [name, seedArg, firstArg, countArg, untilArg, current, scratch] = process.argv.slice(2) as [string, string, string, string, string, string, string];
const until = Number(untilArg);
const target = TARGETS[name]!;
const seeds = await target.seeds();
const seed = Number(seedArg);
const first = Number(firstArg);
const count = Number(countArg);
/** One protocol line on fd 1. The pipe is non-blocking: when the parent (niced, busy) lags, wait 1 ms and retry. */
const pause = new Int32Array(new SharedArrayBuffer(4));
const line = (s: string): void => {
  const bytes = Buffer.from(`${s}\n`);
  for (let at = 0; at < bytes.length;) {
    try {
      at += writeSync(1, bytes, at);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
};

for (let i = first; i < first + count && Date.now() < until; i++) {
  const input = mutate(seeds, seed, i, target.headBias);
  writeFileSync(current, input);
  line(`B ${i}`);
  let outcome = 'ok';
  let detail = '';
  try {
    await target.run(input, scratch);
  } catch (err) {
    if (err instanceof ImageRewardError) {
      outcome = 'typed';
      detail = err.code;
    } else {
      outcome = 'untyped';
      const e = err as { name?: string; message?: string };
      detail = `${e?.name ?? typeof err}: ${String(e?.message ?? err).split('\n')[0]!.slice(0, 200)}`;
    }
  }
  const rss = process.memoryUsage.rss() / 2 ** 20;
  line(`E ${i} ${outcome} ${rss.toFixed(0)} ${detail}`);
}
line('DONE');
process.exit(0);
