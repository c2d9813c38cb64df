/**
 * The environment-free half of the ImageReward API: a loaded model, its tokenizer and a way to turn
 * the caller's images into pixels, and every scoring method over them (score, rank, scoreMany,
 * features, intermediates). Nothing here touches files, the network, the hub or `process`: the Node
 * facade (imagereward.ts) and the browser one (src/browser/) load the parts their own way and hand
 * them to this class.
 *
 * Score scale (every method that returns rewards): upstream ImageReward.py z-scores the MLP output
 * against the ImageReward test set, reward = (mlp(cls) - 0.16717362830052426) / 1.0333394966054072,
 * so 0 is an average image for its prompt, +1 one standard deviation better; higher is better.
 * Rewards compare images for the same prompt; across prompts they are only roughly comparable.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors.js';
import type { ImageRewardConfig } from '../model/config.js';
import { ImageRewardModel, rankRewards } from '../model/imageRewardModel.js';
import type { HeadWeights } from '../model/head.js';
import type { BertTokenizer } from '../tokenizer/bert.js';

export interface RankResult {
  /** 1-based rank of each input position, 1 = best (upstream inference_rank's `indices + 1`). */
  readonly ranking: number[];
  /** The reward of each input, in input order (see the score scale in the file comment). */
  readonly rewards: number[];
}

/** One named tensor copied out of the model. */
export interface NamedArray {
  readonly shape: number[];
  readonly dtype: 'float32' | 'int32';
  readonly data: Float32Array | Int32Array;
}

/** One image turned into CHW float32 pixels, 3 x size x size. */
export interface LoadedImage {
  readonly pixels: Float32Array;
  /** Where it came from, for messages ("1.webp", "<bytes 1234>", "<tensor>"). */
  readonly label: string;
}

/** How an environment's image inputs are checked, identified and preprocessed. */
export interface ImageHandler<I> {
  /** Throws an InputError naming position `index` unless `x` is an accepted image. */
  check(x: unknown, index: number): asserts x is I;
  /** Equal keys mean the same image (it is encoded once). */
  key(input: I): string;
  load(input: I, size: number, index: number): Promise<LoadedImage>;
}

export const DEFAULT_BATCH_SIZE = 4;

export function checkBatchSize(batchSize: number | undefined): number {
  const value = batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(value) || value < 1) throw new InputError(`batchSize must be a positive integer, got ${batchSize}`);
  return value;
}

export class ImageRewardCore<I> {
  readonly model: ImageRewardModel;
  readonly tokenizer: BertTokenizer;
  readonly config: ImageRewardConfig;
  readonly batchSize: number;
  private readonly images: ImageHandler<I>;

