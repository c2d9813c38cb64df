/**
 * The system BLAS behind the wasm+blas backend, loaded with koffi (prebuilt FFI from npm: nothing
 * to compile). Finds OpenBLAS (pthread build first: the OpenMP build spin-waits under contention),
 * Intel MKL (libmkl_rt), BLIS or Apple Accelerate; $IMAGEREWARD_BLAS names one (a path or a soname).
 * The netlib reference BLAS exports the same cblas_sgemm but is ~60x slower, so a library that is
 * not identified as one of the optimised ones is refused with what to install, never used.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BackendError } from '../errors.js';

export type BlasVendor = 'OpenBLAS' | 'MKL' | 'BLIS' | 'Accelerate';

/** cblas enums (cblas.h). */
export const CBLAS_ROW_MAJOR = 101;
export const CBLAS_NO_TRANS = 111;
export const CBLAS_TRANS = 112;

/** cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); A, B, C are float32 views (zero-copy). */
export type Sgemm = (
  order: number, transA: number, transB: number, m: number, n: number, k: number,
  alpha: number, a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number,
) => void;

export interface BlasLibrary {
  readonly vendor: BlasVendor;
  /** "0.3.21"; '' when the library does not say. */
  readonly version: string;
  /** What the library says about itself (openblas_get_config, MKL's version string, ...). */
  readonly details: string;
  /** The path or soname it was loaded from. */
  readonly path: string;
  readonly sgemm: Sgemm;
  /** The library's thread count (Accelerate: undefined, it is not settable). */
  threads(): number | undefined;
  setThreads(n: number): void;
}

export const INSTALL_HINT =
  'install an optimised BLAS: Debian/Ubuntu `apt-get install libopenblas0-pthread`, Fedora `dnf install openblas-threads`' +
  ' (macOS has Accelerate built in), or name one with IMAGEREWARD_BLAS=/path/to/libopenblas.so';

