/**
 * Multi-threaded wasm in Node. tfjs-backend-wasm 4.22.0 never uses its threaded-SIMD build in Node
 * (flags_wasm.ts hard-codes WASM_HAS_MULTITHREAD_SUPPORT false: the pthread worker would come from
 * a `blob:` URL, which node:worker_threads refuses) and XNNPACK caps its pool at half the logical
 * cores. This re-registers the 'wasm' backend with the threaded build, a real worker file, and a
 * core count that lets `threads` threads run. Results are bit-identical to one thread.
 *
 * Relies on 4.22.0 internals (wasm-out/ file names, the BackendWasm constructor, the emscripten
 * Module hooks locateFile / mainScriptUrlOrBlob / instantiateWasm): the version is pinned.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BackendError } from './errors.js';

const require = createRequire(import.meta.url);
const THREADED = 'tfjs-backend-wasm-threaded-simd';

type EmscriptenImports = { env: Record<string, unknown> };
/** The part of the WebAssembly global used here (tsconfig's lib has no WebAssembly types). */
interface WasmInstantiate {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: object; module: object }>;
}
const webAssembly = (globalThis as unknown as { WebAssembly: WasmInstantiate }).WebAssembly;
interface EmscriptenConfig {
  locateFile(path: string): string;
  mainScriptUrlOrBlob: string;
  instantiateWasm(imports: EmscriptenImports, done: (instance: object, module: object) => void): object;
}
type CWrap = (name: string, returnType: string | null, argTypes: string[]) => unknown;
type EmscriptenModule = { cwrap: CWrap; tfjs?: Record<string, unknown> };

/**
 * Makes the next `tf.setBackend('wasm')` (or selectBackend({ backend: 'wasm' })) start the threaded
 * build with `threads` threads. Call before the wasm backend is first initialised.
 */
export function registerThreadedWasm(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new BackendError(`wasm threads must be a positive integer, got ${threads}`);
  // engine().registry holds initialised backends only (tf.findBackend would start a registered one).
  if ('wasm' in tf.engine().registry) throw new BackendError('registerThreadedWasm must run before the wasm backend is initialised');
  const factoryPath = require.resolve(`@tensorflow/tfjs-backend-wasm/wasm-out/${THREADED}.js`);
  const factory = require(factoryPath) as (config: EmscriptenConfig) => Promise<EmscriptenModule>;
  const { wasmWorkerContents } = require(`@tensorflow/tfjs-backend-wasm/wasm-out/${THREADED}.worker.js`) as { wasmWorkerContents: string };
  // The template string turned the source's "\n" escapes into newlines; backend_wasm.ts undoes it the same way.
  const workerPath = join(mkdtempSync(join(tmpdir(), 'imagereward-wasm-')), `${THREADED}.worker.cjs`);
  writeFileSync(workerPath, wasmWorkerContents.replace(/\n/g, '\\n'));
  const wasmPath = join(dirname(factoryPath), `${THREADED}.wasm`);

  setThreadsCount(threads);
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', async () => {
    const module = await factory({
      locateFile: (path) => (path.endsWith('.worker.js') ? workerPath : path.endsWith('.wasm') ? wasmPath : path),
      // pthread workers load this file with importScripts (fs.readFileSync + eval in Node)
      mainScriptUrlOrBlob: factoryPath,
      instantiateWasm: (imports, done) => {
        // XNNPACK uses at most half the reported cores: report enough for `threads`.
        imports.env.emscripten_num_logical_cores = () => 2 * threads;
        void webAssembly.instantiate(readFileSync(wasmPath), imports).then((r) => done(r.instance, r.module));
        return {};
      },
    });
    // The bridge backend_wasm.ts init() attaches before constructing BackendWasm.
    module.tfjs = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    };
    const backend = new BackendWasm(module as unknown as ConstructorParameters<typeof BackendWasm>[0]);
    letThreadsExit(module);
    return backend;
  }, 2);
}

interface NodeWorker {
  ref(): unknown;
  unref(): unknown;
}
interface PThreadPool {
  runningWorkers: NodeWorker[];
  unusedWorkers: NodeWorker[];
  allocateUnusedWorker(): void;
}

/**
 * emscripten refs a pthread's worker while the thread runs, and XNNPACK's pool threads (started by
 * the BackendWasm constructor) run until the module dies, so Node would never exit. The main thread
 * only ever waits for them synchronously, inside a kernel call, so they need not hold the event
 * loop: unref every worker, now and any allocated later, and keep emscripten from re-ref'ing them.
 */
function letThreadsExit(module: EmscriptenModule): void {
  const pool = (module as { PThread?: PThreadPool }).PThread;
  if (!pool) throw new BackendError('the threaded wasm build has no PThread pool (tfjs-backend-wasm internals changed)');
  const release = (worker: NodeWorker) => {
    worker.unref();
    worker.ref = () => worker;
  };
  [...pool.runningWorkers, ...pool.unusedWorkers].forEach(release);
  const allocate = pool.allocateUnusedWorker.bind(pool);
  pool.allocateUnusedWorker = () => {
    allocate();
    release(pool.unusedWorkers[pool.unusedWorkers.length - 1]!);
  };
}
