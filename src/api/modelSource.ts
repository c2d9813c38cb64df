/**
 * Turns what the user names (`ImageReward-v1.0`, a `.safetensors`, a `.pt`, or a directory) into
 * a safetensors file on disk plus a vocabulary. Hub models are downloaded once and converted once;
 * local `.pt` files are converted on the fly into the cache, keyed by path, size, mtime and the
 * configs used, and reused while the source is unchanged.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { FileError } from '../errors.js';
import {
  BERT_BASE_UNCASED_VOCAB, HUB_MODELS, cachedHubPath, ensureHubFiles, hubModel, isHubModelName, resolveCacheDir, type HubOptions,
} from '../hub/index.js';
import { describeOwner, withFileLock } from '../hub/lock.js';
import { describeFsError } from '../util/fs.js';
import { progressOption, withTask } from '../util/progress.js';
import { checkConverted, convertAndRecord, staleConversionError, type CacheVerdict } from './convertedCache.js';
import type { ConfigPaths } from './modelConfig.js';

export interface ModelSourceOptions extends HubOptions, ConfigPaths {
  /** A vocab.txt to use (default: vocab.txt beside the model, else bert-base-uncased from the hub cache). */
  readonly vocab?: string;
  /** Hash converted weights in full before using them (default: size, header hash and mtime only). */
  readonly verify?: boolean;
}

export type ModelOrigin = 'hub' | 'safetensors' | 'pt' | 'directory';

export interface ModelSource {
  /** The name or path the user gave. */
  readonly requested: string;
  readonly origin: ModelOrigin;
  /** The safetensors file to load. */
  readonly weightsPath: string;
  readonly vocabPath: string;
  /** The sha256 the vocab must have: set when it is the default bert-base-uncased download. */
  readonly vocabSha256?: string;
  /** Configs to use instead of the file's own (the hub's med_config.json, or the options). */
  readonly configPaths: ConfigPaths;
}

const WEIGHT_FILE_PREFERENCE = ['ImageReward.safetensors', 'model.safetensors', 'ImageReward.pt'];

function isPt(path: string): boolean {
  return ['.pt', '.pth'].includes(extname(path).toLowerCase());
}

/** The one weights file of a directory: a preferred name, else the only .safetensors, else the only .pt. */
function weightsInDirectory(dir: string): string {
  const names = readdirSync(dir);
  const preferred = WEIGHT_FILE_PREFERENCE.find((n) => names.includes(n));
  if (preferred) return join(dir, preferred);
  for (const ext of ['.safetensors', '.pt']) {
    const found = names.filter((n) => extname(n).toLowerCase() === ext);
    if (found.length === 1) return join(dir, found[0]!);
    if (found.length > 1) {
      throw new FileError(dir, `model directory ${dir} has ${found.length} ${ext} files (${found.join(', ')}); name one of them, or call it ${WEIGHT_FILE_PREFERENCE[0]}`);
    }
  }
  throw new FileError(dir, `model directory ${dir} has no .safetensors or .pt file`);
}

/** `{cache}/converted/{name}-{key}.safetensors`, key = hash of the source's identity and the configs. */
function convertedPathFor(cacheDir: string, ptPath: string, configs: ConfigPaths): string {
  const identity = [ptPath, configs.medConfig, configs.vitConfig].map((p) => {
    if (!p) return '-';
    const s = statSync(p);
    return `${resolve(p)}:${s.size}:${s.mtimeMs}`;
  });
  const key = createHash('sha256').update(identity.join('\n')).digest('hex').slice(0, 16);
  return join(cacheDir, 'converted', `${basename(ptPath, extname(ptPath))}-${key}.safetensors`);
}

/** Config files beside a checkpoint, unless the options name others. */
function configsNear(path: string, configs: ConfigPaths): ConfigPaths {
  const near = (name: string) => (existsSync(join(path, '..', name)) ? join(path, '..', name) : undefined);
  return { medConfig: configs.medConfig ?? near('med_config.json'), vitConfig: configs.vitConfig ?? near('vit_config.json') };
}

/**
 * Converts once per cache: one process at a time converts, the others wait and use its result. A
 * converted file is checked first (convertedCache.ts) and converted again when it fails its check.
 */
