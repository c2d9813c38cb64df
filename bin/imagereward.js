#!/usr/bin/env node
// The `imagereward` command. An installed package runs the compiled CLI in dist/ (built by
// `npm run build`, which `npm pack` and `npm install <git url>` run through `prepare`). A source
// checkout (src/ beside this file; the package ships no src/) runs the TypeScript through tsx, a
// dev dependency, so what runs is always the code you read: no build step, never a stale dist/.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const tsx = await import('tsx/esm/api').catch((err) => {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    process.stderr.write('imagereward: this is a source checkout and its dev dependencies are missing (tsx): run `npm ci` here first\n');
    process.exit(1);
  });
  tsx.register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import('../dist/cli/main.js'));
}
process.exitCode = await main(process.argv.slice(2));
