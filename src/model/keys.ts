/**
 * Every checkpoint key ImageReward's state_dict has, with its shape, derived from the config.
 * Names mirror upstream modules: blip.visual_encoder (vit.py VisionTransformer), blip.text_encoder
 * (med.py BertModel, add_pooling_layer=False), blip.vision_proj / blip.text_proj, and mlp.layers
 * (ImageReward.py MLP: Linear, Dropout, Linear, Dropout, Linear, Dropout, Linear, Linear).
 */
import type { ImageRewardConfig } from './config.js';

export interface KeySpec {
  readonly key: string;
  readonly shape: readonly number[];
  /** Used by the forward pass. Optional keys (position_ids, the projections) are checked when present. */
  readonly required: boolean;
  /** Integer buffers (position_ids) are I64; everything else is floating point. */
  readonly integer?: boolean;
}

export function checkpointKeys(config: ImageRewardConfig): KeySpec[] {
  const { vit, med, head } = config;
  const specs: KeySpec[] = [];
  const add = (key: string, shape: number[], required = true, integer = false) => specs.push({ key, shape, required, integer });
  const linear = (prefix: string, out: number, inp: number, required = true) => {
    add(`${prefix}.weight`, [out, inp], required);
    add(`${prefix}.bias`, [out], required);
  };
  const norm = (prefix: string, dim: number) => {
    add(`${prefix}.weight`, [dim]);
    add(`${prefix}.bias`, [dim]);
  };

  const E = vit.embedDim;
  const nPatches = (vit.imgSize / vit.patchSize) ** 2;
  const v = 'blip.visual_encoder';
  add(`${v}.cls_token`, [1, 1, E]);
  add(`${v}.pos_embed`, [1, nPatches + 1, E]);
  add(`${v}.patch_embed.proj.weight`, [E, vit.inChans, vit.patchSize, vit.patchSize]);
  add(`${v}.patch_embed.proj.bias`, [E]);
  const hidden = Math.round(E * vit.mlpRatio);
  for (let i = 0; i < vit.depth; i++) {
    const b = `${v}.blocks.${i}`;
    norm(`${b}.norm1`, E);
    add(`${b}.attn.qkv.weight`, [3 * E, E]);
    if (vit.qkvBias) add(`${b}.attn.qkv.bias`, [3 * E]);
    linear(`${b}.attn.proj`, E, E);
    norm(`${b}.norm2`, E);
    linear(`${b}.mlp.fc1`, hidden, E);
    linear(`${b}.mlp.fc2`, E, hidden);
  }
  norm(`${v}.norm`, E);

  const H = med.hiddenSize;
  const t = 'blip.text_encoder';
  add(`${t}.embeddings.position_ids`, [1, med.maxPositionEmbeddings], false, true);
  add(`${t}.embeddings.word_embeddings.weight`, [med.vocabSize, H]);
  add(`${t}.embeddings.position_embeddings.weight`, [med.maxPositionEmbeddings, H]);
  norm(`${t}.embeddings.LayerNorm`, H);
  for (let i = 0; i < med.numHiddenLayers; i++) {
    const l = `${t}.encoder.layer.${i}`;
    for (const [att, kvWidth] of [['attention', H], ['crossattention', med.encoderWidth]] as const) {
      linear(`${l}.${att}.self.query`, H, H);
      linear(`${l}.${att}.self.key`, H, kvWidth);
      linear(`${l}.${att}.self.value`, H, kvWidth);
      linear(`${l}.${att}.output.dense`, H, H);
      norm(`${l}.${att}.output.LayerNorm`, H);
    }
    linear(`${l}.intermediate.dense`, med.intermediateSize, H);
    linear(`${l}.output.dense`, H, med.intermediateSize);
    norm(`${l}.output.LayerNorm`, H);
  }

  linear('blip.vision_proj', head.projEmbedDim, E, false);
  linear('blip.text_proj', head.projEmbedDim, H, false);

  let inp = H;
  head.layerSizes.forEach((out, j) => {
    linear(`mlp.layers.${head.layerIndices[j]}`, out, inp);
    inp = out;
  });
  return specs;
}

/** The dtypes a reader accepts for floating-point tensors and for integer buffers. */
export interface AcceptedDtypes { readonly float: readonly string[]; readonly integer: readonly string[] }

/** How a file's tensor list fits a key spec: names, dtypes and shapes only (no value is read). */
export interface KeyFit {
  /** Specs whose tensor is present with the expected shape and kind of dtype, in spec order. */
  readonly usable: KeySpec[];
  /** Required keys the file lacks. */
  readonly missing: string[];
  /** "key [1, 1, 64], expected [1, 1, 1024]" */
  readonly misShaped: string[];
  /** "key is I64, expected F32, F16 or BF16" */
  readonly badDtype: string[];
  /** Names in the file that no spec knows, in file order. */
  readonly unexpected: string[];
}

/** Matches a file's tensors (`names`, `info`) against `specs`: the one structural check of loading and converting. */
export function fitKeys(
  specs: readonly KeySpec[], names: readonly string[],
  info: (name: string) => { readonly dtype: string; readonly shape: readonly number[] }, accepted: AcceptedDtypes,
): KeyFit {
  const present = new Set(names);
  const fit = { usable: [] as KeySpec[], missing: [] as string[], misShaped: [] as string[], badDtype: [] as string[] };
  for (const spec of specs) {
    if (!present.has(spec.key)) {
      if (spec.required) fit.missing.push(spec.key);
      continue;
    }
    const { dtype, shape } = info(spec.key);
    const allowed = spec.integer ? accepted.integer : accepted.float;
    const dtypeOk = allowed.includes(dtype);
    if (!dtypeOk) fit.badDtype.push(`${spec.key} is ${dtype}, expected ${allowed.join(', ').replace(/, ([^,]+)$/, ' or $1')}`);
    const shapeOk = shape.length === spec.shape.length && shape.every((d, i) => d === spec.shape[i]);
    if (!shapeOk) fit.misShaped.push(`${spec.key} [${shape.join(', ')}], expected [${spec.shape.join(', ')}]`);
    if (dtypeOk && shapeOk) fit.usable.push(spec);
  }
  const known = new Set(specs.map((s) => s.key));
  return { ...fit, unexpected: names.filter((n) => !known.has(n)) };
}
