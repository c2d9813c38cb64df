/**
 * What the API accepts as an image, and how each becomes NCHW float32 pixels: a file path, encoded
 * bytes (PNG/JPEG/WebP) or decoded raw pixels go through the upstream preprocessing
 * (src/image); a tf.Tensor is taken as already preprocessed ([1,3,S,S] or [3,S,S], float32,
 * finite). Each input also gets an identity key, so an image given twice is encoded once.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors.js';
import { preprocessImage, type ImageSource, type JpegWebpDecoder } from '../image/index.js';
import type { LoadedImage } from './core.js';

/** What src/image preprocesses (path, encoded bytes, raw pixels), or an already preprocessed tensor. */
export type ImageInput = ImageSource | tf.Tensor;

const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;

function objectKey(o: object): string {
  let id = objectIds.get(o);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(o, id);
  }
  return `object:${id}`;
}

/** Equal keys mean the same image: same resolved path, same bytes, or the same object. */
export function imageKey(input: ImageInput): string {
  if (typeof input === 'string') return `path:${resolve(input)}`;
  if (input instanceof Uint8Array) return `bytes:${createHash('sha1').update(input).digest('hex')}`;
  return objectKey(input);
}

function describe(input: ImageInput, index: number): string {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array) return `image ${index} (${input.length} bytes)`;
  if (input instanceof tf.Tensor) return `image ${index} (tensor ${JSON.stringify(input.shape)})`;
  return `image ${index} (raw pixels)`;
}

async function tensorPixels(t: tf.Tensor, size: number, label: string): Promise<Float32Array> {
  const shape = t.shape;
  const chw = shape.length === 4 && shape[0] === 1 ? shape.slice(1) : shape;
  if (t.isDisposed) throw new InputError(`${label}: the tensor is disposed`);
  if (chw.length !== 3 || chw[0] !== 3 || chw[1] !== size || chw[2] !== size) {
    throw new InputError(`${label}: a preprocessed image must be a tensor of shape [1,3,${size},${size}] or [3,${size},${size}], got ${JSON.stringify(shape)}`);
  }
  if (t.dtype !== 'float32') throw new InputError(`${label}: a preprocessed image tensor must be float32, got ${t.dtype}`);
  const data = (await t.data()) as Float32Array;
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new InputError(`${label}: tensor value ${data[bad]} at flat index ${bad} is not finite`);
  return Float32Array.from(data);
}

function isImageInput(x: unknown): x is ImageInput {
  if (typeof x === 'string' || x instanceof Uint8Array || x instanceof tf.Tensor) return true;
  return typeof x === 'object' && x !== null && 'width' in x && 'height' in x && 'data' in x;
}

/** Checks the input's type before any work, naming its position. */
export function checkImageInput(x: unknown, index: number): asserts x is ImageInput {
  if (!isImageInput(x)) {
    throw new InputError(`image ${index}: expected a file path, encoded bytes (Uint8Array), raw pixels or a tf.Tensor, got ${x === null ? 'null' : typeof x}`);
  }
  if (typeof x === 'string' && x.length === 0) throw new InputError(`image ${index}: the path is empty`);
}

/** Preprocesses one input to CHW pixels of `size` x `size`; JPEG / WebP go through `decoder`. */
export async function loadImage(input: ImageInput, size: number, index: number, decoder: JpegWebpDecoder): Promise<LoadedImage> {
  const label = describe(input, index);
  if (input instanceof tf.Tensor) return { pixels: await tensorPixels(input, size, label), label };
  const pre = await preprocessImage(input, { size, decoder });
  return { pixels: pre.pixels, label };
}
