/**
 * The cases limited-child.ts runs in a memory-limited child process: each takes a path (a small file
 * the test generated) and returns a small JSON summary, or throws the error under test.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { convertCheckpoint, openTorchCheckpoint } from '../../src/convert/index.js';
import { decodeImage, preprocessImage } from '../../src/image/index.js';
import { SafetensorsReader } from '../../src/weights/safetensors.js';

type Case = (arg: string) => Promise<unknown>;

const sha256 = (b: ArrayBufferView): string => createHash('sha256').update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)).digest('hex');

export const cases: Record<string, Case> = {
  /** Nothing: the RSS of a child with these modules loaded, which the other cases are measured against. */
  async baseline() {
    return null;
  },
  /** decodeImage of a file's bytes with the wasm / js decoders. */
  async decode(path) {
    const img = await decodeImage(readFileSync(path), path, { decoder: 'wasm' });
    return { mode: img.mode, width: img.width, height: img.height, sha256: sha256(img.data) };
  },
  /** The whole transform (wasm decoders), as `imagereward score` runs it. */
  async preprocess(path) {
    const p = await preprocessImage(path, { decoder: 'wasm' });
    return { resizedSize: p.resizedSize, cropBox: p.cropBox, sha256: sha256(p.pixels) };
  },
  /** Opens a safetensors file and lists its tensors. */
  async safetensors(path) {
    const reader = SafetensorsReader.open(path);
    try { return { names: reader.names.length }; } finally { reader.close(); }
  },
  /** Opens a .pt checkpoint and reads every tensor (the sha256 of each one's bytes, by key). */
  async checkpoint(path) {
    const ckpt = openTorchCheckpoint(path);
    try {
      return Object.fromEntries(ckpt.keys.map((k) => { const t = ckpt.read(k); return [k, { shape: t.shape, sha256: sha256(t.data) }]; }));
    } finally { ckpt.close(); }
  },
  /** What ImageReward.load does with a .safetensors file, less the tokenizer and backend: configs, then every tensor. */
  async loadModel(path) {
    // Imported here: tfjs would raise every other case's (and the baseline's) RSS by ~80 MiB.
    const { resolveConfig } = await import('../../src/api/modelConfig.js');
    const { ImageRewardModel } = await import('../../src/model/imageRewardModel.js');
    const reader = SafetensorsReader.open(path);
    try {
      const { config } = await resolveConfig(path, reader.metadata);
      const model = ImageRewardModel.fromReader(reader, config);
      model.dispose();
      return { layers: config.med.numHiddenLayers };
    } finally { reader.close(); }
  },
  /** Reads every row of a Parquet dataset (prompt and image columns), as score-dataset does. */
  async parquetRows(path) {
    const { parquetRows } = await import('../../src/dataset/parquet.js');
    let rows = 0;
    for await (const _row of parquetRows(path, '.')) rows++;
    return { rows };
  },
  /** Reads every record of a Parquet result file (all columns), as merge and a resumed run do. */
  async parquetResults(path) {
    const { readParquetResults } = await import('../../src/dataset/parquet.js');
    let records = 0;
    for await (const _record of readParquetResults(path)) records++;
    return { records };
  },
  /** Converts a .pt checkpoint (to a temp output beside it). */
  async convert(path) {
    const r = await convertCheckpoint(path, `${path}.out.safetensors`);
    return { tensors: r.tensors };
  },
};
