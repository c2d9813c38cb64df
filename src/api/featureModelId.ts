/**
 * The model part of a feature-cache key. CLS features depend on the base weights and the configs
 * (not on the head), so the id is the hub name for hub models (their files are sha256-verified),
 * else the weights file's path, size and mtime; plus a hash of the configs.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import type { ModelSource } from './modelSource.js';
import { medConfigToJson, vitConfigToJson, type ImageRewardConfig } from '../model/config.js';

export function featureModelId(source: ModelSource, config: ImageRewardConfig): string {
  const configHash = createHash('sha256')
    .update(JSON.stringify([medConfigToJson(config.med), vitConfigToJson(config.vit)]))
    .digest('hex')
    .slice(0, 12);
  if (source.origin === 'hub') return `${source.requested}#${configHash}`;
  const info = statSync(source.weightsPath);
  return `${source.weightsPath}:${info.size}:${Math.round(info.mtimeMs)}#${configHash}`;
}
