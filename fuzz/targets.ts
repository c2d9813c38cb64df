/**
 * Fuzz targets: the seed inputs of each parser and the call that parses one input the way the
 * package does. A target's run either returns (the input was accepted) or throws; an
 * ImageRewardError is the expected way to refuse, anything else is a finding.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTorchCheckpoint } from '../src/convert/checkpoint.js';
import { readStateDictPickle } from '../src/convert/torch-pickle.js';
import { decodeImage } from '../src/image/index.js';
import { decodeJpegJs } from '../src/image/jpegjs/decoder.js';
import { preprocessDecoded } from '../src/image/pipeline.js';
import { makeConfig, parseMedConfig, parseVitConfig, IMAGEREWARD_V1_MED, IMAGEREWARD_V1_VIT } from '../src/model/config.js';
import { checkpointKeys } from '../src/model/checkpoint.js';
import { fitKeys } from '../src/model/spec.js';
import { SafetensorsReader } from '../src/weights/safetensors.js';
import { openDataset, type DatasetFormat } from '../src/dataset/source.js';
import { parquetWriteBuffer } from 'hyparquet-writer';
import tar from 'tar-stream';
import { f32Bytes, stateDictPickle, torchArchive, type TensorSpec } from '../test/helpers/torchzip.js';

export interface Target {
  /** Seed inputs (small files). */
  seeds(): Uint8Array[] | Promise<Uint8Array[]>;
  /** Parses one input; `scratch` is a path the target may write the input to. */
  run(bytes: Uint8Array, scratch: string): Promise<void>;
  /** Mutation positions favour this many leading bytes half the time. */
  headBias?: number;
}

const dataDir = fileURLToPath(new URL('../test/data/', import.meta.url));
const filesIn = (dir: string, pattern: RegExp): Uint8Array[] =>
  readdirSync(dir).filter((f) => pattern.test(f)).sort().map((f) => new Uint8Array(readFileSync(join(dir, f))));

const TENSORS: TensorSpec[] = [
  { key: 'a.weight', storageClass: 'FloatStorage', storageKey: '0', numel: 6, shape: [2, 3] },
  { key: 'a.bias', storageClass: 'FloatStorage', storageKey: '1', numel: 2, shape: [2] },
  { key: 'b.t', storageClass: 'FloatStorage', storageKey: '0', numel: 6, shape: [3, 2], stride: [1, 3] },
  { key: 'c.ids', storageClass: 'LongStorage', storageKey: '2', numel: 4, shape: [1, 4] },
];
const STORAGES = { 0: f32Bytes([1, 2, 3, 4, 5, 6]), 1: f32Bytes([7, 8]), 2: new Uint8Array(new BigInt64Array([0n, 1n, 2n, 3n]).buffer) };

/** A tiny safetensors file with real-looking configs in __metadata__ (the model keys are mostly absent). */
function safetensorsSeed(): Uint8Array {
  const header = {
    __metadata__: {
      format: 'pt', imagereward: 'imagereward-tfjs/1',
      med_config: JSON.stringify({ ...medJson(), num_hidden_layers: 2 }), vit_config: JSON.stringify({ ...vitJson(), depth: 2 }),
    },
    'blip.visual_encoder.cls_token': { dtype: 'F32', shape: [1, 1, 4], data_offsets: [0, 16] },
    'blip.text_encoder.embeddings.position_ids': { dtype: 'I64', shape: [1, 2], data_offsets: [16, 32] },
    'mlp.layers.7.bias': { dtype: 'F16', shape: [1], data_offsets: [32, 34] },
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + 34);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}
const medJson = () => ({ vocab_size: IMAGEREWARD_V1_MED.vocabSize, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, max_position_embeddings: 512, layer_norm_eps: 1e-12, encoder_width: 1024, hidden_act: 'gelu' });
const vitJson = () => ({ img_size: IMAGEREWARD_V1_VIT.imgSize, patch_size: 16, embed_dim: 1024, depth: 24, num_heads: 16, mlp_ratio: 4, qkv_bias: true, norm_layer: 'LayerNorm(eps=1e-6)' });

