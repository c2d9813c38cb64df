/**
 * Scaled dot-product attention over already projected q, k, v, split into heads:
 * softmax(q k^T * scale + mask) v, as vit.py Attention.forward (`(q @ k.transpose(-2, -1)) * scale`)
 * and med.py BertSelfAttention.forward (`scores / sqrt(head_size) + attention_mask`).
 *
 * How it runs is decided per backend by src/ops/dispatch.ts:
 * - perHead (plain wasm): per batch element and per head with 2D matMuls, because BatchMatMul reaches
 *   XNNPACK only for unbatched, untransposed operands. K is transposed once per batch element so that
 *   q_h k_h^T is an ordinary product. Heads are taken with unstack (wasm Slice copies its whole input
 *   per call, ~3 ms per 16 heads; gather is 6x slower).
 * - batched (node, node-gpu, webgpu, cpu; wasm+blas under a gradient tape): one 4-D matMul with
 *   transposeB for the scores and one for the context.
 * - fused (wasm+blas): one kernel reading q, k, v per head in place (leading dimensions, no copies),
 *   scale and mask folded into the scores GEMM, softmax in place.
 */
import * as tf from '@tensorflow/tfjs';
import { FUSED_KERNELS, opsPath } from './dispatch.js';

export interface AttentionOptions {
  readonly numHeads: number;
  /** Multiplies q k^T. For 1/sqrt(head_dim) with head_dim 16 or 64 this equals upstream's division exactly. */
  readonly scale: number;
  /** Additive mask [N, S] added to every query row after scaling (upstream extended mask [N,1,1,S]). */
  readonly mask?: tf.Tensor2D;
  /** Also return the softmax probabilities [N, heads, L, S]. */
  readonly returnProbs?: boolean;
}

export interface AttentionResult {
  /** Heads concatenated back: [N, L, E]. */
  readonly context: tf.Tensor3D;
  readonly probs?: tf.Tensor4D;
}

/** q [N, L, E], k and v [N, S, E] -> context [N, L, E] (and probs when asked). */
export function multiHeadAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: AttentionOptions): AttentionResult {
  const [n, , width] = q.shape;
  const keyLen = k.shape[1];
  const headDim = width / opts.numHeads;
  if (!Number.isInteger(headDim) || k.shape[2] !== width || v.shape[2] !== width || k.shape[0] !== n || v.shape[0] !== n || v.shape[1] !== keyLen) {
    throw new RangeError(`multiHeadAttention: q [${q.shape}], k [${k.shape}], v [${v.shape}] do not fit ${opts.numHeads} heads`);
  }
  checkMask(opts.mask, n, keyLen);
  switch (opsPath()) {
    case 'fused':
      return fusedAttention(q, k, v, [0, 0, 0], width, opts);
    case 'batched':
      return batchedAttention(q, k, v, opts);
    case 'perHead':
      return perHeadAttention(q, k, v, opts);
  }
}

/**
 * Self-attention over the fused projection qkv [N, T, 3E] whose column blocks are q, k, v (vit.py
 * Attention: qkv(x).reshape(B, N, 3, heads, C // heads)) -> context [N, T, E]. The fused path reads
 * the heads out of qkv in place; the others slice it into q, k, v first.
 */
export function packedSelfAttention(qkv: tf.Tensor3D, opts: AttentionOptions): AttentionResult {
  const [n, tokens, packed] = qkv.shape;
  const width = packed / 3;
  if (!Number.isInteger(width) || !Number.isInteger(width / opts.numHeads)) {
    throw new RangeError(`packedSelfAttention: qkv [${qkv.shape}] is not 3 blocks of ${opts.numHeads} heads`);
  }
  checkMask(opts.mask, n, tokens);
  if (opsPath() === 'fused') return fusedAttention(qkv, qkv, qkv, [0, width, 2 * width], width, opts);
  return tf.tidy(() => {
    const part = (j: number) => qkv.slice([0, 0, j * width], [n, tokens, width]);
    const { context, probs } = multiHeadAttention(part(0), part(1), part(2), opts);
    return probs ? { context, probs } : { context };
  });
}

function checkMask(mask: tf.Tensor2D | undefined, n: number, keyLen: number): void {
  if (mask && (mask.shape[0] !== n || mask.shape[1] !== keyLen)) {
    throw new RangeError(`attention: mask [${mask.shape}] does not fit ${n} items of ${keyLen} keys`);
  }
}

