/**
 * tfjs kernels for the wasm backend that run on the wasm heap in place (zero-copy): each tensor is
 * a Float32Array view of HEAPF32 at its memoryOffset, handed to cblas_sgemm by pointer. The views
 * are taken after every output is allocated (an allocation may grow the heap and detach old views).
 *
 * - BatchMatMul: replaces wasm's (XNNPACK only takes unbatched, untransposed products; the rest is a
 *   scalar loop) while the wasm+blas backend is chosen; otherwise it calls wasm's own kernel, so plain
 *   `wasm` stays bit for bit what it was.
 * - ImageRewardLinear / LayerNorm / Gelu / Attention: the fused kernels src/ops dispatches to
 *   (src/ops/dispatch.ts). No XNNPACK packed weight copies: weights are read where they lie. Their
 *   elementwise parts run as WebAssembly SIMD code on the same heap (simdElementwise.ts), or, only
 *   where WebAssembly SIMD is missing, as the JS loops of elementwise.ts: one choice per process.
 *
 * Relies on tfjs-backend-wasm 4.22.0's BackendWasm (dataIdMap memoryOffset, makeOutput, wasm.HEAPF32),
 * the same pinned internals as src/wasmThreads.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { FUSED_KERNELS, fusedKernelsActive } from '../ops/dispatch.js';
import { CBLAS_NO_TRANS, CBLAS_ROW_MAJOR, CBLAS_TRANS, type Sgemm } from './library.js';
import { jsElementwise, type HeapElementwise } from './elementwise.js';
import { simdElementwise, simdElementwiseAvailable } from './simdElementwise.js';

type TensorInfo = tf.TensorInfo;
interface KernelArgs {
  inputs: Record<string, TensorInfo | undefined>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}

let sgemm: Sgemm | undefined;

function heap(backend: BackendWasm): Float32Array {
  // HEAPF32 is on every emscripten module (the .d.ts of the unthreaded build omits it). The threaded
  // build refreshes it lazily after a growth, so it is checked against the memory itself.
  const module = backend.wasm as unknown as { HEAPF32: Float32Array; wasmMemory?: { buffer: ArrayBufferLike } };
  const memory = module.wasmMemory;
  return memory && module.HEAPF32.buffer !== memory.buffer ? new Float32Array(memory.buffer) : module.HEAPF32;
}

interface EmscriptenHeap {
  wasmMemory?: { buffer: ArrayBufferLike };
  asm: { memory: { buffer: ArrayBufferLike } };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

/** The backend's WebAssembly.Memory: the threaded build's shared one, or the unthreaded module's export. */
function wasmMemory(backend: BackendWasm): { buffer: ArrayBufferLike } {
  const module = backend.wasm as unknown as EmscriptenHeap;
  return module.wasmMemory ?? module.asm.memory;
}

/** Which implementation of the elementwise kernels this process uses. */
export function elementwiseKind(): 'simd' | 'js' {
  return simdElementwiseAvailable() ? 'simd' : 'js';
}

/** The elementwise kernels bound to each backend memory (a re-created backend gets a new one). */
const elementwiseByMemory = new WeakMap<object, HeapElementwise>();
function elementwise(backend: BackendWasm): HeapElementwise {
  const memory = wasmMemory(backend);
  let kernels = elementwiseByMemory.get(memory);
  if (!kernels) {
    kernels = elementwiseKind() === 'simd' ? simdElementwise(memory)! : jsElementwise(memory);
    elementwiseByMemory.set(memory, kernels);
  }
  return kernels;
}

