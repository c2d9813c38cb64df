/**
 * Backend choice. Order of preference: tfjs-node-gpu (CUDA), tfjs-node (libtensorflow), wasm, cpu.
 * The native ones are optionalDependencies whose install fails offline, so they are loaded with a
 * guarded dynamic import. A backend named explicitly (option or IMAGEREWARD_BACKEND) must load, or
 * a BackendError says why: there is no silent fallback from a named backend.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendError } from './errors.js';

export const BACKEND_NAMES = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendChoice {
  /** Our name for it. */
  readonly name: BackendName;
  /** The name tfjs registered it under (`tensorflow` for both native builds). */
  readonly tfName: string;
}

export function isBackendName(x: unknown): x is BackendName {
  return typeof x === 'string' && (BACKEND_NAMES as readonly string[]).includes(x);
}

async function activate(name: BackendName): Promise<BackendChoice> {
  switch (name) {
    case 'node-gpu':
      await import('@tensorflow/tfjs-node-gpu' as string);
      return setTf(name, 'tensorflow');
    case 'node':
      await import('@tensorflow/tfjs-node' as string);
      return setTf(name, 'tensorflow');
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      return setTf(name, 'wasm');
    case 'cpu':
      return setTf(name, 'cpu');
  }
}

async function setTf(name: BackendName, tfName: string): Promise<BackendChoice> {
  const ok = await tf.setBackend(tfName);
  if (!ok) throw new Error(`tf.setBackend('${tfName}') returned false`);
  await tf.ready();
  return { name, tfName };
}

let current: BackendChoice | undefined;

/** The backend chosen by the last selectBackend call, if any. */
export function currentBackend(): BackendChoice | undefined {
  return current && tf.getBackend() === current.tfName ? current : undefined;
}

export interface SelectBackendOptions {
  /** A backend name; default: $IMAGEREWARD_BACKEND, else the best one that loads. */
  readonly backend?: string;
  /** Where to say which backend runs (default: stderr). Pass null to stay quiet. */
  readonly log?: ((line: string) => void) | null;
}

/** Selects and initialises a backend, says which one runs, and returns it. */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendChoice> {
  const requested = options.backend ?? (process.env.IMAGEREWARD_BACKEND || undefined);
  const log = options.log === undefined ? (line: string) => process.stderr.write(`${line}\n`) : options.log;
  if (requested !== undefined) {
    if (!isBackendName(requested)) {
      throw new BackendError(`unknown backend "${requested}" (choose one of: ${BACKEND_NAMES.join(', ')})`);
    }
    if (current?.name === requested && tf.getBackend() === current.tfName) return current;
    try {
      current = await activate(requested);
    } catch (err) {
      throw new BackendError(`backend "${requested}" was requested but cannot be loaded: ${(err as Error).message}`, { cause: err });
    }
    log?.(`imagereward: using backend ${current.name}`);
    return current;
  }
  const skipped: string[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      current = await activate(name);
      log?.(`imagereward: using backend ${current.name}${skipped.length ? ` (unavailable: ${skipped.join('; ')})` : ''}`);
      return current;
    } catch (err) {
      skipped.push(`${name}: ${firstLine((err as Error).message)}`);
    }
  }
  throw new BackendError(`no tfjs backend could be loaded: ${skipped.join('; ')}`);
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0] ?? s;
}
