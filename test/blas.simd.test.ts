/**
 * The WebAssembly SIMD elementwise kernels (src/blas/simdElementwise.ts) against float64 references
 * over dense grids, and against the JS kernels (elementwise.ts, the path without SIMD) on the same
 * memory: the error bounds documented in simdElementwise.ts, row tails that touch nothing outside
 * their rows, NaN / infinity behaviour, and the shared-memory variant of the module.
 */
import { expect } from 'chai';
import { simdElementwise, simdElementwiseAvailable } from '../src/blas/simdElementwise.js';
import { jsElementwise, type HeapElementwise } from '../src/blas/elementwise.js';
import { chebyshevInterpolant } from '../src/blas/chebyshev.js';
import { erf64 } from '../src/blas/erf64.js';
import { SeededRandom } from '../src/util/random.js';

interface Memory { buffer: ArrayBuffer }
const WasmMemory = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => Memory } }).WebAssembly.Memory;

const signedErf64 = (x: number) => Math.sign(x) * erf64(Math.abs(x));
const gelu64 = (x: number) => 0.5 * x * (1 + signedErf64(x / Math.SQRT2));

/** A dense grid of float32 values over [from, to] with `n` points, plus the given extras. */
function grid(from: number, to: number, n: number, extras: number[] = []): Float32Array {
  return Float32Array.from([...Array.from({ length: n }, (_, i) => from + ((to - from) * i) / (n - 1)), ...extras]);
}

