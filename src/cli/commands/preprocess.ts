/** `imagereward preprocess IMAGE... --out pixels.safetensors`: the upstream image transform, one tensor per image. */
import { basename } from 'node:path';
import { InputError } from '../../errors.js';
import { preprocessImage, resolveImageDecoder } from '../../image/index.js';
import { writeSafetensors, type TensorToWrite } from '../../weights/safetensors.js';
import { flagOption, stringOption, type Command } from '../command.js';
import { IMAGE_DECODER_USAGE, positiveIntOption, requiredOption } from './modelOptions.js';

const usage = [
  'usage: imagereward preprocess IMAGE... --out pixels.safetensors [--size 224] [--image-decoder D] [--json]',
  '',
  'Runs upstream _transform(size) (bicubic resize of the short side, center crop, RGB, CLIP normalization)',
  'and writes one float32 tensor [1,3,size,size] per image, named by the file\'s base name.',
  IMAGE_DECODER_USAGE,
].join('\n');

export const preprocessCommand: Command = {
  name: 'preprocess',
  summary: 'preprocess images into a safetensors file (one tensor per image)',
  usage,
  options: { out: { type: 'string' }, size: { type: 'string' }, 'image-decoder': { type: 'string' }, json: { type: 'boolean' } },
  async run(args, io) {
    const out = requiredOption(args, 'out', usage);
    const images = args.positionals;
    if (images.length === 0) throw new InputError(`no images given\n${usage}`);
    const names = images.map((p) => basename(p));
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate !== undefined) throw new InputError(`two images share the base name ${duplicate}; tensors are named by base name`);
    const size = positiveIntOption(args, 'size') ?? 224;
    const decoder = await resolveImageDecoder(stringOption(args, 'image-decoder'));
    const entries: TensorToWrite[] = [];
    const described: object[] = [];
    for (const [i, path] of images.entries()) {
      const pre = await preprocessImage(path, { size, decoder });
      entries.push({ name: names[i]!, dtype: 'F32', shape: [1, 3, size, size], data: pre.pixels });
      described.push({ name: names[i], source: path, format: pre.format, decoder: pre.decoder, mode: pre.mode, width: pre.width, height: pre.height, shape: [1, 3, size, size] });
    }
    await writeSafetensors(out, entries, { producer: 'imagereward-tfjs preprocess', size: String(size) });
    if (flagOption(args, 'json')) io.out(JSON.stringify({ out, tensors: described }));
    else io.out(`wrote ${entries.length} tensor(s) [1,3,${size},${size}] to ${out}`);
    return 0;
  },
};
