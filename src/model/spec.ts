/**
 * The parameter tree, declared once per module (vit.ts vitSpec, bert.ts bertSpec, head.ts headSpec):
 * each leaf names its checkpoint key, its stored shape (from the config) and its layout. From one
 * declaration come the checkpoint keys with shapes (what loading and converting validate against,
 * fitKeys), the one layout step from stored to used tensors (toUseLayout), and the typed parameter
 * object the forward reads (Spec.build), so a config that changes the tree (qkv_bias, depth, widths,
 * head layers) changes it in one place.
 */
import type * as tf from '@tensorflow/tfjs';
import { WeightsError } from '../errors.js';

/**
 * How a stored tensor becomes the one the ops use. `linear`: nn.Linear weight stored [out, in], used
 * [in, out] (ops/linear.ts); `conv`: the patch Conv2d weight stored [E, C, p, p], used as the tfjs
 * filter [p, p, C, E] (ops/patchEmbed.ts); `plain`: used as stored.
 */
export type Layout = 'linear' | 'conv' | 'plain';

export interface KeySpec {
  readonly key: string;
  /** The shape in the checkpoint. */
  readonly shape: readonly number[];
  readonly layout: Layout;
  /** The forward needs it: a file without it does not load. */
  readonly required: boolean;
  /** Uploaded when present. Not so for the projections: validated when present, unused by the reward. */
  readonly uploaded: boolean;
  /** Integer buffers (position_ids) are I64; everything else is floating point. */
  readonly integer?: boolean;
}

/** A declared part of the tree: its keys (checkpoint order) and its typed params from uploaded tensors. */
export interface Spec<T> {
  readonly keys: readonly KeySpec[];
  build(tensors: ReadonlyMap<string, tf.Tensor>): T;
}

export type ParamsOf<S> = S extends Spec<infer T> ? T : never;

function uploaded(tensors: ReadonlyMap<string, tf.Tensor>, key: string): tf.Tensor {
  const t = tensors.get(key);
  if (!t) throw new WeightsError(`weight ${key} was not loaded`);
  return t;
}

/** A required tensor. */
export function param<T extends tf.Tensor>(key: string, shape: readonly number[], layout: Layout = 'plain'): Spec<T> {
  return { keys: [{ key, shape, layout, required: true, uploaded: true }], build: (t) => uploaded(t, key) as T };
}

/** An integer buffer the forward uses when the checkpoint has it (BertEmbeddings.position_ids). */
export function optionalIntegerBuffer<T extends tf.Tensor>(key: string, shape: readonly number[]): Spec<T | undefined> {
  return { keys: [{ key, shape, layout: 'plain', required: false, uploaded: true, integer: true }], build: (t) => t.get(key) as T | undefined };
}

export interface LinearParams {
  /** [in, out] */
  readonly weight: tf.Tensor2D;
  /** [out]; absent for a Linear built with bias=False (vit.py Attention qkv with qkv_bias=False). */
  readonly bias: tf.Tensor1D | undefined;
}

export interface NormParams {
  readonly weight: tf.Tensor1D;
  readonly bias: tf.Tensor1D;
}

/** nn.Linear(inp, out, bias): `${prefix}.weight` [out, in] (used [in, out]) and `${prefix}.bias` [out]. */
export function linear(prefix: string, out: number, inp: number, bias = true): Spec<LinearParams> {
  const weight = param<tf.Tensor2D>(`${prefix}.weight`, [out, inp], 'linear');
  const b = bias ? param<tf.Tensor1D>(`${prefix}.bias`, [out]) : undefined;
  return { keys: [...weight.keys, ...(b?.keys ?? [])], build: (t) => ({ weight: weight.build(t), bias: b?.build(t) }) };
}

/** nn.LayerNorm(dim). */
export function norm(prefix: string, dim: number): Spec<NormParams> {
  return struct({ weight: param<tf.Tensor1D>(`${prefix}.weight`, [dim]), bias: param<tf.Tensor1D>(`${prefix}.bias`, [dim]) });
}

/** A Linear the checkpoint has but the reward does not use (blip.vision_proj / text_proj): checked when present. */
export function unusedLinear(prefix: string, out: number, inp: number): Spec<void> {
  const keys = linear(prefix, out, inp).keys.map((k) => ({ ...k, required: false, uploaded: false }));
  return { keys, build: () => undefined };
}