  protected constructor(model: ImageRewardModel, tokenizer: BertTokenizer, images: ImageHandler<I>, batchSize: number) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.config = model.config;
    this.images = images;
    this.batchSize = batchSize;
  }

  /**
   * Reward of one image, or of each image, for `prompt` (z-scored: 0 = average, higher is better).
   * Images are batched through the image encoder; the same image given twice is encoded once.
   */
  score(prompt: string, image: I): Promise<number>;
  score(prompt: string, images: readonly I[]): Promise<number[]>;
  async score(prompt: string, images: I | readonly I[]): Promise<number | number[]> {
    checkPrompt(prompt, 0);
    if (Array.isArray(images)) {
      const list = images as readonly I[];
      if (list.length === 0) throw new InputError('score: the list of images is empty');
      return this.rewards(list.map(() => prompt), list);
    }
    const [reward] = await this.rewards([prompt], [images as I]);
    return reward!;
  }

  /**
   * Upstream inference_rank: the rewards of `images` for `prompt` and the 1-based rank of each
   * input position (1 = best). Rewards are z-scored; higher is better.
   */
  async rank(prompt: string, images: readonly I[]): Promise<RankResult> {
    checkPrompt(prompt, 0);
    const rewards = await this.rewards(checkList(images, 'rank', 'images').map(() => prompt), images);
    return { ranking: rankRewards(rewards), rewards };
  }

  /**
   * Paired scoring: the reward of images[i] for prompts[i] (z-scored, higher is better). Each
   * distinct image is encoded once, however many prompts it is scored against.
   */
  async scoreMany(prompts: readonly string[], images: readonly I[]): Promise<number[]> {
    checkPaired(prompts, images, 'scoreMany');
    return this.rewards(prompts, images);
  }

  /**
   * The multimodal CLS feature (input of the reward MLP) of each image for its prompt: one prompt
   * for all images, or one prompt per image. Float32Array of the BERT hidden size each.
   */
  async features(prompts: string | readonly string[], images: readonly I[]): Promise<Float32Array[]> {
    checkList(images, 'features', 'images');
    const paired = typeof prompts === 'string' ? images.map(() => prompts) : prompts;
    checkPaired(paired, images, 'features');
    return this.forwardPairs(paired, images, (cls) => cls);
  }

  /** The reward head's weights (the model's layout), e.g. the base of head training. */
  headWeights(): Promise<HeadWeights> {
    return this.model.headWeights();
  }

  /**
   * Every named intermediate of one prompt x image forward (`vit.block{i}`, `bert.layer{i}.output`,
   * `cls`, `mlp.layers.*`, `reward`, ...), plus `input_ids`, `attention_mask`, `pixel_values`; with
   * `attentions`, the attention probabilities (`attn.*.probs`) too.
   */
  async intermediates(prompt: string, image: I, options: { attentions?: boolean } = {}): Promise<Map<string, NamedArray>> {
    checkPrompt(prompt, 0);
    this.images.check(image, 0);
    const size = this.config.vit.imgSize;
    const { pixels } = await this.images.load(image, size, 0);
    const { inputIds, attentionMask } = this.tokenizer.encode(prompt, { maxLength: this.config.maxLength });
    const out = new Map<string, NamedArray>();
    const ids = tf.tensor2d(inputIds, [1, inputIds.length], 'int32');
    const mask = tf.tensor2d(attentionMask, [1, attentionMask.length], 'int32');
    const pix = tf.tensor4d(pixels, [1, 3, size, size]);
    try {
      out.set('input_ids', { shape: [1, inputIds.length], dtype: 'int32', data: Int32Array.from(inputIds) });
      out.set('attention_mask', { shape: [1, attentionMask.length], dtype: 'int32', data: Int32Array.from(attentionMask) });
      out.set('pixel_values', { shape: [1, 3, size, size], dtype: 'float32', data: pixels });
      const named = this.model.forwardIntermediates(ids, mask, pix, { attentions: options.attentions ?? false });
      try {
        for (const [name, t] of named) {
          out.set(name, { shape: [...t.shape], dtype: t.dtype === 'int32' ? 'int32' : 'float32', data: (await t.data()) as Float32Array | Int32Array });
        }
      } finally {
        named.dispose();
      }
      return out;
    } finally {
      tf.dispose([ids, mask, pix]);
    }
  }

  dispose(): void {
    this.model.dispose();
  }

  private async rewards(prompts: readonly string[], images: readonly I[]): Promise<number[]> {
    const rows = await this.forwardPairs(prompts, images, (cls) => this.model.forwardHead(cls));
    return rows.map((r) => r[0]!);
  }

  /**
   * The shared path of every scoring method. Memory is bounded by the batch, not by the list: the
   * distinct images (each encoded once, in order of first appearance) go through the image encoder
   * `batchSize` at a time, and each chunk's embeddings are scored against every pair that uses one of
   * its images (text encoder `batchSize` pairs at a time, prompts tokenized once) and freed before the
   * next chunk is decoded. `head` maps each CLS batch (the reward MLP, or nothing).
   */
  private async forwardPairs(prompts: readonly string[], images: readonly I[], head: (cls: tf.Tensor2D) => tf.Tensor): Promise<Float32Array[]> {
    images.forEach((image, i) => this.images.check(image, i));
    prompts.forEach((p, i) => checkPrompt(p, i));
    const slots = new Map<string, number>();
    const distinct: { image: I; index: number; pairs: number[] }[] = [];
    images.forEach((image, index) => {
      const key = this.images.key(image);
      let slot = slots.get(key);
      if (slot === undefined) {
        slot = distinct.length;
        slots.set(key, slot);
        distinct.push({ image, index, pairs: [] });
      }
      distinct[slot]!.pairs.push(index);
    });
    const encoded = new Map<string, { inputIds: number[]; attentionMask: number[] }>();
    for (const p of prompts) if (!encoded.has(p)) encoded.set(p, this.tokenizer.encode(p, { maxLength: this.config.maxLength }));
    const L = this.config.maxLength;
    const rows: Float32Array[] = new Array<Float32Array>(prompts.length);
    for (let first = 0; first < distinct.length; first += this.batchSize) {
      const chunk = distinct.slice(first, first + this.batchSize);
      const embeds = await this.encodeImages(chunk); // (chunk, tokens, width)
      try {
        // every pair of the chunk's images, with the row of its image in `embeds`
        const pairs = chunk.flatMap((d, row) => d.pairs.map((pair) => ({ pair, row })));
        for (let start = 0; start < pairs.length; start += this.batchSize) {
          const batch = pairs.slice(start, start + this.batchSize);
          const tokens = batch.map((b) => encoded.get(prompts[b.pair]!)!);
          const result = tf.tidy(() => {
            const ids = tf.tensor2d(tokens.flatMap((t) => t.inputIds), [batch.length, L], 'int32'); // (B, L)
            const mask = tf.tensor2d(tokens.flatMap((t) => t.attentionMask), [batch.length, L], 'int32'); // (B, L)
            const imageEmbeds = tf.gather(embeds, batch.map((b) => b.row)) as tf.Tensor3D; // (B, tokens, width)
            return head(this.model.features(ids, mask, imageEmbeds));
          });
          const data = (await result.data()) as Float32Array;
          const width = result.size / batch.length;
          result.dispose();
          batch.forEach((b, i) => { rows[b.pair] = data.slice(i * width, (i + 1) * width); });
        }
      } finally {
        embeds.dispose();
      }
    }
    return rows;
  }

  /** Image embeddings [n, tokens, width] of up to `batchSize` images, in one encoder call. */
  private async encodeImages(images: readonly { image: I; index: number }[]): Promise<tf.Tensor3D> {
    const size = this.config.vit.imgSize;
    const plane = 3 * size * size;
    const pixels = new Float32Array(images.length * plane);
    for (let i = 0; i < images.length; i++) pixels.set((await this.images.load(images[i]!.image, size, images[i]!.index)).pixels, i * plane);
    return tf.tidy(() => this.model.encodeImages(tf.tensor4d(pixels, [images.length, 3, size, size])));
  }
}

function checkPrompt(prompt: unknown, index: number): asserts prompt is string {
  if (typeof prompt !== 'string') throw new InputError(`prompt ${index}: expected a string, got ${prompt === null ? 'null' : typeof prompt}`);
}

function checkList<T>(list: readonly T[], method: string, what: string): readonly T[] {
  if (!Array.isArray(list)) throw new InputError(`${method}: ${what} must be an array`);
  if (list.length === 0) throw new InputError(`${method}: the list of ${what} is empty`);
  return list;
}

function checkPaired<I>(prompts: readonly string[], images: readonly I[], method: string): void {
  checkList(prompts, method, 'prompts');
  checkList(images, method, 'images');
  if (prompts.length !== images.length) {
    throw new InputError(`${method}: ${prompts.length} prompts but ${images.length} images (they are paired: prompts[i] goes with images[i])`);
  }
}
