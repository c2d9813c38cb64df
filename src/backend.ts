/**
 * Backend choice. Order of preference: tfjs-node-gpu (CUDA), tfjs-node (libtensorflow), wasm+blas
 * (tfjs-backend-wasm with BLAS kernels over a system OpenBLAS/MKL/BLIS/Accelerate, src/blas), wasm,
 * cpu. The native ones are optionalDependencies whose install fails offline, so they are loaded with
 * a guarded dynamic import. 'webgpu' (Dawn through the optional `webgpu` package, src/webgpuNode.ts)
 * runs only when named: it needs a GPU adapter, and on a machine without a GPU it is software. A backend named explicitly (option or IMAGEREWARD_BACKEND) must load, or
 * a BackendError says why: there is no silent fallback from a named backend (nor from a BLAS named
 * by IMAGEREWARD_BLAS). Every call says which backend runs.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendError } from './errors.js';
import { setFusedKernels } from './ops/dispatch.js';
import { firstLine } from './util/text.js';
import type { BlasLibrary } from './blas/library.js';
import type { WebGpuAdapter } from './webgpu.js';

export const BACKEND_NAMES = ['node-gpu', 'node', 'wasm+blas', 'wasm', 'cpu', 'webgpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Tried in this order when no backend is named. */
const AUTO_ORDER: readonly BackendName[] = ['node-gpu', 'node', 'wasm+blas', 'wasm', 'cpu'];

export interface BackendChoice {
  /** Our name for it. */
  readonly name: BackendName;
  /** The name tfjs registered it under (`tensorflow` for both native builds). */
  readonly tfName: string;
  /** Threads of the wasm backend (1 unless the threaded build was asked for); absent for other backends. */
  readonly wasmThreads?: number;
  /** wasm+blas only: the BLAS library and its thread count. */
  readonly blas?: BlasInfo;
  /** webgpu only: the adapter it runs on. */
  readonly adapter?: WebGpuAdapter;
}

export interface BlasInfo {
  /** "OpenBLAS 0.3.21" */
  readonly library: string;
  /** What the library says about itself (openblas_get_config, ...). */
  readonly details: string;
  /** Where it was loaded from (a path or a soname). */
  readonly path: string;
  /** BLAS threads (undefined: the library's own choice, Apple Accelerate). */
  readonly threads: number | undefined;
}

export function isBackendName(x: unknown): x is BackendName {
  return typeof x === 'string' && (BACKEND_NAMES as readonly string[]).includes(x);
}

/** The thread count the wasm backend was started with: it cannot change within a process. */
let wasmThreadsStarted: number | undefined;

async function activateWasm(threads: number): Promise<BackendChoice> {
  if (wasmThreadsStarted !== undefined && wasmThreadsStarted !== threads) {
    throw new Error(`the wasm backend already runs with ${wasmThreadsStarted} thread(s) in this process; it cannot switch to ${threads}`);
  }
  if (wasmThreadsStarted === undefined && threads > 1) {
    const { registerThreadedWasm } = await import('./wasmThreads.js');
    registerThreadedWasm(threads);
  } else {
    await import('@tensorflow/tfjs-backend-wasm');
  }
  const choice = await setTf('wasm', 'wasm');
  wasmThreadsStarted = threads;
  return { ...choice, wasmThreads: threads };
}

/** The BLAS loaded in this process, and the $IMAGEREWARD_BLAS it was loaded for. */
let blasLoaded: { library: BlasLibrary; named: string | undefined } | undefined;

/**
 * wasm+blas: the wasm backend plus the kernels of src/blas/kernels.ts over the system BLAS. BLAS and
 * wasm threads share the thread budget (`threads`, default the physical cores): BLAS gets
 * floor(threads / wasmThreads), so the two pools never oversubscribe the cores.
 */
