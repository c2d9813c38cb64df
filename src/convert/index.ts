/**
 * Converts the published ImageReward.pt (a torch.save'd state_dict) into one self-describing
 * .safetensors file, without Python and without executing the pickle. Tensors are streamed one
 * at a time into a temp file that is renamed into place only when complete.
 */
import { statSync } from 'node:fs';
import { InputError, WeightsError } from '../errors.js';
import {
  IMAGEREWARD_V1_MED, IMAGEREWARD_V1_VIT, makeConfig, MAX_CONFIG_FILE_BYTES, medConfigToJson, parseMedConfig, parseVitConfig, vitConfigToJson,
} from '../model/config.js';
import { checkpointKeys } from '../model/checkpoint.js';
import { fitKeys, type AcceptedDtypes, type KeySpec } from '../model/spec.js';
import { readFileChecked } from '../util/fs.js';
import { narrowToHalf, widenToFloat32, type TypedData } from '../weights/dtype.js';
import { writeSafetensors, type TensorData, type TensorToWrite } from '../weights/safetensors.js';
import { openTorchCheckpoint, type TorchCheckpoint } from './checkpoint.js';

export { CheckpointError } from './errors.js';
export { openTorchCheckpoint, type TorchCheckpoint, type TorchTensorInfo } from './checkpoint.js';

/** `__metadata__.imagereward`: the format tag readers check. */
export const FORMAT_TAG = 'imagereward-tfjs/1';

export interface ConvertOptions {
  medConfigPath?: string;
  vitConfigPath?: string;
  dtype?: 'f32' | 'f16';
  onProgress?: (done: number, total: number, key: string) => void;
}

export interface ConvertResult {
  outPath: string;
  tensors: number;
  bytes: number;
  /** Checkpoint keys the model does not use: listed, not written. */
  extraKeys: string[];
  dtype: 'f32' | 'f16';
}

/** A config file's text (kept verbatim for the metadata) or the v1.0 default. */
async function configText(path: string | undefined, what: string, fallback: () => object): Promise<string> {
  if (path === undefined) return JSON.stringify(fallback());
  return (await readFileChecked(path, what, MAX_CONFIG_FILE_BYTES)).toString('utf8');
}

/** The torch dtypes the converter writes: floats as F32 / F16 (F64 narrowed on read), integers as I64. */
const CONVERTIBLE_DTYPES: AcceptedDtypes = { float: ['F32', 'F16', 'BF16', 'F64'], integer: ['I64', 'I32'] };

/**
 * Matches the checkpoint against the model's key spec (fitKeys, as loading does); returns the keys to
 * write, in spec order. A shape mismatch usually means configs of another model size: say so first.
 */
function planKeys(ckpt: TorchCheckpoint, specs: readonly KeySpec[]): { write: KeySpec[]; extraKeys: string[] } {
  const fit = fitKeys(specs, ckpt.keys, (k) => ckpt.info(k), CONVERTIBLE_DTYPES);
  const list = (items: string[]) => `${items.slice(0, 8).join('\n  ')}${items.length > 8 ? `\n  ... (${items.length - 8} more)` : ''}`;
  if (fit.misShaped.length > 0) {
    throw new WeightsError(`${ckpt.path}: ${fit.misShaped.length} tensor(s) do not have the shape the config expects (pass the matching --med-config / --vit-config):\n  ${list(fit.misShaped)}`);
  }
  if (fit.badDtype.length > 0) throw new WeightsError(`${ckpt.path}: ${fit.badDtype.length} tensor(s) with a wrong dtype:\n  ${list(fit.badDtype)}`);
  if (fit.missing.length > 0) {
    throw new WeightsError(`${ckpt.path}: ${fit.missing.length} required tensor(s) missing (not an ImageReward checkpoint, or a config with more layers than the checkpoint):\n  ${list(fit.missing)}`);
  }
  return { write: fit.usable, extraKeys: fit.unexpected };
}

/** Output data: integers as I64, floats widened exactly to F32 or rounded to F16 (F16 input kept bit for bit). */
function toOutput(t: TensorData, dtype: 'f32' | 'f16'): { dtype: 'F32' | 'F16' | 'I64'; data: TypedData } {
  if (t.dtype === 'I64') return { dtype: 'I64', data: t.data };
  if (t.dtype === 'I32') return { dtype: 'I64', data: BigInt64Array.from(t.data as Int32Array, (v) => BigInt(v)) };
  if (dtype === 'f16' && t.dtype === 'F16') return { dtype: 'F16', data: t.data };
  const f32 = widenToFloat32(t.dtype, t.data);
  return dtype === 'f32' ? { dtype: 'F32', data: f32 } : { dtype: 'F16', data: narrowToHalf(f32) };
}

export async function convertCheckpoint(inPath: string, outPath: string, opts: ConvertOptions = {}): Promise<ConvertResult> {
  const dtype = opts.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16') throw new InputError(`dtype must be "f32" or "f16", got ${JSON.stringify(dtype)}`);
  const medText = await configText(opts.medConfigPath, 'med_config', () => medConfigToJson(IMAGEREWARD_V1_MED));
  const vitText = await configText(opts.vitConfigPath, 'vit_config', () => vitConfigToJson(IMAGEREWARD_V1_VIT));
  const config = makeConfig(parseVitConfig(vitText, opts.vitConfigPath ?? 'vit_config'), parseMedConfig(medText, opts.medConfigPath ?? 'med_config'));

  const ckpt = openTorchCheckpoint(inPath);
  try {
    const { write, extraKeys } = planKeys(ckpt, checkpointKeys(config));
    let done = 0;
    const entries: TensorToWrite[] = write.map((spec) => ({
      name: spec.key,
      dtype: spec.integer ? 'I64' : dtype === 'f32' ? 'F32' : 'F16',
      shape: spec.shape,
      data: () => {
        const out = toOutput(ckpt.read(spec.key), dtype).data;
        opts.onProgress?.(++done, write.length, spec.key);
        return out;
      },
    }));
    const metadata = { format: 'pt', imagereward: FORMAT_TAG, med_config: medText, vit_config: vitText };
    await writeSafetensors(outPath, entries, metadata);
    return { outPath, tensors: entries.length, bytes: statSync(outPath).size, extraKeys, dtype };
  } finally {
    ckpt.close();
  }
}
