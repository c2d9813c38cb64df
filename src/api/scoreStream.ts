/**
 * Streaming scoring: pairs of {prompt, image} from an (async) iterable, scored a batch at a time and
 * yielded as each batch finishes. Memory is bounded by the batch, never by the stream: a batch holds
 * at most `batchSize` distinct images (an image repeated within the batch is decoded and encoded once,
 * a prompt repeated within it is tokenized once), and its pixels, embeddings and text-encoder outputs
 * are freed before the next batch is read. A pair that cannot be scored (unreadable or corrupt image,
 * empty prompt) becomes an error result and the stream goes on, unless `failFast`.
 */
import * as tf from '@tensorflow/tfjs';
import { ImageRewardError, InputError, type ErrorCode } from '../errors.js';
import { checkImageInput, imageKey, loadImage, type ImageInput } from './imageInput.js';
import type { JpegWebpDecoder } from '../image/index.js';
import type { ImageRewardConfig } from '../model/config.js';
import type { ImageRewardModel } from '../model/imageRewardModel.js';
import type { BertTokenizer } from '../tokenizer/index.js';

/** What streaming scoring needs of a loaded model: an ImageReward, or one built another way (the benchmarks). */
export interface StreamScorer {
  readonly model: ImageRewardModel;
  readonly tokenizer: BertTokenizer;
  readonly config: ImageRewardConfig;
  readonly batchSize: number;
  readonly description: { readonly imageDecoder: JpegWebpDecoder };
}

export interface ScorePair {
  readonly prompt: string;
  readonly image: ImageInput;
  /** Set by a reader that already knows the pair cannot be scored (a malformed row): passed through as is. */
  readonly failure?: PairFailure;
}

export interface PairFailure {
  readonly code: ErrorCode;
  readonly message: string;
}

/** One pair's outcome; `index` is its 0-based position in the input stream. */
export type ScoredPair =
  | { readonly index: number; readonly prompt: string; readonly image: ImageInput; readonly reward: number }
  | { readonly index: number; readonly prompt: string; readonly image: ImageInput; readonly error: PairFailure };

export interface ScoreStreamOptions {
  /** Stop (throw the pair's error) at the first pair that cannot be scored (default false). */
  readonly failFast?: boolean;
  /** Most pairs per batch, however few distinct images they hold (default 8 x the model's batchSize). */
  readonly maxPairs?: number;
}

/** A pair with its position and the key of its image (equal keys: the same image). */
interface Slot<P extends ScorePair> {
  readonly index: number;
  readonly pair: P;
  readonly key: string;
}

/**
 * Cuts the stream into batches of at most `maxImages` distinct images and `maxPairs` pairs. `sameUnit`
 * keeps consecutive pairs together (a group that is ranked as a whole): a batch never ends inside a unit,
 * so a unit larger than the limits makes a larger batch.
 */
export async function* pairBatches<P extends ScorePair>(
  pairs: AsyncIterable<P> | Iterable<P>,
  maxImages: number,
  maxPairs: number,
  sameUnit: (a: P, b: P) => boolean = () => false,
): AsyncGenerator<Slot<P>[]> {
  let batch: Slot<P>[] = [];
  let keys = new Set<string>();
  let index = 0;
  for await (const pair of pairs) {
    const key = keyOf(pair.image, index);
    const last = batch[batch.length - 1];
    const full = keys.size >= maxImages && !keys.has(key) || batch.length >= maxPairs;
    if (last && full && !sameUnit(last.pair, pair)) {
      yield batch;
      batch = [];
      keys = new Set();
    }
    batch.push({ index: index++, pair, key });
    keys.add(key);
  }
  if (batch.length > 0) yield batch;
}

/** imageKey, with a key that never matches for inputs that are not images at all (they fail alone). */
function keyOf(image: unknown, index: number): string {
  try {
    checkImageInput(image, index);
    return imageKey(image);
  } catch {
    return `invalid:${index}`;
  }
}

function failure(err: unknown): PairFailure {
  if (err instanceof ImageRewardError) return { code: err.code, message: err.message };
  throw err;
}

/**
 * Rewards of one batch of pairs, in order: each distinct image decoded once (a bad one fails only its
 * pairs), the good ones encoded together, the text encoder run over the pairs `batchSize` at a time.
 */
