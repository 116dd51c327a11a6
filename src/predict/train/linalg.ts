import { CholeskyDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';
import type { Dense } from './types.ts';

/** Aᵀ·diag(weights)·A for a dense A (rows weighted by `weights` when given), through ml-matrix. */
export function weightedGram(a: Dense, weights?: Float64Array): Matrix {
  if (!weights) return Matrix.from1DArray(a.rows, a.cols, a.data).gram();
  const scaled = new Float64Array(a.data.length);
  for (let i = 0; i < a.rows; i++) {
    const s = Math.sqrt(weights[i]);
    for (let j = 0; j < a.cols; j++) scaled[i * a.cols + j] = a.data[i * a.cols + j] * s;
  }
  return Matrix.from1DArray(a.rows, a.cols, scaled).gram();
}

/** Aᵀ·v for a dense A. */
export function transposeTimes(a: Dense, v: Float64Array): Float64Array {
  const out = new Float64Array(a.cols);
  for (let i = 0; i < a.rows; i++) {
    const vi = v[i];
    if (vi === 0) continue;
    for (let j = 0; j < a.cols; j++) out[j] += a.data[i * a.cols + j] * vi;
  }
  return out;
}

/** Directions of A whose eigenvalue is below this share of the largest count as singular. */
const SINGULAR = 1e-10;

/**
 * Solves A·x = b for a symmetric positive semi-definite A: by Cholesky when A is well conditioned, else the
 * minimum-norm least-squares solution (SVD, dropping near-singular directions), so collinear inputs without a
 * penalty (one-hot columns beside an intercept) still give small, exact-fitting coefficients.
 */
export function solveSymmetric(a: Matrix, b: Float64Array): Float64Array {
  const rhs = Matrix.columnVector(b);
  const cholesky = new CholeskyDecomposition(a);
  let maxDiagonal = 0;
  for (let j = 0; j < a.rows; j++) maxDiagonal = Math.max(maxDiagonal, a.get(j, j));
  let minPivot = Number.POSITIVE_INFINITY;
  for (let j = 0; j < a.rows; j++) minPivot = Math.min(minPivot, cholesky.lowerTriangularMatrix.get(j, j) ** 2);
  if (cholesky.isPositiveDefinite() && minPivot > SINGULAR * maxDiagonal) return Float64Array.from(cholesky.solve(rhs).getColumn(0));
  const svd = new SingularValueDecomposition(a);
  const cutoff = SINGULAR * svd.diagonal[0];
  const inverted = Matrix.diag(svd.diagonal.map((s) => (s > cutoff ? 1 / s : 0)));
  const x = svd.rightSingularVectors.mmul(inverted).mmul(svd.leftSingularVectors.transpose()).mmul(rhs);
  return Float64Array.from(x.getColumn(0));
}

/** The dense matrix with a column of ones appended (for an intercept). */
export function withOnes(a: Dense): Dense {
  const cols = a.cols + 1;
  const data = new Float64Array(a.rows * cols);
  for (let i = 0; i < a.rows; i++) {
    data.set(a.data.subarray(i * a.cols, (i + 1) * a.cols), i * cols);
    data[i * cols + a.cols] = 1;
  }
  return { data, rows: a.rows, cols };
}
