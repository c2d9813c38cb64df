/**
 * The public ImageReward API in Node: the two-line experience of upstream `image-reward`
 * (`RM.load("ImageReward-v1.0")`, `model.score(prompt, image)`, `model.inference_rank(prompt, images)`),
 * with batching and without Python. This file is the Node half: model names, files, the hub, `.pt`
 * conversion and the converted cache, backend choice; the scoring methods (and the score scale) are
 * in core.ts, shared with the browser build.
 */
import { selectBackend, type BackendChoice } from '../backend.js';
import { ConfigError, WeightsError } from '../errors.js';
import { resolveImageDecoder, type JpegWebpDecoder } from '../image/index.js';
import type { ImageRewardConfig } from '../model/config.js';
import { ImageRewardModel } from '../model/imageRewardModel.js';
import { overlayHead, readHeadFile, withRewardScale } from '../model/headFile.js';
import { BertTokenizer } from '../tokenizer/index.js';
import { SafetensorsReader } from '../weights/safetensors.js';
import { checkBatchSize, ImageRewardCore, type ImageHandler } from './core.js';
import { checkImageInput, imageKey, loadImage, type ImageInput } from './imageInput.js';
import { resolveConfig, type ConfigOrigin } from './modelConfig.js';
import { configMismatchError } from './configHint.js';
import { scoreBatches, scoreStream, type ScoreBatchesOptions, type ScoredPair, type ScorePair, type ScoreStreamOptions } from './scoreStream.js';
import { resolveModelSource, type ModelSource, type ModelSourceOptions } from './modelSource.js';

export type { NamedArray, RankResult } from './core.js';

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

/** Node images (paths, bytes, raw pixels, tensors), JPEG / WebP through the decoder chosen at load. */
function nodeImages(decoder: JpegWebpDecoder): ImageHandler<ImageInput> {
  return { check: checkImageInput, key: imageKey, load: (input, size, index) => loadImage(input, size, index, decoder) };
}

export class ImageReward extends ImageRewardCore<ImageInput> {
  readonly description: ModelDescription;

  private constructor(model: ImageRewardModel, tokenizer: BertTokenizer, description: ModelDescription, batchSize: number) {
    super(model, tokenizer, nodeImages(description.imageDecoder), batchSize);
    this.description = description;
  }

  /**
   * Loads a model: "ImageReward-v1.0" (downloaded into the cache once and converted to
   * safetensors once), a `.safetensors`, a `.pt` (converted on the fly, cached), or a directory.
   */
  static async load(nameOrPath = 'ImageReward-v1.0', options: ImageRewardLoadOptions = {}): Promise<ImageReward> {
    const batchSize = checkBatchSize(options.batchSize);
    const log = options.log === undefined ? (line: string) => process.stderr.write(`${line}\n`) : options.log;
    const source = await resolveModelSource(nameOrPath, { ...options, log });
    const imageDecoder = await resolveImageDecoder(options.imageDecoder);
    const backend = await selectBackend({ backend: options.backend, wasmThreads: options.wasmThreads, threads: options.threads, log, verbose: options.verbose ?? false });
    const tokenizer = await BertTokenizer.fromVocabFile(source.vocabPath, source.vocabSha256 ? { expectedSha256: source.vocabSha256 } : {});
    const reader = SafetensorsReader.open(source.weightsPath);
    try {
      const { config: resolved, origin } = await resolveConfig(source.weightsPath, reader.metadata, source.configPaths);
      if (tokenizer.vocabSize > resolved.med.vocabSize) {
        throw new ConfigError(`vocab ${source.vocabPath} has ${tokenizer.vocabSize} tokens but the model embeds only ${resolved.med.vocabSize} (med_config vocab_size)`);
      }
      const headFile = options.head ? readHeadFile(options.head, resolved) : undefined;
      const config = withRewardScale(resolved, headFile?.rewardScale); // a fine-tuned head's own scale (0 = average)
      const weights = headFile && options.head ? overlayHead(reader, headFile.weights, config, `head ${options.head}`) : reader;
      let model: ImageRewardModel;
      try {
        model = ImageRewardModel.fromReader(weights, config);
      } catch (err) {
        throw err instanceof WeightsError ? configMismatchError(err, weights, config, origin) : err;
      }
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
   * Rewards of {prompt, image} pairs from an (async) iterable, yielded as each batch finishes: memory is
   * bounded by the batch (batchSize distinct images), not by the stream; a pair that cannot be scored
   * yields an error result (or throws, with failFast). See scoreStream.ts.
   */
  scoreStream(pairs: AsyncIterable<ScorePair> | Iterable<ScorePair>, options: ScoreStreamOptions = {}): AsyncGenerator<ScoredPair> {
    return scoreStream(this, pairs, options);
  }

  /** scoreStream, one array of results per finished batch. */
  scoreBatches<P extends ScorePair>(pairs: AsyncIterable<P> | Iterable<P>, options: ScoreBatchesOptions<P> = {}): AsyncGenerator<(ScoredPair & { readonly pair: P })[]> {
    return scoreBatches(this, pairs, options);
  }
}

/** 'F32', 'F16', ... of the floating-point weights, or 'mixed: F16, F32'. */
function storedDtype(reader: SafetensorsReader): string {
  const dtypes = new Set([...reader.tensors.values()].map((t) => t.dtype).filter((d) => d !== 'I64' && d !== 'I32'));
  return dtypes.size === 1 ? [...dtypes][0]! : `mixed: ${[...dtypes].sort().join(', ')}`;
}
