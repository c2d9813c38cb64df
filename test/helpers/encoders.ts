/** The @jsquash wasm encoders (mozjpeg, libwebp), initialised once from the packages' .wasm files, for making test inputs. */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import encodeJpegWasm, { init as initJpeg } from '@jsquash/jpeg/encode.js';
import encodeWebpWasm, { init as initWebp } from '@jsquash/webp/encode.js';

export type JpegOptions = NonNullable<Parameters<typeof encodeJpegWasm>[1]>;
export type WebpOptions = NonNullable<Parameters<typeof encodeWebpWasm>[1]>;

/** RGBA pixels, 4 bytes per pixel (ImageData-like). */
export interface Rgba { data: Uint8ClampedArray; width: number; height: number }

type Init = (module: object) => Promise<unknown>;
const wasm = (globalThis as unknown as { WebAssembly: { compile(b: Uint8Array): Promise<object> } }).WebAssembly;

async function compile(specifier: string): Promise<object> {
  return wasm.compile(await readFile(createRequire(import.meta.url).resolve(specifier)));
}

let ready: Promise<void> | null = null;

function init(): Promise<void> {
  ready ??= (async () => {
    await (initJpeg as unknown as Init)(await compile('@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm'));
    await (initWebp as unknown as Init)(await compile('@jsquash/webp/codec/enc/webp_enc_simd.wasm'));
  })();
  return ready;
}

export async function encodeJpeg(image: Rgba, options: JpegOptions): Promise<Uint8Array> {
  await init();
  return new Uint8Array(await encodeJpegWasm(image as unknown as Parameters<typeof encodeJpegWasm>[0], options));
}

export async function encodeWebp(image: Rgba, options: WebpOptions): Promise<Uint8Array> {
  await init();
  return new Uint8Array(await encodeWebpWasm(image as unknown as Parameters<typeof encodeWebpWasm>[0], options));
}
