/**
 * Copies a strided view out of a storage into contiguous row-major bytes, as torch's
 * `tensor.contiguous()` would. Offsets and strides count elements of `elementSize` bytes.
 */
import { invalid } from './errors.js';

export interface StridedView {
  readonly elementSize: number;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

export function numElementsOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Row-major strides of a shape (what `torch.empty(shape).stride()` gives). */
export function contiguousStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) { out[d] = s; s *= shape[d]!; }
  return out;
}

/** Number of elements the view touches from its offset: 1 + the largest reachable index. */
export function viewExtent(v: StridedView): number {
  if (numElementsOf(v.shape) === 0) return 0;
  return v.offset + 1 + v.shape.reduce((acc, n, d) => acc + (n - 1) * v.stride[d]!, 0);
}

function isContiguous(v: StridedView): boolean {
  const c = contiguousStrides(v.shape);
  // Strides of size-1 dimensions never matter.
  return v.shape.every((n, d) => n === 1 || v.stride[d] === c[d]);
}

/**
 * The view's elements, contiguous. `storage` holds the whole storage; when the view is exactly the
 * whole storage, `storage` itself is returned (callers pass a buffer they own).
 */
export function gatherStrided(storage: Uint8Array, v: StridedView, what: string): Uint8Array {
  const extent = viewExtent(v);
  if (extent * v.elementSize > storage.length) {
    throw invalid(`${what}: view (offset ${v.offset}, size ${JSON.stringify(v.shape)}, stride ${JSON.stringify(v.stride)}) reaches element ${extent} but the storage holds ${storage.length / v.elementSize}`);
  }
  const n = numElementsOf(v.shape);
  const es = v.elementSize;
  if (isContiguous(v)) {
    // The usual case (a whole storage): hand the caller's buffer back without copying.
    if (v.offset === 0 && n * es === storage.length) return storage;
    return storage.slice(v.offset * es, (v.offset + n) * es);
  }
  const out = new Uint8Array(n * es);
  // Copy in machine words (1, 2 or 4 bytes; 8-byte elements are two words) so NaN bits survive.
  const unit = es >= 4 ? 4 : es;
  const k = es / unit;
  const aligned = storage.byteOffset % unit === 0 ? storage : storage.slice();
  const words = (b: Uint8Array) => unit === 4 ? new Uint32Array(b.buffer, b.byteOffset, b.length / 4)
    : unit === 2 ? new Uint16Array(b.buffer, b.byteOffset, b.length / 2) : b;
  const from = words(aligned.subarray(0, aligned.length - (aligned.length % unit)));
  const to = words(out);
  // Odometer over the index space; the innermost dimension is the tight loop.
  const rank = v.shape.length;
  const index = new Array<number>(rank).fill(0);
  const inner = v.shape[rank - 1]!;
  const innerStep = v.stride[rank - 1]! * k;
  let src = v.offset * k;
  for (let dst = 0; dst < to.length;) {
    for (let i = 0, s = src; i < inner; i++, s += innerStep) {
      for (let w = 0; w < k; w++) to[dst++] = from[s + w]!;
    }
    for (let d = rank - 2; d >= 0; d--) {
      index[d]!++;
      src += v.stride[d]! * k;
      if (index[d]! < v.shape[d]!) break;
      src -= v.shape[d]! * v.stride[d]! * k;
      index[d] = 0;
    }
  }
  return out;
}
