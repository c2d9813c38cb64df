/**
 * The public ImageReward API: the two-line experience of upstream `image-reward`
 * (`RM.load("ImageReward-v1.0")`, `model.score(prompt, image)`, `model.inference_rank(prompt, images)`),
 * with batching and without Python.
 *
 * Score scale (every method that returns rewards): upstream ImageReward.py z-scores the MLP output
 * against the ImageReward test set, reward = (mlp(cls) - 0.16717362830052426) / 1.0333394966054072,
 * so 0 is an average image for its prompt, +1 one standard deviation better; higher is better.
 * Rewards compare images for the same prompt; across prompts they are only roughly comparable.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendChoice } from '../backend.js';
import { ConfigError, InputError } from '../errors.js';
import { resolveImageDecoder, type JpegWebpDecoder } from '../image/index.js';
import type { ImageRewardConfig } from '../model/config.js';
import { ImageRewardModel, rankRewards } from '../model/imageRewardModel.js';
import { BertTokenizer } from '../tokenizer/index.js';
import { SafetensorsReader } from '../weights/safetensors.js';
import { checkImageInput, imageKey, loadImage, type ImageInput } from './imageInput.js';
import { resolveConfig, type ConfigOrigin } from './modelConfig.js';
import { headOverlay } from './headOverlay.js';
import { resolveModelSource, type ModelSource, type ModelSourceOptions } from './modelSource.js';

/** Options of ImageReward.load; `log` (default: stderr; null: quiet) says which backend runs and what is converted. */
export interface ImageRewardLoadOptions extends ModelSourceOptions {
  /** 'node-gpu' | 'node' | 'wasm+blas' | 'wasm' | 'cpu' (default: $IMAGEREWARD_BACKEND, else the best that loads). */
  readonly backend?: string;
  /** Threads of the wasm backend (default: $IMAGEREWARD_WASM_THREADS, else 1); see selectBackend. */
  readonly wasmThreads?: number;
  /** Threads in all for wasm+blas (default: $IMAGEREWARD_THREADS, else the physical cores); see selectBackend. */
  readonly threads?: number;
  /**
   * JPEG / WebP decoder: 'auto' (sharp when installed, else wasm) | 'wasm' | 'native' (default:
   * $IMAGEREWARD_IMAGE_DECODER, else 'auto'). Same pixels either way; 'native' without sharp is an error.
   */
  readonly imageDecoder?: string;
  /** Images per image-encoder call, and pairs per text-encoder call (default 4). */
  readonly batchSize?: number;
  /** A head-only safetensors (`mlp.layers.*`, checkpoint layout) overlaid on the model's head. */
  readonly head?: string;
  /** Also log why better backends were skipped (see selectBackend). */
  readonly verbose?: boolean;
}

export interface RankResult {
  /** 1-based rank of each input position, 1 = best (upstream inference_rank's `indices + 1`). */
  readonly ranking: number[];
  /** The reward of each input, in input order (see the score scale in the class comment). */
  readonly rewards: number[];
}

/** One named tensor copied out of the model. */
export interface NamedArray {
  readonly shape: number[];
  readonly dtype: 'float32' | 'int32';
  readonly data: Float32Array | Int32Array;
}

export interface ModelDescription {
  readonly source: ModelSource;
  readonly configOrigin: ConfigOrigin;
  readonly config: ImageRewardConfig;
  readonly backend: BackendChoice;
  /** The decoder JPEG / WebP images go through ('auto' resolved at load). */
  readonly imageDecoder: JpegWebpDecoder;
  readonly parameterCount: number;
  /** dtype of the stored floating-point weights (computation is always float32). */
  readonly storedDtype: string;
  readonly unexpectedKeys: readonly string[];
  readonly head?: string;
}

const DEFAULT_BATCH_SIZE = 4;

export class ImageReward {
  readonly model: ImageRewardModel;
  readonly tokenizer: BertTokenizer;
  readonly config: ImageRewardConfig;
  readonly description: ModelDescription;
  readonly batchSize: number;

