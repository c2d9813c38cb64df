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
import { disposeUnlessKept, KEEP_NOTHING, type Kept, type Wants } from './keep.js';
import { Intermediates, stagesNeeded, wantsOf, type IntermediateRequest } from './intermediates.js';
import { vitForward } from './vit.js';
import { bertForward } from './bert.js';
import { applyHead, applyHeadLayers, normalizeReward, type HeadWeights } from './head.js';

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
    return vitForward(pixels, this.params.vit, this.config.vit).embeds;
  }

  /** CLS features [N, H] of the text encoder over image embeds. inputIds / attentionMask int32 [N, L] (N = 1 is broadcast). */
  features(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, imageEmbeds: tf.Tensor3D): tf.Tensor2D {
    return this.textForward(inputIds, attentionMask, imageEmbeds, KEEP_NOTHING).cls;
  }

  /** timm's forward_features: CLS features [N, H] (the reward head's input) of N (prompt, image) pairs. */
  forwardFeatures(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, pixels: tf.Tensor4D): tf.Tensor2D {
    this.checkPixels(pixels);
    checkTokens(inputIds, attentionMask, pixels.shape[0], this.config.med.maxPositionEmbeddings);
    const embeds = this.encodeImages(pixels);
    try {
      return this.features(inputIds, attentionMask, embeds);
    } finally {
      embeds.dispose();
    }
  }

  /** timm's forward_head: normalized rewards [N] from CLS features, (mlp(cls) - mean) / std. */
  forwardHead(cls: tf.Tensor2D): tf.Tensor1D {
    this.checkAlive();
    if (cls.rank !== 2 || cls.shape[1] !== this.config.med.hiddenSize) {
      throw new InputError(`CLS features must be [N, ${this.config.med.hiddenSize}], got [${cls.shape}]`);
    }
    return applyHead(this.params.head, cls, this.config.head);
  }

  /** Rewards [N] for N (prompt, image) pairs in one forward; differentiable w.r.t. pixels. */
  scoreTensor(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, pixels: tf.Tensor4D): tf.Tensor1D {
    const cls = this.forwardFeatures(inputIds, attentionMask, pixels);
    try {
      return this.forwardHead(cls);
    } finally {
      cls.dispose();
    }
  }

  /**
   * The forward keeping the intermediates `request` asks for (default: every non-attention one; see
   * intermediates.ts for the names). Attention maps are computed only where asked; the text encoder
   * and the head run only when something of theirs is asked. Batch dims are kept. Caller disposes.
   */
  forwardIntermediates(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, pixels: tf.Tensor4D, request: IntermediateRequest = {}): Intermediates {
    this.checkPixels(pixels);
    checkTokens(inputIds, attentionMask, pixels.shape[0], this.config.med.maxPositionEmbeddings);
    const wants = wantsOf(request, this.config);
    const needed = stagesNeeded(wants, this.config);
    const kept: Kept = {};
    let embeds: tf.Tensor3D | undefined;
    let cls: tf.Tensor2D | undefined;
    try {
      const vit = vitForward(pixels, this.params.vit, this.config.vit, wants);
      embeds = vit.embeds;
      Object.assign(kept, vit.kept);
      if (needed.text) {
        const text = this.textForward(inputIds, attentionMask, embeds, wants);
        cls = text.cls;
        Object.assign(kept, text.kept);
        if (wants('cls')) kept.cls = cls;
      }
      if (needed.head && cls) {
        const features = cls;
        tf.tidy(() => {
          const outputs = applyHeadLayers(this.params.head, features);
          outputs.forEach((o, j) => {
            const name = `mlp.layers.${this.config.head.layerIndices[j]}`;
            if (wants(name)) kept[name] = tf.keep(o);
          });
          if (wants('reward')) kept.reward = tf.keep(normalizeReward(outputs[outputs.length - 1]!, this.config.head));
        });
      }
      return new Intermediates(kept, this.config);
    } catch (err) {
      tf.dispose(Object.values(kept));
      throw err;
    } finally {
      if (embeds) disposeUnlessKept(embeds, kept);
      if (cls) disposeUnlessKept(cls, kept);
    }
  }

  /** The head's weights as arrays in the model's layout (see HeadWeights): the base for training, the input of writeHeadFile. */
  async headWeights(): Promise<HeadWeights> {
    this.checkAlive();
    // read asynchronously: webgpu in Node has no synchronous readback (it needs OffscreenCanvas)
    const layers = await Promise.all(this.params.head.layers.map(async (l) => ({
      weight: Float32Array.from((await l.weight.data()) as Float32Array),
      bias: Float32Array.from((await l.bias!.data()) as Float32Array),
    })));
    return { layers };
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

  /** The text encoder over image embeds -> CLS [N, H], and the BERT intermediates `wants` names. */
  private textForward(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, imageEmbeds: tf.Tensor3D, wants: Wants): { cls: tf.Tensor2D; kept: Kept } {
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
      const { hidden, kept } = bertForward(ids as tf.Tensor2D, mask as tf.Tensor2D, imageEmbeds, this.params.bert, med, wants); // (N, L, H)
      try {
        // ImageReward.score: txt_features = text_output.last_hidden_state[:, 0, :]
        return { cls: tf.tidy(() => hidden.slice([0, 0, 0], [n, 1, med.hiddenSize]).reshape([n, med.hiddenSize]) as tf.Tensor2D), kept };
      } catch (err) {
        tf.dispose(Object.values(kept));
        throw err;
      } finally {
        disposeUnlessKept(hidden, kept);
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
  if (rewards.some((r) => Number.isNaN(r))) throw new InputError(`cannot rank rewards that contain NaN (reward ${rewards.findIndex((r) => Number.isNaN(r))})`);
  const order = rewards.map((_, i) => i).sort((a, b) => rewards[b]! - rewards[a]! || a - b);
  const ranks = new Array<number>(rewards.length);
  order.forEach((index, position) => { ranks[index] = position + 1; });
  return ranks;
}
