/**
 * `npm run test:browser`: headless Chromium (playwright-core) against a static server on 127.0.0.1.
 *
 * 1. The image pipeline (src/image/decode.ts + pipeline.ts) bundled alone: every shared fixture image
 *    gives its golden tensor exactly, every test/data JPEG / WebP / PNG case the pixels Node gives.
 * 2. The browser build (dist/browser/imagereward.js, built first): the tiny model's golden parity on
 *    webgpu (SwiftShader) and on wasm, model / vocab / configs loaded by URL: every golden layer of
 *    PARITY_PAIRS within 1e-4, rewards within 1e-5, ranks exact, no tensor left behind, progress
 *    reported up to each file's size.
 * 3. README's browser snippet (the block marked `<!-- test:browser: index.html -->`), served exactly
 *    as written beside the bundle and the tiny model under the names it uses.
 * 4. The demo page (examples/browser/): the four fixture images dropped in, ranked, checked against the
 *    golden ranks, and a screenshot saved to test/browser/out/demo.png (git-ignored).
 *
 * `npm run test:browser -- demo snippet` runs only the parts named (pipeline, wasm, webgpu, snippet, demo).
 * Not part of `npm test` (a browser is an optional tool): it needs Chromium (`$CHROMIUM`, else
 * /usr/bin/chromium, chromium, chromium-browser, google-chrome) and says so when there is none.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { preprocessImage } from '../../src/image/index.js';
import { readSafetensors } from '../../src/weights/safetensors.js';
import { buildBrowser, BROWSER_DIST } from '../../scripts/build-browser.js';
import { FIXTURES_DIR, fixturePath } from '../helpers/fixtures.js';
import { readGolden } from '../helpers/golden.js';
import { checkIntermediates, checkRank, GOLDEN_IMAGES, PARITY_PAIRS, REWARD_TOL } from '../helpers/goldenCompare.js';
import { findChromium, launchChromium, startServer, type StaticServer } from './harness.js';
import { PARITY_PAGE, type ParityArgs, type ParityResult } from './parityPage.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = join(repoRoot, 'test', 'data');
const outDir = join(repoRoot, 'test', 'browser', 'out');
const require = createRequire(import.meta.url);

let failures = 0;
function fail(what: string, why: string): void {
  failures++;
  console.log(`FAIL ${what}: ${why}`);
}

async function newPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (err) => console.log(`  [page error] ${err.message}`));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`  [console] ${m.text()}`); });
  return page;
}

// ---- 1. image pipeline -------------------------------------------------------------------------

async function pipelineBundle(): Promise<string> {
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

const PIPELINE_PAGE = String.raw`async (names) => {
  const { decodeImage, preprocessDecoded } = await import('/pipeline/bundle.js');
  const results = { node: typeof process !== 'undefined' };
  for (const name of names) {
    try {
      const bytes = new Uint8Array(await (await fetch('/pipeline/image/' + encodeURIComponent(name))).arrayBuffer());
      const image = await decodeImage(bytes, name);
      const pre = preprocessDecoded(image, name);
      results[name] = { mode: pre.mode, decoder: image.decoder, pixels: Array.from(pre.pixels) };
    } catch (err) {
      results[name] = { error: String(err && err.stack || err) };
    }
  }
  return results;
}`;

async function checkPipeline(browser: Browser, origin: string, files: Map<string, string>): Promise<void> {
  const golden = readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors;
  const page = await newPage(browser);
  await page.goto(`${origin}/pipeline/`);
  const results = await page.evaluate(`(${PIPELINE_PAGE})(${JSON.stringify([...files.keys()])})`) as Record<string, { decoder?: string; pixels?: number[]; error?: string }> & { node?: boolean };
  await page.close();
  const before = failures;
  if (results.node !== false) fail('pipeline environment', 'the page saw a `process` object: not a browser-only run');
  for (const [name, path] of files) {
    const got = results[name];
    if (!got || got.error || !got.pixels) { fail(name, got?.error ?? 'no result'); continue; }
    const expected = golden.get(name)?.data as Float32Array | undefined
      ?? (await preprocessImage(path)).pixels; // test/data: what Node gives (itself checked against Pillow by the mode tests)
    const differs = got.pixels.length !== expected.length || got.pixels.some((v, i) => v !== expected[i]);
    if (differs) fail(name, `pixels differ from ${golden.has(name) ? 'the golden tensor' : 'the Node result'}`);
  }
  const decoders = [...new Set([...files.keys()].map((n) => `${n.replace(/^.*\./, '')}:${results[n]?.decoder}`))].sort();
  console.log(`image pipeline: ${files.size - (failures - before)}/${files.size} images identical (${golden.size} golden fixtures, ${files.size - golden.size} test/data cases); decoders ${decoders.join(', ')}`);
}

// ---- 2. model parity ---------------------------------------------------------------------------

async function checkParity(browser: Browser, origin: string, backend: 'webgpu' | 'wasm'): Promise<void> {
  const golden = readGolden();
  const page = await newPage(browser);
  await page.goto(`${origin}/blank.html`);
  const args: ParityArgs = {
    bundle: `${origin}/dist/browser/imagereward.js`, backend,
    model: '/fixtures/tiny/tiny.safetensors', vocab: '/fixtures/vocab/bert-base-uncased-vocab.txt',
    medConfig: '/fixtures/tiny/med_config.json', vitConfig: '/fixtures/tiny/vit_config.json',
    prompts: golden.prompts.map((p) => p.text), images: GOLDEN_IMAGES.map((f) => `/fixtures/images/${f}`), pairs: [...PARITY_PAIRS],
  };
  const started = Date.now();
  const r = await page.evaluate(`(${PARITY_PAGE})(${JSON.stringify(args)})`) as ParityResult;
  await page.close();
  const what = `parity ${backend}`;
  if (r.error) { fail(what, r.error); return; }
  const before = failures;
  if (r.isNode) fail(what, 'the page saw a `process` object');
  if (r.backend !== backend) fail(what, `ran on ${r.backend}`);
  const worst = new Map<string, number>();
  let compared = 0;
  for (const { p, j, arrays } of r.intermediates) {
    const checks = checkIntermediates(golden.tensors, p, j, new Map(Object.entries(arrays)));
    if (checks.length !== 20) fail(`${what} p${p}.img${j}`, `${checks.length} golden tensors compared, expected 20`);
    for (const c of checks) {
      compared++;
      worst.set(c.name, Math.max(worst.get(c.name) ?? 0, c.err));
      if (!(c.err <= c.tol)) fail(`${what} p${p}.img${j} ${c.name}`, `max abs err ${c.err} > ${c.tol}`);
    }
  }
  r.ranks.forEach((got, p) => {
    const { check, ranksMatch } = checkRank(golden.tensors, p, got);
    worst.set('rank.rewards', Math.max(worst.get('rank.rewards') ?? 0, check.err));
    if (!(check.err <= REWARD_TOL)) fail(`${what} p${p} rank.rewards`, `max abs err ${check.err}`);
    if (!ranksMatch) fail(`${what} p${p} ranks`, `got ${JSON.stringify(got.ranking)}`);
  });
  if (r.tensorsAfter !== r.tensorsBefore) fail(what, `tf.memory().numTensors ${r.tensorsBefore} -> ${r.tensorsAfter} over one rank()`);
  const modelUrl = `${origin}/fixtures/tiny/tiny.safetensors`;
  const size = readFileSync(fixturePath('tiny/tiny.safetensors')).length;
  const prog = r.progress[modelUrl];
  if (!prog || prog.loaded !== size || prog.total !== size || prog.calls < 2) fail(`${what} progress`, `model progress ${JSON.stringify(prog)}, file is ${size} bytes`);
  const adapter = r.adapter ? ` on ${[r.adapter.vendor, r.adapter.architecture, r.adapter.description].filter(Boolean).join(' ')}` : '';
  console.log(`parity ${backend}${adapter}: ${compared} golden layers + ${r.ranks.length} ranks, ${failures - before} failed, ${((Date.now() - started) / 1000).toFixed(0)} s; max abs err ${[...worst].map(([n, e]) => `${n}=${e.toExponential(1)}`).join(', ')}`);
}

// ---- 3. README snippet -------------------------------------------------------------------------

/** README blocks marked `<!-- test:browser: NAME -->`, by NAME. */
export function readmeBrowserExamples(readme: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const m of readme.matchAll(/^<!-- test:browser: (\S+) -->\n```\w*\n([\s\S]*?)\n```$/gm)) blocks.set(m[1]!, `${m[2]!}\n`);
  return blocks;
}

