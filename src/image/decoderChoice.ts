/**
 * Which JPEG / WebP decoder runs: 'wasm' (@jsquash, runs wherever tfjs runs), 'native' (sharp, an
 * optional Node-only speed-up with identical pixels), or 'auto' (native when sharp loads, else
 * wasm). Chosen like the tfjs backend (src/backend.ts): an option, else $IMAGEREWARD_IMAGE_DECODER,
 * else 'auto'; a decoder named explicitly must load, there is no silent fallback from 'native'.
 * PNG always uses the TypeScript decoder.
 */
import { BackendError, InputError } from '../errors.js';
import { nativeDecoderStatus } from './nativeCodecs.js';

export const IMAGE_DECODER_NAMES = ['auto', 'wasm', 'native'] as const;
export type ImageDecoderName = (typeof IMAGE_DECODER_NAMES)[number];

/** What 'auto' resolves to: the decoder JPEG / WebP input will actually go through. */
export type JpegWebpDecoder = 'native' | 'wasm';

export const IMAGE_DECODER_ENV = 'IMAGEREWARD_IMAGE_DECODER';

/** 'native' was asked for but sharp cannot be loaded (code BACKEND_UNAVAILABLE). */
export class NativeDecoderUnavailableError extends BackendError {}

export function isImageDecoderName(x: unknown): x is ImageDecoderName {
  return typeof x === 'string' && (IMAGE_DECODER_NAMES as readonly string[]).includes(x);
}

function fromEnvironment(): string | undefined {
  return (typeof process !== 'undefined' && process.env?.[IMAGE_DECODER_ENV]) || undefined;
}

/** The requested name (option, else the environment, else 'auto'), checked. Throws InputError. */
export function imageDecoderName(requested?: string): ImageDecoderName {
  const name = requested ?? fromEnvironment() ?? 'auto';
  if (!isImageDecoderName(name)) {
    const from = requested === undefined ? `${IMAGE_DECODER_ENV}="${name}"` : `image decoder "${name}"`;
    throw new InputError(`${from} is not a valid image decoder (choose one of: ${IMAGE_DECODER_NAMES.join(', ')})`);
  }
  return name;
}

/**
 * Resolves a requested decoder to the one JPEG / WebP will use. Throws InputError for an unknown
 * name and NativeDecoderUnavailableError for 'native' without sharp.
 */
export async function resolveImageDecoder(requested?: string): Promise<JpegWebpDecoder> {
  const name = imageDecoderName(requested);
  if (name === 'wasm') return 'wasm';
  const status = await nativeDecoderStatus();
  if (status.available) return 'native';
  if (name === 'auto') return 'wasm';
  throw new NativeDecoderUnavailableError(
    `image decoder "native" was requested but sharp cannot be loaded (${status.reason}). `
    + 'Install the optional dependency with `npm install sharp@0.35.5`, or choose the image decoder "wasm" or "auto".',
  );
}
