/**
 * `npm run test:browser`: the image pipeline (src/image/decode.ts + pipeline.ts) bundled for the browser
 * with esbuild and run in headless Chromium, where there is no Node: the @jsquash decoders fetch
 * their .wasm, PNG inflates with upng-js, the resize runs on the SIMD kernels. Every shared fixture
 * image must give its golden tensor exactly (images/preprocessed.safetensors), and every test/data
 * JPEG / WebP / PNG case the same pixels as this Node process gives.
 *
 * Not part of `npm test` (a browser is an optional tool): it needs Chromium (`$CHROMIUM`, else
 * chromium / chromium-browser / google-chrome on the PATH) and says so when there is none.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { preprocessImage } from '../../src/image/index.js';
import { readSafetensors } from '../../src/weights/safetensors.js';
import { fixturePath } from '../helpers/fixtures.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = join(repoRoot, 'test', 'data');
const require = createRequire(import.meta.url);

interface BrowserResult { mode?: string; decoder?: string; pixels?: number[]; error?: string }

function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter((c): c is string => Boolean(c));
  return candidates.find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0) ?? null;
}

async function bundle(): Promise<string> {
  const result = await build({
    stdin: {
      contents: "export { decodeImage } from './src/image/decode.ts';\nexport { preprocessDecoded } from './src/image/pipeline.ts';\n",
      resolveDir: repoRoot,
      loader: 'ts',
    },
    bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

function page(names: string[]): string {
  return `<!doctype html><script type="module">
import { decodeImage, preprocessDecoded } from './bundle.js';
const results = { node: typeof process !== 'undefined' };
for (const name of ${JSON.stringify(names)}) {
  try {
    const bytes = new Uint8Array(await (await fetch('/image/' + encodeURIComponent(name))).arrayBuffer());
    const image = await decodeImage(bytes, name);
    const pre = preprocessDecoded(image, name);
    results[name] = { mode: pre.mode, decoder: image.decoder, pixels: Array.from(pre.pixels) };
  } catch (err) {
    results[name] = { error: String(err && err.stack || err) };
  }
}
await fetch('/results', { method: 'POST', body: JSON.stringify(results) });
</script>`;
}

async function runInChromium(chromium: string, files: Map<string, string>): Promise<Record<string, BrowserResult> & { node?: boolean }> {
  const js = await bundle();
  const wasm: Record<string, string> = {
    '/mozjpeg_dec.wasm': require.resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm'),
    '/webp_dec.wasm': require.resolve('@jsquash/webp/codec/dec/webp_dec.wasm'),
  };
  let deliver!: (body: string) => void;
  const posted = new Promise<string>((resolve) => { deliver = resolve; });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (req.method === 'POST' && url === '/results') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => { res.end('ok'); deliver(Buffer.concat(chunks).toString('utf8')); });
      return;
    }
    const send = (type: string, body: string | Buffer) => res.writeHead(200, { 'content-type': type }).end(body);
    if (url === '/') return send('text/html', page([...files.keys()]));
    if (url === '/bundle.js') return send('text/javascript', js);
    if (wasm[url]) return send('application/wasm', readFileSync(wasm[url]!));
    const image = url.startsWith('/image/') ? files.get(url.slice('/image/'.length)) : undefined;
    if (image) return send('application/octet-stream', readFileSync(image));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const profile = mkdtempSync(join(tmpdir(), 'ir-chromium-'));
  const browser = spawn(chromium, [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`,
    `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
  ], { stdio: 'ignore' });
  try {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no results from Chromium within 120 s')), 120_000).unref());
    return JSON.parse(await Promise.race([posted, timeout])) as Record<string, BrowserResult>;
  } finally {
    const exited = new Promise((r) => browser.once('exit', r));
    browser.kill();
    await exited; // it writes its profile until it is gone
    server.closeAllConnections();
    server.close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
  }
}

async function main(): Promise<number> {
  const chromium = findChromium();
  if (!chromium) {
    console.error('test:browser: no Chromium found (set $CHROMIUM, or install chromium: apt-get install chromium). Nothing was checked.');
    return 2;
  }
  const golden = readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors;
  const files = new Map<string, string>();
  for (const name of golden.keys()) files.set(name, fixturePath(`images/${name}`));
  for (const name of readdirSync(dataDir).filter((f) => /\.(png|jpe?g|webp)$/.test(f))) files.set(name, join(dataDir, name));

  const results = await runInChromium(chromium, files);
  let failures = 0;
  const fail = (name: string, why: string) => { failures++; console.log(`FAIL ${name}: ${why}`); };
  if (results.node !== false) fail('environment', 'the page saw a `process` object: not a browser-only run');
  for (const [name, path] of files) {
    const got = results[name];
    if (!got || got.error || !got.pixels) { fail(name, got?.error ?? 'no result'); continue; }
    const expected = golden.get(name)?.data as Float32Array | undefined
      ?? (await preprocessImage(path)).pixels; // test/data: what Node gives (itself checked against Pillow by the mode tests)
    const differs = got.pixels.length !== expected.length || got.pixels.some((v, i) => v !== expected[i]);
    if (differs) fail(name, `pixels differ from ${golden.has(name) ? 'the golden tensor' : 'the Node result'}`);
  }
  const decoders = [...new Set([...files.keys()].map((n) => `${n.replace(/^.*\./, '')}:${results[n]?.decoder}`))].sort();
  console.log(`${chromium}: ${files.size - failures}/${files.size} images identical (${golden.size} golden fixtures, ${files.size - golden.size} test/data cases); decoders ${decoders.join(', ')}`);
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();
