/**
 * The README's main job: rank images for a prompt, as upstream's
 * `model.inference_rank(prompt, images)` does.
 *
 *   npx tsx examples/seed.ts IMAGE...                       (downloads ImageReward-v1.0 once)
 *   IMAGEREWARD_MODEL=path/to/model.safetensors IMAGEREWARD_VOCAB=vocab.txt npx tsx examples/seed.ts IMAGE...
 */
import { ImageReward } from 'imagereward-tfjs';

const prompt = 'a painting of an ocean with clouds and birds, day time, low depth field effect';
const images = process.argv.slice(2);

const model = await ImageReward.load(process.env.IMAGEREWARD_MODEL ?? 'ImageReward-v1.0', {
  vocab: process.env.IMAGEREWARD_VOCAB,
});
const { ranking, rewards } = await model.rank(prompt, images);
console.log('ranking:', ranking);
console.log('rewards:', rewards.map((r) => Number(r.toFixed(2))));
model.dispose();
