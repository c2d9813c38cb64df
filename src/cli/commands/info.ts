/** `imagereward info --model M`: what a model is (configs, parameter count, stored dtype, backend). */
import { nativeDecoderStatus } from '../../image/index.js';
import { medConfigToJson, vitConfigToJson } from '../../model/config.js';
import { flagOption, type Command } from '../command.js';
import { loadModelFromArgs, MODEL_OPTIONS, MODEL_USAGE } from './modelOptions.js';

const usage = ['usage: imagereward info [--model M] [options]', '', 'Loads the model and describes it.', MODEL_USAGE].join('\n');

export const infoCommand: Command = {
  name: 'info',
  summary: 'describe a model: configs, parameter count, dtype, backend',
  usage,
  options: MODEL_OPTIONS,
  async run(args, io) {
    const model = await loadModelFromArgs(args, io);
    try {
      const d = model.description;
      const native = await nativeDecoderStatus();
      const info = {
        model: d.source.requested,
        origin: d.source.origin,
        weights: d.source.weightsPath,
        vocab: d.source.vocabPath,
        ...(d.head ? { head: d.head } : {}),
        backend: d.backend.name,
        image_decoder: d.imageDecoder,
        native_decoder: native.available ? native.version : `unavailable (${native.reason})`,
        parameters: d.parameterCount,
        dtype: d.storedDtype,
        configSource: d.configOrigin,
        med_config: medConfigToJson(d.config.med),
        vit_config: vitConfigToJson(d.config.vit),
        head_config: d.config.head,
        max_length: d.config.maxLength,
        unexpected_keys: d.unexpectedKeys,
      };
      if (flagOption(args, 'json')) {
        io.out(JSON.stringify(info));
      } else {
        io.out(`model       ${info.model} (${info.origin})`);
        io.out(`weights     ${info.weights} (${info.dtype})`);
        io.out(`vocab       ${info.vocab}`);
        io.out(`backend     ${info.backend}`);
        io.out(`images      JPEG/WebP decoder ${info.image_decoder}; native decoder: ${info.native_decoder}`);
        io.out(`parameters  ${info.parameters.toLocaleString('en-US')}`);
        io.out(`vit         ${JSON.stringify(info.vit_config)} (from ${d.configOrigin.vit})`);
        io.out(`med         ${JSON.stringify(info.med_config)} (from ${d.configOrigin.med})`);
        if (d.unexpectedKeys.length) io.out(`unexpected  ${d.unexpectedKeys.join(', ')}`);
      }
      return 0;
    } finally {
      model.dispose();
    }
  },
};
