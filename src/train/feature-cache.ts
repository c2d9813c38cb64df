/**
 * On-disk cache of CLS features, one small safetensors file per (model id, prompt, image content)
 * so that every finished image survives an interrupted run and a re-run only computes what is
 * missing. Layout: DIR/<label>-<hash of the model id>/<2 hex>/<sha256 of [model id, prompt, image sha256]>.safetensors
 * with tensor `cls` (F32 [H]) and the three key parts in `__metadata__`, checked on every read; the
 * label is a readable model name (`tiny`, `ImageReward`), never a hidden (dot) name, and the model
 * folder holds `model.json` saying which model it is.
 * Entries are written atomically (temp file + rename); an entry that does not read back as
 * expected (foreign, damaged, other width) counts as missing and is overwritten.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeAll, writeFileAtomic } from '../util/fs.js';
import { SafetensorsReader, writeSafetensors } from '../weights/safetensors.js';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class FeatureCache {
  readonly dir: string;
  readonly modelId: string;
  readonly hiddenSize: number;
  private readonly modelDir: string;

  private readonly about: Readonly<Record<string, string>>;

  /**
   * `label` names the model folder (default: from the model id); `about` is written to its
   * `model.json` with the first entry (what the model is, for whoever looks into DIR).
   */
  constructor(dir: string, modelId: string, hiddenSize: number, options: { label?: string; about?: Readonly<Record<string, string>> } = {}) {
    this.dir = dir;
    this.modelId = modelId;
    this.hiddenSize = hiddenSize;
    this.about = { model_id: modelId, ...options.about };
    const slug = (options.label ?? modelId).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._-]+/, '').slice(0, 48) || 'model';
    this.modelDir = join(dir, `${slug}-${sha256(modelId).slice(0, 12)}`);
  }

  /** The folder of this model's entries. */
  get folder(): string {
    return this.modelDir;
  }

  /** Where the entry for this prompt and image content lives. */
  entryPath(prompt: string, imageSha256: string): string {
    const key = sha256(JSON.stringify([this.modelId, prompt, imageSha256]));
    return join(this.modelDir, key.slice(0, 2), `${key}.safetensors`);
  }

  /** The cached feature, or undefined when there is no valid entry. */
  read(prompt: string, imageSha256: string): Float32Array | undefined {
    const path = this.entryPath(prompt, imageSha256);
    if (!existsSync(path)) return undefined;
    let reader: SafetensorsReader | undefined;
    try {
      reader = SafetensorsReader.open(path);
      const m = reader.metadata;
      if (m.model_id !== this.modelId || m.prompt !== prompt || m.image_sha256 !== imageSha256) return undefined;
      const info = reader.info('cls');
      if (info.dtype !== 'F32' || info.shape.length !== 1 || info.shape[0] !== this.hiddenSize) return undefined;
      const data = reader.read('cls').data as Float32Array;
      return data.every(Number.isFinite) ? data : undefined;
    } catch {
      return undefined;
    } finally {
      reader?.close();
    }
  }

  async write(prompt: string, imageSha256: string, feature: Float32Array): Promise<void> {
    const about = join(this.modelDir, 'model.json');
    if (!existsSync(about)) await writeFileAtomic(about, (fd) => writeAll(fd, Buffer.from(`${JSON.stringify(this.about, null, 2)}\n`)));
    await writeSafetensors(
      this.entryPath(prompt, imageSha256),
      [{ name: 'cls', dtype: 'F32', shape: [feature.length], data: feature }],
      { model_id: this.modelId, prompt, image_sha256: imageSha256 },
    );
  }
}

/** sha256 (hex) of an image file's bytes: the image part of a cache key. */
export function imageContentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
