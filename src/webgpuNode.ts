/**
 * WebGPU in Node: the optional `webgpu` npm package (Dawn, prebuilt) provides navigator.gpu and the
 * GPU* globals that tfjs-backend-webgpu expects from a browser. Dawn drives Vulkan (Linux), Metal
 * (macOS) or D3D12 (Windows); without a driver it finds no adapter, which activateWebGpu reports.
 * (On Linux without a GPU, Chromium's SwiftShader Vulkan driver works: LD_LIBRARY_PATH=/usr/lib/chromium
 * VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json, set before Node starts.)
 */
import { BackendError } from './errors.js';
import { navigatorGpu, type GpuLike } from './webgpu.js';

interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

/** The Dawn instance: kept for the life of the process (tfjs holds its device). */
let dawn: GpuLike | undefined;

/** Puts Dawn's navigator.gpu in place unless there already is one. */
export async function installDawn(): Promise<void> {
  if (navigatorGpu()) return;
  let mod: DawnModule;
  try {
    mod = (await import('webgpu' as string)) as DawnModule;
  } catch (err) {
    throw new BackendError(`webgpu in Node needs the optional package "webgpu" (Dawn), which cannot be loaded: ${(err as Error).message.split('\n', 1)[0]}`, { cause: err });
  }
  Object.assign(globalThis, mod.globals);
  dawn = mod.create([]);
  const g = globalThis as { navigator?: object };
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawn }, configurable: true, writable: true });
  else Object.defineProperty(g.navigator, 'gpu', { value: dawn, configurable: true });
}
