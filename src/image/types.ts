/**
 * Decoded images in Pillow's own modes, as plain typed arrays (no tensors): the pipeline resizes
 * each mode the way Pillow does, so the decoder must keep the mode rather than expand to RGBA.
 */

export type EncodedFormat = 'png' | 'jpeg' | 'webp';

/**
 * Which code produced the pixels: 'native' (sharp / libvips), 'wasm' (the @jsquash libjpeg-turbo /
 * libwebp builds), 'js' (TypeScript decoders such as PNG), 'none' (raw pixels given by the caller).
 */
export type PixelDecoder = 'native' | 'wasm' | 'js' | 'none';

/** The Pillow modes a decoder can produce here (Image.open(...).mode). */
export type PillowMode = '1' | 'L' | 'P' | 'LA' | 'RGB' | 'RGBA' | 'I' | 'CMYK';

/** Bytes per pixel of each 8-bit mode in `DecodedImage.data` (mode 'I' uses `Int32Array`, 1 value). */
export const MODE_BANDS: Readonly<Record<PillowMode, number>> = {
  '1': 1, L: 1, P: 1, LA: 2, RGB: 3, RGBA: 4, I: 1, CMYK: 4,
};

/**
 * Pixels, row-major, `MODE_BANDS[mode]` interleaved values per pixel:
 * - '1': 0 or 255 (as Pillow's unpacker stores 1-bit pixels); 'P': palette indices;
 * - 'I': 32-bit signed integers (16-bit grayscale PNG as Pillow 9.4 opens it);
 * - 'CMYK': ink amounts as Pillow holds them (a JPEG's samples inverted, rawmode 'CMYK;I');
 * - everything else: uint8 channels in mode order.
 */
export interface DecodedImage {
  mode: PillowMode;
  width: number;
  height: number;
  data: Uint8Array | Int32Array;
  /** 'P' only: 256 RGB triplets; entries the file does not define keep ImagingPaletteNew's gray ramp (i,i,i). */
  palette?: Uint8Array;
  format: EncodedFormat | 'raw';
  decoder: PixelDecoder;
}
