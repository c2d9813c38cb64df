/**
 * Polynomial approximations derived when a kernel module is built (float64, no published tables):
 * Chebyshev interpolation of f on [a, b] at degree + 1 Chebyshev nodes, which for smooth f is within
 * a small factor of the best uniform approximation of that degree.
 */

/** The interpolant's monomial coefficients in x itself: f(x) ~ c[0] + c[1] x + ... + c[degree] x^degree on [a, b]. */
export function chebyshevInterpolant(f: (x: number) => number, a: number, b: number, degree: number): number[] {
  const n = degree + 1;
  const mid = (a + b) / 2;
  const half = (b - a) / 2;
  const values = Array.from({ length: n }, (_, j) => f(mid + half * Math.cos((Math.PI * (j + 0.5)) / n)));
  // Chebyshev coefficients (discrete orthogonality over the nodes)
  const cheb = Array.from({ length: n }, (_, k) => (2 / n) * values.reduce((s, v, j) => s + v * Math.cos((k * Math.PI * (j + 0.5)) / n), 0));
  cheb[0]! /= 2;
  // sum_k cheb[k] T_k(u) as a polynomial in u (T_{k+1} = 2u T_k - T_{k-1})
  const inU = new Array<number>(n).fill(0);
  let previous = [1];
  let current = [0, 1];
  inU[0] = cheb[0]!;
  if (n > 1) inU[1] = cheb[1]!;
  for (let k = 2; k < n; k++) {
    const next = new Array<number>(k + 1).fill(0);
    current.forEach((c, i) => { next[i + 1]! += 2 * c; });
    previous.forEach((c, i) => { next[i]! -= c; });
    next.forEach((c, i) => { inU[i]! += cheb[k]! * c; });
    previous = current;
    current = next;
  }
  // substitute u = (x - mid) / half
  const inX = new Array<number>(n).fill(0);
  let power = [1]; // (x - mid)^i / half^i in x
  for (let i = 0; i < n; i++) {
    power.forEach((c, j) => { inX[j]! += inU[i]! * c; });
    const next = new Array<number>(power.length + 1).fill(0);
    power.forEach((c, j) => {
      next[j + 1]! += c / half;
      next[j]! -= (c * mid) / half;
    });
    power = next;
  }
  return inX;
}
