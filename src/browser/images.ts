/**
 * Images in the browser: encoded bytes (Uint8Array, PNG / JPEG / WebP), a URL string (fetched),
 * a Blob (a File from a file input or a drop), or raw pixels ({ width, height, data } RGBA, an
 * ImageData as is, or RGB with `channels: 3`). Each goes through the same pipeline as in Node
 * (src/image/decode.ts + pipeline.ts, bit-exact with Pillow); JPEG / WebP through the wasm decoders.
 */
import { InputError } from '../errors.js';
import { decodeImage } from '../image/decode.js';
import { preprocessDecoded } from '../image/pipeline.js';
import { rawToDecoded, type RawImage } from '../image/raw.js';
import type { ImageHandler, LoadedImage } from '../api/core.js';
import { absoluteUrl, fetchBytes, type ProgressCallback } from './fetchProgress.js';

/** Raw pixels: RGBA unless `channels` says 3 (an ImageData fits as is). */
export interface RawPixels {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly channels?: 3 | 4;
}

/** Largest encoded image fetched or read: far above any real photo, low enough to fail before the tab does. */
const MAX_IMAGE_BYTES = 2 ** 28;

export type BrowserImageInput = Uint8Array | string | Blob | RawPixels;

function isRaw(x: unknown): x is RawPixels {
  return typeof x === 'object' && x !== null && 'width' in x && 'height' in x && 'data' in x;
}

const objectIds = new WeakMap<object, number>();
let nextId = 0;

function objectKey(o: object): string {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = nextId++));
  return `object:${id}`;
}

function describe(input: BrowserImageInput, index: number): string {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array) return `image ${index} (${input.length} bytes)`;
  if (input instanceof Blob) return `image ${index} (${'name' in input ? `${(input as File).name}, ` : ''}${input.size} bytes)`;
  return `image ${index} (raw pixels)`;
}

async function bytesOf(input: Uint8Array | string | Blob, label: string, onProgress?: ProgressCallback): Promise<Uint8Array> {
  if (input instanceof Uint8Array) return input;
  if (typeof input === 'string') return fetchBytes(absoluteUrl(input), 'image', MAX_IMAGE_BYTES, onProgress);
  if (input.size > MAX_IMAGE_BYTES) throw new InputError(`${label}: ${input.size} bytes is more than an image may have (${MAX_IMAGE_BYTES})`);
  return new Uint8Array(await input.arrayBuffer());
}

export function browserImages(onProgress?: ProgressCallback): ImageHandler<BrowserImageInput> {
  return {
    check(x: unknown, index: number): asserts x is BrowserImageInput {
      const ok = typeof x === 'string' || x instanceof Uint8Array || x instanceof Blob || isRaw(x);
      if (!ok) throw new InputError(`image ${index}: expected encoded bytes (Uint8Array), a URL string, a Blob or raw RGBA pixels, got ${x === null ? 'null' : typeof x}`);
      if (typeof x === 'string' && x.length === 0) throw new InputError(`image ${index}: the URL is empty`);
    },
    key(input) {
      return typeof input === 'string' ? `url:${absoluteUrl(input)}` : objectKey(input);
    },
    async load(input, size, index): Promise<LoadedImage> {
      const label = describe(input, index);
      if (isRaw(input)) {
        const raw: RawImage = { data: input.data, width: input.width, height: input.height, channels: input.channels ?? 4 };
        return { pixels: preprocessDecoded(rawToDecoded(raw), label, size).pixels, label };
      }
      const decoded = await decodeImage(await bytesOf(input, label, onProgress), label, { decoder: 'wasm' });
      return { pixels: preprocessDecoded(decoded, label, size).pixels, label };
    },
  };
}
