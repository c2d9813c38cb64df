/**
 * The image pipeline of ImageReward, bit-exact with upstream's torchvision + Pillow 9.4 preprocessing:
 * Image.open -> Resize(size, BICUBIC) -> CenterCrop(size) -> convert('RGB') -> ToTensor -> Normalize.
 * Tensor-free: it returns a Float32Array the caller hands to tfjs. (This entry point reads files with
 * node:fs; in a browser use decode.ts + pipeline.ts directly.)
 */
import { InputError } from '../errors.js';
import { readFileChecked } from '../util/fs.js';
import { decodeImage } from './decode.js';
import { resolveImageDecoder } from './decoderChoice.js';
import { preprocessDecoded, type PreprocessedImage } from './pipeline.js';
import { rawToDecoded, type RawImage } from './raw.js';

export { decodeImage, type DecodeOptions } from './decode.js';
export {
  IMAGE_DECODER_ENV, IMAGE_DECODER_NAMES, imageDecoderName, isImageDecoderName, NativeDecoderUnavailableError, resolveImageDecoder,
  type ImageDecoderName, type JpegWebpDecoder,
} from './decoderChoice.js';
export { nativeDecoderStatus, type NativeStatus } from './nativeCodecs.js';
export { ImageError } from './errors.js';
export { SUPPORTED_FORMATS } from './format.js';
export { MAX_IMAGE_PIXELS } from './limits.js';
export { preprocessDecoded, resizeCropRgb, type CroppedRgb, type PreprocessedImage } from './pipeline.js';
export type { RawImage } from './raw.js';
export type { ResampleUsed } from './resize.js';
export { CLIP_MEAN, CLIP_STD } from './transforms.js';
export type { DecodedImage, EncodedFormat, PillowMode, PixelDecoder } from './types.js';

/** A file path, encoded PNG / JPEG / WebP bytes (a Buffer is fine), or raw RGB / RGBA pixels. */
export type ImageSource = string | Uint8Array | RawImage;

export interface PreprocessOptions {
  /** Output side; ImageReward uses 224. */
  size?: number;
  /** JPEG / WebP decoder: 'auto' | 'wasm' | 'native' (see DecodeOptions; default $IMAGEREWARD_IMAGE_DECODER, else 'auto'). */
  decoder?: string;
}

/**
 * Preprocesses one image exactly as ImageReward's `_transform(size)` does on `Image.open(...)`.
 * Errors: ImageError (IMAGE_INVALID / IMAGE_UNSUPPORTED, naming the file), FileError (unreadable
 * path), InputError (bad size or decoder option), BackendError ('native' decoder without sharp).
 */
export async function preprocessImage(input: ImageSource, opts: PreprocessOptions = {}): Promise<PreprocessedImage> {
  const size = opts.size ?? 224;
  if (!Number.isInteger(size) || size <= 0) throw new InputError(`the image size to preprocess to must be a positive integer, got ${size}`);
  // resolved for every input kind (raw pixels included): a bad name or 'native' without sharp always fails
  const decode = { decoder: await resolveImageDecoder(opts.decoder) };
  if (typeof input === 'string') return preprocessDecoded(await decodeImage(await readFileChecked(input, 'image'), input, decode), input, size);
  if (input instanceof Uint8Array) return preprocessDecoded(await decodeImage(input, '<bytes>', decode), '<bytes>', size);
  return preprocessDecoded(rawToDecoded(input), '<raw>', size);
}
