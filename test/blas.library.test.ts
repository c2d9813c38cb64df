/**
 * The BLAS loader of the wasm+blas backend (src/blas/library.ts): it finds and identifies an
 * optimised BLAS, and every unusable library is a BackendError naming what to install.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BackendError } from '../src/errors.js';
import { candidateLibraries, identifyVendor, loadBlas, CBLAS_NO_TRANS, CBLAS_ROW_MAJOR, CBLAS_TRANS } from '../src/blas/library.js';
import { selectBackend } from '../src/backend.js';
import { requireBlas } from './helpers/blas.js';

function loadError(named: string): BackendError {
  try {
    loadBlas(named);
  } catch (err) {
    expect(err).to.be.instanceOf(BackendError);
    return err as BackendError;
  }
  throw new Error(`loadBlas(${named}) succeeded`);
}

const INSTALL = /apt-get install libopenblas0-pthread/;

describe('BLAS loader (wasm+blas)', function () {
  it('finds, identifies and runs an optimised BLAS (OpenBLAS here), with its thread count settable', function () {
    requireBlas(this);
    const lib = loadBlas();
    expect(lib.vendor).to.be.oneOf(['OpenBLAS', 'MKL', 'BLIS', 'Accelerate']);
    if (lib.vendor === 'OpenBLAS') {
      expect(lib.version).to.match(/^\d+\.\d+\.\d+/);
      expect(lib.details).to.match(/^OpenBLAS /);
    }
    lib.setThreads(1);
    expect(lib.threads()).to.equal(1);
    // [[1,2],[3,4]] x [[5,6],[7,8]]^T on sub-views of one buffer (how the kernels use the wasm heap)
    const heap = new Float32Array(64);
    heap.set([1, 2, 3, 4], 0);
    heap.set([5, 6, 7, 8], 8);
    heap.fill(1, 20, 24);
    lib.sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, 2, 2, 2, 0.5, heap.subarray(0), 2, heap.subarray(8), 2, 1, heap.subarray(20), 2);
    expect(Array.from(heap.subarray(20, 24))).to.deep.equal([1 + 8.5, 1 + 11.5, 1 + 19.5, 1 + 26.5]);
    expect(heap[24]).to.equal(0);
  });

  it('prefers the pthread OpenBLAS to the OpenMP build (spin-waits under contention), on Linux', () => {
    const list = candidateLibraries('linux', 'x64');
    expect(list.indexOf('/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0'))
      .to.be.lessThan(list.indexOf('/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0'));
    expect(list.indexOf('libopenblasp.so.0')).to.be.lessThan(list.indexOf('libopenblaso.so.0'));
    expect(list).to.include('libmkl_rt.so.2');
    expect(candidateLibraries('darwin', 'arm64')[0]).to.equal('/System/Library/Frameworks/Accelerate.framework/Accelerate');
  });

  it('identifies vendors by their own symbols; cblas_sgemm alone is not enough', () => {
    const from = (...symbols: string[]) => identifyVendor((s) => symbols.includes(s));
    expect(from('cblas_sgemm', 'openblas_get_config')).to.equal('OpenBLAS');
    expect(from('cblas_sgemm', 'MKL_Get_Version_String')).to.equal('MKL');
    expect(from('cblas_sgemm', 'bli_info_get_version_str')).to.equal('BLIS');
    expect(from('cblas_sgemm', 'vDSP_vadd')).to.equal('Accelerate');
    expect(from('cblas_sgemm', 'sgemm_')).to.equal(undefined);
  });

  it('a named library that does not exist: BackendError saying what to install', () => {
    const err = loadError('/nonexistent/dir/libopenblas.so.0');
    expect(err.code).to.equal('BACKEND_UNAVAILABLE');
    expect(err.message).to.match(/IMAGEREWARD_BLAS \(\/nonexistent\/dir\/libopenblas\.so\.0\) was not found/);
    expect(err.message).to.match(INSTALL);
  });

  it('a shared library without cblas_sgemm: BackendError', function () {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      console.warn('\n  !!! SKIPPING: the no-cblas_sgemm case uses koffi\'s linux-x64 addon as its library\n');
      this.skip();
    }
    // koffi's own native addon is a shared library that every install has, and it is no BLAS.
    const addon = join(dirname(createRequire(import.meta.url).resolve('@koromix/koffi-linux-x64/package.json')), 'linux_x64', 'koffi.node');
    expect(existsSync(addon), addon).to.equal(true);
    const err = loadError(addon);
    expect(err.message).to.match(/is not a BLAS with a C interface \(it has no cblas_sgemm\)/);
    expect(err.message).to.match(INSTALL);
  });

  it('a file that is not a loadable library (koffi load failure): BackendError, no crash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'imagereward-blas-'));
    try {
      const fake = join(dir, 'libopenblas.so.0');
      writeFileSync(fake, 'not an ELF file\n');
      const err = loadError(fake);
      expect(err.message).to.match(/BLAS library .*libopenblas\.so\.0 cannot be loaded: /);
      expect(err.message).to.match(INSTALL);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the netlib reference BLAS (libblas3): refused, BackendError naming the optimised one to install', function () {
    const netlib = '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3';
    if (!existsSync(netlib)) {
      const msg = `the netlib reference BLAS is not installed (${netlib}; Debian package libblas3)`;
      if (process.env.CI === 'true') throw new Error(msg);
      console.warn(`\n  !!! SKIPPING: ${msg}\n`);
      this.skip();
    }
    const err = loadError(netlib);
    expect(err.message).to.match(/is the netlib reference BLAS \(or an unknown one\): it has cblas_sgemm/);
    expect(err.message).to.match(/~60x slower/);
    expect(err.message).to.match(INSTALL);
  });

  it('--backend wasm+blas with an unusable IMAGEREWARD_BLAS is an error; the default choice does not silently drop it', async () => {
    const saved = process.env.IMAGEREWARD_BLAS;
    process.env.IMAGEREWARD_BLAS = '/nonexistent/libmkl_rt.so.2';
    try {
      for (const backend of ['wasm+blas', undefined]) {
        let err: unknown;
        try { await selectBackend({ ...(backend ? { backend } : {}), log: null }); } catch (e) { err = e; }
        expect(err, `backend ${backend ?? '(default)'}`).to.be.instanceOf(BackendError);
        expect((err as Error).message).to.match(/libmkl_rt\.so\.2\) was not found/);
      }
    } finally {
      if (saved === undefined) delete process.env.IMAGEREWARD_BLAS; else process.env.IMAGEREWARD_BLAS = saved;
    }
  });
});
