import type { EstimatorSpec, Tree } from '../spec.ts';
import type { Dense } from './types.ts';

/** How many scores an estimator computes per row: one, or one per class for multiclass. */
export function marginWidth(estimator: EstimatorSpec): number {
  return estimator.kind === 'trees' ? estimator.base.length : estimator.intercepts.length;
}

/**
 * The estimator's raw scores for every row of x (n x marginWidth, row-major): the value for regression, the
 * log-odds of classes[1] for binary classification, the softmax inputs for multiclass.
 */
export function margins(estimator: EstimatorSpec, x: Dense): Float64Array {
  const width = marginWidth(estimator);
  const out = new Float64Array(x.rows * width);
  if (estimator.kind === 'trees') {
    for (let i = 0; i < x.rows; i++) out.set(estimator.base, i * width);
    for (const { tree, output } of estimator.trees) {
      for (let i = 0; i < x.rows; i++) out[i * width + output] += tree.value[leafOf(tree, x.data, i * x.cols)];
    }
    return out;
  }
  for (let i = 0; i < x.rows; i++) {
    for (let s = 0; s < width; s++) {
      const w = estimator.coefficients[s];
      let z = estimator.intercepts[s];
      for (let j = 0; j < x.cols; j++) z += w[j] * x.data[i * x.cols + j];
      out[i * width + s] = z;
    }
  }
  return out;
}

/** The leaf a row (x[offset ...]) reaches: x[feature] <= threshold goes left, NaN as missingLeft says. */
export function leafOf(tree: Tree, x: ArrayLike<number>, offset = 0): number {
  let node = 0;
  while (tree.left[node] >= 0) {
    const v = x[offset + tree.feature[node]];
    const goLeft = Number.isNaN(v) ? tree.missingLeft[node] : v <= tree.threshold[node];
    node = goLeft ? tree.left[node] : tree.right[node];
  }
  return node;
}

/** Class probabilities (n x K) from classification margins: sigmoid for one score, softmax for K. */
export function probabilities(marginsOf: Float64Array, width: number): Float64Array {
  const n = marginsOf.length / width;
  if (width === 1) {
    const out = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-marginsOf[i]));
      out[2 * i] = 1 - p;
      out[2 * i + 1] = p;
    }
    return out;
  }
  const out = new Float64Array(n * width);
  for (let i = 0; i < n; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < width; k++) max = Math.max(max, marginsOf[i * width + k]);
    let total = 0;
    for (let k = 0; k < width; k++) total += out[i * width + k] = Math.exp(marginsOf[i * width + k] - max);
    for (let k = 0; k < width; k++) out[i * width + k] /= total;
  }
  return out;
}
