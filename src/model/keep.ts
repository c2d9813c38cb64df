/**
 * What a forward keeps besides its output: a predicate over intermediate names (plain data, no
 * side effects) and the kept tensors, which the forward returns (tidy keeps them; nothing is cloned).
 * Attention probabilities are computed only where the predicate asks for them.
 */
import type * as tf from '@tensorflow/tfjs';

/** Whether the forward should keep the intermediate `name` (e.g. `vit.block3`, `attn.bert.layer0.attention.probs`). */
export type Wants = (name: string) => boolean;

export const KEEP_NOTHING: Wants = () => false;

/** Kept tensors by name, in forward order; the caller owns (disposes) them. */
export type Kept = Record<string, tf.Tensor>;

/** Disposes `x` unless it is one of the kept tensors (a kept block output is also the next block's input). */
export function disposeUnlessKept(x: tf.Tensor, kept: Kept): void {
  if (!Object.values(kept).includes(x)) x.dispose();
}
