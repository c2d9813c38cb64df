/**
 * The elementwise kernels of wasm+blas, JS loops (elementwise.ts, the path without WebAssembly SIMD)
 * against the SIMD kernels (simdElementwise.ts), on one image's worth of the full-size ViT-L/16's
 * elementwise work (the part that dominates): per block GELU over [T, 4E], softmax over the
 * heads' [T, T] scores with 1/sum applied to the [T, E/heads] context rows, two LayerNorms over
 * [T, E]. Both run on the same memory and inputs in one process, alternating, so the ratio holds
 * on a busy machine; CPU time (process.cpuUsage) is reported next to wall time for that reason.
 */
import { machineLine, median } from './machine.js';
import { jsElementwise, type HeapElementwise } from '../src/blas/elementwise.js';
import { simdElementwise, simdElementwiseAvailable } from '../src/blas/simdElementwise.js';
import { IMAGEREWARD_V1_VIT } from '../src/model/config.js';
import { SeededRandom } from '../src/util/random.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const vit = IMAGEREWARD_V1_VIT;
const T = (vit.imgSize / vit.patchSize) ** 2 + 1;
const E = vit.embedDim;
const hidden = E * vit.mlpRatio;
const d = E / vit.numHeads;

interface Memory { buffer: ArrayBuffer }
const memory: Memory = new (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => Memory } }).WebAssembly.Memory({ initial: 1024 });

// layout (bytes): GELU input/output [T, 4E]; scores [T, T]; 1/sum [T] f64; context [T, E]; LayerNorm in/out [T, E], weight, bias [E]
let at = 64;
const take = (bytes: number) => { const p = at; at += Math.ceil(bytes / 64) * 64; return p; };
const geluIn = take(4 * T * hidden), geluOut = take(4 * T * hidden), scores = take(4 * T * T), inv = take(8 * T);
const context = take(4 * T * E), lnIn = take(4 * T * E), lnOut = take(4 * T * E), weight = take(4 * E), bias = take(4 * E);
const random = new SeededRandom(7);
const fill = (ptr: number, n: number, scale: number, offset = 0) => {
  const v = new Float32Array(memory.buffer, ptr, n);
  for (let i = 0; i < n; i++) v[i] = offset + (random.next() * 2 - 1) * scale;
};
fill(geluIn, T * hidden, 3);
fill(context, T * E, 1);
fill(lnIn, T * E, 2, 0.5);
fill(weight, E, 0.1, 1);
fill(bias, E, 0.1);
const scoreValues = new Float32Array(T * T);
for (let i = 0; i < scoreValues.length; i++) scoreValues[i] = (random.next() * 2 - 1) * 8;

/** ms per image of each op for one implementation: [gelu, attention softmax, layerNorm]. */
function onePass(k: HeapElementwise): { wall: number[]; cpu: number[] } {
  const wall: number[] = [];
  const cpu: number[] = [];
  const time = (fn: () => void) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  };
  const view = new Float32Array(memory.buffer, scores, T * T);
  time(() => { for (let b = 0; b < vit.depth; b++) k.gelu(geluIn, geluOut, T * hidden); });
  time(() => {
    for (let b = 0; b < vit.depth; b++) {
      for (let h = 0; h < vit.numHeads; h++) {
        view.set(scoreValues); // stands in for sgemm's write of the scores
        k.expRows(scores, T, T, inv);
        k.scaleRows(context + 4 * h * d, T, d, E, inv);
      }
    }
  });
  time(() => { for (let b = 0; b < 2 * vit.depth; b++) k.layerNorm(lnIn, lnOut, weight, bias, T, E, vit.layerNormEps); });
  return { wall, cpu };
}

console.log(machineLine());
if (!simdElementwiseAvailable()) {
  console.log('WebAssembly SIMD is missing here: only the JS kernels exist, nothing to compare');
} else {
  const implementations = { js: jsElementwise(memory), simd: simdElementwise(memory)! };
  const results = { js: [] as { wall: number[]; cpu: number[] }[], simd: [] as { wall: number[]; cpu: number[] }[] };
  for (let run = 0; run <= RUNS; run++) {
    for (const name of ['js', 'simd'] as const) {
      const r = onePass(implementations[name]);
      if (run > 0) results[name].push(r); // run 0 warms up (tiering, tables)
    }
  }
  console.log(`ViT-L/16 elementwise work per image (T=${T}, E=${E}, MLP ${hidden}, ${vit.numHeads} heads, ${vit.depth} blocks); median of ${RUNS}, ms per image`);
  console.log(`${'op'.padEnd(34)}   JS wall    JS cpu SIMD wall  SIMD cpu  speed-up (cpu)`);
  const ops = [`GELU (${(vit.depth * T * hidden / 1e6).toFixed(1)}M)`, `softmax exp rows + 1/sum (${(vit.depth * vit.numHeads * T * T / 1e6).toFixed(1)}M)`, `LayerNorm (${(2 * vit.depth * T * E / 1e6).toFixed(1)}M)`];
  const med = (name: 'js' | 'simd', i: number, kind: 'wall' | 'cpu') => median(results[name].map((r) => r[kind][i]!));
  ops.forEach((op, i) => {
    const cells = [med('js', i, 'wall'), med('js', i, 'cpu'), med('simd', i, 'wall'), med('simd', i, 'cpu')].map((v) => v.toFixed(1).padStart(9));
    console.log(`${op.padEnd(34)} ${cells.join(' ')}   ${(med('js', i, 'cpu') / med('simd', i, 'cpu')).toFixed(1).padStart(6)}x`);
  });
}
