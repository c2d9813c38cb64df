/**
 * Typed configs. `VitConfig` mirrors the kwargs of upstream ImageReward/models/BLIP/vit.py
 * VisionTransformer; `MedConfig` mirrors med_config.json (a HF BertConfig plus `encoder_width`).
 * Defaults are ImageReward-v1.0: ViT-L/16 at 224 (blip.py create_vit('large')) and bert-base.
 */
import { ConfigError } from '../errors.js';
import { IMAGEREWARD_MAX_LENGTH } from '../tokenizer/lengths.js';

export interface VitConfig {
  readonly imgSize: number;
  readonly patchSize: number;
  readonly inChans: number;
  readonly embedDim: number;
  readonly depth: number;
  readonly numHeads: number;
  readonly mlpRatio: number;
  readonly qkvBias: boolean;
  /** LayerNorm eps (vit.py: partial(nn.LayerNorm, eps=1e-6)). */
  readonly layerNormEps: number;
}

export interface MedConfig {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  readonly intermediateSize: number;
  readonly maxPositionEmbeddings: number;
  readonly layerNormEps: number;
  /** Width of the image tokens the cross-attention reads (ViT embed_dim). */
  readonly encoderWidth: number;
  readonly hiddenAct: 'gelu';
}

/** The reward head and score normalisation of upstream ImageReward/ImageReward.py. */
export interface HeadConfig {
  /** MLP widths after the BERT hidden size: Linear(H,1024) Linear(1024,128) Linear(128,64) Linear(64,16) Linear(16,1). */
  readonly layerSizes: readonly number[];
  /** Indices of the Linear layers inside the upstream nn.Sequential (Dropouts sit between). */
  readonly layerIndices: readonly number[];
  readonly rewardMean: number;
  readonly rewardStd: number;
  /** Width of blip.vision_proj / blip.text_proj (loaded and validated, unused by the reward). */
  readonly projEmbedDim: number;
}

export interface ImageRewardConfig {
  readonly vit: VitConfig;
  readonly med: MedConfig;
  readonly head: HeadConfig;
  /** Tokenizer max_length used by ImageReward.score (ImageReward.py: max_length=35). */
  readonly maxLength: number;
}

export const IMAGEREWARD_V1_VIT: VitConfig = {
  imgSize: 224, patchSize: 16, inChans: 3, embedDim: 1024, depth: 24, numHeads: 16,
  mlpRatio: 4, qkvBias: true, layerNormEps: 1e-6,
};

export const IMAGEREWARD_V1_MED: MedConfig = {
  vocabSize: 30524, hiddenSize: 768, numHiddenLayers: 12, numAttentionHeads: 12, intermediateSize: 3072,
  maxPositionEmbeddings: 512, layerNormEps: 1e-12, encoderWidth: 1024, hiddenAct: 'gelu',
};

export const IMAGEREWARD_V1_HEAD: HeadConfig = {
  layerSizes: [1024, 128, 64, 16, 1],
  layerIndices: [0, 2, 4, 6, 7],
  rewardMean: 0.16717362830052426,
  rewardStd: 1.0333394966054072,
  projEmbedDim: 256,
};

export const IMAGEREWARD_V1: ImageRewardConfig = {
  vit: IMAGEREWARD_V1_VIT, med: IMAGEREWARD_V1_MED, head: IMAGEREWARD_V1_HEAD, maxLength: IMAGEREWARD_MAX_LENGTH,
};

/** Largest med_config.json / vit_config.json read from a file: real ones are about 1 KB. */
export const MAX_CONFIG_FILE_BYTES = 2 ** 20;

type Json = Record<string, unknown>;

