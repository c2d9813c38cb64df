/**
 * Which configs a safetensors file is run with, in order of precedence, per config:
 * an explicit path (option) > the file's `__metadata__` (`med_config` / `vit_config`, written by the
 * converter) > `med_config.json` / `vit_config.json` beside the file > the ImageReward-v1.0 defaults.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  IMAGEREWARD_V1_MED, IMAGEREWARD_V1_VIT, makeConfig, MAX_CONFIG_FILE_BYTES, parseMedConfig, parseVitConfig,
  type ImageRewardConfig, type MedConfig, type VitConfig,
} from '../model/config.js';
import { ConfigError } from '../errors.js';
import { readFileChecked } from '../util/fs.js';
import { describeOrigin } from './configHint.js';

export interface ConfigPaths {
  /** Path of a med_config.json to use instead of whatever the model carries. */
  readonly medConfig?: string;
  /** Path of a vit_config.json (VisionTransformer kwargs) to use instead. */
  readonly vitConfig?: string;
}

/** Where each config came from: 'metadata', 'defaults', or a file path. */
export interface ConfigOrigin {
  readonly med: string;
  readonly vit: string;
}

export interface ResolvedConfig {
  readonly config: ImageRewardConfig;
  readonly origin: ConfigOrigin;
}

async function pick<T>(
  explicit: string | undefined,
  metadataText: string | undefined,
  beside: string,
  parse: (json: unknown, what: string) => T,
  defaults: T,
  weightsPath: string,
): Promise<{ value: T; origin: string }> {
  if (explicit) return { value: parse((await readFileChecked(explicit, 'config', MAX_CONFIG_FILE_BYTES)).toString('utf8'), explicit), origin: explicit };
  if (metadataText !== undefined) return { value: parse(metadataText, `${weightsPath} metadata`), origin: 'metadata' };
  if (existsSync(beside)) return { value: parse((await readFileChecked(beside, 'config', MAX_CONFIG_FILE_BYTES)).toString('utf8'), beside), origin: beside };
  return { value: defaults, origin: 'defaults' };
}

export async function resolveConfig(
  weightsPath: string,
  metadata: Readonly<Record<string, string>>,
  paths: ConfigPaths = {},
): Promise<ResolvedConfig> {
  const dir = dirname(weightsPath);
  const med = await pick<MedConfig>(paths.medConfig, metadata.med_config, join(dir, 'med_config.json'), parseMedConfig, IMAGEREWARD_V1_MED, weightsPath);
  const vit = await pick<VitConfig>(paths.vitConfig, metadata.vit_config, join(dir, 'vit_config.json'), parseVitConfig, IMAGEREWARD_V1_VIT, weightsPath);
  try {
    return { config: makeConfig(vit.value, med.value), origin: { med: med.origin, vit: vit.origin } };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(`${err.message} (med_config from ${describeOrigin(med.origin)}; vit_config from ${describeOrigin(vit.origin)}): `
      + 'pass the two configs of this model, --med-config FILE and --vit-config FILE (API: medConfig, vitConfig)', { cause: err });
  }
}
