/** `imagereward inspect`: every named intermediate of one prompt x image forward, into a safetensors file. */
import { basename } from 'node:path';
import { flagOption, stringOption, type Command } from '../command.js';
import type { NamedArray } from '../../api/imagereward.js';
import { checkOutputFolder } from '../../util/fs.js';
import { writeSafetensors, type TensorToWrite } from '../../weights/safetensors.js';
import { loadModelFromArgs, MODEL_OPTIONS, MODEL_USAGE, requiredOption } from './modelOptions.js';

const usage = [
  'usage: imagereward inspect --prompt TEXT --image IMAGE --out acts.safetensors [--attentions] [options]',
  '',
  'Writes the named intermediates of the forward (vit.patch_embed, vit.block{i}, vit.norm, bert.embeddings,',
  'bert.layer{i}.attention|crossattention|output, cls, mlp.layers.{i}, reward) plus input_ids, attention_mask',
  '(I64, as upstream) and pixel_values; with --attentions also attn.*.probs.',
  '',
  '  --prompt TEXT      the prompt (required)',
  '  --image FILE       the image (required)',
  '  --out FILE         the safetensors file to write (required; its folder must exist)',
  '  --attentions       include attention probabilities',
  MODEL_USAGE,
].join('\n');

/** Token ids and masks are int64 in upstream (torch); keep that dtype in the file. */
function toWrite(name: string, a: NamedArray): TensorToWrite {
  if (a.dtype === 'int32') return { name, dtype: 'I64', shape: a.shape, data: BigInt64Array.from(a.data, (v) => BigInt(v)) };
  return { name, dtype: 'F32', shape: a.shape, data: a.data };
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'write the named intermediates of one forward to a safetensors file',
  usage,
  options: { ...MODEL_OPTIONS, prompt: { type: 'string' }, image: { type: 'string' }, out: { type: 'string' }, attentions: { type: 'boolean' } },
  async run(args, io) {
    const prompt = requiredOption(args, 'prompt', usage);
    const image = requiredOption(args, 'image', usage);
    const out = requiredOption(args, 'out', usage);
    checkOutputFolder(out, 'the --out file');
    const model = await loadModelFromArgs(args, io);
    try {
      const named = await model.intermediates(prompt, image, { attentions: flagOption(args, 'attentions') });
      const entries = [...named].map(([name, a]) => toWrite(name, a));
      await writeSafetensors(out, entries, {
        prompt, image: basename(image), model: stringOption(args, 'model') ?? 'ImageReward-v1.0', producer: 'imagereward-tfjs inspect',
      });
      const reward = named.get('reward')?.data[0];
      if (flagOption(args, 'json')) {
        io.out(JSON.stringify({ out, reward, tensors: entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape })) }));
      } else {
        io.out(`wrote ${entries.length} tensors to ${out} (reward ${reward})`);
      }
      return 0;
    } finally {
      model.dispose();
    }
  },
};
