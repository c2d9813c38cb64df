/**
 * The image pipeline of ImageReward, bit-exact with upstream's torchvision + Pillow 9.4 preprocessing:
 * Image.open -> Resize(size, BICUBIC) -> CenterCrop(size) -> convert('RGB') -> ToTensor -> Normalize.
 * Tensor-free: it returns a Float32Array the caller hands to tfjs. (This entry point reads files with
 * node:fs; in a browser use decode.ts + pipeline.ts directly.)
 */
import { InputError } from '../errors.js';
import { readFileChecked } from '../util/fs.js';
import { decodeImage } from './decode.js';
import { preprocessDecoded, type PreprocessedImage } from './pipeline.js';
import { rawToDecoded, type RawImage } from './raw.js';

export { decodeImage } from './decode.js';
export { ImageError } from './errors.js';
export { SUPPORTED_FORMATS } from './format.js';
export { MAX_IMAGE_PIXELS } from './limits.js';
export { preprocessDecoded, resizeCropRgb, type CroppedRgb, type PreprocessedImage } from './pipeline.js';
export type { RawImage } from './raw.js';
export type { ResampleUsed } from './resize.js';
export { CLIP_MEAN, CLIP_STD } from './transforms.js';
export type { DecodedImage, EncodedFormat, PillowMode } from './types.js';

/** A file path, encoded PNG / JPEG / WebP bytes (a Buffer is fine), or raw RGB / RGBA pixels. */
export type ImageInput = string | Uint8Array | RawImage;

export interface PreprocessOptions {
  /** Output side; ImageReward uses 224. */
  size?: number;
}

/**
 * Preprocesses one image exactly as ImageReward's `_transform(size)` does on `Image.open(...)`.
 * Errors: ImageError (IMAGE_INVALID / IMAGE_UNSUPPORTED, naming the file), FileError (unreadable
 * path), InputError (bad size option).
 */
export async function preprocessImage(input: ImageInput, opts: PreprocessOptions = {}): Promise<PreprocessedImage> {
  const size = opts.size ?? 224;
  if (!Number.isInteger(size) || size <= 0) throw new InputError(`preprocessImage: size must be a positive integer, got ${size}`);
  if (typeof input === 'string') return preprocessDecoded(await decodeImage(await readFileChecked(input, 'image'), input), input, size);
  if (input instanceof Uint8Array) return preprocessDecoded(await decodeImage(input, '<bytes>'), '<bytes>', size);
  return preprocessDecoded(rawToDecoded(input), '<raw>', size);
}