/** Named parts, their keys in field order. */
export function struct<F extends Record<string, Spec<unknown>>>(fields: F): Spec<{ readonly [K in keyof F]: ParamsOf<F[K]> }> {
  const parts = Object.entries(fields);
  return {
    keys: parts.flatMap(([, s]) => s.keys),
    build: (t) => Object.fromEntries(parts.map(([name, s]) => [name, s.build(t)])) as { readonly [K in keyof F]: ParamsOf<F[K]> },
  };
}

/** n parts (blocks, layers), their keys in index order. */
export function list<T>(n: number, part: (i: number) => Spec<T>): Spec<readonly T[]> {
  const parts = Array.from({ length: n }, (_, i) => part(i));
  return { keys: parts.flatMap((s) => s.keys), build: (t) => parts.map((s) => s.build(t)) };
}

/** The one place stored layouts become used ones (see Layout). */
export function toUseLayout(spec: KeySpec, values: Float32Array): { data: Float32Array; shape: number[] } {
  if (spec.layout === 'conv') {
    const [e, c, p, q] = spec.shape as [number, number, number, number];
    const out = new Float32Array(values.length);
    for (let oe = 0; oe < e; oe++) {
      for (let ic = 0; ic < c; ic++) {
        for (let y = 0; y < p; y++) {
          for (let x = 0; x < q; x++) out[((y * q + x) * c + ic) * e + oe] = values[((oe * c + ic) * p + y) * q + x]!;
        }
      }
    }
    return { data: out, shape: [p, q, c, e] };
  }
  if (spec.layout === 'linear') {
    const [rows, cols] = spec.shape as [number, number];
    return { data: transpose2d(values, rows, cols), shape: [cols, rows] };
  }
  return { data: values, shape: [...spec.shape] };
}

/** The inverse of toUseLayout for `linear` and `plain` (what a head file stores). */
export function toStoredLayout(spec: KeySpec, values: Float32Array): Float32Array {
  if (spec.layout === 'conv') throw new RangeError(`toStoredLayout: ${spec.key} has the conv layout`);
  if (spec.layout === 'linear') {
    const [rows, cols] = spec.shape as [number, number];
    return transpose2d(values, cols, rows);
  }
  return values;
}

/** A row-major [rows, cols] matrix transposed to [cols, rows]. */
function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    const rowStart = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = values[rowStart + c]!;
  }
  return out;
}

/** The dtypes a reader accepts for floating-point tensors and for integer buffers. */
export interface AcceptedDtypes { readonly float: readonly string[]; readonly integer: readonly string[] }

/** How a file's tensor list fits a key spec: names, dtypes and shapes only (no value is read). */
export interface KeyFit {
  /** Specs whose tensor is present with the expected shape and kind of dtype, in spec order. */
  readonly usable: KeySpec[];
  /** Required keys the file lacks. */
  readonly missing: string[];
  /** "key [1, 1, 64], expected [1, 1, 1024]" */
  readonly misShaped: string[];
  /** "key is I64, expected F32, F16 or BF16" */
  readonly badDtype: string[];
  /** Names in the file that no spec knows, in file order. */
  readonly unexpected: string[];
}

/** Matches a file's tensors (`names`, `info`) against `specs`: the one structural check of loading and converting. */
export function fitKeys(
  specs: readonly KeySpec[], names: readonly string[],
  info: (name: string) => { readonly dtype: string; readonly shape: readonly number[] }, accepted: AcceptedDtypes,
): KeyFit {
  const present = new Set(names);
  const fit = { usable: [] as KeySpec[], missing: [] as string[], misShaped: [] as string[], badDtype: [] as string[] };
  for (const spec of specs) {
    if (!present.has(spec.key)) {
      if (spec.required) fit.missing.push(spec.key);
      continue;
    }
    const { dtype, shape } = info(spec.key);
    const allowed = spec.integer ? accepted.integer : accepted.float;
    const dtypeOk = allowed.includes(dtype);
    if (!dtypeOk) fit.badDtype.push(`${spec.key} is ${dtype}, expected ${allowed.join(', ').replace(/, ([^,]+)$/, ' or $1')}`);
    const shapeOk = shape.length === spec.shape.length && shape.every((d, i) => d === spec.shape[i]);
    if (!shapeOk) fit.misShaped.push(`${spec.key} [${shape.join(', ')}], expected [${spec.shape.join(', ')}]`);
    if (dtypeOk && shapeOk) fit.usable.push(spec);
  }
  const known = new Set(specs.map((s) => s.key));
  return { ...fit, unexpected: names.filter((n) => !known.has(n)) };
}
