/** Encoded bytes -> a decoded image in its Pillow mode, with the container sniffed from the bytes. */
import { describeUnsupported, detectFormat, SUPPORTED_FORMATS } from './format.js';
import { decodeJpeg } from './jpeg.js';
import { invalidImage, unsupportedImage } from './errors.js';
import { decodePng } from './png.js';
import type { DecodedImage } from './types.js';
import { decodeWebp } from './webp.js';

/**
 * Decodes PNG / JPEG / WebP bytes. `source` names the input in error messages (a file path, or
 * '<bytes>'). Throws ImageError: IMAGE_INVALID for empty, truncated, corrupt, zero-sized or too
 * large images, IMAGE_UNSUPPORTED for other formats and for CMYK / 12-bit JPEG and animated WebP.
 */
export async function decodeImage(bytes: Uint8Array, source = '<bytes>'): Promise<DecodedImage> {
  if (bytes.length === 0) throw invalidImage(source, 'the image is empty (0 bytes)');
  const format = detectFormat(bytes);
  switch (format) {
    case 'png': return decodePng(bytes, source);
    case 'jpeg': return decodeJpeg(bytes, source);
    case 'webp': return decodeWebp(bytes, source);
    case null:
      throw unsupportedImage(source, `${describeUnsupported(bytes)} is not a supported image format (supported: ${SUPPORTED_FORMATS.join(', ')})`);
  }
}
