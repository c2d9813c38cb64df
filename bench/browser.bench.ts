/**
 * `npm run bench -- browser`: the browser build's forward time per image in headless Chromium, on
 * wasm and on webgpu (SwiftShader: WebGPU on the CPU, slow; reported as is), tiny fixture model
 * loaded by URL from a static server on 127.0.0.1. Images are raw 224x224 RGBA pixels made in the page,
 * so the time is the model's (tokenizer and a no-op resize included, no decoding, no network): s/image
 * at batch 1 (score of one image) and batch 4 (rank of four), median of BENCH_RUNS (default 3) after
 * a warm-up of each (which compiles the webgpu shaders; its time is reported too).
 */
import { buildBrowser } from '../scripts/build-browser.js';
import { FIXTURES_DIR } from '../test/helpers/fixtures.js';
import { findChromium, launchChromium, startServer } from '../test/browser/harness.js';
import { machineLine } from './machine.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const PAGE = String.raw`async ({ bundle, backend, runs }) => {
  const { ImageReward } = await import(bundle);
  const t0 = performance.now();
  const model = await ImageReward.load('/fixtures/tiny/tiny.safetensors', {
    vocab: '/fixtures/vocab/bert-base-uncased-vocab.txt', medConfig: '/fixtures/tiny/med_config.json', vitConfig: '/fixtures/tiny/vit_config.json', backend,
  });
  const loadMs = performance.now() - t0;
  const image = (seed) => {
    const data = new Uint8ClampedArray(224 * 224 * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed * 97) % 251;
    return { width: 224, height: 224, data };
  };
  const prompt = 'a painting of an ocean with clouds and birds, day time, low depth field effect';
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
  const time = async (fn) => { const t = performance.now(); await fn(); return performance.now() - t; };
  const warmMs = await time(async () => { await model.rank(prompt, [0, 1, 2, 3].map(image)); await model.score(prompt, image(4)); });
  const one = [], four = [];
  for (let r = 0; r < runs; r++) {
    one.push(await time(() => model.score(prompt, image(10 + r))));
    four.push(await time(() => model.rank(prompt, [0, 1, 2, 3].map((i) => image(20 + 4 * r + i)))));
  }
  const out = { backend: model.backend, adapter: model.description.adapter, loadMs, warmMs, batch1: median(one) / 1000, batch4: median(four) / 4000 };
  model.dispose();
  return out;
}`;

const chromium = findChromium();
if (!chromium) {
  console.error('bench browser: no Chromium found (set $CHROMIUM, or install chromium). Nothing was measured.');
  process.exit(2);
}
await buildBrowser();
const server = await startServer({
  '/blank.html': { text: '<!doctype html><title>bench</title>', type: 'text/html' },
  '/favicon.ico': { text: '', type: 'image/x-icon' },
  '/dist/browser/': { dir: new URL('../dist/browser/', import.meta.url).pathname },
  '/fixtures/': { dir: FIXTURES_DIR },
});
const browser = await launchChromium(chromium);
try {
  console.log(`machine: ${machineLine()}; ${chromium} ${browser.version()}; tiny fixture model, ${RUNS} runs`);
  console.log('backend | adapter | load s | warm-up s | s/image batch 1 | s/image batch 4');
  for (const backend of ['wasm', 'webgpu']) {
    const page = await browser.newPage();
    await page.goto(`${server.origin}/blank.html`);
    const r = await page.evaluate(`(${PAGE})(${JSON.stringify({ bundle: `${server.origin}/dist/browser/imagereward.js`, backend, runs: RUNS })})`) as {
      backend: string; adapter?: { vendor: string; architecture: string }; loadMs: number; warmMs: number; batch1: number; batch4: number;
    };
    await page.close();
    const adapter = r.adapter ? `${r.adapter.vendor} ${r.adapter.architecture}`.trim() : '-';
    console.log(`${r.backend} | ${adapter} | ${(r.loadMs / 1000).toFixed(2)} | ${(r.warmMs / 1000).toFixed(2)} | ${r.batch1.toFixed(4)} | ${r.batch4.toFixed(4)}`);
  }
} finally {
  await browser.close();
  await server.close();
}
