/**
 * The shared setup of the resource-limit test files: a temp folder for their generated files, the
 * peak RSS of a do-nothing child (the baseline every memory bound is relative to, measured in the
 * same run), and the outcome description and RSS assertion they all use.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { runLimited, type LimitedOutcome } from './limited.js';

export interface LimitSuite {
  /** The temp folder (valid inside tests). */
  readonly dir: string;
  /** The do-nothing child's peak RSS, MiB. */
  readonly baselineMiB: number;
  /** Writes `bytes` to `name` in the temp folder and returns its path. */
  file(name: string, bytes: Uint8Array): string;
  describeOutcome(o: LimitedOutcome): string;
  /** Asserts the case's peak RSS stayed within `extraMiB` of the do-nothing child's. */
  expectRssWithin(o: LimitedOutcome, extraMiB: number): void;
}

/** Registers the before/after hooks of the calling test file and returns its suite state. */
export function useLimitSuite(prefix: string): LimitSuite {
  let dir = '';
  let baselineMiB = NaN;
  before(async function () {
    dir = mkdtempSync(join(tmpdir(), prefix));
    baselineMiB = (await runLimited('baseline', '', { heapMiB: 128 })).rssMiB;
  });
  after(() => { rmSync(dir, { recursive: true, force: true }); });
  const describeOutcome = (o: LimitedOutcome): string => {
    const memory = (o as { memory?: unknown }).memory;
    const extra = memory === undefined ? '' : `, ${JSON.stringify(memory)}`;
    return `${o.outcome} ${o.code ?? ''} ${o.message ?? ''} (${o.rssMiB.toFixed(0)} MiB, ${o.ms.toFixed(0)} ms${extra}) ${o.stderr.slice(-500)}`;
  };
  return {
    get dir() { return dir; },
    get baselineMiB() { return baselineMiB; },
    file(name, bytes) {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      return p;
    },
    describeOutcome,
    expectRssWithin(o, extraMiB) {
      expect(o.rssMiB - baselineMiB, `${describeOutcome(o)}; baseline ${baselineMiB.toFixed(0)} MiB`).to.be.below(extraMiB);
    },
  };
}
