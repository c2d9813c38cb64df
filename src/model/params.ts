/** Typed views of uploaded weights. Weights of Linear layers are [in, out] (see weights.ts sanitizeLayout). */
import type * as tf from '@tensorflow/tfjs';
import { WeightsError } from '../errors.js';

export interface LinearParams {
  /** [in, out] */
  readonly weight: tf.Tensor2D;
  readonly bias: tf.Tensor1D;
}

export interface NormParams {
  readonly weight: tf.Tensor1D;
  readonly bias: tf.Tensor1D;
}

/** Looks a tensor up by its full checkpoint key. */
export type ParamGetter = (key: string) => tf.Tensor;

export function getterOf(tensors: ReadonlyMap<string, tf.Tensor>): ParamGetter {
  return (key) => {
    const t = tensors.get(key);
    if (!t) throw new WeightsError(`weight ${key} was not loaded`);
    return t;
  };
}

export function linearParams(get: ParamGetter, prefix: string): LinearParams {
  return { weight: get(`${prefix}.weight`) as tf.Tensor2D, bias: get(`${prefix}.bias`) as tf.Tensor1D };
}

export function normParams(get: ParamGetter, prefix: string): NormParams {
  return { weight: get(`${prefix}.weight`) as tf.Tensor1D, bias: get(`${prefix}.bias`) as tf.Tensor1D };
}

/** Receives named intermediate tensors during a forward; it must keep what it wants (tf.keep). */
export type Recorder = (name: string, t: tf.Tensor) => void;
