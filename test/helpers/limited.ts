/**
 * Runs one case of test/helpers/limitCases.ts in a child Node process with a V8 heap limit and a
 * watchdog, and reports how it ended plus its peak RSS (VmHWM of /proc/self/status) and wall time:
 * the "bounded memory and time" half of the resource-limit tests. A case that overruns the heap dies
 * with V8's out-of-memory (outcome 'crash'); one that hangs is killed (outcome 'timeout').
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LimitedOutcome {
  outcome: 'ok' | 'error' | 'crash' | 'timeout';
  /** The error's `code` (ImageRewardError codes; Node's for others), its class name and message (cut at 2000 chars). */
  code?: string;
  name?: string;
  message?: string;
  /** Full message length, to catch multi-megabyte messages. */
  messageLength?: number;
  /** What the case returned (JSON). */
  value?: unknown;
  /** Peak resident set size of the child, MiB. */
  rssMiB: number;
  /** Time inside the case, ms. */
  ms: number;
  stderr: string;
}

const CHILD = fileURLToPath(new URL('./limited-child.ts', import.meta.url));

export interface LimitedOptions {
  /** --max-old-space-size, MiB (default 256). */
  heapMiB?: number;
  /** Watchdog, ms (default 60 s). */
  timeoutMs?: number;
}

export function runLimited(caseName: string, arg: string, opts: LimitedOptions = {}): Promise<LimitedOutcome> {
  const heap = opts.heapMiB ?? 256;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${heap}`, '--import', 'tsx', CHILD, caseName, arg], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-20000); });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('LIMITED '));
      if (timedOut) return resolve({ outcome: 'timeout', rssMiB: NaN, ms: NaN, stderr });
      if (!line) return resolve({ outcome: 'crash', rssMiB: NaN, ms: NaN, stderr });
      resolve({ ...(JSON.parse(line.slice('LIMITED '.length)) as Omit<LimitedOutcome, 'stderr'>), stderr });
    });
  });
}