async function activateWasmBlas(wasmThreads: number, threads: number): Promise<BackendChoice> {
  const { loadBlas, blasName } = await import('./blas/library.js');
  const named = process.env.IMAGEREWARD_BLAS || undefined;
  if (!blasLoaded || blasLoaded.named !== named) blasLoaded = { library: loadBlas(named), named };
  const lib = blasLoaded.library;
  lib.setThreads(Math.max(1, Math.floor(threads / wasmThreads)));
  const wasm = await activateWasm(wasmThreads);
  const { registerBlasKernels } = await import('./blas/kernels.js');
  registerBlasKernels(lib.sgemm);
  setFusedKernels(true);
  return { ...wasm, name: 'wasm+blas', blas: { library: blasName(lib), details: lib.details, path: lib.path, threads: lib.threads() } };
}

async function activate(name: BackendName, wasmThreads: number, threads: number): Promise<BackendChoice> {
  setFusedKernels(false);
  switch (name) {
    case 'node-gpu':
      await import('@tensorflow/tfjs-node-gpu' as string);
      return setTf(name, 'tensorflow');
    case 'node':
      await import('@tensorflow/tfjs-node' as string);
      return setTf(name, 'tensorflow');
    case 'wasm+blas':
      return activateWasmBlas(wasmThreads, threads);
    case 'wasm':
      return activateWasm(wasmThreads);
    case 'webgpu': {
      const { installDawn } = await import('./webgpuNode.js');
      await installDawn();
      const { activateWebGpu } = await import('./webgpu.js');
      return { name, tfName: 'webgpu', adapter: await activateWebGpu() };
    }
    case 'cpu': {
      const choice = await setTf(name, 'cpu');
      silenceCpuBanner();
      return choice;
    }
  }
}

/**
 * tfjs-backend-cpu 4.22's MathBackendCPU prints an "install our node backend" banner on its first
 * write in Node (its `firstUse` flag). We already say which backend runs and why the others did not
 * load, so the banner is switched off by clearing that flag (a pinned-version internal, like
 * wasmThreads.ts).
 */
function silenceCpuBanner(): void {
  const cpu = tf.backend() as unknown as { firstUse?: boolean };
  if (cpu.firstUse !== undefined) cpu.firstUse = false;
}

async function setTf(name: BackendName, tfName: string): Promise<BackendChoice> {
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new Error(`tf.setBackend('${tfName}') returned false`);
  await tf.ready();
  return { name, tfName };
}

export interface SelectBackendOptions {
  /** A backend name; default: $IMAGEREWARD_BACKEND, else the best one that loads. */
  readonly backend?: string;
  /**
   * Threads for the wasm backend; default: $IMAGEREWARD_WASM_THREADS, else 1. More than 1 starts
   * tfjs-backend-wasm's threaded build (src/wasmThreads.ts; same results, about 1.6x faster with 2).
   * Fixed for the process once the wasm backend has started.
   */
  readonly wasmThreads?: number;
  /**
   * Threads in all (BLAS threads x wasm threads never exceed it); default: $IMAGEREWARD_THREADS,
   * else the physical cores. Used by wasm+blas.
   */
  readonly threads?: number;
  /** Where to say which backend runs, in one line (default: stderr). Pass null to stay quiet. */
  readonly log?: ((line: string) => void) | null;
  /** Also log why each better backend was skipped, one line each (the full first line of its error). */
  readonly verbose?: boolean;
}

function wasmThreadsFrom(option: number | undefined): number {
  return positiveCount(option, 'wasmThreads', 'IMAGEREWARD_WASM_THREADS', 'wasm threads', () => 1);
}

async function threadsFrom(option: number | undefined): Promise<number> {
  const { physicalCores } = await import('./blas/cores.js');
  return positiveCount(option, 'threads', 'IMAGEREWARD_THREADS', 'threads', physicalCores);
}

function positiveCount(option: number | undefined, optionName: string, envName: string, what: string, fallback: () => number): number {
  const env = process.env[envName];
  const value = option ?? (env ? Number(env) : fallback());
  if (!Number.isSafeInteger(value) || value < 1) {
    const from = option === undefined ? `${envName}="${env}"` : `${optionName} ${option}`;
    throw new BackendError(`${from}: ${what} must be a positive integer`);
  }
  return value;
}