function asObject(json: unknown, what: string): Json {
  if (typeof json === 'string') {
    try { json = JSON.parse(json); } catch (err) { throw new ConfigError(`${what} is not valid JSON: ${(err as Error).message}`); }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${what} is not a JSON object`);
  return json as Json;
}

/**
 * Upper bounds by what a value can mean here, so a hostile config (a safetensors `__metadata__`, a
 * config file) cannot make the loader build millions of key specs or a multi-megabyte error listing:
 * depths far past any published transformer's, widths whose square weight would pass MAX_TENSOR_ELEMENTS,
 * an eps that is no longer small. Every layer must still be backed by the file's tensors (loading checks).
 */
const MAX_VALUE: Readonly<Record<string, number>> = {
  depth: 1024, num_hidden_layers: 1024, num_heads: 4096, num_attention_heads: 4096,
  embed_dim: 32768, hidden_size: 32768, encoder_width: 32768, intermediate_size: 131072,
  vocab_size: 2 ** 21, max_position_embeddings: 65536, img_size: 8192, patch_size: 8192, in_chans: 3,
  mlp_ratio: 64, layer_norm_eps: 0.1,
};

/** Elements one weight may have: float32 data the wasm backend's 4 GiB memory can hold (2^30). */
export const MAX_TENSOR_ELEMENTS = 2 ** 30;

function num(obj: Json, key: string, what: string, fallback: number | undefined, integer = true): number {
  const v = obj[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && (!Number.isInteger(v) || v <= 0)) || (!integer && v <= 0)) {
    throw new ConfigError(`${what}: "${key}" must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(obj[key])}`);
  }
  const max = MAX_VALUE[key];
  if (max !== undefined && v > max) throw new ConfigError(`${what}: "${key}" is ${v}, more than the ${max} it can be here`);
  return v;
}

/** Refuses a config whose weights (named by shape) would each pass MAX_TENSOR_ELEMENTS. */
function checkTensorSizes(what: string, shapes: Readonly<Record<string, readonly number[]>>): void {
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n > MAX_TENSOR_ELEMENTS) throw new ConfigError(`${what}: ${name} would be [${shape.join(', ')}], ${n} elements, more than the ${MAX_TENSOR_ELEMENTS} a tensor can have`);
  }
}

/** Reads med_config.json (object or JSON text). Missing fields take the bert-base defaults. */
export function parseMedConfig(json: unknown, what = 'med_config'): MedConfig {
  const o = asObject(json, what);
  const d = IMAGEREWARD_V1_MED;
  const act = o.hidden_act ?? 'gelu';
  if (act !== 'gelu') throw new ConfigError(`${what}: hidden_act ${JSON.stringify(act)} is not supported (ImageReward uses "gelu")`);
  if (o.add_cross_attention === false) throw new ConfigError(`${what}: add_cross_attention is false, but ImageReward needs cross-attention in every layer`);
  const cfg: MedConfig = {
    vocabSize: num(o, 'vocab_size', what, d.vocabSize),
    hiddenSize: num(o, 'hidden_size', what, d.hiddenSize),
    numHiddenLayers: num(o, 'num_hidden_layers', what, d.numHiddenLayers),
    numAttentionHeads: num(o, 'num_attention_heads', what, d.numAttentionHeads),
    intermediateSize: num(o, 'intermediate_size', what, d.intermediateSize),
    maxPositionEmbeddings: num(o, 'max_position_embeddings', what, d.maxPositionEmbeddings),
    layerNormEps: num(o, 'layer_norm_eps', what, d.layerNormEps, false),
    encoderWidth: num(o, 'encoder_width', what, d.encoderWidth),
    hiddenAct: 'gelu',
  };
  if (cfg.hiddenSize % cfg.numAttentionHeads !== 0) {
    throw new ConfigError(`${what}: hidden_size ${cfg.hiddenSize} is not a multiple of num_attention_heads ${cfg.numAttentionHeads}`);
  }
  const H = cfg.hiddenSize;
  checkTensorSizes(what, {
    word_embeddings: [cfg.vocabSize, H], position_embeddings: [cfg.maxPositionEmbeddings, H],
    'intermediate.dense': [cfg.intermediateSize, H], 'crossattention.self.key': [H, cfg.encoderWidth],
  });
  return cfg;
}

/** Parses "LayerNorm(eps=1e-6)" as written in our vit_config.json files. */
function layerNormEps(v: unknown, what: string): number {
  if (v === undefined) return IMAGEREWARD_V1_VIT.layerNormEps;
  if (typeof v === 'number' && v > 0) return v;
  const m = typeof v === 'string' ? /eps\s*=\s*([0-9.eE+-]+)/.exec(v) : null;
  const eps = m ? Number(m[1]) : NaN;
  if (!(eps > 0)) throw new ConfigError(`${what}: cannot read a LayerNorm eps from norm_layer ${JSON.stringify(v)}`);
  return eps;
}

/** Reads vit_config.json (VisionTransformer kwargs). Missing fields take the ViT-L/16 defaults. */
export function parseVitConfig(json: unknown, what = 'vit_config'): VitConfig {
  const o = asObject(json, what);
  const d = IMAGEREWARD_V1_VIT;
  const cfg: VitConfig = {
    imgSize: num(o, 'img_size', what, d.imgSize),
    patchSize: num(o, 'patch_size', what, d.patchSize),
    inChans: num(o, 'in_chans', what, d.inChans),
    embedDim: num(o, 'embed_dim', what, d.embedDim),
    depth: num(o, 'depth', what, d.depth),
    numHeads: num(o, 'num_heads', what, d.numHeads),
    mlpRatio: num(o, 'mlp_ratio', what, d.mlpRatio, false),
    qkvBias: o.qkv_bias === undefined ? d.qkvBias : o.qkv_bias === true,
    layerNormEps: layerNormEps(o.norm_layer ?? o.layer_norm_eps, what),
  };
  if (cfg.embedDim % cfg.numHeads !== 0) throw new ConfigError(`${what}: embed_dim ${cfg.embedDim} is not a multiple of num_heads ${cfg.numHeads}`);
  if (cfg.imgSize % cfg.patchSize !== 0) throw new ConfigError(`${what}: img_size ${cfg.imgSize} is not a multiple of patch_size ${cfg.patchSize}`);
  if (o.qk_scale !== undefined && o.qk_scale !== null) throw new ConfigError(`${what}: qk_scale must be null (ImageReward uses head_dim**-0.5)`);
  const E = cfg.embedDim;
  checkTensorSizes(what, {
    pos_embed: [1, (cfg.imgSize / cfg.patchSize) ** 2 + 1, E], 'attn.qkv': [3 * E, E], 'mlp.fc1': [Math.round(E * cfg.mlpRatio), E],
  });
  return cfg;
}

/** Serialises back to the upstream JSON field names (for safetensors metadata). */
export function medConfigToJson(c: MedConfig): Json {
  return {
    architectures: ['BertModel'], hidden_act: c.hiddenAct, hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize, layer_norm_eps: c.layerNormEps,
    max_position_embeddings: c.maxPositionEmbeddings, model_type: 'bert',
    num_attention_heads: c.numAttentionHeads, num_hidden_layers: c.numHiddenLayers,
 vocab_size: c.vocabSize, encoder_width: c.encoderWidth, add_cross_attention: true,
  };
}

export function vitConfigToJson(c: VitConfig): Json {
  return {
    img_size: c.imgSize, patch_size: c.patchSize, in_chans: c.inChans, embed_dim: c.embedDim, depth: c.depth,
    num_heads: c.numHeads, mlp_ratio: c.mlpRatio, qkv_bias: c.qkvBias, qk_scale: null,
    norm_layer: `LayerNorm(eps=${c.layerNormEps})`,
  };
}

export function makeConfig(vit: VitConfig, med: MedConfig): ImageRewardConfig {
  if (med.encoderWidth !== vit.embedDim) {
    throw new ConfigError(`med_config encoder_width ${med.encoderWidth} does not match the ViT embed_dim ${vit.embedDim}`);
  }
  return { vit, med, head: IMAGEREWARD_V1_HEAD, maxLength: IMAGEREWARD_MAX_LENGTH };
}
