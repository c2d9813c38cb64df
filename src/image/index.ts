/**
 * The image pipeline of ImageReward, bit-exact with upstream's torchvision + Pillow 9.4 preprocessing:
 * Image.open -> Resize(size, BICUBIC) -> CenterCrop(size) -> convert('RGB') -> ToTensor -> Normalize.
 * Tensor-free: it returns a Float32Array the caller hands to tfjs.
 */
import { InputError } from '../errors.js';
import { readFileChecked } from '../util/fs.js';
import { toRgb } from './convert.js';
import { decodeImage } from './decode.js';
import { checkImageSize } from './limits.js';
import { resizeLikePillow, type ResampleUsed } from './resize.js';
import { centerCropBox, cropInterleaved, normalizeToChw, resizedSize } from './transforms.js';
import { MODE_BANDS, type DecodedImage } from './types.js';
import { invalidImage } from './errors.js';

export { decodeImage } from './decode.js';
export { ImageError } from './errors.js';
export { SUPPORTED_FORMATS } from './format.js';
export { MAX_IMAGE_PIXELS } from './limits.js';
export { CLIP_MEAN, CLIP_STD } from './transforms.js';
export type { DecodedImage, EncodedFormat, PillowMode } from './types.js';

/** Raw pixels, row-major, `channels` bytes per pixel (4 = RGBA, treated as Pillow treats RGBA). */
export interface RawImage { data: Uint8Array | Uint8ClampedArray; width: number; height: number; channels: 3 | 4 }

export type ImageInput = string | Uint8Array | RawImage;

export interface PreprocessedImage {
  /** NCHW [1, 3, size, size], normalised float32. */
  pixels: Float32Array;
  shape: [1, 3, number, number];
  /** File path, or '<bytes>' / '<raw>'. */
  source: string;
  format: 'png' | 'jpeg' | 'webp' | 'raw';
  /** Pillow mode as opened: 'RGB', 'RGBA', 'L', 'LA', 'P', '1', 'I'. */
  mode: string;
  /** As decoded. */
  width: number;
  height: number;
  /** [w, h] after Resize (equal to width/height when no resize happened). */
  resizedSize: [number, number];
  /** [left, top, right, bottom] of the center crop in the resized image. */
  cropBox: [number, number, number, number];
  resample: ResampleUsed;
}

export interface PreprocessOptions {
  /** Output side; ImageReward uses 224. */
  size?: number;
}

function rawToDecoded(raw: RawImage): DecodedImage {
  const source = '<raw>';
  if (raw.channels !== 3 && raw.channels !== 4) throw invalidImage(source, `raw pixels must have 3 (RGB) or 4 (RGBA) channels, got ${String(raw.channels)}`);
  checkImageSize(raw.width, raw.height, source);
  const expected = raw.width * raw.height * raw.channels;
  if (raw.data.length !== expected) {
    throw invalidImage(source, `raw pixels: ${raw.data.length} bytes for ${raw.width}x${raw.height}x${raw.channels}, expected ${expected}`);
  }
  const data = new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.length);
  return { mode: raw.channels === 4 ? 'RGBA' : 'RGB', width: raw.width, height: raw.height, data, format: 'raw' };
}

async function decodeInput(input: ImageInput): Promise<{ image: DecodedImage; source: string }> {
  if (typeof input === 'string') return { image: await decodeImage(await readFileChecked(input, 'image'), input), source: input };
  if (input instanceof Uint8Array) return { image: await decodeImage(input, '<bytes>'), source: '<bytes>' };
  return { image: rawToDecoded(input), source: '<raw>' };
}

/** The uint8 stage: Resize -> CenterCrop -> convert('RGB'), HWC, before ToTensor. */
export interface CroppedRgb {
  rgb: Uint8Array;
  resizedSize: [number, number];
  cropBox: [number, number, number, number];
  resample: ResampleUsed;
}

/** Resize (Pillow, torchvision size rule) -> center crop -> convert('RGB') of a decoded image. */
export function resizeCropRgb(image: DecodedImage, size = 224): CroppedRgb {
  const [rw, rh] = resizedSize(image.width, image.height, size);
  const { image: resized, resample } = resizeLikePillow(image, rw, rh);
  const cropBox = centerCropBox(rw, rh, size);
  const cropped: DecodedImage = { ...resized, width: size, height: size, data: cropInterleaved(resized.data, rw, MODE_BANDS[resized.mode], cropBox) };
  return { rgb: toRgb(cropped), resizedSize: [rw, rh], cropBox, resample };
}

/** Resize -> center crop -> RGB -> normalise, on an already decoded image. */
export function preprocessDecoded(image: DecodedImage, source: string, size = 224): PreprocessedImage {
  const { rgb, resizedSize: rs, cropBox, resample } = resizeCropRgb(image, size);
  return {
    pixels: normalizeToChw(rgb, size, size),
    shape: [1, 3, size, size],
    source,
    format: image.format,
    mode: image.mode,
    width: image.width,
    height: image.height,
    resizedSize: rs,
    cropBox,
    resample,
  };
}

/**
 * Preprocesses a file path, encoded PNG/JPEG/WebP bytes, or raw RGB/RGBA pixels exactly as
 * ImageReward's `_transform(size)` does on `Image.open(...)`. Errors: ImageError (bad image),
 * FileError (unreadable path), InputError (bad size option).
 */
export async function preprocessImage(input: ImageInput, opts: PreprocessOptions = {}): Promise<PreprocessedImage> {
  const size = opts.size ?? 224;
  if (!Number.isInteger(size) || size <= 0) throw new InputError(`preprocessImage: size must be a positive integer, got ${size}`);
  const { image, source } = await decodeInput(input);
  return preprocessDecoded(image, source, size);
}
