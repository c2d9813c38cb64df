/**
 * ImageReward (upstream ImageReward/ImageReward.py): BLIP ViT image encoder -> BLIP med BERT over
 * the prompt with cross-attention to the image tokens -> CLS (token 0) -> MLP head -> normalized
 * reward. Mirrors ImageReward.score / inference_rank / score_gard in eval mode.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors.js';
import type { TensorData } from '../weights/safetensors.js';
import type { ImageRewardConfig } from './config.js';
import { loadWeights, mapSource, type LoadOptions, type WeightSource } from './weights.js';
import { imageRewardSpec, type ImageRewardParams } from './checkpoint.js';
import type { Recorder } from './record.js';
import { vitForward } from './vit.js';
import { bertForward } from './bert.js';
import { applyHead, applyHeadLayers, normalizeReward, type HeadWeights } from './head.js';

export interface IntermediateOptions {
  /** Also return attention probabilities (`attn.*` names). */
  readonly attentions?: boolean;
}

export class ImageRewardModel {
  readonly config: ImageRewardConfig;
  /** Keys of the source that the model does not know (also passed to opts.onUnexpectedKeys). */
  readonly unexpectedKeys: readonly string[];
  private readonly tensors: Map<string, tf.Tensor>;
  private readonly params: ImageRewardParams;
  private disposed = false;

  private constructor(config: ImageRewardConfig, tensors: Map<string, tf.Tensor>, params: ImageRewardParams, unexpectedKeys: readonly string[]) {
    this.config = config;
    this.tensors = tensors;
    this.params = params;
    this.unexpectedKeys = unexpectedKeys;
  }

  /**
   * Loads and validates every tensor by checkpoint key against imageRewardSpec(config); a
   * SafetensorsReader is a WeightSource. On any error nothing stays uploaded.
   */
  static fromReader(reader: WeightSource, config: ImageRewardConfig, opts: LoadOptions = {}): ImageRewardModel {
    const { params, tensors, unexpectedKeys } = loadWeights(reader, imageRewardSpec(config), config, opts);
    return new ImageRewardModel(config, tensors, params, unexpectedKeys);
  }

  static fromTensors(tensors: ReadonlyMap<string, TensorData>, config: ImageRewardConfig, opts: LoadOptions = {}): ImageRewardModel {
    return ImageRewardModel.fromReader(mapSource(tensors), config, opts);
  }

  /** pixels [N, 3, S, S] float32 normalized NCHW -> image embeds [N, T, E] (T = 1 + (S/16)^2). Caller disposes. */
  encodeImages(pixels: tf.Tensor4D): tf.Tensor3D {
    this.checkPixels(pixels);
    return vitForward(pixels, this.params.vit, this.config.vit);
  }

  /** CLS features [N, H] of the text encoder over image embeds. inputIds / attentionMask int32 [N, L] (N = 1 is broadcast). */
  features(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, imageEmbeds: tf.Tensor3D): tf.Tensor2D {
    return this.featuresRecorded(inputIds, attentionMask, imageEmbeds);
  }

  /** Normalized rewards [N] from CLS features: (mlp(cls) - mean) / std. */
  rewardFromFeatures(cls: tf.Tensor2D): tf.Tensor1D {
    this.checkAlive();
    if (cls.rank !== 2 || cls.shape[1] !== this.config.med.hiddenSize) {
      throw new InputError(`CLS features must be [N, ${this.config.med.hiddenSize}], got [${cls.shape}]`);
    }
    return applyHead(this.params.head, cls, this.config.head);
  }

  /** Rewards [N] for N (prompt, image) pairs in one forward; differentiable w.r.t. pixels. */
  scoreTensor(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, pixels: tf.Tensor4D): tf.Tensor1D {
    this.checkPixels(pixels);
    checkTokens(inputIds, attentionMask, pixels.shape[0], this.config.med.maxPositionEmbeddings);
    const embeds = vitForward(pixels, this.params.vit, this.config.vit);
    let cls: tf.Tensor2D | undefined;
    try {
      cls = this.featuresRecorded(inputIds, attentionMask, embeds);
      return this.rewardFromFeatures(cls);
    } finally {
      embeds.dispose();
      cls?.dispose();
    }
  }

  /**
   * The forward with named intermediates (batch dim kept): vit.patch_embed, vit.block{i}, vit.norm,
   * bert.embeddings, bert.layer{i}.attention|crossattention|output, cls, mlp.layers.{i}, reward, and
   * with `attentions`: attn.vit.block{i}.probs, attn.bert.layer{i}.attention.probs,
   * attn.bert.layer{i}.crossattention.probs ([N, heads, L, S]). Caller disposes every tensor.
   */
  forwardIntermediates(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, pixels: tf.Tensor4D, opts: IntermediateOptions = {}): Map<string, tf.Tensor> {
    this.checkPixels(pixels);
    checkTokens(inputIds, attentionMask, pixels.shape[0], this.config.med.maxPositionEmbeddings);
    const out = new Map<string, tf.Tensor>();
    const record: Recorder = (name, t) => {
      if (!opts.attentions && name.startsWith('attn.')) return;
      out.set(name, tf.keep(t.clone()));
    };
    let embeds: tf.Tensor3D | undefined;
    let cls: tf.Tensor2D | undefined;
    try {
      embeds = vitForward(pixels, this.params.vit, this.config.vit, record);
      cls = this.featuresRecorded(inputIds, attentionMask, embeds, record);
      record('cls', cls);
      const features = cls;
      tf.tidy(() => {
        const outputs = applyHeadLayers(this.params.head, features);
        outputs.forEach((o, j) => record(`mlp.layers.${this.config.head.layerIndices[j]}`, o));
        record('reward', normalizeReward(outputs[outputs.length - 1]!, this.config.head));
      });
      return out;
    } catch (err) {
      for (const t of out.values()) t.dispose();
      throw err;
    } finally {
      embeds?.dispose();
      cls?.dispose();
    }
  }

