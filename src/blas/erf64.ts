/**
 * erf and the scaled complementary error function erfcx(z) = erfc(z) exp(z^2) in float64: the
 * references the elementwise kernels are built and tested against (|error| < 1e-13).
 */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** Bottom-up continued fraction z + 1/2/(z + 1/(z + 3/2/(z + ...))), so that erfcx(z) = 1 / (sqrt(pi) f) (z > 3). */
function erfcContinuedFraction(z: number): number {
  let f = z;
  for (let k = 60; k >= 1; k--) f = z + k / 2 / f;
  return f;
}

/** erf(z) for z >= 0 by its Taylor series (z <= 3) or the continued fraction of erfc (z > 3). */
export function erf64(z: number): number {
  if (z <= 3) {
    let term = z;
    let sum = z;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17; n++) {
      term *= (-z * z) / n;
      sum += term / (2 * n + 1);
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  return 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / erfcContinuedFraction(z);
}

/** erfc(z) exp(z^2) for z >= 0 (relative error < 1e-12: erfc itself is never formed above 3). */
export function erfcx64(z: number): number {
  if (z > 3) return 1 / Math.sqrt(Math.PI) / erfcContinuedFraction(z);
  return (1 - erf64(z)) * Math.exp(z * z);
}
