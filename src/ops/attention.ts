/**
 * Scaled dot-product attention over already projected q, k, v, split into heads:
 * softmax(q k^T * scale + mask) v, as vit.py Attention.forward (`(q @ k.transpose(-2, -1)) * scale`)
 * and med.py BertSelfAttention.forward (`scores / sqrt(head_size) + attention_mask`).
 *
 * Written for tfjs-backend-wasm: it runs per batch element and per head with 2D matMuls, because
 * BatchMatMul reaches XNNPACK only for unbatched, untransposed operands. K is transposed once per
 * batch element so that q_h k_h^T is an ordinary product (no transposeB). Heads are taken with
 * unstack (wasm Slice copies its whole input per call, ~3 ms per 16 heads; gather is 6x slower).
 */
import * as tf from '@tensorflow/tfjs';

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
  const [n, queryLen, width] = q.shape;
  const keyLen = k.shape[1];
  const heads = opts.numHeads;
  const headDim = width / heads;
  if (!Number.isInteger(headDim) || k.shape[2] !== width || v.shape[2] !== width || k.shape[0] !== n || v.shape[0] !== n || v.shape[1] !== keyLen) {
    throw new RangeError(`multiHeadAttention: q [${q.shape}], k [${k.shape}], v [${v.shape}] do not fit ${heads} heads`);
  }
  const out = tf.tidy(() => {
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
  });
  return { context: out[0] as tf.Tensor3D, ...(out[1] ? { probs: out[1] as tf.Tensor4D } : {}) };
}

/** Batch element b of [N, ...] as [...] (a reshape, no copy, when N is 1). */
function item(x: tf.Tensor3D, b: number): tf.Tensor2D {
  const [n, rows, cols] = x.shape;
  return (n === 1 ? x.reshape([rows, cols]) : x.slice([b, 0, 0], [1, rows, cols]).reshape([rows, cols])) as tf.Tensor2D;
}