/** Where to look, best first, for this platform and CPU. */
export function candidateLibraries(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string[] {
  if (platform === 'darwin') {
    return [
      '/System/Library/Frameworks/Accelerate.framework/Accelerate',
      '/opt/homebrew/opt/openblas/lib/libopenblas.dylib',
      '/usr/local/opt/openblas/lib/libopenblas.dylib',
    ];
  }
  if (platform === 'win32') return ['libopenblas.dll', 'mkl_rt.2.dll', 'mkl_rt.dll'];
  const triplet = arch === 'arm64' ? 'aarch64-linux-gnu' : arch === 'x64' ? 'x86_64-linux-gnu' : undefined;
  const debian = triplet
    ? [`/usr/lib/${triplet}/openblas-pthread/libopenblas.so.0`, `/usr/lib/${triplet}/openblas-openmp/libopenblas.so.0`]
    : [];
  return [
    ...debian,
    'libopenblasp.so.0', // Fedora openblas-threads (pthread)
    'libopenblas.so.0', // Debian alternatives / Fedora serial build
    'libopenblaso.so.0', // Fedora openblas-openmp
    'libopenblas.so',
    'libmkl_rt.so.2',
    'libmkl_rt.so',
    ...(triplet ? [`/usr/lib/${triplet}/blis-pthread/libblis.so.4`, `/usr/lib/${triplet}/blis-openmp/libblis.so.4`] : []),
    'libblis.so.4',
    'libblis-mt.so.4',
    'libblis.so',
  ];
}

/** What a library's exported symbols say it is; `undefined`: cblas_sgemm without a known vendor's symbols (netlib). */
export function identifyVendor(has: (symbol: string) => boolean): BlasVendor | undefined {
  if (has('openblas_get_config')) return 'OpenBLAS';
  if (has('MKL_Get_Version_String')) return 'MKL';
  if (has('bli_info_get_version_str')) return 'BLIS';
  if (has('vDSP_vadd') || has('BLASSetThreading')) return 'Accelerate';
  return undefined;
}

type Koffi = typeof import('koffi');
type KoffiLibrary = ReturnType<Koffi['load']>;

function koffiModule(): Koffi {
  // koffi is CommonJS with a native addon; require keeps it out of browser bundles' static graph.
  try {
    return createRequire(import.meta.url)('koffi') as Koffi;
  } catch (err) {
    throw new BackendError(`the koffi FFI module cannot be loaded (${(err as Error).message}); reinstall with \`npm ci\``, { cause: err });
  }
}

/** The reason a load failed, as dlopen said it. */
function isNotFound(message: string, path: string): boolean {
  return /no such file|not found|cannot find|image not found|could not be found/i.test(message) || (path.includes('/') && !existsSync(path));
}

function tryFunc<T>(lib: KoffiLibrary, definition: string): T | undefined {
  try {
    return lib.func(definition) as unknown as T;
  } catch {
    return undefined;
  }
}

class NotFound extends Error {}

/**
 * Loads one library and checks it. Throws NotFound when nothing is at `path`, BackendError when
 * something is there but unusable (cannot be loaded, no cblas_sgemm, the reference BLAS).
 */
function openLibrary(koffi: Koffi, path: string): BlasLibrary {
  let lib: KoffiLibrary;
  try {
    lib = koffi.load(path);
  } catch (err) {
    const message = (err as Error).message;
    if (isNotFound(message, path)) throw new NotFound(`${path}: not found`);
    throw new BackendError(`BLAS library ${path} cannot be loaded: ${message}; ${INSTALL_HINT}`, { cause: err });
  }
  const has = (symbol: string) => tryFunc(lib, `void ${symbol}()`) !== undefined;
  const sgemm = tryFunc<Sgemm>(lib, 'void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int)');
  if (!sgemm) {
    lib.unload();
    throw new BackendError(`${path} is not a BLAS with a C interface (it has no cblas_sgemm); ${INSTALL_HINT}`);
  }
  const vendor = identifyVendor(has);
  if (!vendor) {
    lib.unload();
    throw new BackendError(
      `${path} is the netlib reference BLAS (or an unknown one): it has cblas_sgemm but none of OpenBLAS/MKL/BLIS/Accelerate's` +
      ` symbols, and the reference BLAS is ~60x slower than an optimised one; ${INSTALL_HINT}`,
    );
  }
  return describeLibrary(lib, vendor, path, sgemm);
}

function describeLibrary(lib: KoffiLibrary, vendor: BlasVendor, path: string, sgemm: Sgemm): BlasLibrary {
  const fn = <T>(definition: string) => tryFunc<T>(lib, definition);
  switch (vendor) {
    case 'OpenBLAS': {
      const config = fn<() => string>('const char *openblas_get_config()')?.() ?? '';
      const get = fn<() => number>('int openblas_get_num_threads()');
      const set = fn<(n: number) => void>('void openblas_set_num_threads(int)');
      return { vendor, version: /OpenBLAS (\S+)/.exec(config)?.[1] ?? '', details: config.trim(), path, sgemm, threads: () => get?.(), setThreads: (n) => set?.(n) };
    }
    case 'MKL': {
      const getVersion = fn<(buf: Buffer, len: number) => void>('void MKL_Get_Version_String(_Out_ char *buf, int len)');
      const buf = Buffer.alloc(256);
      getVersion?.(buf, buf.length);
      const details = buf.toString('latin1').replace(/\0.*$/s, '').trim();
      const get = fn<() => number>('int MKL_Get_Max_Threads()');
      const set = fn<(n: number) => void>('void MKL_Set_Num_Threads(int)');
      return { vendor, version: /(\d+(?:\.\d+)+)/.exec(details)?.[1] ?? '', details, path, sgemm, threads: () => get?.(), setThreads: (n) => set?.(n) };
    }
    case 'BLIS': {
      const details = fn<() => string>('const char *bli_info_get_version_str()')?.() ?? '';
      const get = fn<() => number>('int64_t bli_thread_get_num_threads()');
      const set = fn<(n: number) => void>('void bli_thread_set_num_threads(int64_t)');
      return { vendor, version: details, details: `BLIS ${details}`, path, sgemm, threads: () => Number(get?.()), setThreads: (n) => set?.(n) };
    }
    case 'Accelerate':
      return { vendor, version: '', details: 'Apple Accelerate', path, sgemm, threads: () => undefined, setThreads: () => {} };
  }
}

/**
 * Finds and loads the BLAS: the one $IMAGEREWARD_BLAS (or `named`) names, else the first usable
 * candidate. Throws BackendError saying what was tried and what to install.
 */
export function loadBlas(named: string | undefined = process.env.IMAGEREWARD_BLAS || undefined): BlasLibrary {
  const koffi = koffiModule();
  if (named !== undefined) {
    try {
      return openLibrary(koffi, named);
    } catch (err) {
      if (err instanceof NotFound) throw new BackendError(`the BLAS library named by IMAGEREWARD_BLAS (${named}) was not found; ${INSTALL_HINT}`);
      throw err;
    }
  }
  const refused: string[] = [];
  for (const path of candidateLibraries()) {
    try {
      return openLibrary(koffi, path);
    } catch (err) {
      if (!(err instanceof NotFound)) refused.push(firstClause((err as Error).message));
    }
  }
  const why = refused.length ? `found only unusable ones (${refused.join('; ')})` : 'none found';
  throw new BackendError(`no optimised BLAS library: ${why}; ${INSTALL_HINT}`);
}

function firstClause(message: string): string {
  return message.split(';', 1)[0] ?? message;
}

/** "OpenBLAS 0.3.21" */
export function blasName(lib: BlasLibrary): string {
  return lib.version ? `${lib.vendor} ${lib.version}` : lib.vendor;
}
