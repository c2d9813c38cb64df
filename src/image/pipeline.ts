/**
 * ImageReward's `_transform(size)` on a decoded image: Resize(size, BICUBIC) -> CenterCrop(size) ->
 * convert('RGB') -> ToTensor -> Normalize(CLIP mean/std), bit-exact with torchvision 0.14 + Pillow 9.4.
 * No I/O and no Node APIs: usable wherever tfjs runs.
 */
import { toRgb } from './convert.js';
import { resizeLikePillow, type ResampleUsed } from './resize.js';
import { centerCropBox, normalizeToChw, resizedSize } from './transforms.js';
import type { DecodedImage, PixelDecoder } from './types.js';

/** The uint8 stage: Resize -> CenterCrop -> convert('RGB'), HWC, before ToTensor. */
export interface CroppedRgb {
  rgb: Uint8Array;
  /** [w, h] after Resize. */
  resizedSize: [number, number];
  /** [left, top, right, bottom] of the crop in the resized image. */
  cropBox: [number, number, number, number];
  resample: ResampleUsed;
}

export interface PreprocessedImage {
  /** NCHW [1, 3, size, size], normalised float32. */
  pixels: Float32Array;
  shape: [1, 3, number, number];
  /** File path, or '<bytes>' / '<raw>'. */
  source: string;
  format: 'png' | 'jpeg' | 'webp' | 'raw';
  /** Which code produced the pixels: 'native' (sharp), 'wasm', 'js' (PNG), 'none' (raw input). */
  decoder: PixelDecoder;
  /** Pillow mode as opened: 'RGB', 'RGBA', 'L', 'LA', 'P', '1', 'I', 'CMYK'. */
  mode: string;
  /** As decoded. */
  width: number;
  height: number;
  /** [w, h] after Resize (equal to width/height when no resize happened). */
  resizedSize: [number, number];
  /** [left, top, right, bottom] as in images.json. */
  cropBox: [number, number, number, number];
  resample: ResampleUsed;
}

/**
 * Resize (Pillow, torchvision size rule) -> center crop -> convert('RGB') of a decoded image. Only the
 * crop is resized (the same bytes: see resample.ts), so a 20000x1 image costs a 224x224 output, not
 * its 4480000x224 resize.
 */
export function resizeCropRgb(image: DecodedImage, size = 224, source = '<image>'): CroppedRgb {
  const [rw, rh] = resizedSize(image.width, image.height, size);
  const cropBox = centerCropBox(rw, rh, size);
  const { image: cropped, resample } = resizeLikePillow(image, rw, rh, cropBox, source);
  return { rgb: toRgb(cropped), resizedSize: [rw, rh], cropBox, resample };
}

/** The whole transform on a decoded image; `source` is carried into the result. */
export function preprocessDecoded(image: DecodedImage, source: string, size = 224): PreprocessedImage {
  const { rgb, resizedSize: resized, cropBox, resample } = resizeCropRgb(image, size, source);
  return {
    pixels: normalizeToChw(rgb, size, size),
    shape: [1, 3, size, size],
    source,
    format: image.format,
    decoder: image.decoder,
    mode: image.mode,
    width: image.width,
    height: image.height,
    resizedSize: resized,
    cropBox,
    resample,
  };
}
