/**
 * Per-op profile of a backend: wraps every kernel registered for it with a wall-clock timer (wasm
 * kernels are synchronous, so the time around kernelFunc is the op's time). Costs ~1 us per call:
 * use it for a separate profiled run, not for the timed ones.
 */
import * as tf from '@tensorflow/tfjs';

export interface KernelProfile {
  /** ms and calls per kernel name since start(). */
  readonly totals: Map<string, { ms: number; calls: number }>;
  reset(): void;
}

export function profileKernels(backendName: string): KernelProfile {
  const totals = new Map<string, { ms: number; calls: number }>();
  for (const config of tf.getKernelsForBackend(backendName)) {
    const { kernelName, kernelFunc } = config;
    tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        const t0 = performance.now();
        try {
          return kernelFunc(args);
        } finally {
          const entry = totals.get(kernelName) ?? { ms: 0, calls: 0 };
          entry.ms += performance.now() - t0;
          entry.calls++;
          totals.set(kernelName, entry);
        }
      },
    });
  }
  return { totals, reset: () => totals.clear() };
}

/** Rows "kernel  ms/image  calls/image" sorted by time, the rest folded into "other". */
export function profileRows(totals: ReadonlyMap<string, { ms: number; calls: number }>, images: number, top = 12): [string, number, number][] {
  const rows = [...totals].map(([name, t]) => [name, t.ms / images, t.calls / images] as [string, number, number]).sort((a, b) => b[1] - a[1]);
  const head = rows.slice(0, top);
  const rest = rows.slice(top);
  if (rest.length) head.push([`other (${rest.length} kinds)`, rest.reduce((s, r) => s + r[1], 0), rest.reduce((s, r) => s + r[2], 0)]);
  return head;
}
