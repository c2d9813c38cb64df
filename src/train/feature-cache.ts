/**
 * On-disk cache of CLS features, one small safetensors file per (model id, prompt, image content)
 * so that every finished image survives an interrupted run and a re-run only computes what is
 * missing. Layout: DIR/<model slug>-<hash>/<2 hex>/<sha256 of [model id, prompt, image sha256]>.safetensors
 * with tensor `cls` (F32 [H]) and the three key parts in `__metadata__`, checked on every read.
 * Entries are written atomically (temp file + rename); an entry that does not read back as
 * expected (foreign, damaged, other width) counts as missing and is overwritten.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsReader, writeSafetensors } from '../weights/safetensors.js';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class FeatureCache {
  readonly dir: string;
  readonly modelId: string;
  readonly hiddenSize: number;
  private readonly modelDir: string;

  constructor(dir: string, modelId: string, hiddenSize: number) {
    this.dir = dir;
    this.modelId = modelId;
    this.hiddenSize = hiddenSize;
    const slug = modelId.replace(/[^A-Za-z0-9._-]+/g, '_').slice(-48);
    this.modelDir = join(dir, `${slug}-${sha256(modelId).slice(0, 12)}`);
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
