/** The options every model-using command shares (--model, --backend, --vocab, ...) and how they load a model. */
import { resolve } from 'node:path';
import { ImageReward } from '../../api/imagereward.js';
import { InputError } from '../../errors.js';
import { stringOption, type CliContext, type OptionSpec, type ParsedCommandArgs } from '../command.js';

export const DEFAULT_MODEL = 'ImageReward-v1.0';

export const MODEL_OPTIONS: OptionSpec = {
  model: { type: 'string' },
  backend: { type: 'string' },
  'wasm-threads': { type: 'string' },
  threads: { type: 'string' },
  'image-decoder': { type: 'string' },
  vocab: { type: 'string' },
  'med-config': { type: 'string' },
  'vit-config': { type: 'string' },
  'cache-dir': { type: 'string' },
  head: { type: 'string' },
  'batch-size': { type: 'string' },
  offline: { type: 'boolean' },
  verify: { type: 'boolean' },
  json: { type: 'boolean' },
};

/** Usage line of --image-decoder, shared with `preprocess`. */
export const IMAGE_DECODER_USAGE = [
  '  --image-decoder D  JPEG/WebP decoder: auto | wasm | native (sharp, optional dependency; same pixels)',
  '                     (default: $IMAGEREWARD_IMAGE_DECODER, else auto = native when sharp is installed)',
].join('\n');

export const MODEL_USAGE = [
  '  --model M          ImageReward-v1.0 (default; downloaded once into the cache), a .safetensors,',
  '                     a .pt (converted once, cached) or a directory',
  '  --backend B        node-gpu | node | wasm+blas | wasm | cpu | webgpu (default: $IMAGEREWARD_BACKEND, else',
  '                     the best available but webgpu; wasm+blas needs a system BLAS, e.g. apt-get install',
  '                     libopenblas0-pthread; webgpu the optional webgpu package and a GPU adapter)',
  '  --wasm-threads N   threads of the wasm backend (default: $IMAGEREWARD_WASM_THREADS, else 1)',
  '  --threads N        threads in all for wasm+blas: BLAS threads x wasm threads <= N',
  '                     (default: $IMAGEREWARD_THREADS, else the physical cores)',
  IMAGE_DECODER_USAGE,
  '  --vocab FILE       vocab.txt (default: beside the model, else bert-base-uncased from the cache)',
  '  --med-config FILE  med_config.json to use instead of the model\'s own',
  '  --vit-config FILE  vit_config.json to use instead of the model\'s own',
  '  --cache-dir DIR    model cache: downloads, conversions (default: $IMAGEREWARD_CACHE, else ~/.cache/imagereward);',
  '                     not the feature cache, which is --cache DIR of features, eval and train-head',
  '  --head FILE        head-only safetensors (mlp.layers.*) overlaid on the model\'s head',
  '  --batch-size N     images per encoder call (default 4)',
  '  --offline          never download; say which files to place where',
  '  --verify           hash converted weights in full before use (default: size, header, mtime)',
  '  --json             print JSON',
].join('\n');

export function positiveIntOption(args: ParsedCommandArgs, name: string): number | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new InputError(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

/** The one positional argument a command takes (`what` names it in the error: "DATA file"). */
export function onePositional(args: ParsedCommandArgs, what: string, usage: string): string {
  const [only, ...extra] = args.positionals;
  if (only === undefined || extra.length > 0) throw new InputError(`give exactly one ${what}\n${usage}`);
  return only;
}

export function requiredOption(args: ParsedCommandArgs, name: string, usage: string): string {
  const v = stringOption(args, name);
  if (v === undefined) throw new InputError(`--${name} is required\n${usage}`);
  return v;
}

/**
 * `--cache DIR`, the feature cache of features / eval / train-head, resolved. `--cache-dir` (the
 * model cache: downloads, conversions) given without `--cache` is taken for the mix-up it usually
 * is and refused, naming both flags; `required`: --cache must be given.
 */
export function featureCacheOption(args: ParsedCommandArgs, usage: string, required: boolean): string | undefined {
  const cache = stringOption(args, 'cache');
  const modelCache = stringOption(args, 'cache-dir');
  if (cache === undefined && modelCache !== undefined) {
    throw new InputError(`--cache-dir ${modelCache} is the model cache (downloads, conversions), not the feature cache: `
      + `pass --cache ${modelCache} for the features${required ? '' : ' (or set IMAGEREWARD_CACHE to move the model cache and keep the features in memory)'}; `
      + 'give both flags if you meant both');
  }
  if (cache === undefined) {
    if (required) throw new InputError(`--cache DIR (the feature cache) is required\n${usage}`);
    return undefined;
  }
  return resolve(cache);
}

export async function loadModelFromArgs(args: ParsedCommandArgs, io: CliContext): Promise<ImageReward> {
  return ImageReward.load(stringOption(args, 'model') ?? DEFAULT_MODEL, {
    backend: stringOption(args, 'backend'),
    wasmThreads: positiveIntOption(args, 'wasm-threads'),
    threads: positiveIntOption(args, 'threads'),
    imageDecoder: stringOption(args, 'image-decoder'),
    vocab: stringOption(args, 'vocab'),
    medConfig: stringOption(args, 'med-config'),
    vitConfig: stringOption(args, 'vit-config'),
    cacheDir: stringOption(args, 'cache-dir'),
    head: stringOption(args, 'head'),
    batchSize: positiveIntOption(args, 'batch-size'),
    offline: args.values.offline === true ? true : undefined,
    verify: args.values.verify === true ? true : undefined,
    progress: io.progress,
    log: (line) => io.info(line),
    verbose: io.verbose,
  });
}
