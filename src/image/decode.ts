/** Encoded bytes -> a decoded image in its Pillow mode, with the container sniffed from the bytes. */
import { resolveImageDecoder } from './decoderChoice.js';
import { describeUnsupported, detectFormat, SUPPORTED_FORMATS } from './format.js';
import { decodeJpeg } from './jpeg.js';
import { invalidImage, unsupportedImage } from './errors.js';
import { decodePng } from './png.js';
import type { DecodedImage } from './types.js';
import { decodeWebp } from './webp.js';

export interface DecodeOptions {
  /**
   * JPEG / WebP decoder: 'auto' (sharp when it loads, else wasm), 'wasm' or 'native' (sharp; an
   * error when it is not installed). Default: $IMAGEREWARD_IMAGE_DECODER, else 'auto'.
   */
  decoder?: string;
}

/**
 * Decodes PNG / JPEG / WebP bytes. `source` names the input in error messages (a file path, or
 * '<bytes>'). Throws ImageError: IMAGE_INVALID for empty, truncated, corrupt, zero-sized or too
 * large images, IMAGE_UNSUPPORTED for other formats and 12-bit JPEG (an animated WebP gives its first frame);
 * InputError for an unknown decoder name, BackendError (NativeDecoderUnavailableError) for 'native'
 * without sharp. `decoder` in the result says which code produced the pixels.
 */
export async function decodeImage(bytes: Uint8Array, source = '<bytes>', options: DecodeOptions = {}): Promise<DecodedImage> {
  const decoder = await resolveImageDecoder(options.decoder);
  if (bytes.length === 0) throw invalidImage(source, 'the image is empty (0 bytes)');
  const format = detectFormat(bytes);
  switch (format) {
    case 'png': return decodePng(bytes, source);
    case 'jpeg': return decodeJpeg(bytes, source, decoder);
    case 'webp': return decodeWebp(bytes, source, decoder);
    case null:
      throw unsupportedImage(source, `${describeUnsupported(bytes)} is not a supported image format (supported: ${SUPPORTED_FORMATS.join(', ')})`);
  }
}
