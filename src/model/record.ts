import type * as tf from '@tensorflow/tfjs';

/** Receives named intermediate tensors during a forward; it must keep what it wants (tf.keep). */
export type Recorder = (name: string, t: tf.Tensor) => void;
