/**
 * `--head file`: a head-only safetensors (`mlp.layers.*`, as written by train-head) replaces the
 * reward head of a base model. The overlay is a WeightSource that answers head keys from the head
 * file and everything else from the base file, so the model loads and validates it as one checkpoint.
 */
import type { ImageRewardConfig } from '../model/config.js';
import type { WeightSource } from '../model/weights.js';
import { headKeySpecs, readHeadFile } from '../model/headFile.js';
import type { SafetensorsReader, TensorData } from '../weights/safetensors.js';

export function headOverlay(base: SafetensorsReader, headPath: string, config: ImageRewardConfig): WeightSource {
  const head = readHeadFile(headPath, config).weights;
  const shapes = new Map(headKeySpecs(config).map((s) => [s.key, s.shape]));
  const shapeOf = (name: string) => shapes.get(name)!;
  return {
    source: `${base.source} + head ${headPath}`,
    names: [...new Set([...base.names, ...head.keys()])],
    info: (name) => (head.has(name) ? { dtype: 'F32', shape: shapeOf(name) } : base.info(name)),
    read: (name): TensorData => {
      const data = head.get(name);
      return data ? { dtype: 'F32', shape: shapeOf(name), data } : base.read(name);
    },
  };
}
