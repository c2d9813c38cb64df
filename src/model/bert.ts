/**
 * BLIP's "med" BERT text encoder in multimodal mode (upstream ImageReward/models/BLIP/med.py
 * BertModel, add_pooling_layer=False), eval mode. Every layer runs self-attention over the text
 * (padding masked additively), cross-attention over all image tokens, then the feed-forward part.
 * Each layer runs in its own tf.tidy.
 */
import * as tf from '@tensorflow/tfjs';
import type { MedConfig } from './config.js';
import { linear as linearSpec, list, norm, optionalIntegerBuffer, param, struct, type ParamsOf } from './spec.js';
import { disposeUnlessKept, KEEP_NOTHING, type Kept, type Wants } from './keep.js';
import { linear } from '../ops/linear.js';
import { layerNorm } from '../ops/layerNorm.js';
import { gelu } from '../ops/gelu.js';
import { embedding } from '../ops/embedding.js';
import { multiHeadAttention } from '../ops/attention.js';

/** med.py BertAttention: `self` (BertSelfAttention, keys/values of width kvWidth) and `output` (BertSelfOutput). */
function attentionSpec(prefix: string, hidden: number, kvWidth: number) {
  return struct({
    self: struct({
      query: linearSpec(`${prefix}.self.query`, hidden, hidden),
      key: linearSpec(`${prefix}.self.key`, hidden, kvWidth),
      value: linearSpec(`${prefix}.self.value`, hidden, kvWidth),
    }),
    output: struct({ dense: linearSpec(`${prefix}.output.dense`, hidden, hidden), LayerNorm: norm(`${prefix}.output.LayerNorm`, hidden) }),
  });
}

/** The parameters of med.py BertModel (add_pooling_layer=False) under `prefix`, in state_dict order. */
export function bertSpec(config: MedConfig, prefix = 'blip.text_encoder') {
  const H = config.hiddenSize;
  const e = `${prefix}.embeddings`;
  return struct({
    embeddings: struct({
      /** The registered buffer arange(max_position_embeddings) [1, P], when the checkpoint has it. */
      position_ids: optionalIntegerBuffer<tf.Tensor2D>(`${e}.position_ids`, [1, config.maxPositionEmbeddings]),
      word_embeddings: param<tf.Tensor2D>(`${e}.word_embeddings.weight`, [config.vocabSize, H]),
      position_embeddings: param<tf.Tensor2D>(`${e}.position_embeddings.weight`, [config.maxPositionEmbeddings, H]),
      LayerNorm: norm(`${e}.LayerNorm`, H),
    }),
    layers: list(config.numHiddenLayers, (i) => {
      const l = `${prefix}.encoder.layer.${i}`;
      return struct({
        attention: attentionSpec(`${l}.attention`, H, H),
        crossattention: attentionSpec(`${l}.crossattention`, H, config.encoderWidth),
        intermediate: struct({ dense: linearSpec(`${l}.intermediate.dense`, config.intermediateSize, H) }),
        output: struct({ dense: linearSpec(`${l}.output.dense`, H, config.intermediateSize), LayerNorm: norm(`${l}.output.LayerNorm`, H) }),
      });
    }),
  });
}

export type BertParams = ParamsOf<ReturnType<typeof bertSpec>>;
export type BertLayerParams = BertParams['layers'][number];
export type BertAttentionParams = BertLayerParams['attention'];

/**
 * BertEmbeddings.forward: LayerNorm(word_embeddings(ids) + position_embeddings(position_ids[:, :L])).
 * No token-type embeddings in med.py. ids int32 [N, L] -> [N, L, H].
 */
export function bertEmbeddings(inputIds: tf.Tensor2D, p: BertParams['embeddings'], config: MedConfig): tf.Tensor3D {
  return tf.tidy(() => {
    const length = inputIds.shape[1];
    const positions = p.position_ids ? p.position_ids.slice([0, 0], [1, length]).reshape([length]) : tf.range(0, length, 1, 'int32');
    const words = embedding(inputIds, p.word_embeddings);
    const positional = embedding(positions, p.position_embeddings);
    return layerNorm(words.add(positional), p.LayerNorm.weight, p.LayerNorm.bias, config.layerNormEps) as tf.Tensor3D;
  });
}

/**
 * get_extended_attention_mask for an encoder: (1 - mask) * -10000, added to the scaled scores.
 * mask int32 [N, L] of 0/1 -> float32 [N, L].
 */
export function extendedAttentionMask(attentionMask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.scalar(1).sub(attentionMask.toFloat()).mul(-10000) as tf.Tensor2D);
}

/**
 * BertAttention.forward = BertSelfOutput(BertSelfAttention(hidden, context), hidden):
 * LayerNorm(dense(attention) + hidden). Keys/values come from `context` (the text itself, or the
 * image embeds for cross-attention).
 */
