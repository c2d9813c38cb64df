/**
 * Child process of wasmThreads.test.ts (the thread count is fixed once a wasm backend starts):
 * selects wasm (or $IMAGEREWARD_BACKEND, e.g. wasm+blas) with $IMAGEREWARD_WASM_THREADS threads, as
 * users do, and prints {threads, log, rewards} for prompt 0 x the 4 fixture images as JSON, then ends
 * by itself.
 */
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../src/backend.js';
import { readSafetensors } from '../../src/weights/safetensors.js';
import { ImageRewardModel } from '../../src/model/imageRewardModel.js';
import { fixturePath } from './fixtures.js';
import { int32Tensor2d, pixelBatch, tinyConfig } from './tinyModel.js';

const log: string[] = [];
await selectBackend({ backend: process.env.IMAGEREWARD_BACKEND || 'wasm', log: (line) => log.push(line) });
const golden = readSafetensors(fixturePath('tiny/golden.safetensors')).tensors;
const model = ImageRewardModel.fromTensors(readSafetensors(fixturePath('tiny/tiny.safetensors')).tensors, tinyConfig());
const pixels = pixelBatch(readSafetensors(fixturePath('images/preprocessed.safetensors')).tensors, ['1.webp', '2.webp', '3.webp', '4.webp']);
const rewards = model.scoreTensor(int32Tensor2d(golden.get('p0.input_ids')!), int32Tensor2d(golden.get('p0.attention_mask')!), pixels);
process.stdout.write(JSON.stringify({ threads: getThreadsCount(), log, rewards: Array.from(rewards.dataSync()) }));
// No process.exit: the process must end by itself (the pthread pool must not hold it).