/** The golden p0 ranks and rewards against `rank\treward\timage` lines. */
function checkRankLines(what: string, text: string, expectImages: readonly string[]): void {
  const golden = readGolden();
  const lines = text.trim().split('\n').map((l) => l.split('\t'));
  if (lines.length !== expectImages.length) { fail(what, `printed ${JSON.stringify(text)}`); return; }
  const { check, ranksMatch } = checkRank(golden.tensors, 0, { ranking: lines.map((l) => Number(l[0])), rewards: lines.map((l) => Number(l[1])) });
  if (!ranksMatch || !(check.err <= REWARD_TOL) || lines.some((l, i) => l[2] !== expectImages[i])) fail(what, `printed ${JSON.stringify(text)} (reward err ${check.err})`);
  else console.log(`${what}: golden ranks, rewards within ${check.err.toExponential(1)}`);
}

async function checkSnippet(browser: Browser, origin: string): Promise<void> {
  const page = await newPage(browser);
  await page.goto(`${origin}/snippet/index.html`);
  await page.waitForFunction(() => (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } | null } }).document.getElementById('out')?.textContent !== 'scoring...', undefined, { timeout: 600_000 });
  const text = await page.locator('#out').textContent() ?? '';
  await page.close();
  checkRankLines('README browser snippet', text, GOLDEN_IMAGES);
}

