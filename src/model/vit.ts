/**
 * BLIP's VisionTransformer (upstream ImageReward/models/BLIP/vit.py), eval mode: dropout and
 * drop-path are identities. Every block runs in its own tf.tidy so a forward never holds more than
 * one block's temporaries (the wasm heap never shrinks).
 */
import * as tf from '@tensorflow/tfjs';
import type { VitConfig } from './config.js';
import { linear as linearSpec, list, norm, param, struct, type ParamsOf } from './spec.js';
import { disposeUnlessKept, KEEP_NOTHING, type Kept, type Wants } from './keep.js';
import { linear } from '../ops/linear.js';
import { layerNorm } from '../ops/layerNorm.js';
import { gelu } from '../ops/gelu.js';
import { packedSelfAttention } from '../ops/attention.js';
import { patchEmbed } from '../ops/patchEmbed.js';

/** The parameters of vit.py VisionTransformer under `prefix`, in state_dict order. */
export function vitSpec(config: VitConfig, prefix = 'blip.visual_encoder') {
  const E = config.embedDim;
  const hidden = Math.trunc(E * config.mlpRatio); // Block.__init__: mlp_hidden_dim = int(dim * mlp_ratio)
  const tokens = (config.imgSize / config.patchSize) ** 2 + 1;
  return struct({
    cls_token: param<tf.Tensor3D>(`${prefix}.cls_token`, [1, 1, E]),
    pos_embed: param<tf.Tensor3D>(`${prefix}.pos_embed`, [1, tokens, E]),
    patch_embed: struct({
      proj: struct({
        weight: param<tf.Tensor4D>(`${prefix}.patch_embed.proj.weight`, [E, config.inChans, config.patchSize, config.patchSize], 'conv'),
        bias: param<tf.Tensor1D>(`${prefix}.patch_embed.proj.bias`, [E]),
      }),
    }),
    blocks: list(config.depth, (i) => {
      const b = `${prefix}.blocks.${i}`;
      return struct({
        norm1: norm(`${b}.norm1`, E),
        attn: struct({ qkv: linearSpec(`${b}.attn.qkv`, 3 * E, E, config.qkvBias), proj: linearSpec(`${b}.attn.proj`, E, E) }),
        norm2: norm(`${b}.norm2`, E),
        mlp: struct({ fc1: linearSpec(`${b}.mlp.fc1`, hidden, E), fc2: linearSpec(`${b}.mlp.fc2`, E, hidden) }),
      });
    }),
    norm: norm(`${prefix}.norm`, E),
  });
}

/** patch_embed.proj.weight in tfjs filter layout [p, p, C, E]; Linear weights [in, out]. */
export type VitParams = ParamsOf<ReturnType<typeof vitSpec>>;
export type VitBlockParams = VitParams['blocks'][number];

/** vit.py Block.forward: x + attn(norm1(x)); x + mlp(norm2(x)). Shapes: B images, T tokens, E width, nh heads, F = int(E * mlp_ratio). */
function vitBlock(x: tf.Tensor3D, p: VitBlockParams, config: VitConfig, withProbs: boolean): { out: tf.Tensor3D; probs?: tf.Tensor4D } {
  return tf.tidy(() => {
    // Attention.forward: one fused qkv Linear, then reshape(B, N, 3, heads, C // heads): q, k, v are
    // consecutive column blocks of width C.
    const qkv = linear(layerNorm(x, p.norm1.weight, p.norm1.bias, config.layerNormEps), p.attn.qkv.weight, p.attn.qkv.bias); // (B, T, 3E)
    const headDim = x.shape[2] / config.numHeads;
    const attention = packedSelfAttention(qkv, {
      numHeads: config.numHeads,
      scale: headDim ** -0.5, // Attention.__init__: qk_scale or head_dim ** -0.5, multiplied in
      returnProbs: withProbs,
    }); // context (B, T, E); probs (B, nh, T, T)
    const afterAttn = x.add(linear(attention.context, p.attn.proj.weight, p.attn.proj.bias)); // (B, T, E)
    const hidden = gelu(linear(layerNorm(afterAttn, p.norm2.weight, p.norm2.bias, config.layerNormEps), p.mlp.fc1.weight, p.mlp.fc1.bias)); // (B, T, F)
    const out = afterAttn.add(linear(hidden, p.mlp.fc2.weight, p.mlp.fc2.bias)) as tf.Tensor3D; // (B, T, E)
    return attention.probs ? { out, probs: attention.probs } : { out };
  });
}

/**
 * VisionTransformer.forward: pixels [N, C, S, S] (normalized NCHW) -> image embeds [N, 1 + (S/p)^2, E],
 * plus the intermediates `wants` names (vit.patch_embed, vit.block{i}, attn.vit.block{i}.probs, vit.norm).
 */
export function vitForward(pixels: tf.Tensor4D, p: VitParams, config: VitConfig, wants: Wants = KEEP_NOTHING): { embeds: tf.Tensor3D; kept: Kept } {
  const kept: Kept = {};
  try {
    let x = tf.tidy(() => {
      const patches = patchEmbed(pixels, p.patch_embed.proj.weight, p.patch_embed.proj.bias); // (B, (S/p)^2, E)
      if (wants('vit.patch_embed')) kept['vit.patch_embed'] = tf.keep(patches);
      const [n, count, width] = patches.shape;
      // cls_token.expand(B, -1, -1); cat((cls, x), dim=1); x + pos_embed[:, :x.size(1), :]
      const cls = p.cls_token.tile([n, 1, 1]) as tf.Tensor3D; // (B, 1, E)
      const tokens = tf.concat([cls, patches], 1); // (B, T, E), T = 1 + (S/p)^2
      return tokens.add(p.pos_embed.slice([0, 0, 0], [1, count + 1, width])) as tf.Tensor3D;
    });
    try {
      for (let i = 0; i < p.blocks.length; i++) {
        const { out, probs } = vitBlock(x, p.blocks[i]!, config, wants(`attn.vit.block${i}.probs`));
        if (probs) kept[`attn.vit.block${i}.probs`] = probs;
        disposeUnlessKept(x, kept);
        x = out;
        if (wants(`vit.block${i}`)) kept[`vit.block${i}`] = out;
      }
      const embeds = layerNorm(x, p.norm.weight, p.norm.bias, config.layerNormEps); // (B, T, E)
      if (wants('vit.norm')) kept['vit.norm'] = embeds;
      return { embeds, kept };
    } finally {
      disposeUnlessKept(x, kept);
    }
  } catch (err) {
    tf.dispose(Object.values(kept));
    throw err;
  }
}
