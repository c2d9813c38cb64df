/**
 * imagereward-tfjs in the browser (dist/browser/imagereward.js, built by scripts/build-browser.ts):
 *
 *   const model = await ImageReward.load(modelUrl, { vocab: vocabUrl, backend: 'webgpu' });
 *   const { ranking, rewards } = await model.rank(prompt, [bytes, url, blob, imageData]);
 *
 * The weights are a .safetensors URL (convert a .pt once in Node: `imagereward convert`), streamed
 * into tensors as they arrive. Configs: the `medConfig` / `vitConfig` URLs, else the file's metadata
 * (written by the converter), else ImageReward-v1.0's. Scoring is src/api/core.ts, as in Node.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { ImageRewardCore, checkBatchSize } from '../api/core.js';
import { BackendError, ConfigError, InputError } from '../errors.js';
import { BERT_BASE_UNCASED_VOCAB, DEFAULT_HUB_ENDPOINT, hubUrl } from '../hub/manifest.js';
import {
  IMAGEREWARD_V1_MED, IMAGEREWARD_V1_VIT, makeConfig, MAX_CONFIG_FILE_BYTES, parseMedConfig, parseVitConfig, type ImageRewardConfig,
} from '../model/config.js';
import { ImageRewardModel } from '../model/imageRewardModel.js';
import { BertTokenizer } from '../tokenizer/bert.js';
import { readSafetensorsStream } from '../weights/safetensorsStream.js';
import { activateWebGpu, navigatorGpu, type WebGpuAdapter } from '../webgpu.js';
import { absoluteUrl, fetchBytes, fetchStream, type FetchProgress, type ProgressCallback } from './fetchProgress.js';
import { browserImages, type BrowserImageInput, type RawPixels } from './images.js';

export type BrowserBackend = 'webgpu' | 'wasm';

export interface BrowserLoadOptions {
  /** vocab.txt URL (default: bert-base-uncased from the Hugging Face hub, checked against its sha256). */
  readonly vocab?: string;
  /** med_config.json URL (default: the weights' metadata, else ImageReward-v1.0's). */
  readonly medConfig?: string;
  /** vit_config.json URL (default: the weights' metadata, else ImageReward-v1.0's). */
  readonly vitConfig?: string;
  /** 'webgpu' | 'wasm' (default: webgpu when the browser offers an adapter, else wasm; `backend` says which runs). */
  readonly backend?: BrowserBackend;
  /** Where the tfjs .wasm files are (default: beside this bundle). */
  readonly wasmPaths?: string;
  /** Images per image-encoder call, and pairs per text-encoder call (default 4). */
  readonly batchSize?: number;
  /** Bytes received of every URL fetched: weights, vocab, configs, and image URLs later. */
  readonly onProgress?: ProgressCallback;
}

export interface BrowserModelDescription {
  readonly modelUrl: string;
  readonly vocabUrl: string;
  readonly config: ImageRewardConfig;
  /** Where each config came from: 'metadata', 'defaults', or its URL. */
  readonly configOrigin: { readonly med: string; readonly vit: string };
  readonly backend: BrowserBackend;
  /** The WebGPU adapter (backend webgpu only). */
  readonly adapter?: WebGpuAdapter;
  readonly parameterCount: number;
  readonly unexpectedKeys: readonly string[];
}

let wasmStarted = false;

async function startBackend(requested: BrowserBackend | undefined, wasmPaths: string): Promise<{ backend: BrowserBackend; adapter?: WebGpuAdapter }> {
  if (requested !== undefined && requested !== 'webgpu' && requested !== 'wasm') {
    throw new BackendError(`unknown backend "${String(requested)}" (in the browser: webgpu or wasm)`);
  }
  const gpu = requested === undefined ? navigatorGpu() : undefined;
  const auto = requested === undefined && gpu !== undefined && (await gpu.requestAdapter()) !== null;
  if (requested === 'webgpu' || auto) return { backend: 'webgpu', adapter: await activateWebGpu() };
  if (!wasmStarted) setWasmPaths(wasmPaths);
  wasmStarted = true;
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
    await tf.ready();
  } catch (err) {
    throw new BackendError(`wasm: the backend failed to start (its .wasm files are expected under ${wasmPaths}): ${(err as Error).message}`, { cause: err });
  }
  if (!ok || tf.getBackend() !== 'wasm') throw new BackendError(`wasm: the backend failed to start (its .wasm files are expected under ${wasmPaths})`);
  return { backend: 'wasm' };
}

