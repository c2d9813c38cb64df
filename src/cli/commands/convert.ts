/** `imagereward convert`: ImageReward.pt (torch.save) -> .safetensors, without Python or pickle execution. */
import { convertCheckpoint } from '../../convert/index.js';
import { InputError } from '../../errors.js';
import { checkOutputFolder } from '../../util/fs.js';
import { withTask } from '../../util/progress.js';
import { flagOption, stringOption, type Command } from '../command.js';

const usage = [
  'usage: imagereward convert IN.pt -o OUT.safetensors [--med-config med_config.json] [--vit-config vit_config.json]',
  '                           [--dtype f32|f16] [--json]',
  '',
  'Converts a torch.save state_dict (the published ImageReward.pt) to one self-describing safetensors file.',
  'The pickle is read by a restricted unpickler that refuses anything but tensors: nothing is executed.',
  '',
  '  -o, --output FILE    the .safetensors file to write (written to a temp file, then renamed)',
  '  --med-config FILE    med_config.json of the checkpoint (default: ImageReward-v1.0, bert-base)',
  '  --vit-config FILE    VisionTransformer kwargs as JSON (default: ImageReward-v1.0, ViT-L/16)',
  '  --dtype f32|f16      output float type (default f32; f16 keeps half weights bit for bit)',
  '  --json               print the summary as JSON on stdout',
].join('\n');

export const convertCommand: Command = {
  name: 'convert',
  summary: 'convert ImageReward.pt (torch.save) to .safetensors without running the pickle',
  usage,
  options: {
    output: { type: 'string', short: 'o' },
    'med-config': { type: 'string' },
    'vit-config': { type: 'string' },
    dtype: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const [input, ...more] = args.positionals;
    if (input === undefined || more.length > 0) throw new InputError(`convert takes exactly one input checkpoint\n${usage}`);
    const output = stringOption(args, 'output');
    if (output === undefined) throw new InputError(`-o/--output is required\n${usage}`);
    checkOutputFolder(output, 'the output file');
    const dtype = stringOption(args, 'dtype') ?? 'f32';
    if (dtype !== 'f32' && dtype !== 'f16') throw new InputError(`--dtype must be f32 or f16, got ${JSON.stringify(dtype)}`);
    const result = await withTask(io.progress, 'convert', undefined, 'tensors', (task) => convertCheckpoint(input, output, {
      medConfigPath: stringOption(args, 'med-config'),
      vitConfigPath: stringOption(args, 'vit-config'),
      dtype,
      onProgress: (done, total) => { task.setTotal(total); task.update(done); },
    }));
    if (result.extraKeys.length > 0) {
      io.err(`convert: ${result.extraKeys.length} checkpoint key(s) not used by the model were skipped: ${result.extraKeys.join(', ')}`);
    }
    if (flagOption(args, 'json')) io.out(JSON.stringify({ input, ...result }));
    else io.out(`wrote ${result.tensors} tensors (${result.dtype}, ${result.bytes} bytes) to ${result.outPath}`);
    return 0;
  },
};