async function convertOnce(ptPath: string, outPath: string, configs: ConfigPaths, options: ModelSourceOptions, checked?: CacheVerdict): Promise<void> {
  const verify = options.verify ?? false;
  if ((checked ?? await checkConverted(outPath, verify)).ok) return;
  const log = options.log;
  await withFileLock(outPath, async (heartbeat) => {
    const verdict = await checkConverted(outPath, verify); // another process may have converted it meanwhile
    if (verdict.ok) return;
    if (existsSync(outPath)) {
      if (!existsSync(ptPath)) throw staleConversionError(outPath, ptPath, verdict.reason);
      log?.(`imagereward: ${outPath} cannot be used (${verdict.reason}); converting it again`);
    }
    log?.(`imagereward: converting ${ptPath} to ${outPath} (once)`);
    await withTask(progressOption(options.progress), 'convert', undefined, 'tensors', (task) => convertAndRecord(ptPath, outPath, {
      medConfigPath: configs.medConfig, vitConfigPath: configs.vitConfig,
      onProgress: (done, total) => { task.setTotal(total); task.update(done); },
    }, heartbeat));
  }, (owner) => log?.(`imagereward: waiting for ${describeOwner(owner)} converting to ${outPath}`), options.lockTimings);
}

type VocabChoice = Pick<ModelSource, 'vocabPath' | 'vocabSha256'>;

/** The default vocab (bert-base-uncased from the hub cache), which must keep its published sha256. */
function defaultVocab(path: string): VocabChoice {
  return { vocabPath: path, vocabSha256: BERT_BASE_UNCASED_VOCAB.sha256 };
}

async function vocabFor(modelDir: string | undefined, options: ModelSourceOptions): Promise<VocabChoice> {
  if (options.vocab) {
    if (!existsSync(options.vocab)) throw new FileError(options.vocab, `vocab file ${options.vocab} not found`);
    return { vocabPath: options.vocab };
  }
  if (modelDir && existsSync(join(modelDir, 'vocab.txt'))) return { vocabPath: join(modelDir, 'vocab.txt') };
  const [path] = await ensureHubFiles([BERT_BASE_UNCASED_VOCAB], options);
  return defaultVocab(path!);
}

export async function resolveModelSource(nameOrPath: string, options: ModelSourceOptions = {}): Promise<ModelSource> {
  const configs: ConfigPaths = { medConfig: options.medConfig, vitConfig: options.vitConfig };
  if (isHubModelName(nameOrPath) && !existsSync(nameOrPath)) {
    const model = hubModel(nameOrPath);
    const cacheDir = resolveCacheDir(options.cacheDir);
    const ptPath = cachedHubPath(cacheDir, model.checkpoint);
    const converted = ptPath.replace(/\.pt$/, '.safetensors');
    const medPath = cachedHubPath(cacheDir, model.medConfig);
    const checked = await checkConverted(converted, options.verify ?? false);
    const needed = checked.ok ? [model.medConfig] : [model.checkpoint, model.medConfig]; // a bad conversion is redone from the .pt
    if (!options.vocab) needed.push(model.vocab);
    await ensureHubFiles(needed, options);
    const hubConfigs: ConfigPaths = { medConfig: configs.medConfig ?? medPath, vitConfig: configs.vitConfig };
    await convertOnce(ptPath, converted, hubConfigs, options, checked);
    const vocab = options.vocab ? await vocabFor(undefined, options) : defaultVocab(cachedHubPath(cacheDir, model.vocab));
    return { requested: nameOrPath, origin: 'hub', weightsPath: converted, ...vocab, configPaths: hubConfigs };
  }

  let stat;
  try {
    stat = statSync(nameOrPath);
  } catch (err) {
    throw new FileError(nameOrPath, `model ${nameOrPath} not found (${describeFsError(err)}); give a .safetensors, a .pt, a directory, or a model name (${Object.keys(HUB_MODELS).join(', ')})`, { cause: err });
  }
  const origin: ModelOrigin = stat.isDirectory() ? 'directory' : isPt(nameOrPath) ? 'pt' : 'safetensors';
  const file = stat.isDirectory() ? weightsInDirectory(nameOrPath) : nameOrPath;
  const modelDir = resolve(file, '..');
  const vocab = await vocabFor(modelDir, options);
  if (isPt(file)) {
    const near = configsNear(file, configs);
    const converted = convertedPathFor(resolveCacheDir(options.cacheDir), file, near);
    await convertOnce(file, converted, near, options);
    // The converted file carries the configs in its metadata; explicit options still win.
    return { requested: nameOrPath, origin, weightsPath: converted, ...vocab, configPaths: configs };
  }
  return { requested: nameOrPath, origin, weightsPath: file, ...vocab, configPaths: configs };
}