  private constructor(model: ImageRewardModel, tokenizer: BertTokenizer, description: ModelDescription, batchSize: number) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.config = description.config;
    this.description = description;
    this.batchSize = batchSize;
  }

  /**
   * Loads a model: "ImageReward-v1.0" (downloaded into the cache once and converted to
   * safetensors once), a `.safetensors`, a `.pt` (converted on the fly, cached), or a directory.
   */
  static async load(nameOrPath = 'ImageReward-v1.0', options: ImageRewardLoadOptions = {}): Promise<ImageReward> {
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new InputError(`batchSize must be a positive integer, got ${options.batchSize}`);
    const log = options.log === undefined ? (line: string) => process.stderr.write(`${line}\n`) : options.log;
    const source = await resolveModelSource(nameOrPath, { ...options, log });
    const imageDecoder = await resolveImageDecoder(options.imageDecoder);
    const backend = await selectBackend({ backend: options.backend, wasmThreads: options.wasmThreads, threads: options.threads, log, verbose: options.verbose ?? false });
    const tokenizer = await BertTokenizer.fromVocabFile(source.vocabPath, source.vocabSha256 ? { expectedSha256: source.vocabSha256 } : {});
    const reader = SafetensorsReader.open(source.weightsPath);
    try {
      const { config, origin } = await resolveConfig(source.weightsPath, reader.metadata, source.configPaths);
      if (tokenizer.vocabSize > config.med.vocabSize) {
        throw new ConfigError(`vocab ${source.vocabPath} has ${tokenizer.vocabSize} tokens but the model embeds only ${config.med.vocabSize} (med_config vocab_size)`);
      }
      const weights = options.head ? headOverlay(reader, options.head, config) : reader;
      const model = ImageRewardModel.fromReader(weights, config);
      const description: ModelDescription = {
        source, configOrigin: origin, config, backend, imageDecoder,
        parameterCount: model.parameterCount(),
        storedDtype: storedDtype(reader),
        unexpectedKeys: model.unexpectedKeys,
        ...(options.head ? { head: options.head } : {}),
      };
      return new ImageReward(model, tokenizer, description, batchSize);
    } finally {
      reader.close();
    }
  }

  /**
   * Reward of one image, or of each image, for `prompt` (z-scored: 0 = average, higher is better).
   * Images are batched through the image encoder; the same image given twice is encoded once.
   */
  score(prompt: string, image: ImageInput): Promise<number>;
  score(prompt: string, images: readonly ImageInput[]): Promise<number[]>;
  async score(prompt: string, images: ImageInput | readonly ImageInput[]): Promise<number | number[]> {
    checkPrompt(prompt, 0);
    if (Array.isArray(images)) {
      const list = images as readonly ImageInput[];
      if (list.length === 0) throw new InputError('score: the list of images is empty');
      return this.rewards(list.map(() => prompt), list);
    }
    const [reward] = await this.rewards([prompt], [images as ImageInput]);
    return reward!;
  }

  /**
   * Upstream inference_rank: the rewards of `images` for `prompt` and the 1-based rank of each
   * input position (1 = best). Rewards are z-scored; higher is better.
   */
  async rank(prompt: string, images: readonly ImageInput[]): Promise<RankResult> {
    checkPrompt(prompt, 0);
    const rewards = await this.rewards(checkList(images, 'rank', 'images').map(() => prompt), images);
    return { ranking: rankRewards(rewards), rewards };
  }

  /**
   * Paired scoring: the reward of images[i] for prompts[i] (z-scored, higher is better). Each
   * distinct image is encoded once, however many prompts it is scored against.
   */
  async scoreMany(prompts: readonly string[], images: readonly ImageInput[]): Promise<number[]> {
    checkPaired(prompts, images, 'scoreMany');
    return this.rewards(prompts, images);
  }

  /**
   * The multimodal CLS feature (input of the reward MLP) of each image for its prompt: one prompt
   * for all images, or one prompt per image. Float32Array of the BERT hidden size each.
   */
  async features(prompts: string | readonly string[], images: readonly ImageInput[]): Promise<Float32Array[]> {
    checkList(images, 'features', 'images');
    const paired = typeof prompts === 'string' ? images.map(() => prompts) : prompts;
    checkPaired(paired, images, 'features');
    return this.forwardPairs(paired, images, (cls) => cls);
  }

  /**
   * Every named intermediate of one prompt x image forward (`vit.block{i}`, `bert.layer{i}.output`,
   * `cls`, `mlp.layers.*`, `reward`, ...), plus `input_ids`, `attention_mask`, `pixel_values`; with
   * `attentions`, the attention probabilities (`attn.*.probs`) too.
   */
  async intermediates(prompt: string, image: ImageInput, options: { attentions?: boolean } = {}): Promise<Map<string, NamedArray>> {
    checkPrompt(prompt, 0);
    checkImageInput(image, 0);
    const size = this.config.vit.imgSize;
    const { pixels } = await loadImage(image, size, 0, this.description.imageDecoder);
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
      for (const [name, t] of named) {
        out.set(name, { shape: [...t.shape], dtype: t.dtype === 'int32' ? 'int32' : 'float32', data: (await t.data()) as Float32Array | Int32Array });
        t.dispose();
      }
      return out;
    } finally {
      tf.dispose([ids, mask, pix]);
    }
  }

  dispose(): void {
    this.model.dispose();
  }

  private async rewards(prompts: readonly string[], images: readonly ImageInput[]): Promise<number[]> {
    const rows = await this.forwardPairs(prompts, images, (cls) => this.model.rewardFromFeatures(cls));
    return rows.map((r) => r[0]!);
  }

  /**
   * The shared path of every scoring method: encodes each distinct image once (batches of
   * `batchSize`), tokenizes each distinct prompt once, then runs the text encoder over the pairs
   * in batches and maps each CLS batch through `head` (the reward MLP, or nothing).
   */
  private async forwardPairs(
    prompts: readonly string[],
    images: readonly ImageInput[],
    head: (cls: tf.Tensor2D) => tf.Tensor,
  ): Promise<Float32Array[]> {
    images.forEach((image, i) => checkImageInput(image, i));
    prompts.forEach((p, i) => checkPrompt(p, i));
    const slots = new Map<string, number>();
    const distinct: ImageInput[] = [];
    const imageSlot = images.map((image) => {
      const key = imageKey(image);
      let slot = slots.get(key);
      if (slot === undefined) {
        slot = distinct.length;
        slots.set(key, slot);
        distinct.push(image);
      }
      return slot;
    });
    const embeds = await this.encodeDistinct(distinct);
    try {
      const encoded = new Map<string, { inputIds: number[]; attentionMask: number[] }>();
      for (const p of prompts) if (!encoded.has(p)) encoded.set(p, this.tokenizer.encode(p, { maxLength: this.config.maxLength }));
      const L = this.config.maxLength;
      const rows: Float32Array[] = [];
      for (let start = 0; start < prompts.length; start += this.batchSize) {
        const end = Math.min(start + this.batchSize, prompts.length);
        const batch = prompts.slice(start, end).map((p) => encoded.get(p)!);
        const result = tf.tidy(() => {
          const ids = tf.tensor2d(batch.flatMap((b) => b.inputIds), [batch.length, L], 'int32');
          const mask = tf.tensor2d(batch.flatMap((b) => b.attentionMask), [batch.length, L], 'int32');
          const imageEmbeds = tf.gather(embeds, imageSlot.slice(start, end)) as tf.Tensor3D;
          return head(this.model.features(ids, mask, imageEmbeds));
        });
        const data = (await result.data()) as Float32Array;
        const width = result.size / batch.length;
        result.dispose();
        for (let i = 0; i < batch.length; i++) rows.push(data.slice(i * width, (i + 1) * width));
      }
      return rows;
    } finally {
      embeds.dispose();
    }
  }

  /** Image embeddings [D, tokens, width] of the distinct images, encoded `batchSize` at a time. */
  private async encodeDistinct(images: readonly ImageInput[]): Promise<tf.Tensor3D> {
    const size = this.config.vit.imgSize;
    const plane = 3 * size * size;
    const chunks: tf.Tensor3D[] = [];
    try {
      for (let start = 0; start < images.length; start += this.batchSize) {
        const batch = images.slice(start, start + this.batchSize);
        const pixels = new Float32Array(batch.length * plane);
        for (let i = 0; i < batch.length; i++) pixels.set((await loadImage(batch[i]!, size, start + i, this.description.imageDecoder)).pixels, i * plane);
        chunks.push(tf.tidy(() => this.model.encodeImages(tf.tensor4d(pixels, [batch.length, 3, size, size]))));
      }
    } catch (err) {
      tf.dispose(chunks);
      throw err;
    }
    if (chunks.length === 1) return chunks[0]!;
    const all = tf.concat(chunks, 0);
    tf.dispose(chunks);
    return all;
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

function checkPaired(prompts: readonly string[], images: readonly ImageInput[], method: string): void {
  checkList(prompts, method, 'prompts');
  checkList(images, method, 'images');
  if (prompts.length !== images.length) {
    throw new InputError(`${method}: ${prompts.length} prompts but ${images.length} images (they are paired: prompts[i] goes with images[i])`);
  }
}

/** 'F32', 'F16', ... of the floating-point weights, or 'mixed: F16, F32'. */
function storedDtype(reader: SafetensorsReader): string {
  const dtypes = new Set([...reader.tensors.values()].map((t) => t.dtype).filter((d) => d !== 'I64' && d !== 'I32'));
  return dtypes.size === 1 ? [...dtypes][0]! : `mixed: ${[...dtypes].sort().join(', ')}`;
}
