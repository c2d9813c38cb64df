/**
 * The environment of a child process that runs webgpu through Dawn: as is, plus Chromium's SwiftShader
 * Vulkan driver when the system has no libvulkan (the Vulkan loader reads these at process start).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const CHROMIUM_LIB = '/usr/lib/chromium';

export function vulkanEnv(): NodeJS.ProcessEnv {
  const systemVulkan = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib/libvulkan.so.1'].some(existsSync);
  const swiftshader = join(CHROMIUM_LIB, 'vk_swiftshader_icd.json');
  if (systemVulkan || process.env.VK_ICD_FILENAMES || !existsSync(swiftshader)) return process.env;
  return { ...process.env, LD_LIBRARY_PATH: [CHROMIUM_LIB, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'), VK_ICD_FILENAMES: swiftshader };
}
