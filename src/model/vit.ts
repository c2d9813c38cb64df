/**
 * BLIP's VisionTransformer (upstream ImageReward/models/BLIP/vit.py), eval mode: dropout and
 * drop-path are identities. Every block runs in its own tf.tidy so a forward never holds more than
 * one block's temporaries (the wasm heap never shrinks).
 */
import * as tf from '@tensorflow/tfjs';
import type { VitConfig } from './config.js';
import { linearParams, normParams, type LinearParams, type NormParams, type ParamGetter, type Recorder } from './params.js';
import { linear } from '../ops/linear.js';
import { layerNorm } from '../ops/layerNorm.js';
import { gelu } from '../ops/gelu.js';
import { packedSelfAttention } from '../ops/attention.js';
import { patchEmbed } from '../ops/patchEmbed.js';

export interface VitBlockParams {
  readonly norm1: NormParams;
  readonly attn: { readonly qkv: LinearParams; readonly proj: LinearParams };
  readonly norm2: NormParams;
  readonly mlp: { readonly fc1: LinearParams; readonly fc2: LinearParams };
}

/** Keys under `blip.visual_encoder.`. */
export interface VitParams {
  readonly cls_token: tf.Tensor3D;
  readonly pos_embed: tf.Tensor3D;
  /** proj.weight in tfjs filter layout [p, p, C, E]. */
  readonly patch_embed: { readonly proj: { readonly weight: tf.Tensor4D; readonly bias: tf.Tensor1D } };
  readonly blocks: readonly VitBlockParams[];
  readonly norm: NormParams;
}

export function vitParams(get: ParamGetter, config: VitConfig, prefix = 'blip.visual_encoder'): VitParams {
  const blocks: VitBlockParams[] = [];
  for (let i = 0; i < config.depth; i++) {
    const b = `${prefix}.blocks.${i}`;
    blocks.push({
      norm1: normParams(get, `${b}.norm1`),
      attn: { qkv: linearParams(get, `${b}.attn.qkv`), proj: linearParams(get, `${b}.attn.proj`) },
      norm2: normParams(get, `${b}.norm2`),
      mlp: { fc1: linearParams(get, `${b}.mlp.fc1`), fc2: linearParams(get, `${b}.mlp.fc2`) },
    });
  }
  return {
    cls_token: get(`${prefix}.cls_token`) as tf.Tensor3D,
    pos_embed: get(`${prefix}.pos_embed`) as tf.Tensor3D,
    patch_embed: { proj: { weight: get(`${prefix}.patch_embed.proj.weight`) as tf.Tensor4D, bias: get(`${prefix}.patch_embed.proj.bias`) as tf.Tensor1D } },
    blocks,
    norm: normParams(get, `${prefix}.norm`),
  };
}

/** vit.py Block.forward: x + attn(norm1(x)); x + mlp(norm2(x)). */
function vitBlock(x: tf.Tensor3D, p: VitBlockParams, config: VitConfig, index: number, record?: Recorder): tf.Tensor3D {
  return tf.tidy(() => {
    // Attention.forward: one fused qkv Linear, then reshape(B, N, 3, heads, C // heads): q, k, v are
    // consecutive column blocks of width C.
    const qkv = linear(layerNorm(x, p.norm1.weight, p.norm1.bias, config.layerNormEps), p.attn.qkv.weight, p.attn.qkv.bias);
    const headDim = x.shape[2] / config.numHeads;
    const attention = packedSelfAttention(qkv, {
      numHeads: config.numHeads,
      scale: headDim ** -0.5, // Attention.__init__: qk_scale or head_dim ** -0.5, multiplied in
      returnProbs: record !== undefined,
    });
    if (attention.probs) record?.(`attn.vit.block${index}.probs`, attention.probs);
    const afterAttn = x.add(linear(attention.context, p.attn.proj.weight, p.attn.proj.bias));
    const hidden = gelu(linear(layerNorm(afterAttn, p.norm2.weight, p.norm2.bias, config.layerNormEps), p.mlp.fc1.weight, p.mlp.fc1.bias));
    const out = afterAttn.add(linear(hidden, p.mlp.fc2.weight, p.mlp.fc2.bias)) as tf.Tensor3D;
    record?.(`vit.block${index}`, out);
    return out;
  });
}

/** VisionTransformer.forward: pixels [N, C, S, S] (normalized NCHW) -> image embeds [N, 1 + (S/p)^2, E]. */
export function vitForward(pixels: tf.Tensor4D, p: VitParams, config: VitConfig, record?: Recorder): tf.Tensor3D {
  let x = tf.tidy(() => {
    const patches = patchEmbed(pixels, p.patch_embed.proj.weight, p.patch_embed.proj.bias);
    record?.('vit.patch_embed', patches);
    const [n, count, width] = patches.shape;
    // cls_token.expand(B, -1, -1); cat((cls, x), dim=1); x + pos_embed[:, :x.size(1), :]
    const cls = p.cls_token.tile([n, 1, 1]) as tf.Tensor3D;
    const tokens = tf.concat([cls, patches], 1);
    return tokens.add(p.pos_embed.slice([0, 0, 0], [1, count + 1, width])) as tf.Tensor3D;
  });
  try {
    for (let i = 0; i < p.blocks.length; i++) {
      const next = vitBlock(x, p.blocks[i]!, config, i, record);
      x.dispose();
      x = next;
    }
    const out = layerNorm(x, p.norm.weight, p.norm.bias, config.layerNormEps);
    record?.('vit.norm', out);
    return out;
  } finally {
    x.dispose();
  }
}
