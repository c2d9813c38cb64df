/** Child side of limited.ts: runs `cases[name](arg)` and prints one `LIMITED {json}` line. */
import { cases } from './limitCases.js';

const [name, arg] = process.argv.slice(2) as [string, string];
const run = cases[name];
if (!run) throw new Error(`no limit case ${name}`);
const t0 = performance.now();
const report = (fields: Record<string, unknown>): void => {
  const ms = performance.now() - t0;
  const rssMiB = process.resourceUsage().maxRSS / 1024;
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
