/** Child side of limited.ts: runs `cases[name](arg)` and prints one `LIMITED {json}` line. */
import { readFileSync } from 'node:fs';
import { cases } from './limitCases.js';

const [name, arg] = process.argv.slice(2) as [string, string];
const run = cases[name];
if (!run) throw new Error(`no limit case ${name}`);
const t0 = performance.now();
const report = (fields: Record<string, unknown>): void => {
  const ms = performance.now() - t0;
  // VmHWM: the peak RSS of this process image. (getrusage's maxRSS is not used: Linux carries the
  // parent's RSS at fork over exec into it, so a child of a big test runner starts "at" its size.)
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  const rssMiB = hwm ? Number(hwm[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
  const m = process.memoryUsage();
  fields.memory = { heapUsedMiB: m.heapUsed / 2 ** 20, externalMiB: m.external / 2 ** 20, arrayBuffersMiB: m.arrayBuffers / 2 ** 20, rssNowMiB: m.rss / 2 ** 20 };
  process.stdout.write(`LIMITED ${JSON.stringify({ ...fields, ms, rssMiB })}\n`);
};
try {
  const value = await run(arg);
  report({ outcome: 'ok', value });
} catch (err) {
  const e = err as { code?: unknown; name?: string; message?: string };
  const message = String(e?.message ?? err);
  report({ outcome: 'error', code: typeof e?.code === 'string' ? e.code : undefined, name: e?.name, message: message.slice(0, 2000), messageLength: message.length });
}
process.exit(0);