export async function scoreSlots<P extends ScorePair>(ir: StreamScorer, slots: readonly Slot<P>[]): Promise<(number | PairFailure)[]> {
  const size = ir.config.vit.imgSize;
  const plane = 3 * size * size;
  const outcome: (number | PairFailure | undefined)[] = slots.map(({ pair }) =>
    pair.failure ? pair.failure : typeof pair.prompt !== 'string' ? { code: 'INPUT_INVALID', message: `prompt: expected a string, got ${pair.prompt === null ? 'null' : typeof pair.prompt}` }
      : pair.prompt.trim() === '' ? { code: 'INPUT_INVALID', message: 'the prompt is empty' } : undefined);
  // Distinct images of the pairs still standing, decoded one by one.
  const distinct = new Map<string, { image: ImageInput; firstIndex: number }>();
  slots.forEach((s, i) => { if (outcome[i] === undefined && !distinct.has(s.key)) distinct.set(s.key, { image: s.pair.image, firstIndex: s.index }); });
  type Decoded = { key: string; pixels: Float32Array } | { key: string; error: PairFailure };
  const decoded = await Promise.all([...distinct].map(async ([key, { image, firstIndex }]): Promise<Decoded> => {
    try {
      checkImageInput(image, firstIndex);
      return { key, pixels: (await loadImage(image, size, firstIndex, ir.description.imageDecoder)).pixels };
    } catch (err) {
      return { key, error: failure(err) };
    }
  }));
  const good: { key: string; pixels: Float32Array }[] = [];
  const badImage = new Map<string, PairFailure>();
  for (const d of decoded) {
    if ('error' in d) badImage.set(d.key, d.error);
    else good.push(d);
  }
  const row = new Map(good.map((d, i) => [d.key, i]));
  slots.forEach((s, i) => { if (outcome[i] === undefined && badImage.has(s.key)) outcome[i] = badImage.get(s.key); });
  const todo = slots.flatMap((_, i) => (outcome[i] === undefined ? [i] : []));
  if (todo.length === 0) return outcome as (number | PairFailure)[];

  // Prompts: tokenized once each; one that the tokenizer refuses fails its pairs.
  const tokens = new Map<string, { inputIds: number[]; attentionMask: number[] } | PairFailure>();
  for (const i of todo) {
    const p = slots[i]!.pair.prompt;
    if (tokens.has(p)) continue;
    try {
      tokens.set(p, ir.tokenizer.encode(p, { maxLength: ir.config.maxLength }));
    } catch (err) {
      tokens.set(p, failure(err));
    }
  }
  const pairs = todo.filter((i) => {
    const t = tokens.get(slots[i]!.pair.prompt)!;
    if ('code' in t) outcome[i] = t;
    return !('code' in t);
  });
  if (pairs.length === 0) return outcome as (number | PairFailure)[];

  const pixels = new Float32Array(good.length * plane);
  good.forEach((d, i) => pixels.set(d.pixels, i * plane));
  const embeds = tf.tidy(() => ir.model.encodeImages(tf.tensor4d(pixels, [good.length, 3, size, size]))); // (D, tokens, width)
  try {
    const L = ir.config.maxLength;
    for (let start = 0; start < pairs.length; start += ir.batchSize) {
      const chunk = pairs.slice(start, start + ir.batchSize);
      const toks = chunk.map((i) => tokens.get(slots[i]!.pair.prompt) as { inputIds: number[]; attentionMask: number[] });
      const rewards = tf.tidy(() => {
        const ids = tf.tensor2d(toks.flatMap((t) => t.inputIds), [chunk.length, L], 'int32'); // (b, L)
        const mask = tf.tensor2d(toks.flatMap((t) => t.attentionMask), [chunk.length, L], 'int32'); // (b, L)
        const imageEmbeds = tf.gather(embeds, chunk.map((i) => row.get(slots[i]!.key)!)) as tf.Tensor3D; // (b, tokens, width)
        return ir.model.forwardHead(ir.model.features(ids, mask, imageEmbeds)); // (b,)
      });
      const data = await rewards.data();
      rewards.dispose();
      chunk.forEach((i, k) => { outcome[i] = data[k]!; });
    }
  } finally {
    embeds.dispose();
  }
  return outcome as (number | PairFailure)[];
}

export interface ScoreBatchesOptions<P extends ScorePair> {
  /** Most pairs per batch, however few distinct images they hold (default 8 x the model's batchSize). */
  readonly maxPairs?: number;
  /** Pairs that must share a batch (consecutive pairs of one group, ranked together). */
  readonly sameUnit?: (a: P, b: P) => boolean;
}

/** Scored pairs, one array per finished batch, in input order; each result carries its input pair. */
export async function* scoreBatches<P extends ScorePair>(
  ir: StreamScorer,
  pairs: AsyncIterable<P> | Iterable<P>,
  options: ScoreBatchesOptions<P> = {},
): AsyncGenerator<(ScoredPair & { readonly pair: P })[]> {
  const maxPairs = options.maxPairs ?? 8 * ir.batchSize;
  if (!Number.isSafeInteger(maxPairs) || maxPairs < 1) throw new InputError(`maxPairs must be a positive integer, got ${options.maxPairs}`);
  for await (const slots of pairBatches(pairs, ir.batchSize, maxPairs, options.sameUnit)) {
    const outcome = await scoreSlots(ir, slots);
    yield slots.map((s, i) => {
      const o = outcome[i]!;
      const base = { index: s.index, prompt: s.pair.prompt, image: s.pair.image, pair: s.pair };
      return typeof o === 'number' ? { ...base, reward: o } : { ...base, error: o };
    });
  }
}

/**
 * Scored pairs one at a time, as their batches finish. With `failFast`, the pairs before the first
 * failure are yielded, then its error is thrown (an ImageRewardError of the pair's code, naming it).
 */
export async function* scoreStream(ir: StreamScorer, pairs: AsyncIterable<ScorePair> | Iterable<ScorePair>, options: ScoreStreamOptions = {}): AsyncGenerator<ScoredPair> {
  for await (const batch of scoreBatches(ir, pairs, options)) {
    for (const { pair: _pair, ...result } of batch) {
      if (options.failFast && 'error' in result) throw new ImageRewardError(result.error.code, `pair ${result.index}: ${result.error.message}`);
      yield result as ScoredPair;
    }
  }
}
