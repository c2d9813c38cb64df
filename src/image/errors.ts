/**
 * The image pipeline's typed error. Every message names the file (or '<bytes>' / '<raw>') it is
 * about, so a batch run says which input was bad.
 */
import { ImageRewardError } from '../errors.js';

export type ImageErrorCode = 'IMAGE_INVALID' | 'IMAGE_UNSUPPORTED';

export class ImageError extends ImageRewardError {
  /** The file path, or '<bytes>' / '<raw>' for in-memory input. */
  readonly source: string;

  constructor(code: ImageErrorCode, source: string, message: string, options?: { cause?: unknown }) {
    super(code, `${source}: ${message}`, options);
    this.source = source;
  }
}

/** Broken input: empty, truncated, corrupt, zero-sized, too many pixels. */
export function invalidImage(source: string, message: string, cause?: unknown): ImageError {
  return new ImageError('IMAGE_INVALID', source, message, cause === undefined ? undefined : { cause });
}

/** Well-formed input that this pipeline does not handle (unknown container, exotic colour type). */
export function unsupportedImage(source: string, message: string): ImageError {
  return new ImageError('IMAGE_UNSUPPORTED', source, message);
}
