/** `imagereward preprocess IMAGE... --out pixels.safetensors`: the upstream image transform, one tensor per image. */
import { resolve, sep } from 'node:path';
import { InputError } from '../../errors.js';
import { preprocessImage, resolveImageDecoder } from '../../image/index.js';
import { checkOutputFolder } from '../../util/fs.js';
import { writeSafetensors, type TensorToWrite } from '../../weights/safetensors.js';
import { flagOption, stringOption, type Command } from '../command.js';
import { IMAGE_DECODER_USAGE, positiveIntOption, requiredOption } from './modelOptions.js';

const usage = [
  'usage: imagereward preprocess IMAGE... --out pixels.safetensors [--size 224] [--image-decoder D] [--json]',
  '',
  'Runs upstream _transform(size) (bicubic resize of the short side, center crop, RGB, CLIP normalization)',
  'and writes one float32 tensor [1,3,size,size] per image. Tensor names: the file\'s base name (x.webp);',
  'where two images share it, enough parent folders to tell them apart (a/x.webp, b/x.webp). The --out',
  'folder must exist.',
  IMAGE_DECODER_USAGE,
].join('\n');

/**
 * One tensor name per image: the shortest trailing part of its path (base name, then parent/base,
 * ...) that no other image shares, '/'-separated. The same file given twice is an error.
 */
export function tensorNames(images: readonly string[]): string[] {
  const parts = images.map((p) => resolve(p).split(sep).filter((s) => s !== ''));
  const seen = new Map<string, number>();
  parts.forEach((p, i) => {
    const key = p.join('/');
    const first = seen.get(key);
    if (first !== undefined) throw new InputError(`images ${first} (${images[first]}) and ${i} (${images[i]}) are the same file`);
    seen.set(key, i);
  });
  const suffix = (p: readonly string[], n: number) => p.slice(-n).join('/');
  return parts.map((p, i) => {
    for (let n = 1; n < p.length; n++) {
      const name = suffix(p, n);
      if (parts.every((q, j) => j === i || suffix(q, n) !== name)) return name;
    }
    return p.join('/');
  });
}

export const preprocessCommand: Command = {
  name: 'preprocess',
  summary: 'preprocess images into a safetensors file (one tensor per image)',
  usage,
  options: { out: { type: 'string' }, size: { type: 'string' }, 'image-decoder': { type: 'string' }, json: { type: 'boolean' } },
  async run(args, io) {
    const out = requiredOption(args, 'out', usage);
    const images = args.positionals;
    if (images.length === 0) throw new InputError(`no images given\n${usage}`);
    const names = tensorNames(images);
    const size = positiveIntOption(args, 'size') ?? 224;
    const decoder = await resolveImageDecoder(stringOption(args, 'image-decoder'));
    checkOutputFolder(out, 'the --out file');
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
