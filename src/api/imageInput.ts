/**
 * What the API accepts as an image, and how each becomes NCHW float32 pixels: a file path (or a
 * `file:` URL), encoded bytes (PNG/JPEG/WebP, as a Uint8Array / Buffer or an ArrayBuffer) or
 * decoded raw pixels go through the upstream preprocessing
 * (src/image); a tf.Tensor is taken as already preprocessed ([1,3,S,S] or [3,S,S], float32,
 * finite). Each input also gets an identity key, so an image given twice is encoded once.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors.js';
import { preprocessImage, type ImageSource, type JpegWebpDecoder } from '../image/index.js';
import type { LoadedImage } from './core.js';

/** What src/image preprocesses (path, encoded bytes, raw pixels), its aliases (a file: URL, an ArrayBuffer), or an already preprocessed tensor. */
export type ImageInput = ImageSource | URL | ArrayBuffer | tf.Tensor;

/** An input with its aliases resolved: a `file:` URL is its path, an ArrayBuffer a Uint8Array over it. */
type PlainInput = ImageSource | tf.Tensor;

function plain(input: ImageInput): PlainInput {
  if (input instanceof URL) return fileURLToPath(input);
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  return input;
}

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
export function imageKey(image: ImageInput): string {
  const input = plain(image);
  if (typeof input === 'string') return `path:${resolve(input)}`;
  if (input instanceof Uint8Array) return `bytes:${createHash('sha1').update(input).digest('hex')}`;
  return objectKey(input);
}

function describe(input: PlainInput, index: number): string {
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
  if (typeof x === 'string' || x instanceof URL || x instanceof Uint8Array || x instanceof ArrayBuffer || x instanceof tf.Tensor) return true;
  return typeof x === 'object' && x !== null && 'width' in x && 'height' in x && 'data' in x;
}

/** What a value that is no image input is, for the error: `a Float32Array`, `null`, `a number`. */
function kindOf(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x !== 'object') return `a ${typeof x}`;
  const name = (x as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== 'Object' ? `a ${name}` : 'an object without width, height and data';
}

const ACCEPTED = 'a file path or file: URL, encoded PNG/JPEG/WebP bytes (Uint8Array, Buffer or ArrayBuffer), raw pixels {width, height, data} or a preprocessed tf.Tensor';

/** Checks the input's type before any work, naming its position. */
export function checkImageInput(x: unknown, index: number): asserts x is ImageInput {
  if (!isImageInput(x)) throw new InputError(`image ${index}: expected ${ACCEPTED}, got ${kindOf(x)}`);
  if (typeof x === 'string' && x.length === 0) throw new InputError(`image ${index}: the path is empty`);
  if (x instanceof URL && x.protocol !== 'file:') {
    throw new InputError(`image ${index}: ${x.href} is a ${x.protocol.replace(/:$/, '')} URL; only file: URLs are read (fetch it yourself and pass the bytes as a Uint8Array)`);
  }
}

/** Preprocesses one input to CHW pixels of `size` x `size`; JPEG / WebP go through `decoder`. */
export async function loadImage(image: ImageInput, size: number, index: number, decoder: JpegWebpDecoder): Promise<LoadedImage> {
  const input = plain(image);
  const label = describe(input, index);
  if (input instanceof tf.Tensor) return { pixels: await tensorPixels(input, size, label), label };
  const pre = await preprocessImage(input, { size, decoder });
  return { pixels: pre.pixels, label };
}
