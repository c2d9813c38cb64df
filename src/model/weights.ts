/**
 * Loads ImageReward weights by checkpoint key and validates them against a parameter spec:
 * every required key present with its exact shape and a floating dtype (integer buffers: I64/I32),
 * every value finite. All problems are collected into ONE WeightsError; keys the model does not
 * know are reported (never silently dropped). Tensors are read one at a time, widened to float32
 * (F16/BF16), put into the layout the ops want (toUseLayout) and uploaded, so a 1.8 GB file is
 * never held twice in JS memory. Nothing is uploaded unless the names, shapes and dtypes all fit;
 * a failure leaves no tensor behind.
 */
import * as tf from '@tensorflow/tfjs';
import { WeightsError } from '../errors.js';
import { widenToFloat32 } from '../weights/dtype.js';
import type { TensorData } from '../weights/safetensors.js';
import { fitKeys, toUseLayout, type AcceptedDtypes, type Spec } from './spec.js';
import type { ImageRewardConfig } from './config.js';
import type { WeightSource } from '../weights/source.js';

export type { WeightSource } from '../weights/source.js';

export interface LoadOptions {
  /** Called once with the keys the model does not use or know (sorted), when there are any. */
  readonly onUnexpectedKeys?: (keys: string[]) => void;
}

export interface LoadedWeights<T> {
  /** The typed parameters (built from `tensors`). */
  readonly params: T;
  /** Uploaded tensors by checkpoint key, in the layout of toUseLayout. */
  readonly tensors: Map<string, tf.Tensor>;
  /** Keys present in the source that no KeySpec names. */
  readonly unexpectedKeys: readonly string[];
}

/** A source over tensors already in memory (tests, converters). */
export function mapSource(tensors: ReadonlyMap<string, TensorData>, source = '<memory>'): WeightSource {
  const get = (name: string): TensorData => {
    const t = tensors.get(name);
    if (!t) throw new WeightsError(`${source}: no tensor named ${name}`);
    return t;
  };
  return { source, names: [...tensors.keys()], info: get, read: get };
}

/** What the safetensors reader can widen: F16 / BF16 become float32, I32 / I64 position ids int32. */
const ACCEPTED_DTYPES: AcceptedDtypes = { float: ['F32', 'F16', 'BF16'], integer: ['I64', 'I32'] };

/**
 * Keys listed in an error's details: the first MAX_LISTED, then how many more. Every key of a real
 * checkpoint (ImageReward-v1.0 has about 900), yet bounded: a config with 10,000 layers misses 320,000.
 */
const MAX_LISTED = 1000;
function listed(items: readonly string[]): string {
  return `${items.slice(0, MAX_LISTED).join('\n  ')}${items.length > MAX_LISTED ? `\n  ... (${items.length - MAX_LISTED} more)` : ''}`;
}

export function loadWeights<T>(source: WeightSource, spec: Spec<T>, config: ImageRewardConfig, opts: LoadOptions = {}): LoadedWeights<T> {
  const where = source.source ?? '<weights>';
  const { usable: readable, missing, misShaped, badDtype, unexpected } = fitKeys(spec.keys, source.names, (n) => source.info(n), ACCEPTED_DTYPES);
  const badValues: string[] = [];

  const tensors = new Map<string, tf.Tensor>();
  const structurallyOk = missing.length + misShaped.length + badDtype.length === 0;
  try {
    for (const spec of readable) {
      const raw = source.read(spec.key);
      if (spec.integer) {
        const ids = toInt32(raw);
        const outOfRange = ids.findIndex((id) => id < 0 || id >= config.med.maxPositionEmbeddings);
        if (outOfRange >= 0) badValues.push(`${spec.key}: value ${ids[outOfRange]} at flat index ${outOfRange} is not a position in [0, ${config.med.maxPositionEmbeddings})`);
        else if (spec.uploaded && structurallyOk) tensors.set(spec.key, tf.tensor(ids, spec.shape as number[], 'int32'));
        continue;
      }
      const values = widenToFloat32(raw.dtype, raw.data);
      const bad = firstNonFinite(values);
      if (bad) badValues.push(`${spec.key}: ${bad.count} non-finite value(s), first ${bad.value} at flat index ${bad.index}`);
      if (!spec.uploaded || !structurallyOk || badValues.length > 0) continue;
      const { data, shape } = toUseLayout(spec, values);
      tensors.set(spec.key, tf.tensor(data, shape as number[], 'float32'));
    }
  } catch (err) {
    disposeAll(tensors);
    throw err;
  }

  if (!structurallyOk || badValues.length > 0) {
    disposeAll(tensors);
    const groups: [string, string[]][] = [
      ['missing key(s)', missing], ['mis-shaped key(s)', misShaped], ['key(s) with a wrong dtype', badDtype],
      ['key(s) with bad values (NaN/Inf, positions out of range)', badValues],
    ];
    const found = groups.filter(([, list]) => list.length > 0);
    const counts = found.map(([what, list]) => `${list.length} ${what}`).join(', ');
    const first = found[0]![1][0]!;
    throw new WeightsError(`${where}: weights do not fit the ImageReward config: ${counts} (first: ${first})`, {
      details: found.map(([what, list]) => `${list.length} ${what}:\n  ${listed(list)}`).join('\n'),
    });
  }

  const unexpectedKeys = [...unexpected].sort();
  let params: T;
  try {
    params = spec.build(tensors);
  } catch (err) {
    disposeAll(tensors);
    throw err;
  }
  if (unexpectedKeys.length > 0) opts.onUnexpectedKeys?.(unexpectedKeys);
  return { params, tensors, unexpectedKeys };
}

function toInt32(raw: TensorData): Int32Array {
  if (raw.data instanceof Int32Array) return raw.data;
  if (raw.data instanceof BigInt64Array) {
    const out = new Int32Array(raw.data.length);
    for (let i = 0; i < out.length; i++) out[i] = Number(raw.data[i]!);
    return out;
  }
  throw new WeightsError(`integer buffer stored as ${raw.dtype}`);
}

function firstNonFinite(values: Float32Array): { index: number; value: number; count: number } | undefined {
  let first = -1;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      if (first < 0) first = i;
      count++;
    }
  }
  return first < 0 ? undefined : { index: first, value: values[first]!, count };
}

function disposeAll(tensors: Map<string, tf.Tensor>): void {
  for (const t of tensors.values()) t.dispose();
  tensors.clear();
}
