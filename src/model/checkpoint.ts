/**
 * The whole ImageReward state_dict as one spec: blip.visual_encoder (vit.py VisionTransformer),
 * blip.text_encoder (med.py BertModel, add_pooling_layer=False), blip.vision_proj / blip.text_proj
 * (checked, unused by the reward), and mlp.layers (ImageReward.py MLP).
 */
import type { ImageRewardConfig } from './config.js';
import { bertSpec } from './bert.js';
import { headSpec } from './head.js';
import { struct, unusedLinear, type KeySpec, type ParamsOf } from './spec.js';
import { vitSpec } from './vit.js';

export function imageRewardSpec(config: ImageRewardConfig) {
  return struct({
    vit: vitSpec(config.vit),
    bert: bertSpec(config.med),
    visionProj: unusedLinear('blip.vision_proj', config.head.projEmbedDim, config.vit.embedDim),
    textProj: unusedLinear('blip.text_proj', config.head.projEmbedDim, config.med.hiddenSize),
    head: headSpec(config),
  });
}

export type ImageRewardParams = ParamsOf<ReturnType<typeof imageRewardSpec>>;

/** Every checkpoint key with its shape, in state_dict order. */
export function checkpointKeys(config: ImageRewardConfig): KeySpec[] {
  return [...imageRewardSpec(config).keys];
}