// ---- 4. demo page ------------------------------------------------------------------------------

async function checkDemo(browser: Browser, origin: string): Promise<void> {
  const golden = readGolden();
  const page = await newPage(browser);
  await page.setViewportSize({ width: 1000, height: 900 });
  const q = new URLSearchParams({
    model: '/fixtures/tiny/tiny.safetensors', vocab: '/fixtures/vocab/bert-base-uncased-vocab.txt',
    medConfig: '/fixtures/tiny/med_config.json', vitConfig: '/fixtures/tiny/vit_config.json', backend: 'wasm',
  });
  await page.goto(`${origin}/examples/browser/?${q}`);
  await page.locator('#files').setInputFiles(GOLDEN_IMAGES.map((f) => fixturePath(`images/${f}`)));
  await page.locator('#prompt').fill(golden.prompts[0]!.text);
  await page.locator('#rank').click();
  await page.waitForSelector('body[data-state=done], body[data-state=error]', { timeout: 600_000 });
  const state = await page.locator('body').getAttribute('data-state');
  if (state !== 'done') { fail('demo page', (await page.locator('#status').textContent()) ?? state ?? ''); await page.close(); return; }
  // cards in rank order: "#rank", file name, "reward x.xxx"
  const cards = await page.locator('#results li').evaluateAll((lis) => lis.map((li) => [
    li.getAttribute('data-rank'), li.querySelector('.name')?.textContent, li.querySelector('.reward')?.textContent,
  ]));
  const byImage = new Map(cards.map(([rank, name, reward]) => [name, { rank: Number(rank), reward: Number(reward?.replace('reward ', '')) }]));
  const ranking = GOLDEN_IMAGES.map((f) => byImage.get(f)?.rank ?? NaN);
  const rewards = GOLDEN_IMAGES.map((f) => byImage.get(f)?.reward ?? NaN);
  const { check, ranksMatch } = checkRank(golden.tensors, 0, { ranking, rewards });
  mkdirSync(outDir, { recursive: true });
  const shot = join(outDir, 'demo.png');
  await page.screenshot({ path: shot, fullPage: true });
  await page.close();
  // the page shows rewards to 3 decimals
  if (!ranksMatch || !(check.err <= 5e-4) || cards.length !== 4) fail('demo page', `cards ${JSON.stringify(cards)}`);
  else console.log(`demo page: 4 images ranked as the goldens (shown rewards within ${check.err.toExponential(1)}); screenshot ${shot.replace(`${repoRoot}/`, '')}`);
}