function bertAttention(hidden: tf.Tensor3D, context: tf.Tensor3D, p: BertAttentionParams, config: MedConfig, mask: tf.Tensor2D | undefined, withProbs: boolean): { out: tf.Tensor3D; probs?: tf.Tensor4D } {
  // hidden (B, L, H); context (B, S, C): the text itself (S = L, C = H) or the image tokens (S = T, C = E)
  const headDim = config.hiddenSize / config.numAttentionHeads;
  const attention = multiHeadAttention(
    linear(hidden, p.self.query.weight, p.self.query.bias), // (B, L, H)
    linear(context, p.self.key.weight, p.self.key.bias), // (B, S, H)
    linear(context, p.self.value.weight, p.self.value.bias), // (B, S, H)
    // BertSelfAttention: scores / sqrt(head_size) + attention_mask (1/sqrt(64) and 1/sqrt(16) are exact).
    { numHeads: config.numAttentionHeads, scale: 1 / Math.sqrt(headDim), returnProbs: withProbs, ...(mask ? { mask } : {}) },
  ); // context (B, L, H); probs (B, nh, L, S)
  const projected = linear(attention.context, p.output.dense.weight, p.output.dense.bias); // (B, L, H)
  const out = layerNorm(projected.add(hidden), p.output.LayerNorm.weight, p.output.LayerNorm.bias, config.layerNormEps) as tf.Tensor3D; // (B, L, H)
  return attention.probs ? { out, probs: attention.probs } : { out };
}

/**
 * BertLayer.forward in mode 'multimodal': self-attention -> cross-attention -> intermediate (GELU)
 * -> output. The image mask is all ones, so its extended form is 0 and is not added. Returns the
 * layer output and the intermediates `wants` names (bert.layer{i}.attention|crossattention|output,
 * attn.bert.layer{i}.attention|crossattention.probs).
 */
function bertLayer(hidden: tf.Tensor3D, imageEmbeds: tf.Tensor3D, mask: tf.Tensor2D, p: BertLayerParams, config: MedConfig, index: number, wants: Wants): { out: tf.Tensor3D; kept: Kept } {
  const name = `bert.layer${index}`;
  return tf.tidy(() => {
    const kept: Kept = {};
    const self = bertAttention(hidden, hidden, p.attention, config, mask, wants(`attn.${name}.attention.probs`)); // (B, L, H)
    const cross = bertAttention(self.out, imageEmbeds, p.crossattention, config, undefined, wants(`attn.${name}.crossattention.probs`)); // (B, L, H) over (B, T, E)
    const intermediate = gelu(linear(cross.out, p.intermediate.dense.weight, p.intermediate.dense.bias)); // (B, L, I)
    const projected = linear(intermediate, p.output.dense.weight, p.output.dense.bias); // (B, L, H)
    const out = layerNorm(projected.add(cross.out), p.output.LayerNorm.weight, p.output.LayerNorm.bias, config.layerNormEps) as tf.Tensor3D; // (B, L, H)
    if (self.probs) kept[`attn.${name}.attention.probs`] = self.probs;
    if (wants(`${name}.attention`)) kept[`${name}.attention`] = self.out;
    if (cross.probs) kept[`attn.${name}.crossattention.probs`] = cross.probs;
    if (wants(`${name}.crossattention`)) kept[`${name}.crossattention`] = cross.out;
    if (wants(`${name}.output`)) kept[`${name}.output`] = out;
    return { out, kept };
  });
}

/** BertModel.forward (multimodal) -> last_hidden_state [N, L, H], plus the intermediates `wants` names (bert.embeddings, per layer as bertLayer). */
export function bertForward(
  inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, imageEmbeds: tf.Tensor3D, p: BertParams, config: MedConfig, wants: Wants = KEEP_NOTHING,
): { hidden: tf.Tensor3D; kept: Kept } {
  const kept: Kept = {};
  let x = bertEmbeddings(inputIds, p.embeddings, config); // (B, L, H)
  let mask: tf.Tensor2D | undefined;
  try {
    if (wants('bert.embeddings')) kept['bert.embeddings'] = x;
    mask = extendedAttentionMask(attentionMask); // (B, L)
    for (let i = 0; i < p.layers.length; i++) {
      const layer = bertLayer(x, imageEmbeds, mask, p.layers[i]!, config, i, wants);
      disposeUnlessKept(x, kept);
      x = layer.out;
      Object.assign(kept, layer.kept);
    }
    return { hidden: x, kept };
  } catch (err) {
    disposeUnlessKept(x, kept);
    tf.dispose(Object.values(kept));
    throw err;
  } finally {
    mask?.dispose();
  }
}
