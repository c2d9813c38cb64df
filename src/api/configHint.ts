/**
 * Turns "weights do not fit the config" into the fix: the encoder sizes the file's tensors imply,
 * the sizes of the config in use and where that config came from, and which config to pass
 * (`--vit-config` / `--med-config` on the CLI, `vitConfig` / `medConfig` in ImageReward.load).
 * A few lines; the full key list stays in the error's details (the CLI shows it under --verbose).
 */
import { WeightsError } from '../errors.js';
import type { ImageRewardConfig } from '../model/config.js';

/** What ImageReward.load sees of a weights file: its tensor names and shapes. */
export interface TensorShapes {
  readonly names: readonly string[];
  info(name: string): { readonly shape: readonly number[] };
}

const VIT = 'blip.visual_encoder.';
const BERT = 'blip.text_encoder.';

/** 1 + the largest N of `{prefix}N.` among the names, or 0. */
function layerCount(names: readonly string[], prefix: string): number {
  let top = -1;
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const index = Number.parseInt(n.slice(prefix.length), 10);
    if (Number.isSafeInteger(index)) top = Math.max(top, index);
  }
  return top + 1;
}

function shapeOf(file: TensorShapes, name: string): readonly number[] | undefined {
  return file.names.includes(name) ? file.info(name).shape : undefined;
}

/** Where a config came from, as said after "the config in use": `(from ...)`. */
export function describeOrigin(origin: string): string {
  if (origin === 'defaults') return 'ImageReward-v1.0 defaults: none in the file\'s metadata or beside it';
  if (origin === 'metadata') return 'the file\'s metadata';
  return origin;
}

/** The vision-encoder line and its fix, or undefined when the file's ViT sizes match the config. */
function vitHint(file: TensorShapes, config: ImageRewardConfig, origin: string): string[] {
  const depth = layerCount(file.names, `${VIT}blocks.`);
  const patch = shapeOf(file, `${VIT}patch_embed.proj.weight`); // [E, C, p, p]
  const pos = shapeOf(file, `${VIT}pos_embed`); // [1, 1 + (S/p)^2, E]
  const width = patch?.[0];
  if (depth === config.vit.depth && width === config.vit.embedDim && patch?.[2] === config.vit.patchSize) return [];
  const side = pos && patch ? Math.round(Math.sqrt((pos[1] ?? 1) - 1)) * (patch[2] ?? 0) : undefined;
  const fileSizes = `${depth} blocks of width ${width ?? '?'}${patch ? `, patch ${patch[2]}` : ''}${side ? `, image ${side}` : ''}`;
  return [
    `  vision encoder: the file has ${fileSizes}; the config in use has ${config.vit.depth} of width ${config.vit.embedDim} (from ${describeOrigin(origin)})`,
    `    fix: pass --vit-config FILE (API: vitConfig), a vit_config.json with depth ${depth}, embed_dim ${width ?? '?'}${patch ? `, patch_size ${patch[2]}` : ''}${side ? `, img_size ${side}` : ''}`,
  ];
}

function medHint(file: TensorShapes, config: ImageRewardConfig, origin: string): string[] {
  const layers = layerCount(file.names, `${BERT}encoder.layer.`);
  const words = shapeOf(file, `${BERT}embeddings.word_embeddings.weight`); // [vocab, H]
  const hidden = words?.[1];
  const encoderWidth = shapeOf(file, `${BERT}encoder.layer.0.crossattention.self.key.weight`)?.[1]; // [H, encoder_width]
  const m = config.med;
  if (layers === m.numHiddenLayers && hidden === m.hiddenSize && words?.[0] === m.vocabSize && (encoderWidth ?? m.encoderWidth) === m.encoderWidth) return [];
  const sizes = (n: number, h: number | string, v: number | undefined, e: number | undefined) => `${n} layers of width ${h}${v === undefined ? '' : `, vocab ${v}`}${e === undefined ? '' : `, encoder_width ${e}`}`;
  const wanted = [`num_hidden_layers ${layers}`, `hidden_size ${hidden ?? '?'}`, ...(words ? [`vocab_size ${words[0]}`] : []), ...(encoderWidth === undefined ? [] : [`encoder_width ${encoderWidth}`])];
  return [
    `  text encoder: the file has ${sizes(layers, hidden ?? '?', words?.[0], encoderWidth)}; the config in use has ${sizes(m.numHiddenLayers, m.hiddenSize, m.vocabSize, m.encoderWidth)} (from ${describeOrigin(origin)})`,
    `    fix: pass --med-config FILE (API: medConfig), a med_config.json with ${wanted.join(', ')}`,
  ];
}

/**
 * The error ImageReward.load raises for weights that do not fit: the summary line of `err`, then
 * what to pass. A file with neither encoder is named as not an ImageReward checkpoint.
 */
export function configMismatchError(err: WeightsError, file: TensorShapes, config: ImageRewardConfig, origin: { readonly med: string; readonly vit: string }): WeightsError {
  const hasVit = file.names.some((n) => n.startsWith(VIT));
  const hasBert = file.names.some((n) => n.startsWith(BERT));
  let lines: string[];
  if (!hasVit && !hasBert) {
    const head = file.names.some((n) => n.startsWith('mlp.layers.'));
    lines = [`  the file has no ${VIT}* or ${BERT}* tensors: it is not an ImageReward model${head ? ' (a head-only file? pass it as --head / head, with the full model as --model)' : ''}`];
  } else {
    lines = [...vitHint(file, config, origin.vit), ...medHint(file, config, origin.med)];
    if (lines.length === 0) lines = ['  the encoder sizes match the config in use: some tensors themselves are missing or wrong (a damaged or edited file?)'];
  }
  return new WeightsError([err.message, ...lines].join('\n'), { cause: err, ...(err.details === undefined ? {} : { details: err.details }) });
}