/** t's byte offset in the wasm heap. */
function pointer(backend: BackendWasm, t: TensorInfo): number {
  return (backend.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
}

/** t's elements as a view of the wasm heap (no copy). Take it after the last makeOutput of the kernel. */
function view(backend: BackendWasm, t: TensorInfo, from = 0): Float32Array {
  const offset = (backend.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset / 4;
  return heap(backend).subarray(offset + from, offset + sizeOf(t.shape));
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function requireFloat32(name: string, ...ts: TensorInfo[]): void {
  for (const t of ts) if (t.dtype !== 'float32') throw new TypeError(`${name}: float32 tensors only, got ${t.dtype}`);
}

function gemm(): Sgemm {
  if (!sgemm) throw new Error('the BLAS kernels are used before a BLAS library was loaded');
  return sgemm;
}

/** BatchMatMul over [...batch, M, K] x [...batch, K, N] (either side may have batch 1), any transposes. */
function blasBatchMatMul(args: KernelArgs): TensorInfo | undefined {
  const backend = args.backend as BackendWasm;
  const a = args.inputs.a!;
  const b = args.inputs.b!;
  const transposeA = args.attrs?.transposeA === true;
  const transposeB = args.attrs?.transposeB === true;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  if (k !== kb) throw new Error(`matMul: inner shapes ${k} and ${kb} of [${a.shape}] and [${b.shape}] (transposeA=${transposeA}, transposeB=${transposeB}) must match`);
  // Only equal batches or a batch of 1 on one side (what wasm's kernel does too); anything else: wasm's own.
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = Math.max(batchA, batchB);
  const out = backend.makeOutput([...outer, m, n], 'float32');
  if (m * n === 0) return out;
  const av = view(backend, a);
  const bv = view(backend, b);
  const cv = view(backend, out);
  if (k === 0) {
    cv.fill(0);
    return out;
  }
  const f = gemm();
  for (let i = 0; i < batch; i++) {
    f(CBLAS_ROW_MAJOR, transposeA ? CBLAS_TRANS : CBLAS_NO_TRANS, transposeB ? CBLAS_TRANS : CBLAS_NO_TRANS, m, n, k, 1,
      av.subarray(batchA === 1 ? 0 : i * m * k), transposeA ? m : k,
      bv.subarray(batchB === 1 ? 0 : i * k * n), transposeB ? k : n,
      0, cv.subarray(i * m * n), n);
  }
  return out;
}

/** x [rows, in] W [in, out] + bias [out] -> [rows, out]: bias rows written first, then sgemm with beta = 1. */
function linearKernel(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, weight, bias } = args.inputs as { x: TensorInfo; weight: TensorInfo; bias?: TensorInfo };
  requireFloat32('linear', x, weight, ...(bias ? [bias] : []));
  const [rows, inFeatures] = x.shape as [number, number];
  const outFeatures = weight.shape[1]!;
  const out = backend.makeOutput([rows, outFeatures], 'float32');
  if (rows * outFeatures === 0) return out;
  const y = view(backend, out);
  if (bias) {
    const b = view(backend, bias);
    for (let r = 0; r < rows; r++) y.set(b, r * outFeatures);
  }
  if (inFeatures === 0) {
    if (!bias) y.fill(0);
    return out;
  }
  gemm()(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, rows, outFeatures, inFeatures, 1,
    view(backend, x), inFeatures, view(backend, weight), outFeatures, bias ? 1 : 0, y, outFeatures);
  return out;
}

function layerNormKernel(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, weight, bias } = args.inputs as { x: TensorInfo; weight: TensorInfo; bias: TensorInfo };
  requireFloat32('layerNorm', x, weight, bias);
  const out = backend.makeOutput([...x.shape], 'float32');
  const width = x.shape[x.shape.length - 1]!;
  const rows = width === 0 ? 0 : sizeOf(x.shape) / width;
  elementwise(backend).layerNorm(pointer(backend, x), pointer(backend, out), pointer(backend, weight), pointer(backend, bias), rows, width, args.attrs!.eps as number);
  return out;
}

function geluKernel(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs.x!;
  requireFloat32('gelu', x);
  const out = backend.makeOutput([...x.shape], 'float32');
  elementwise(backend).gelu(pointer(backend, x), pointer(backend, out), sizeOf(x.shape));
  return out;
}

/**
 * softmax(q_h k_h^T * scale + mask) v_h for every batch element and head, reading q, k, v per head
 * in place with leading dimensions (q may be the fused qkv output: columns qColumn + h * headDim).
 * q [N, L, ldq], k [N, S, ldk], v [N, S, ldv], mask [N, S] -> context [N, L, heads * headDim]
 * (and probs [N, heads, L, S] when returnProbs).
 */
function attentionKernel(args: KernelArgs): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { q, k, v, mask } = args.inputs as { q: TensorInfo; k: TensorInfo; v: TensorInfo; mask?: TensorInfo };
  const attrs = args.attrs as { numHeads: number; headDim: number; scale: number; qColumn: number; kColumn: number; vColumn: number; returnProbs: boolean };
  requireFloat32('attention', q, k, v, ...(mask ? [mask] : []));
  const { numHeads: heads, headDim: d, scale } = attrs;
  const [n, queryLen, ldq] = q.shape as [number, number, number];
  const keyLen = k.shape[1]!;
  const ldk = k.shape[2]!;
  const ldv = v.shape[2]!;
  const width = heads * d;
  const context = backend.makeOutput([n, queryLen, width], 'float32');
  const probs = attrs.returnProbs ? backend.makeOutput([n, heads, queryLen, keyLen], 'float32') : undefined;
  const tile = queryLen * keyLen;
  if (tile === 0) { // no queries, or no keys: softmax over nothing, a zero context (torch: empty @ v = 0)
    view(backend, context).fill(0);
    return probs ? [context, probs] : [context];
  }
  const ew = elementwise(backend);
  const module = backend.wasm as unknown as EmscriptenHeap;
  // Without probabilities: one head's scores and its rows' 1/sum (float64, first: 8-byte aligned) on the heap.
  const scratch = probs ? 0 : module._malloc(8 * queryLen + 4 * tile) >>> 0;
  if (!probs && scratch === 0) throw new RangeError(`attention: out of wasm memory for ${queryLen}x${keyLen} scores`);
  try {
    const inverses = scratch;
    const scratchScores = scratch + 8 * queryLen;
    // views after the last allocation (a heap growth detaches older ones)
    const qv = view(backend, q);
    const kv = view(backend, k);
    const vv = view(backend, v);
    const cv = view(backend, context);
    const all = heap(backend);
    const mv = mask ? view(backend, mask) : undefined;
    const probsAt = probs ? pointer(backend, probs) : 0;
    const contextAt = pointer(backend, context);
    const f = gemm();
    for (let b = 0; b < n; b++) {
      const maskRow = mv?.subarray(b * keyLen, (b + 1) * keyLen);
      for (let h = 0; h < heads; h++) {
        const scoresAt = probs ? probsAt + 4 * (b * heads + h) * tile : scratchScores;
        const scores = all.subarray(scoresAt / 4, scoresAt / 4 + tile);
        // med.py: scores / sqrt(d) + attention_mask: the mask rows go in first and sgemm adds alpha q k^T (beta = 1).
        if (maskRow) for (let r = 0; r < queryLen; r++) scores.set(maskRow, r * keyLen);
        f(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, queryLen, keyLen, d, scale,
          qv.subarray(b * queryLen * ldq + attrs.qColumn + h * d), ldq,
          kv.subarray(b * keyLen * ldk + attrs.kColumn + h * d), ldk,
          maskRow ? 1 : 0, scores, keyLen);
        const contextBase = b * queryLen * width + h * d;
        if (probs) ew.softmaxRows(scoresAt, queryLen, keyLen);
        else ew.expRows(scoresAt, queryLen, keyLen, inverses);
        f(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, queryLen, d, keyLen, 1,
          scores, keyLen, vv.subarray(b * keyLen * ldv + attrs.vColumn + h * d), ldv,
          0, cv.subarray(contextBase), width);
        // Without returned probabilities the softmax's 1/sum is applied to the d-wide context rows:
        // (e / sum) v = (e v) / sum.
        if (!probs) ew.scaleRows(contextAt + 4 * contextBase, queryLen, d, width, inverses);
      }
    }
  } finally {
    if (scratch) module._free(scratch);
  }
  return probs ? [context, probs] : [context];
}

let registered = false;

/** Registers the kernels for the wasm backend (once per process) over `lib`'s sgemm. */
export function registerBlasKernels(blasSgemm: Sgemm): void {
  sgemm = blasSgemm;
  if (registered) return;
  registered = true;
  const original = tf.getKernel(tf.BatchMatMul, 'wasm');
  if (!original) throw new Error('tfjs-backend-wasm is not loaded: its BatchMatMul kernel is missing');
  tf.unregisterKernel(tf.BatchMatMul, 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => (fusedKernelsActive() ? blasBatchMatMul(args as unknown as KernelArgs) : undefined) ?? original.kernelFunc(args),
  });
  const own: [string, (args: KernelArgs) => TensorInfo | TensorInfo[]][] = [
    [FUSED_KERNELS.linear, linearKernel],
    [FUSED_KERNELS.layerNorm, layerNormKernel],
    [FUSED_KERNELS.gelu, geluKernel],
    [FUSED_KERNELS.attention, attentionKernel],
  ];
  for (const [kernelName, kernelFunc] of own) {
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}
