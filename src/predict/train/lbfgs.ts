import { checkAborted } from './types.ts';

/** f(x) returning the value and writing the gradient into `grad`. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface MinimizeResult {
  x: Float64Array;
  value: number;
  iterations: number;
  converged: boolean;
}

const MEMORY = 10;

/**
 * Limited-memory BFGS (two-loop recursion, Armijo backtracking) for smooth convex objectives. Converged when the
 * largest gradient entry is at most `gradTol`.
 */
export function minimizeLbfgs(
  f: Objective,
  x0: Float64Array,
  opts: { maxIter: number; gradTol: number; signal?: AbortSignal; onIteration?: (iteration: number) => void },
): MinimizeResult {
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let value = f(x, g);
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  const direction = new Float64Array(n);
  const alpha = new Float64Array(MEMORY);
  let xNext = new Float64Array(n);
  let gNext = new Float64Array(n);
  for (let iteration = 0; iteration < opts.maxIter; iteration++) {
    if (maxAbs(g) <= opts.gradTol) return { x, value, iterations: iteration, converged: true };
    checkAborted(opts.signal);
    // direction = -H·g by the two-loop recursion over the stored pairs.
    direction.set(g);
    for (let k = s.length - 1; k >= 0; k--) {
      alpha[k] = rho[k] * dot(s[k], direction);
      axpy(-alpha[k], y[k], direction);
    }
    const last = s.length - 1;
    const gamma = last >= 0 ? dot(s[last], y[last]) / dot(y[last], y[last]) : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let i = 0; i < n; i++) direction[i] *= gamma;
    for (let k = 0; k < s.length; k++) axpy(alpha[k] - rho[k] * dot(y[k], direction), s[k], direction);
    for (let i = 0; i < n; i++) direction[i] = -direction[i];
    let slope = dot(g, direction);
    if (slope >= 0) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      s.length = y.length = rho.length = 0;
      for (let i = 0; i < n; i++) direction[i] = -g[i];
      slope = -dot(g, g);
    }
    let step = 1;
    let nextValue = Number.POSITIVE_INFINITY;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < n; i++) xNext[i] = x[i] + step * direction[i];
      nextValue = f(xNext, gNext);
      if (nextValue <= value + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(nextValue <= value + 1e-4 * step * slope)) return { x, value, iterations: iteration, converged: false };
    const sk = new Float64Array(n);
    const yk = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      sk[i] = xNext[i] - x[i];
      yk[i] = gNext[i] - g[i];
    }
    const sy = dot(sk, yk);
    if (sy > 1e-12 * Math.sqrt(dot(sk, sk) * dot(yk, yk))) {
      if (s.length === MEMORY) {
        s.shift();
        y.shift();
        rho.shift();
      }
      s.push(sk);
      y.push(yk);
      rho.push(1 / sy);
    }
    [x, xNext] = [xNext, x];
    [g, gNext] = [gNext, g];
    const improvement = value - nextValue;
    value = nextValue;
    opts.onIteration?.(iteration + 1);
    if (improvement <= 1e-15 * Math.max(1, Math.abs(value))) return { x, value, iterations: iteration + 1, converged: maxAbs(g) <= opts.gradTol };
  }
  return { x, value, iterations: opts.maxIter, converged: maxAbs(g) <= opts.gradTol };
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] += a * x[i];
}

export function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