/** Details of the running backend for the one-line report, e.g. `2 threads`; empty when there are none. */
function details(choice: BackendChoice): string[] {
  if (choice.adapter) return [[choice.adapter.vendor, choice.adapter.architecture, choice.adapter.description].filter((s) => s !== '').join(' ') || 'adapter without a name'];
  const wasm = choice.wasmThreads !== undefined && choice.wasmThreads > 1 ? `${choice.wasmThreads} threads` : undefined;
  if (!choice.blas) return wasm ? [wasm] : [];
  // wasm+blas: `OpenBLAS 0.3.21, 2 threads` (the BLAS's threads; the wasm ones after them when more than 1)
  const t = choice.blas.threads;
  return [choice.blas.library, t === undefined ? 'its own threads' : `${t} thread${t === 1 ? '' : 's'}`, ...(wasm ? [`wasm ${wasm}`] : [])];
}

/** The npm package a backend comes from, for "tfjs-node not installed". */
const PACKAGE_OF: Partial<Record<BackendName, string>> = { 'node-gpu': 'tfjs-node-gpu', node: 'tfjs-node' };

interface Skipped {
  readonly name: BackendName;
  readonly error: Error;
}

function notInstalled(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * Why the better backends did not run, in a few words: "tfjs-node not installed" when neither native
 * package is there (tfjs-node-gpu is the same package built for CUDA), else one short clause each.
 */
function skippedSummary(skipped: readonly Skipped[]): string[] {
  const missing = skipped.filter((s) => notInstalled(s.error)).map((s) => s.name);
  const failed = skipped.filter((s) => !notInstalled(s.error)).map((s) => s.name === 'wasm+blas'
    ? 'no usable BLAS for wasm+blas (--verbose says what to install)'
    : `${PACKAGE_OF[s.name] ?? s.name} failed to load (--verbose says why)`);
  const bothNative = missing.includes('node') && missing.includes('node-gpu');
  const missingText = bothNative ? ['tfjs-node not installed'] : missing.map((n) => `${PACKAGE_OF[n] ?? n} not installed`);
  return [...missingText, ...failed];
}

/**
 * The one line every load prints: `imagereward: backend wasm (2 threads; tfjs-node not installed)`.
 * The parenthesis carries the backend's own details first, then why better ones were skipped.
 */
function describe(choice: BackendChoice, skipped: readonly Skipped[] = []): string {
  const parts = [details(choice).join(', '), skippedSummary(skipped).join(', ')].filter((p) => p !== '');
  return `imagereward: backend ${choice.name}${parts.length ? ` (${parts.join('; ')})` : ''}`;
}

/** Selects and initialises a backend, says which one runs, and returns it. */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendChoice> {
  const requested = options.backend ?? (process.env.IMAGEREWARD_BACKEND || undefined);
  const log = options.log === undefined ? (line: string) => process.stderr.write(`${line}\n`) : options.log;
  const wasmThreads = wasmThreadsFrom(options.wasmThreads);
  const threads = await threadsFrom(options.threads);
  if (requested !== undefined) {
    if (!isBackendName(requested)) {
      throw new BackendError(`unknown backend "${requested}" (choose one of: ${BACKEND_NAMES.join(', ')})`);
    }
    const chosen = await activate(requested, wasmThreads, threads).catch((err: unknown) => {
      throw new BackendError(`backend "${requested}" was requested but cannot be loaded: ${(err as Error).message}`, { cause: err });
    });
    log?.(describe(chosen));
    return chosen;
  }
  const skipped: Skipped[] = [];
  for (const name of AUTO_ORDER) {
    try {
      const chosen = await activate(name, wasmThreads, threads);
      log?.(describe(chosen, skipped));
      if (options.verbose) for (const s of skipped) log?.(`imagereward: backend ${s.name} skipped: ${firstLine(s.error.message)}`);
      return chosen;
    } catch (err) {
      // A library named by IMAGEREWARD_BLAS that cannot be used is an error, not a reason to run without it.
      if (name === 'wasm+blas' && process.env.IMAGEREWARD_BLAS) {
        throw new BackendError(`IMAGEREWARD_BLAS=${process.env.IMAGEREWARD_BLAS} cannot be used: ${(err as Error).message}`, { cause: err });
      }
      skipped.push({ name, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }
  throw new BackendError(`no tfjs backend could be loaded: ${skipped.map((s) => `${s.name}: ${firstLine(s.error.message)}`).join('; ')}`);
}
