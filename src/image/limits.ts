/** Size checks shared by every decoder (and raw input). */
import { invalidImage } from './errors.js';

/**
 * Pillow raises DecompressionBombError above 2 * MAX_IMAGE_PIXELS = 2 * (1024*1024*1024 // 4 // 3)
 * pixels (PIL/Image.py, _decompression_bomb_check); we refuse the same images before decoding.
 */
export const MAX_IMAGE_PIXELS = 178_956_970;

export function checkImageSize(width: number, height: number, source: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw invalidImage(source, `image has zero or invalid size ${width}x${height}`);
  }
  const pixels = width * height;
  if (pixels > MAX_IMAGE_PIXELS) {
    throw invalidImage(source, `image size (${pixels} pixels, ${width}x${height}) exceeds the limit of ${MAX_IMAGE_PIXELS} pixels (decompression bomb guard, as Pillow)`);
  }
}