/** Seeds of the dataset readers: JSONL, CSV, a webdataset tar and a Parquet file, a few rows each. */
async function datasetSeeds(): Promise<Uint8Array[]> {
  const rows = [{ prompt: 'a cat', image: '1.webp' }, { prompt: 'a "quoted", dog', image: 'sub/2.png' }, { prompt: '', image: 'x.jpg' }];
  const jsonl = rows.map((r) => JSON.stringify(r)).join('\n') + '\n{"prompt": 1}\n';
  const csv = `prompt,image,extra\n${rows.map((r) => `"${r.prompt.replace(/"/g, '""')}",${r.image},1`).join('\r\n')}\n`;
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => { chunks.push(c as Buffer); });
  const ended = new Promise<void>((r) => { pack.on('end', () => r()); });
  for (const [name, body] of [['0/1.png', 'png bytes'], ['0/1.txt', 'a cat'], ['0/2.webp', 'webp'], ['0/2.json', '{"caption":"a dog"}'], ['0/3.txt', 'alone']]) pack.entry({ name: name! }, body!);
  pack.finalize();
  await ended;
  const parquet = parquetWriteBuffer({ columnData: [
    { name: 'prompt', data: rows.map((r) => r.prompt), type: 'STRING' },
    { name: 'image', data: rows.map((r) => r.image), type: 'STRING' },
  ] });
  const text = (t: string) => new TextEncoder().encode(t);
  return [text(jsonl), text(csv), new Uint8Array(Buffer.concat(chunks)), new Uint8Array(parquet)];
}

/** Which reader an input goes to: by the signature its seed had (mutations mostly keep it). */
function datasetFormat(bytes: Uint8Array): DatasetFormat {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (ascii(0, 4) === 'PAR1') return 'parquet';
  if (ascii(257, 262) === 'ustar') return 'tar';
  return ascii(0, 7) === 'prompt,' ? 'csv' : 'jsonl';
}

async function decodeAndPreprocess(bytes: Uint8Array): Promise<void> {
  const img = await decodeImage(bytes, '<fuzz>', { decoder: 'wasm' });
  preprocessDecoded(img, '<fuzz>');
}

export const TARGETS: Record<string, Target> = {
  pickle: {
    seeds: () => [stateDictPickle(TENSORS)],
    async run(bytes) { readStateDictPickle(bytes, '<fuzz>'); },
  },
  zip: {
    seeds: () => [torchArchive(stateDictPickle(TENSORS), STORAGES), torchArchive(stateDictPickle(TENSORS), STORAGES, { method: 'deflate' })],
    async run(bytes, scratch) {
      writeFileSync(scratch, bytes);
      const ckpt = openTorchCheckpoint(scratch);
      try { for (const k of ckpt.keys) ckpt.read(k); } finally { ckpt.close(); }
    },
  },
  safetensors: {
    seeds: () => [safetensorsSeed()],
    async run(bytes) {
      const reader = SafetensorsReader.fromBytes(bytes, '<fuzz>');
      try {
        const m = reader.metadata;
        const config = makeConfig(parseVitConfig(m.vit_config ?? vitJson(), 'vit'), parseMedConfig(m.med_config ?? medJson(), 'med'));
        const fit = fitKeys(checkpointKeys(config), reader.names, (n) => reader.info(n), { float: ['F32', 'F16', 'BF16'], integer: ['I64', 'I32'] });
        for (const spec of fit.usable) reader.read(spec.key);
      } finally { reader.close(); }
    },
  },
  png: { seeds: () => filesIn(dataDir, /\.png$/).filter((b) => b.length < 20000), run: decodeAndPreprocess, headBias: 256 },
  jpeg: {
    seeds: () => filesIn(dataDir, /\.jpg$/).filter((b) => b.length < 20000),
    async run(bytes) {
      await decodeAndPreprocess(bytes);
      decodeJpegJs(bytes, '<fuzz>'); // the TypeScript decoder (CMYK and h1v2 files) on every input
    },
    headBias: 1024,
  },
  webp: { seeds: () => filesIn(dataDir, /\.webp$/), run: decodeAndPreprocess, headBias: 256 },
  dataset: {
    seeds: datasetSeeds,
    async run(bytes, scratch) {
      writeFileSync(scratch, bytes);
      // the rows are read, not scored: every reader's own parsing, with no model
      for await (const _row of openDataset(scratch, { format: datasetFormat(bytes) }).rows()) { /* read them all */ }
    },
  },
};
