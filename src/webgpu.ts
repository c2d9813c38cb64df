/**
 * The WebGPU backend (@tensorflow/tfjs-backend-webgpu) wherever `navigator.gpu` exists: browsers,
 * and Node once src/webgpuNode.ts has put Dawn (the `webgpu` npm package) there. tfjs-backend-webgpu
 * registers itself at import only when navigator.gpu is present, so it is imported here, after the
 * check, never at the top of a module. No adapter is a BackendError, never a silent fallback.
 * Attention and the other ops take the 'batched' path on it (src/ops/dispatch.ts): one 4-D matMul
 * per attention product, no per-head loop.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendError } from './errors.js';

/** The part of the WebGPU API used here (lib.dom is not in this project's types). */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapterLike | null>;
}

interface GpuAdapterLike {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}

/** What the adapter says about itself, e.g. `google swiftshader` (fields may be empty strings). */
export interface WebGpuAdapter {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
}

export function navigatorGpu(): GpuLike | undefined {
  return (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
}

/** Makes 'webgpu' the tfjs backend, or throws a BackendError saying why it cannot be. */
export async function activateWebGpu(): Promise<WebGpuAdapter> {
  const gpu = navigatorGpu();
  if (!gpu) throw new BackendError('webgpu: this environment has no WebGPU (navigator.gpu is undefined)');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new BackendError('webgpu: navigator.gpu.requestAdapter() found no adapter (no WebGPU-capable GPU or driver here; in Chromium it may be disabled)');
  }
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!tf.findBackendFactory('webgpu')) throw new BackendError('webgpu: @tensorflow/tfjs-backend-webgpu did not register (it was imported before navigator.gpu existed)');
  let ok: boolean;
  try {
    ok = await tf.setBackend('webgpu');
    await tf.ready();
  } catch (err) {
    throw new BackendError(`webgpu: the backend failed to start: ${(err as Error).message}`, { cause: err });
  }
  if (!ok || tf.getBackend() !== 'webgpu') throw new BackendError('webgpu: the backend failed to start (tf.setBackend returned false)');
  const info = adapter.info ?? {};
  return { vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '' };
}
