import type { EstimatorSpec } from '../spec.ts';
import { maxAbs, minimizeLbfgs } from './lbfgs.ts';
import { solveSymmetric, transposeTimes, weightedGram, withOnes } from './linalg.ts';
import { checkAborted, type Dense, type FitOptions } from './types.ts';

export interface LogisticParams {
  /** The class labels; y holds indices into them. */
  classes: string[];
  /** Inverse L2 strength, as sklearn: minimise C·Σ log-loss + ½·||w||² (the intercept is not penalised). */
  C: number;
  maxIter: number;
  /** Converged when every gradient entry of the per-row objective (Σ log-loss + ||w||²/2C) / n is at most tol. */
  tol: number;
}

export type LogisticSpec = Extract<EstimatorSpec, { kind: 'logistic' }>;

/**
 * L2 logistic regression. `y` holds class indices into params.classes. Two classes: Newton's method (IRLS) with a
 * backtracking line search, which converges in a few steps on standardised inputs; more: the softmax model with
 * L-BFGS, one coefficient row per class (sklearn's multinomial form).
 */
export function fitLogistic(x: Dense, y: Int32Array, params: LogisticParams, opts: FitOptions = {}): LogisticSpec {
  const { classes } = params;
  const { coefficients, intercepts } = classes.length === 2 ? fitBinary(x, y, params, opts) : fitSoftmax(x, y, classes.length, params, opts);
  return { kind: 'logistic', coefficients, intercepts, classes };
}

function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function fitBinary(x: Dense, y: Int32Array, params: LogisticParams, opts: FitOptions) {
  const a = withOnes(x);
  const { rows: n, cols: p } = a;
  const d = p - 1;
  const penalty = 1 / params.C;
  const objective = (theta: Float64Array): number => {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let j = 0; j < p; j++) z += a.data[i * p + j] * theta[j];
      loss += softplus(z) - y[i] * z;
    }
    for (let j = 0; j < d; j++) loss += 0.5 * penalty * theta[j] * theta[j];
    return loss / n;
  };
  let theta = new Float64Array(p);
  let value = objective(theta);
  const residual = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let iteration = 0; iteration < params.maxIter; iteration++) {
    checkAborted(opts.signal);
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let j = 0; j < p; j++) z += a.data[i * p + j] * theta[j];
      const prob = sigmoid(z);
      residual[i] = prob - y[i];
      weights[i] = prob * (1 - prob);
    }
    const grad = transposeTimes(a, residual);
    for (let j = 0; j < d; j++) grad[j] += penalty * theta[j];
    if (maxAbs(grad) / n <= params.tol) break;
    const hessian = weightedGram(a, weights);
    for (let j = 0; j < d; j++) hessian.set(j, j, hessian.get(j, j) + penalty);
    // Keeps the intercept's curvature positive when every row is already fitted with certainty.
    hessian.set(d, d, hessian.get(d, d) + 1e-10 * n);
    const step = solveSymmetric(hessian, grad);
    let decrease = 0;
    for (let j = 0; j < p; j++) decrease += grad[j] * step[j];
    decrease /= n;
    let t = 1;
    let next = theta;
    let nextValue = value;
    for (let tries = 0; tries < 50; tries++) {
      next = theta.map((v, j) => v - t * step[j]);
      nextValue = objective(next);
      if (nextValue <= value - 1e-4 * t * decrease) break;
      t /= 2;
    }
    if (!(nextValue < value)) break;
    theta = next;
    value = nextValue;
    opts.onProgress?.(Math.min(1, (iteration + 1) / 20), `Newton step ${iteration + 1}`);
  }
  return { coefficients: [Array.from(theta.subarray(0, d))], intercepts: [theta[d]] };
}

function fitSoftmax(x: Dense, y: Int32Array, k: number, params: LogisticParams, opts: FitOptions) {
  const { rows: n, cols: d } = x;
  const p = d + 1;
  const penalty = 1 / params.C;
  const z = new Float64Array(k);
  // theta holds class c's coefficients at [c*p, c*p + d) and its intercept at c*p + d.
  const objective = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const row = i * d;
      let max = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < k; c++) {
        let s = theta[c * p + d];
        for (let j = 0; j < d; j++) s += x.data[row + j] * theta[c * p + j];
        z[c] = s;
        if (s > max) max = s;
      }
      let total = 0;
      for (let c = 0; c < k; c++) total += Math.exp(z[c] - max);
      loss += max + Math.log(total) - z[y[i]];
      for (let c = 0; c < k; c++) {
        const r = Math.exp(z[c] - max) / total - (c === y[i] ? 1 : 0);
        for (let j = 0; j < d; j++) grad[c * p + j] += r * x.data[row + j];
        grad[c * p + d] += r;
      }
    }
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < d; j++) {
        const w = theta[c * p + j];
        loss += 0.5 * penalty * w * w;
        grad[c * p + j] += penalty * w;
      }
    }
    for (let i = 0; i < grad.length; i++) grad[i] /= n;
    return loss / n;
  };
  const result = minimizeLbfgs(objective, new Float64Array(k * p), {
    maxIter: params.maxIter,
    gradTol: params.tol,
    signal: opts.signal,
    onIteration: (i) => opts.onProgress?.(Math.min(1, i / params.maxIter), `L-BFGS iteration ${i}`),
  });
  const theta = result.x;
  const coefficients: number[][] = [];
  const intercepts: number[] = [];
  for (let c = 0; c < k; c++) {
    coefficients.push(Array.from(theta.subarray(c * p, c * p + d)));
    intercepts.push(theta[c * p + d]);
  }
  // The softmax is unchanged by adding a constant to every intercept; centre them so the answer is unique.
  const mean = intercepts.reduce((s, b) => s + b, 0) / k;
  return { coefficients, intercepts: intercepts.map((b) => b - mean) };
}