async function fetchJson(url: string, what: string, onProgress?: ProgressCallback): Promise<string> {
  return new TextDecoder().decode(await fetchBytes(url, what, MAX_CONFIG_FILE_BYTES, onProgress));
}

export class ImageReward extends ImageRewardCore<BrowserImageInput> {
  readonly description: BrowserModelDescription;

  private constructor(model: ImageRewardModel, tokenizer: BertTokenizer, description: BrowserModelDescription, batchSize: number, onProgress?: ProgressCallback) {
    super(model, tokenizer, browserImages(onProgress), batchSize);
    this.description = description;
  }

  /** The backend the model runs on. */
  get backend(): BrowserBackend {
    return this.description.backend;
  }

  /** Loads a model from the URL of its .safetensors (relative URLs resolve against the page). */
  static async load(modelUrl: string, options: BrowserLoadOptions = {}): Promise<ImageReward> {
    if (typeof modelUrl !== 'string' || modelUrl === '') throw new InputError('ImageReward.load: give the URL of a .safetensors file');
    const batchSize = checkBatchSize(options.batchSize);
    const { onProgress } = options;
    const wasmPaths = options.wasmPaths ?? new URL('./', import.meta.url).href;
    const started = await startBackend(options.backend, wasmPaths);
    const url = absoluteUrl(modelUrl);
    const vocabUrl = options.vocab ? absoluteUrl(options.vocab) : hubUrl(BERT_BASE_UNCASED_VOCAB, DEFAULT_HUB_ENDPOINT);
    const [vocabBytes, medText, vitText, weights] = await Promise.all([
      fetchBytes(vocabUrl, 'vocab', 16 * 2 ** 20, onProgress),
      options.medConfig ? fetchJson(absoluteUrl(options.medConfig), 'med_config', onProgress) : undefined,
      options.vitConfig ? fetchJson(absoluteUrl(options.vitConfig), 'vit_config', onProgress) : undefined,
      fetchStream(url, 'model', onProgress).then((stream) => readSafetensorsStream(stream, url)),
    ]);
    const tokenizer = await BertTokenizer.fromVocabBytes(vocabBytes, { source: vocabUrl, ...(options.vocab ? {} : { expectedSha256: BERT_BASE_UNCASED_VOCAB.sha256 }) });
    const pick = <T>(text: string | undefined, from: string | undefined, meta: string | undefined, parse: (json: unknown, what: string) => T, defaults: T) => {
      if (text !== undefined) return { value: parse(text, from!), origin: from! };
      if (meta !== undefined) return { value: parse(meta, `${url} metadata`), origin: 'metadata' };
      return { value: defaults, origin: 'defaults' };
    };
    const med = pick(medText, options.medConfig && absoluteUrl(options.medConfig), weights.metadata.med_config, parseMedConfig, IMAGEREWARD_V1_MED);
    const vit = pick(vitText, options.vitConfig && absoluteUrl(options.vitConfig), weights.metadata.vit_config, parseVitConfig, IMAGEREWARD_V1_VIT);
    const config = makeConfig(vit.value, med.value);
    if (tokenizer.vocabSize > config.med.vocabSize) {
      throw new ConfigError(`vocab ${vocabUrl} has ${tokenizer.vocabSize} tokens but the model embeds only ${config.med.vocabSize} (med_config vocab_size)`);
    }
    const model = ImageRewardModel.fromReader(weights, config);
    const description: BrowserModelDescription = {
      modelUrl: url, vocabUrl, config, configOrigin: { med: med.origin, vit: vit.origin },
      backend: started.backend, ...(started.adapter ? { adapter: started.adapter } : {}),
      parameterCount: model.parameterCount(), unexpectedKeys: model.unexpectedKeys,
    };
    return new ImageReward(model, tokenizer, description, batchSize, onProgress);
  }
}

/** The bundle's tfjs (tf.memory(), tf.getBackend(), ...): the one the model runs on. */
export { tf };
export type { BrowserImageInput, RawPixels, FetchProgress, ProgressCallback, WebGpuAdapter };
export type { NamedArray, RankResult } from '../api/core.js';
export { rankRewards } from '../model/imageRewardModel.js';
export { BertTokenizer } from '../tokenizer/bert.js';
export { DownloadError } from '../hub/errors.js';
export { ImageError } from '../image/errors.js';
export { BackendError, ConfigError, ImageRewardError, InputError, SafetensorsError, WeightsError } from '../errors.js';
