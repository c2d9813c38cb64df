/**
 * The browser build (scripts/build-browser.ts): one ES module with the .wasm files it fetches beside
 * it, and nothing from Node in it; a Node built-in reached from the bundle fails the build, naming the
 * importer. (Running it in Chromium is `npm run test:browser`.)
 */
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { browserOnlyPlugin, buildBrowser, BUNDLE_NAME } from '../scripts/build-browser.js';

describe('browser build', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ir-browser-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes imagereward.js (ESM, the webgpu and wasm backends in it) and the five .wasm files it fetches', async function () {
    const out = await buildBrowser(dir);
    expect(readdirSync(dir).sort()).to.deep.equal([
      BUNDLE_NAME, 'mozjpeg_dec.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm', 'tfjs-backend-wasm.wasm', 'webp_dec.wasm',
    ]);
    const js = readFileSync(out.bundle, 'utf8');
    expect(js).to.match(/export\s*\{[^}]*\bImageReward\b/);
    for (const marker of ['tfjs-backend-wasm.wasm', 'requestAdapter', 'mozjpeg_dec.wasm']) expect(js, marker).to.include(marker);
    expect(js).not.to.match(/from\s*"node:|require\("node:/);
  });

  it('fails when a module of the bundle imports a Node built-in, naming it', async function () {
    for (const spec of ['node:fs', 'crypto']) {
      const err = await build({
        stdin: { contents: `import '${spec}';`, resolveDir: dir, sourcefile: 'uses-node.ts', loader: 'ts' },
        bundle: true, platform: 'browser', write: false, logLevel: 'silent', plugins: [browserOnlyPlugin],
      }).then(() => null, (e: { errors: { text: string }[] }) => e);
      expect(err, spec).to.not.equal(null);
      expect(err!.errors[0]!.text).to.equal(`${join(dir, "uses-node.ts")} imports the Node built-in "${spec}": the browser bundle must not contain Node modules`);
    }
  });
});