// ---- main --------------------------------------------------------------------------------------

const PARTS = ['pipeline', 'wasm', 'webgpu', 'snippet', 'demo'];
const only = process.argv.slice(2);
const wanted = (part: string) => only.length === 0 || only.includes(part);

async function main(): Promise<number> {
  const unknown = only.filter((p) => !PARTS.includes(p));
  if (unknown.length) {
    console.error(`test:browser: unknown part(s) ${unknown.join(', ')} (parts: ${PARTS.join(', ')}; none: all)`);
    return 2;
  }
  const chromium = findChromium();
  if (!chromium) {
    console.error('test:browser: no Chromium found (set $CHROMIUM, or install chromium: apt-get install chromium). Nothing was checked.');
    return 2;
  }
  const built = await buildBrowser();
  console.log(`build: dist/browser/${built.files[0]} ${(built.bytes / 2 ** 20).toFixed(2)} MiB + ${built.files.length - 1} .wasm files`);
  const golden = readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors;
  const files = new Map<string, string>();
  for (const name of golden.keys()) files.set(name, fixturePath(`images/${name}`));
  for (const name of readdirSync(dataDir).filter((f) => /\.(png|jpe?g|webp)$/.test(f))) files.set(name, join(dataDir, name));
  const snippet = readmeBrowserExamples(readFileSync(join(repoRoot, 'README.md'), 'utf8')).get('index.html');
  if (!snippet) throw new Error('README.md has no block marked <!-- test:browser: index.html -->');
  const pipelineRoutes = Object.fromEntries([...files].map(([name, path]) => [`/pipeline/image/${name}`, { file: path }]));
  const server: StaticServer = await startServer({
    '/favicon.ico': { text: '', type: 'image/x-icon' },
    '/blank.html': { text: '<!doctype html><title>imagereward</title>', type: 'text/html' },
    '/pipeline/': { text: '<!doctype html><title>pipeline</title>', type: 'text/html' },
    '/pipeline/bundle.js': { text: await pipelineBundle(), type: 'text/javascript' },
    '/pipeline/mozjpeg_dec.wasm': { file: require.resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm') },
    '/pipeline/webp_dec.wasm': { file: require.resolve('@jsquash/webp/codec/dec/webp_dec.wasm') },
    ...pipelineRoutes,
    '/dist/browser/': { dir: BROWSER_DIST },
    '/fixtures/': { dir: FIXTURES_DIR },
    '/examples/browser/': { dir: join(repoRoot, 'examples', 'browser') },
    // the README snippet, beside the bundle and the tiny model under the names it uses
    '/snippet/index.html': { text: snippet, type: 'text/html; charset=utf-8' },
    '/snippet/imagereward-tfjs/': { dir: BROWSER_DIST },
    '/snippet/model/ImageReward.safetensors': { file: fixturePath('tiny/tiny.safetensors') },
    '/snippet/model/vocab.txt': { file: fixturePath('vocab/bert-base-uncased-vocab.txt') },
    '/snippet/model/med_config.json': { file: fixturePath('tiny/med_config.json') },
    '/snippet/model/vit_config.json': { file: fixturePath('tiny/vit_config.json') },
    ...Object.fromEntries(GOLDEN_IMAGES.map((f) => [`/snippet/${f}`, { file: fixturePath(`images/${f}`) }])),
  });
  const browser = await launchChromium(chromium);
  try {
    console.log(`${chromium}: ${browser.version()}, serving ${server.origin}`);
    if (wanted('pipeline')) await checkPipeline(browser, server.origin, files);
    for (const backend of ['wasm', 'webgpu'] as const) if (wanted(backend)) await checkParity(browser, server.origin, backend);
    if (wanted('snippet')) await checkSnippet(browser, server.origin);
    if (wanted('demo')) await checkDemo(browser, server.origin);
  } finally {
    await browser.close();
    await server.close();
  }
  console.log(failures === 0 ? 'test:browser: all passed' : `test:browser: ${failures} failure(s)`);
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();