describe('WebAssembly SIMD elementwise kernels', function () {
  let memory: Memory;
  let simd: HeapElementwise;
  let js: HeapElementwise;
  const SRC = 64; // byte offsets in the test memory
  const f32 = (at: number, n: number) => new Float32Array(memory.buffer, at, n);

  before(function () {
    if (!simdElementwiseAvailable()) this.skip(); // WebAssembly SIMD missing here: the JS kernels are used instead
    memory = new WasmMemory({ initial: 1024 }); // 64 MiB
    simd = simdElementwise(memory)!;
    js = jsElementwise(memory);
  });

  /** Runs a map kernel on `xs` (written at SRC) and returns its output. */
  function map(k: HeapElementwise, name: 'gelu' | 'erf' | 'exp', xs: Float32Array): Float32Array {
    const dst = SRC + 4 * xs.length + 64;
    f32(SRC, xs.length).set(xs);
    k[name](SRC, dst, xs.length);
    return f32(dst, xs.length).slice();
  }

  it('chebyshevInterpolant reproduces a polynomial of its own degree, and its errors shrink with the degree', () => {
    const c = chebyshevInterpolant((x) => 2 - 3 * x + 0.5 * x ** 3, -1, 3, 3);
    [2, -3, 0, 0.5].forEach((v, i) => expect(c[i]).to.be.closeTo(v, 1e-12));
    const maxError = (degree: number) => {
      const p = chebyshevInterpolant(Math.exp, -0.5, 0.5, degree);
      let m = 0;
      for (let x = -0.5; x <= 0.5; x += 1e-3) m = Math.max(m, Math.abs(p.reduceRight((s, ci) => s * x + ci, 0) - Math.exp(x)));
      return m;
    };
    expect(maxError(4)).to.be.below(3e-5); // (1/2)^5 / 5! / 2^4 = 1.6e-5
    expect(maxError(6)).to.be.below(5e-8); // (1/2)^7 / 7! / 2^6 = 2.4e-8
  });

  it('erf: |error| <= 2e-7 over [-7, 7] (2M points); odd; erf(+-inf) = +-1', () => {
    const xs = grid(-7, 7, 2_000_001, [Infinity, -Infinity, 0]);
    const out = map(simd, 'erf', xs);
    const fromJs = map(js, 'erf', xs);
    let worst = 0;
    let apart = 0;
    for (let i = 0; i < xs.length - 3; i++) {
      worst = Math.max(worst, Math.abs(out[i]! - signedErf64(xs[i]!)));
      apart = Math.max(apart, Math.abs(out[i]! - fromJs[i]!));
    }
    expect(worst).to.be.at.most(2e-7);
    expect(apart, 'SIMD vs JS').to.be.at.most(2e-7);
    expect([...out.slice(-3)]).to.deep.equal([1, -1, 0]);
    const half = map(simd, 'erf', Float32Array.from([0.5, -0.5, 2, -2]));
    expect(half[1]).to.equal(-half[0]!);
    expect(half[3]).to.equal(-half[2]!);
  });

  it('exp: relative error <= 3e-7 over [-87.3, 0] (2M points), 0 below -87.33, NaN stays NaN', () => {
    const xs = grid(-87.3, 0, 2_000_001, [-87.4, -100, -Infinity, NaN]);
    const out = map(simd, 'exp', xs);
    const fromJs = map(js, 'exp', xs);
    let worst = 0;
    let apart = 0;
    for (let i = 0; i < xs.length - 4; i++) {
      const e = Math.exp(xs[i]!);
      worst = Math.max(worst, Math.abs(out[i]! - e) / e);
      if (xs[i]! > -25) apart = Math.max(apart, Math.abs(out[i]! - fromJs[i]!) / e); // the JS table stops at -25
    }
    expect(worst).to.be.at.most(3e-7);
    expect(apart, 'SIMD vs JS').to.be.at.most(3e-7);
    expect([...out.slice(-4, -1)]).to.deep.equal([0, 0, 0]);
    expect(out[out.length - 1]).to.be.NaN;
    expect(map(simd, 'exp', Float32Array.from([0]))[0]).to.equal(1);
  });

  it('GELU: |error| <= 2e-7 max(1, |x|) over [-12, 12] (2M points); SIMD and JS agree within 3e-7 max(1, |x|); inf, -inf, NaN, -0', () => {
    const xs = grid(-12, 12, 2_000_001);
    const out = map(simd, 'gelu', xs);
    const fromJs = map(js, 'gelu', xs);
    let worst = 0;
    let apart = 0;
    for (let i = 0; i < xs.length; i++) {
      const scale = Math.max(1, Math.abs(xs[i]!));
      worst = Math.max(worst, Math.abs(out[i]! - gelu64(xs[i]!)) / scale);
      apart = Math.max(apart, Math.abs(out[i]! - fromJs[i]!) / scale);
    }
    expect(worst).to.be.at.most(2e-7);
    expect(apart, 'SIMD vs JS').to.be.at.most(3e-7);
    const special = map(simd, 'gelu', Float32Array.from([Infinity, -Infinity, NaN, -0, 1e30, -1e30]));
    expect(special[0]).to.equal(Infinity);
    expect(special[1]).to.equal(0);
    expect(special[2]).to.be.NaN;
    expect(special[3]).to.equal(0);
    expect(special[4]).to.equal(Math.fround(1e30));
    expect(special[5]).to.equal(0);
  });

  it('GELU in place (dst = src) and a tail of 1-3 elements write exactly [dst, dst + n)', () => {
    const r = new SeededRandom(3);
    for (const n of [1, 2, 3, 4, 5, 7, 197]) {
      const xs = Float32Array.from({ length: n }, () => (r.next() - 0.5) * 10);
      const region = f32(SRC - 16, n + 8);
      region.fill(-7.5);
      f32(SRC, n).set(xs);
      simd.gelu(SRC, SRC, n);
      expect([...region.slice(0, 4), ...region.slice(n + 4)], `n=${n}: sentinels`).to.deep.equal(new Array(8).fill(-7.5));
      const got = f32(SRC, n);
      for (let i = 0; i < n; i++) expect(got[i]).to.be.closeTo(gelu64(xs[i]!), 2e-7 * Math.max(1, Math.abs(xs[i]!)));
    }
  });

  /** rows x width values in [-scale, scale) with sentinels around, at SRC; returns the values. */
  function writeRows(rows: number, width: number, seed: number, scale: number): Float32Array {
    const r = new SeededRandom(seed);
    const xs = Float32Array.from({ length: rows * width }, () => (2 * r.next() - 1) * scale);
    f32(SRC - 16, rows * width + 8).fill(-7.5);
    f32(SRC, rows * width).set(xs);
    return xs;
  }
  function expectSentinels(n: number): void {
    const region = f32(SRC - 16, n + 8);
    expect([...region.slice(0, 4), ...region.slice(n + 4)]).to.deep.equal(new Array(8).fill(-7.5));
  }

  for (const width of [1, 3, 4, 5, 197, 1027]) {
    it(`softmax / exp rows / scale rows, width ${width}: within 5e-7 of float64 (relative; the JS table flushes exp below -25 to 0), nothing outside the rows`, () => {
      const rows = 7;
      const inv = SRC + 8 * Math.ceil((4 * rows * width + 64) / 8);
      for (const k of [simd, js]) {
        const xs = writeRows(rows, width, width, 20);
        k.softmaxRows(SRC, rows, width);
        expectSentinels(rows * width);
        const got = f32(SRC, rows * width).slice();
        writeRows(rows, width, width, 20);
        k.expRows(SRC, rows, width, inv);
        expectSentinels(rows * width);
        const inverses = new Float64Array(memory.buffer, inv, rows);
        k.scaleRows(SRC, rows, width, width, inv);
        const scaled = f32(SRC, rows * width);
        for (let r = 0; r < rows; r++) {
          const row = xs.subarray(r * width, (r + 1) * width);
          const max = Math.max(...row);
          // SIMD forms x - max in float32 (as torch's softmax does), the JS path in float64
          const shifted = [...row].map((v) => (k.kind === 'simd' ? Math.fround(v - max) : v - max));
          const sum = shifted.reduce((s, v) => s + Math.exp(v), 0);
          expect(inverses[r]! * sum, `${k.kind} row ${r}: 1/sum`).to.be.closeTo(1, 5e-7);
          for (let i = 0; i < width; i++) {
            const p = Math.exp(shifted[i]!) / sum;
            expect(Math.abs(got[r * width + i]! - p), `${k.kind} softmax`).to.be.at.most(5e-7 * p + 1.5e-11);
            expect(Math.abs(scaled[r * width + i]! - p), `${k.kind} exp rows x 1/sum`).to.be.at.most(5e-7 * p + 1.5e-11);
          }
        }
      }
    });

    it(`layerNorm, width ${width}: float64 reference within 1e-6, SIMD vs JS within 2e-7, nothing outside the rows`, () => {
      const rows = 5;
      const out = SRC + 4 * rows * width + 64;
      const w = out + 4 * rows * width + 64;
      const b = w + 4 * width + 64;
      const r = new SeededRandom(99);
      const weight = Float32Array.from({ length: width }, () => 1 + (r.next() - 0.5));
      const bias = Float32Array.from({ length: width }, () => r.next() - 0.5);
      f32(w, width).set(weight);
      f32(b, width).set(bias);
      const results: Float32Array[] = [];
      for (const k of [simd, js]) {
        const xs = writeRows(rows, width, 7, 3);
        for (let i = 0; i < xs.length; i++) xs[i]! += 5; // an offset mean
        f32(SRC, xs.length).set(xs);
        f32(out - 16, rows * width + 8).fill(-7.5);
        k.layerNorm(SRC, out, w, b, rows, width, 1e-6);
        const region = f32(out - 16, rows * width + 8);
        expect([...region.slice(0, 4), ...region.slice(rows * width + 4)]).to.deep.equal(new Array(8).fill(-7.5));
        const got = f32(out, rows * width).slice();
        results.push(got);
        for (let row = 0; row < rows; row++) {
          const x = [...xs.subarray(row * width, (row + 1) * width)];
          const mean = x.reduce((s, v) => s + v, 0) / width;
          const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / width;
          x.forEach((v, i) => expect(got[row * width + i]).to.be.closeTo(((v - mean) / Math.sqrt(variance + 1e-6)) * weight[i]! + bias[i]!, 1e-6));
        }
      }
      let apart = 0;
      results[0]!.forEach((v, i) => { apart = Math.max(apart, Math.abs(v - results[1]![i]!)); });
      expect(apart).to.be.at.most(2e-7);
    });
  }

  it('a NaN in a row makes that softmax row NaN (both paths) and leaves the other rows alone', () => {
    for (const k of [simd, js]) {
      writeRows(2, 6, 5, 1);
      f32(SRC, 12)[2] = NaN;
      k.softmaxRows(SRC, 2, 6);
      const got = f32(SRC, 12);
      expect([...got.slice(0, 6)].every(Number.isNaN), k.kind).to.equal(true);
      expect([...got.slice(6)].some(Number.isNaN), k.kind).to.equal(false);
    }
  });

  it('the shared-memory module (threaded tfjs-backend-wasm heaps) gives the same results', () => {
    const shared = new WasmMemory({ initial: 16, maximum: 65536, shared: true });
    const kernels = simdElementwise(shared)!;
    const xs = grid(-9, 9, 4099);
    new Float32Array(shared.buffer, SRC, xs.length).set(xs);
    kernels.gelu(SRC, SRC, xs.length);
    expect([...new Float32Array(shared.buffer, SRC, xs.length)]).to.deep.equal([...map(simd, 'gelu', xs)]);
  });
});
