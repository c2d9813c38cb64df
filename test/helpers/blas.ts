/**
 * The wasm+blas tests need a system BLAS (libopenblas0-pthread on Debian/Ubuntu). Without one they
 * skip loudly with the loader's own reason; under CI=true (where .ci/run installs OpenBLAS) a
 * missing BLAS fails them instead.
 */
import { BackendError } from '../../src/errors.js';
import { loadBlas } from '../../src/blas/library.js';

let reason: string | null | undefined;

/** Why no BLAS can be loaded here, or null when one can. */
export function blasUnavailableReason(): string | null {
  if (reason === undefined) {
    try {
      loadBlas();
      reason = null;
    } catch (err) {
      if (!(err instanceof BackendError)) throw err;
      reason = err.message;
    }
  }
  return reason;
}

/** Call in a mocha `before`/`it` with `this`: skips (loudly) without a BLAS, fails under CI=true. */
export function requireBlas(ctx: Mocha.Context): void {
  const why = blasUnavailableReason();
  if (why === null) return;
  if (process.env.CI === 'true') throw new Error(`wasm+blas cannot run under CI: ${why}`);
  console.warn(`\n  !!! SKIPPING wasm+blas tests: ${why}\n`);
  ctx.skip();
}
