/**
 * What the API's batching and de-duplication buy, on the tiny fixture model (wasm backend): scoring
 * 3 prompts x 4 WebP images as 12 separate `score(prompt, image)` calls (the upstream pattern: every
 * call decodes, preprocesses and encodes its image again) against `rank` per prompt and one
 * `scoreMany` over the 12 pairs (each image decoded and encoded once). Also the cost of the image
 * pipeline alone, and `score` with already preprocessed tensors. Median of RUNS after a warm-up.
 * With the real ViT-L the image encoder dominates (see model.bench.ts), so the saving of encoding
 * each image once grows accordingly.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { machineLine, medianMs } from './machine.js';
import { ImageReward, preprocessImage } from '../src/index.js';
import { fixturePath } from '../test/helpers/fixtures.js';

const RUNS = 5;
const prompts = (JSON.parse(readFileSync(fixturePath('tiny/golden.json'), 'utf8')) as { prompts: { text: string }[] }).prompts.map((p) => p.text);
const images = ['1.webp', '2.webp', '3.webp', '4.webp'].map((f) => fixturePath(`images/${f}`));

const model = await ImageReward.load(fixturePath('tiny/tiny.safetensors'), { backend: 'wasm', vocab: fixturePath('vocab/bert-base-uncased-vocab.txt'), log: null });
const pairsPrompts = prompts.flatMap((p) => images.map(() => p));
const pairsImages = prompts.flatMap(() => images);
const tensors = await Promise.all(images.map(async (f) => tf.tensor4d((await preprocessImage(f, { size: 224 })).pixels, [1, 3, 224, 224])));

const naive = await medianMs(async () => { for (let i = 0; i < pairsPrompts.length; i++) await model.score(pairsPrompts[i]!, pairsImages[i]!); }, RUNS, 1);
const perPrompt = await medianMs(async () => { for (const p of prompts) await model.rank(p, images); }, RUNS, 1);
const many = await medianMs(() => model.scoreMany(pairsPrompts, pairsImages), RUNS, 1);
const preprocessOnly = await medianMs(async () => { for (const f of images) await preprocessImage(f, { size: 224 }); }, RUNS, 1);
const fromTensors = await medianMs(() => model.scoreMany(pairsPrompts, prompts.flatMap(() => tensors)), RUNS, 1);
tf.dispose(tensors);
model.dispose();

console.log(machineLine());
console.log(`tiny model, wasm, 3 prompts x 4 WebP images (12 pairs), median of ${RUNS}`);
console.log(`12 x score(prompt, image)         ${naive.toFixed(0).padStart(6)} ms  (baseline)`);
console.log(`3 x rank(prompt, 4 images)        ${perPrompt.toFixed(0).padStart(6)} ms  speed x${(naive / perPrompt).toFixed(2)} of the baseline`);
console.log(`1 x scoreMany(12 pairs)           ${many.toFixed(0).padStart(6)} ms  speed x${(naive / many).toFixed(2)} of the baseline`);
console.log(`scoreMany(12 pairs), tensors in   ${fromTensors.toFixed(0).padStart(6)} ms  speed x${(naive / fromTensors).toFixed(2)} of the baseline`);
console.log(`preprocess 4 images alone         ${preprocessOnly.toFixed(0).padStart(6)} ms`);
