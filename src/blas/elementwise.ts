/**
 * The elementwise parts of a transformer block as single passes over Float32Array views of the wasm
 * heap (the fused kernels of kernels.ts): LayerNorm, GELU and softmax. Sums and statistics are kept
 * in float64 (JS numbers), at least as exact as torch's float32 reductions.
 */

/** nn.LayerNorm over rows of `width`: (x - mean) / sqrt(biased var + eps) * weight + bias. */
export function layerNormRows(x: Float32Array, out: Float32Array, weight: Float32Array, bias: Float32Array, width: number, eps: number): void {
  const rows = x.length / width;
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    let sum = 0;
    for (let i = 0; i < width; i++) sum += x[base + i]!;
    const mean = sum / width;
    let squares = 0;
    for (let i = 0; i < width; i++) {
      const c = x[base + i]! - mean;
      squares += c * c;
    }
    const rstd = 1 / Math.sqrt(squares / width + eps);
    for (let i = 0; i < width; i++) out[base + i] = (x[base + i]! - mean) * rstd * weight[i]! + bias[i]!;
  }
}

/**
 * Exact-erf GELU x * 0.5 * (1 + erf(x / sqrt(2))) in place. erf by Abramowitz-Stegun 7.1.26
 * (|error| <= 1.5e-7), the formula tfjs's Erf kernels use.
 */
export function geluInPlace(x: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const z = Math.abs(v) * Math.SQRT1_2;
    const t = 1 / (1 + 0.3275911 * z);
    const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    const erfAbs = 1 - poly * Math.exp(-z * z);
    x[i] = 0.5 * v * (1 + (v < 0 ? -erfAbs : erfAbs));
  }
}

/** Softmax of every row of `width` in place (max subtracted first, as torch does). */
export function softmaxRows(x: Float32Array, width: number): void {
  const rows = x.length / width;
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    let max = -Infinity;
    for (let i = 0; i < width; i++) if (x[base + i]! > max) max = x[base + i]!;
    let sum = 0;
    for (let i = 0; i < width; i++) {
      const e = Math.exp(x[base + i]! - max);
      x[base + i] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let i = 0; i < width; i++) x[base + i]! *= inv;
  }
}
