import type { EstimatorSpec } from '../spec.ts';
import { solveSymmetric, transposeTimes, weightedGram } from './linalg.ts';
import { checkAborted, type Dense, type FitOptions } from './types.ts';

export interface RidgeParams {
  /** L2 penalty on the coefficients (not the intercept), as sklearn's Ridge: ||y - Xw - b||² + alpha·||w||². */
  alpha: number;
}

export type LinearSpec = Extract<EstimatorSpec, { kind: 'linear' }>;

/** Ridge regression in closed form: centre X and y, solve (XᵀX + alpha·I) w = Xᵀy by Cholesky, b = ȳ - x̄·w. */
export function fitRidge(x: Dense, y: Float64Array, params: RidgeParams, opts: FitOptions = {}): LinearSpec {
  checkAborted(opts.signal);
  const { rows: n, cols: d } = x;
  const means = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) means[j] += x.data[i * d + j];
  for (let j = 0; j < d; j++) means[j] /= n || 1;
  let yMean = 0;
  for (let i = 0; i < n; i++) yMean += y[i];
  yMean /= n || 1;
  const centred = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) centred[i * d + j] = x.data[i * d + j] - means[j];
  const yc = y.map((v) => v - yMean);
  const xc = { data: centred, rows: n, cols: d };
  const gram = weightedGram(xc);
  for (let j = 0; j < d; j++) gram.set(j, j, gram.get(j, j) + params.alpha);
  const w = d > 0 ? solveSymmetric(gram, transposeTimes(xc, yc)) : new Float64Array(0);
  let intercept = yMean;
  for (let j = 0; j < d; j++) intercept -= means[j] * w[j];
  opts.onProgress?.(1, 'solved');
  return { kind: 'linear', coefficients: [Array.from(w)], intercepts: [intercept] };
}
