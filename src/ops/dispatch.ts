/**
 * The one place where ops decide how to run on the active backend:
 * - 'fused': wasm with the BLAS kernels of src/blas registered (backend wasm+blas) and no gradient
 *   being recorded: fused Linear / LayerNorm / GELU / attention kernels on the wasm heap.
 * - 'perHead': plain tfjs-backend-wasm: attention per batch element and head with 2D matMuls, the
 *   only products XNNPACK takes (batched or transposed BatchMatMul falls to a scalar loop).
 * - 'batched': every other backend (node, node-gpu, webgpu, cpu), and wasm+blas under a gradient
 *   tape (the fused kernels have no gradients; its BatchMatMul is BLAS for any batch/transpose):
 *   one 4-D matMul with transposeB per attention product.
 */
import * as tf from '@tensorflow/tfjs';

export type OpsPath = 'fused' | 'perHead' | 'batched';

/** Kernel names registered for the wasm backend by src/blas/kernels.ts. */
export const FUSED_KERNELS = {
  linear: 'ImageRewardLinear',
  layerNorm: 'ImageRewardLayerNorm',
  gelu: 'ImageRewardGelu',
  attention: 'ImageRewardAttention',
} as const;

let fusedKernelsOn = false;

/** Turned on by the wasm+blas backend once its kernels are registered, off by any other choice. */
export function setFusedKernels(on: boolean): void {
  fusedKernelsOn = on;
}

export function fusedKernelsActive(): boolean {
  return fusedKernelsOn && tf.getBackend() === 'wasm';
}

/** Whether a gradient tape is recording (tf.grad / valueAndGrad); tfjs-core 4.22 engine state. */
function recordingGradients(): boolean {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number } }).state;
  return state.gradientDepth > 0;
}

export function opsPath(): OpsPath {
  if (tf.getBackend() !== 'wasm') return 'batched';
  if (!fusedKernelsOn) return 'perHead';
  return recordingGradients() ? 'batched' : 'fused';
}
