/**
 * torchvision 0.14 transforms as ImageReward composes them: Resize(size) size rule, CenterCrop
 * offsets, ToTensor + Normalize in float32.
 */

/** CLIP normalisation constants of ImageReward's `_transform` (BLIP uses CLIP's). */
export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/**
 * torchvision.transforms.functional._compute_resized_output_size with an int size: the short side
 * becomes `size`, the long side int(size * long / short) (float64 division, truncated). Returns [w, h].
 */
export function resizedSize(width: number, height: number, size: number): [number, number] {
  if (width <= height) return [size, Math.trunc((size * height) / width)];
  return [Math.trunc((size * width) / height), size];
}

/** Python 3 round(): halves go to the even neighbour. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * torchvision center_crop: top = int(round((h - size) / 2)), left likewise; returns
 * [left, top, right, bottom]. (Inputs here are never smaller than `size`: the resize made the short
 * side equal to it.)
 */
export function centerCropBox(width: number, height: number, size: number): [number, number, number, number] {
  const left = roundHalfEven((width - size) / 2);
  const top = roundHalfEven((height - size) / 2);
  return [left, top, left + size, top + size];
}

/**
 * ToTensor then Normalize, float32 at every step as torch does it: x = fround(u8 / 255), then
 * fround(fround(x - mean) / std) with mean and std themselves float32. HWC RGB in, CHW out.
 */
export function normalizeToChw(rgb: Uint8Array, width: number, height: number): Float32Array {
  const n = width * height;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(CLIP_MEAN[c]!);
    const std = Math.fround(CLIP_STD[c]!);
    // the same value for every pixel with the same byte: tabulate the 256 results
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(Math.fround(v / 255) - mean) / std);
    for (let i = 0; i < n; i++) out[c * n + i] = table[rgb[3 * i + c]!]!;
  }
  return out;
}