  /** The head's weights as arrays in the model's layout (see HeadWeights): the base for training, the input of writeHeadFile. */
  headWeights(): HeadWeights {
    this.checkAlive();
    return {
      layers: this.params.head.layers.map((l) => ({
        weight: Float32Array.from(l.weight.dataSync() as Float32Array),
        bias: Float32Array.from(l.bias!.dataSync() as Float32Array),
      })),
    };
  }

  /** Number of floating-point parameters the forward uses (projections and position_ids excluded). */
  parameterCount(): number {
    let n = 0;
    for (const t of this.tensors.values()) if (t.dtype === 'float32') n += t.size;
    return n;
  }

  dispose(): void {
    if (this.disposed) return;
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
    this.disposed = true;
  }

  private featuresRecorded(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, imageEmbeds: tf.Tensor3D, record?: Recorder): tf.Tensor2D {
    this.checkAlive();
    const { med } = this.config;
    if (imageEmbeds.rank !== 3 || imageEmbeds.shape[2] !== med.encoderWidth) {
      throw new InputError(`image embeds must be [N, T, ${med.encoderWidth}], got [${imageEmbeds.shape}]`);
    }
    const n = imageEmbeds.shape[0];
    checkTokens(inputIds, attentionMask, n, med.maxPositionEmbeddings);
    // One token row for N images is broadcast (tiled in one tidy, so a failure leaves neither copy).
    const [ids, mask] = inputIds.shape[0] === n ? [inputIds, attentionMask] : tf.tidy(() => [inputIds.tile([n, 1]), attentionMask.tile([n, 1])]);
    try {
      const hidden = bertForward(ids as tf.Tensor2D, mask as tf.Tensor2D, imageEmbeds, this.params.bert, med, record);
      try {
        // ImageReward.score: txt_features = text_output.last_hidden_state[:, 0, :]
        return tf.tidy(() => hidden.slice([0, 0, 0], [n, 1, med.hiddenSize]).reshape([n, med.hiddenSize]) as tf.Tensor2D);
      } finally {
        hidden.dispose();
      }
    } finally {
      if (ids !== inputIds) ids.dispose();
      if (mask !== attentionMask) mask.dispose();
    }
  }

  private checkPixels(pixels: tf.Tensor4D): void {
    this.checkAlive();
    const { imgSize, inChans } = this.config.vit;
    const [n, c, h, w] = pixels.shape;
    if (pixels.rank !== 4 || c !== inChans || h !== imgSize || w !== imgSize || !(n! > 0)) {
      throw new InputError(`pixels must be float32 [N, ${inChans}, ${imgSize}, ${imgSize}] (normalized NCHW), got [${pixels.shape}]`);
    }
    if (pixels.dtype !== 'float32') throw new InputError(`pixels must be float32, got ${pixels.dtype}`);
  }

  private checkAlive(): void {
    if (this.disposed) throw new InputError('this ImageRewardModel has been disposed');
  }
}

function checkTokens(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, n: number, maxLength: number): void {
  if (inputIds.rank !== 2 || inputIds.dtype !== 'int32') throw new InputError(`inputIds must be int32 [N, L], got ${inputIds.dtype} [${inputIds.shape}]`);
  if (attentionMask.rank !== 2 || attentionMask.dtype !== 'int32') {
    throw new InputError(`attentionMask must be int32 [N, L], got ${attentionMask.dtype} [${attentionMask.shape}]`);
  }
  const [rows, length] = inputIds.shape;
  if (attentionMask.shape[0] !== rows || attentionMask.shape[1] !== length) {
    throw new InputError(`attentionMask [${attentionMask.shape}] does not match inputIds [${inputIds.shape}]`);
  }
  if (rows !== n && rows !== 1) throw new InputError(`${rows} token rows for ${n} images (give 1 row or ${n})`);
  if (!(length > 0) || length > maxLength) throw new InputError(`token length ${length} is outside 1..${maxLength} (max_position_embeddings)`);
}

/**
 * ImageReward.inference_rank: `_, rank = sort(rewards, descending=True); _, indices = sort(rank);
 * indices + 1`, i.e. 1-based ranks, 1 = highest reward; ties are ordered by index (stable).
 */
export function rankRewards(rewards: readonly number[]): number[] {
  if (rewards.some((r) => Number.isNaN(r))) throw new InputError('rankRewards: rewards contain NaN');
  const order = rewards.map((_, i) => i).sort((a, b) => rewards[b]! - rewards[a]! || a - b);
  const ranks = new Array<number>(rewards.length);
  order.forEach((index, position) => { ranks[index] = position + 1; });
  return ranks;
}