/** q, k, v are read at columns `columns[i] + h * headDim` of their last axis; context is [N, L, width]. */
function fusedAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, columns: readonly [number, number, number], width: number, opts: AttentionOptions): AttentionResult {
  const attrs = {
    numHeads: opts.numHeads, headDim: width / opts.numHeads, scale: opts.scale,
    qColumn: columns[0], kColumn: columns[1], vColumn: columns[2], returnProbs: opts.returnProbs === true,
  };
  const inputs: tf.NamedTensorMap = opts.mask ? { q, k, v, mask: opts.mask } : { q, k, v };
  return asResult(tf.engine().runKernel(FUSED_KERNELS.attention, inputs, attrs) as tf.Tensor[]);
}

function batchedAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: AttentionOptions): AttentionResult {
  const { n, queryLen, keyLen, width, heads, headDim } = dimsOf(q, k, opts);
  return asResult(tf.tidy(() => {
    const split = (x: tf.Tensor3D, len: number) => x.reshape([n, len, heads, headDim]).transpose([0, 2, 1, 3]) as tf.Tensor4D; // [N, heads, len, d]
    let scores = tf.matMul(split(q, queryLen), split(k, keyLen), false, true).mul(opts.scale) as tf.Tensor4D; // [N, heads, L, S]
    if (opts.mask) scores = scores.add(opts.mask.reshape([n, 1, 1, keyLen]));
    const probs = tf.softmax(scores) as tf.Tensor4D;
    const context = tf.matMul(probs, split(v, keyLen)).transpose([0, 2, 1, 3]).reshape([n, queryLen, width]) as tf.Tensor3D; // [N, L, E]
    return opts.returnProbs ? [context, probs] : [context];
  }));
}

function perHeadAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: AttentionOptions): AttentionResult {
  const { n, queryLen, keyLen, width, heads, headDim } = dimsOf(q, k, opts);
  return asResult(tf.tidy(() => {
    const contexts: tf.Tensor2D[] = [];
    const probsPerItem: tf.Tensor3D[] = [];
    for (let b = 0; b < n; b++) {
      const qHeads = item(q, b).reshape([queryLen, heads, headDim]).transpose([1, 0, 2]).unstack() as tf.Tensor2D[];
      const kTransposedHeads = item(k, b).transpose().reshape([heads, headDim, keyLen]).unstack() as tf.Tensor2D[];
      const vHeads = item(v, b).reshape([keyLen, heads, headDim]).transpose([1, 0, 2]).unstack() as tf.Tensor2D[];
      const maskRow = opts.mask?.slice([b, 0], [1, keyLen]);
      const headContexts: tf.Tensor2D[] = [];
      const headProbs: tf.Tensor2D[] = [];
      for (let h = 0; h < heads; h++) {
        let scores = tf.matMul(qHeads[h]!, kTransposedHeads[h]!).mul(opts.scale) as tf.Tensor2D;
        if (maskRow) scores = scores.add(maskRow);
        const probs = tf.softmax(scores);
        headContexts.push(tf.matMul(probs, vHeads[h]!));
        if (opts.returnProbs) headProbs.push(probs);
      }
      contexts.push(tf.stack(headContexts).transpose([1, 0, 2]).reshape([queryLen, width]) as tf.Tensor2D);
      if (opts.returnProbs) probsPerItem.push(tf.stack(headProbs) as tf.Tensor3D);
    }
    const context = tf.stack(contexts) as tf.Tensor3D;
    return opts.returnProbs ? [context, tf.stack(probsPerItem) as tf.Tensor4D] : [context];
  }));
}

/** q [N, L, E] and k [N, S, E] split into opts.numHeads heads. */
function dimsOf(q: tf.Tensor3D, k: tf.Tensor3D, opts: AttentionOptions) {
  const [n, queryLen, width] = q.shape;
  return { n, queryLen, keyLen: k.shape[1], width, heads: opts.numHeads, headDim: width / opts.numHeads };
}

/** [context] or [context, probs] as an AttentionResult. */
function asResult(out: tf.Tensor[]): AttentionResult {
  return { context: out[0] as tf.Tensor3D, ...(out[1] ? { probs: out[1] as tf.Tensor4D } : {}) };
}

/** Batch element b of [N, ...] as [...] (a reshape, no copy, when N is 1). */
function item(x: tf.Tensor3D, b: number): tf.Tensor2D {
  const [n, rows, cols] = x.shape;
  return (n === 1 ? x.reshape([rows, cols]) : x.slice([b, 0, 0], [1, rows, cols]).reshape([rows, cols])) as tf.Tensor2D;
}
