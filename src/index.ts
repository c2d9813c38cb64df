/**
 * imagereward-tfjs: the ImageReward text-to-image preference model on TensorFlow.js.
 *
 *   const model = await ImageReward.load('ImageReward-v1.0');
 *   const { ranking, rewards } = await model.rank(prompt, ['1.webp', '2.webp']);
 *
 * Rewards are z-scored against the upstream test set (mean 0.167, std 1.033): higher is better.
 */
export { ImageReward, type ImageRewardLoadOptions, type ModelDescription, type NamedArray, type RankResult } from './api/imagereward.js';
export type { ImageInput } from './api/imageInput.js';
export type { PairFailure, ScoreBatchesOptions, ScoredPair, ScorePair, ScoreStreamOptions } from './api/scoreStream.js';
export type { ModelOrigin, ModelSource, ModelSourceOptions } from './api/modelSource.js';
export { ImageRewardModel, rankRewards } from './model/imageRewardModel.js';
export { Intermediates, intermediateNames, type IntermediateRequest } from './model/intermediates.js';
export { applyHead, normalizeReward, type HeadParams, type HeadWeights } from './model/head.js';
export { registerThreadedWasm } from './wasmThreads.js';
export { loadPreferenceDataset, parsePreferenceDataset } from './train/dataset.js';
export { DatasetError } from './train/errors.js';
export { FeatureCache } from './train/feature-cache.js';
export { extractFeatures } from './train/features.js';
export { trainHead, splitRecords, DEFAULT_TRAIN_HEAD_OPTIONS } from './train/trainer.js';
export { preferenceAccuracy } from './train/metric.js';
export { evaluatePreferences } from './train/evaluate.js';
export { readHeadFile, writeHeadFile } from './model/headFile.js';
export { rewardGradient, normalizePixels, type PixelSpace } from './train/reward-grad.js';
export { BertTokenizer, BERT_BASE_UNCASED_VOCAB_SHA256, TokenizerError } from './tokenizer/index.js';
export { preprocessImage, ImageError, SUPPORTED_FORMATS, type PreprocessedImage, type RawImage } from './image/index.js';
export { convertCheckpoint, CheckpointError } from './convert/index.js';
export { selectBackend, BACKEND_NAMES, type BackendChoice, type BackendName } from './backend.js';
export {
  ImageRewardError, SafetensorsError, WeightsError, ConfigError, FileError, InputError, BackendError, QueueError, type ErrorCode,
} from './errors.js';
export { DownloadError, HUB_MODELS, defaultCacheDir, ensureHubFiles, type HubOptions } from './hub/index.js';
export {
  IMAGEREWARD_V1, IMAGEREWARD_V1_HEAD, IMAGEREWARD_V1_MED, IMAGEREWARD_V1_VIT, makeConfig, parseMedConfig, parseVitConfig,
  type HeadConfig, type ImageRewardConfig, type MedConfig, type VitConfig,
} from './model/config.js';
export { SafetensorsReader, readSafetensors, writeSafetensors } from './weights/safetensors.js';
