/** Peak memory of this process, for the score-dataset summary: resident set and the wasm backend's heap. */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';

export interface MemoryPeak {
  /** Peak resident set size, MiB (VmHWM on Linux, else getrusage's maxRSS). */
  readonly peakRssMiB: number;
  /** Size of the wasm backend's heap, MiB (it only grows, so this is its peak); null on other backends. */
  readonly wasmHeapMiB: number | null;
}

const MIB = 2 ** 20;

export function memoryPeak(): MemoryPeak {
  let rss = process.resourceUsage().maxRSS / 1024;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) rss = Number(m[1]) / 1024;
  } catch { /* not Linux: maxRSS stands */ }
  const backend = tf.getBackend()?.startsWith('wasm') ? (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }) : undefined;
  const heap = backend?.wasm?.HEAPU8?.buffer.byteLength;
  return { peakRssMiB: Math.round(rss * 10) / 10, wasmHeapMiB: heap === undefined ? null : Math.round((heap / MIB) * 10) / 10 };
}
