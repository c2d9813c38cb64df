/**
 * Physical CPU cores this process may use: distinct (package, core) pairs of /proc/cpuinfo on Linux
 * (SMT siblings share a core's FMA units, so a second BLAS thread per core only adds contention),
 * capped by os.availableParallelism() (affinity masks, cgroup quotas). Elsewhere: availableParallelism.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export function physicalCores(cpuinfo: string | undefined = readCpuinfo()): number {
  const usable = availableParallelism();
  if (!cpuinfo) return usable;
  const cores = new Set<string>();
  for (const block of cpuinfo.split(/\n\s*\n/)) {
    const pkg = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1];
    const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
    if (pkg !== undefined && core !== undefined) cores.add(`${pkg}:${core}`);
  }
  return cores.size ? Math.max(1, Math.min(cores.size, usable)) : usable;
}

function readCpuinfo(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return undefined;
  }
}
