import type { ModelSpec, Tree } from '../spec.ts';
import { type FeatureValue, inputColumns, inputWidth, prepRow } from '../train/prep.ts';
import { checkOutput, marginSpace } from './space.ts';
import type { Explanation } from './types.ts';

/**
 * Exact path-dependent TreeSHAP (Lundberg et al., "Consistent individualized feature attribution for tree
 * ensembles", Algorithm 2) over a trees ModelSpec, in margin space: base is the model's base score plus each tree's
 * cover-weighted mean leaf, and base + Σ contributions equals the row's margin. `x` holds the original feature
 * values; one-hot inputs are summed into their categorical feature. `output` picks the class of a multiclass model.
 */
export function treeShap(spec: ModelSpec, x: readonly FeatureValue[], output = 0): Explanation {
  const e = spec.estimator;
  if (e.kind !== 'trees') throw new TypeError('treeShap needs a trees model; use linearContributions for linear ones');
  checkOutput(spec, output);
  const z = prepRow(spec.prep, x);
  const phi = new Float64Array(inputWidth(spec.prep));
  let base = e.base[output];
  for (const { tree, output: o } of e.trees) {
    if (o !== output) continue;
    base += expectedValue(tree);
    treeShapOfTree(tree, z, phi);
  }
  const owner = inputColumns(spec.prep);
  const contributions = new Array<number>(spec.prep.columns.length).fill(0);
  for (let j = 0; j < phi.length; j++) contributions[owner[j]] += phi[j];
  return { space: marginSpace(spec), base, contributions };
}

/** The tree's mean output over its training rows: leaves weighted by their cover. */
export function expectedValue(tree: Tree): number {
  let sum = 0;
  for (let node = 0; node < tree.left.length; node++) if (tree.left[node] < 0) sum += tree.cover[node] * tree.value[node];
  return sum / tree.cover[0];
}

function depthOf(tree: Tree, node = 0): number {
  return tree.left[node] < 0 ? 0 : 1 + Math.max(depthOf(tree, tree.left[node]), depthOf(tree, tree.right[node]));
}

/** Adds one tree's SHAP values for input row z to phi. */
export function treeShapOfTree(tree: Tree, z: Float64Array, phi: Float64Array): void {
  const depth = depthOf(tree);
  // Each level of the recursion keeps its own copy of the path, so the levels together need this much room.
  const size = ((depth + 2) * (depth + 3)) / 2 + depth + 3;
  const feature = new Int32Array(size);
  const zero = new Float64Array(size);
  const one = new Float64Array(size);
  const weight = new Float64Array(size);

  const extend = (at: number, u: number, zeroFraction: number, oneFraction: number, f: number) => {
    feature[at + u] = f;
    zero[at + u] = zeroFraction;
    one[at + u] = oneFraction;
    weight[at + u] = u === 0 ? 1 : 0;
    for (let i = u - 1; i >= 0; i--) {
      weight[at + i + 1] += (oneFraction * weight[at + i] * (i + 1)) / (u + 1);
      weight[at + i] = (zeroFraction * weight[at + i] * (u - i)) / (u + 1);
    }
  };
  const unwind = (at: number, u: number, k: number) => {
    const oneFraction = one[at + k];
    const zeroFraction = zero[at + k];
    let next = weight[at + u];
    for (let i = u - 1; i >= 0; i--) {
      if (oneFraction !== 0) {
        const t = weight[at + i];
        weight[at + i] = (next * (u + 1)) / ((i + 1) * oneFraction);
        next = t - (weight[at + i] * zeroFraction * (u - i)) / (u + 1);
      } else weight[at + i] = (weight[at + i] * (u + 1)) / (zeroFraction * (u - i));
    }
    for (let i = k; i < u; i++) {
      feature[at + i] = feature[at + i + 1];
      zero[at + i] = zero[at + i + 1];
      one[at + i] = one[at + i + 1];
    }
  };
  const unwoundSum = (at: number, u: number, k: number) => {
    const oneFraction = one[at + k];
    const zeroFraction = zero[at + k];
    let next = weight[at + u];
    let total = 0;
    if (oneFraction !== 0) {
      for (let i = u - 1; i >= 0; i--) {
        const t = next / ((i + 1) * oneFraction);
        total += t;
        next = weight[at + i] - t * zeroFraction * (u - i);
      }
    } else for (let i = u - 1; i >= 0; i--) total += weight[at + i] / (zeroFraction * (u - i));
    return total * (u + 1);
  };
  const recurse = (node: number, u: number, parent: number, zeroFraction: number, oneFraction: number, f: number) => {
    const at = parent + u + 1;
    for (let i = 0; i <= u; i++) {
      feature[at + i] = feature[parent + i];
      zero[at + i] = zero[parent + i];
      one[at + i] = one[parent + i];
      weight[at + i] = weight[parent + i];
    }
    extend(at, u, zeroFraction, oneFraction, f);
    if (tree.left[node] < 0) {
      for (let i = 1; i <= u; i++) phi[feature[at + i]] += unwoundSum(at, u, i) * (one[at + i] - zero[at + i]) * tree.value[node];
      return;
    }
    const split = tree.feature[node];
    const v = z[split];
    const goLeft = Number.isNaN(v) ? tree.missingLeft[node] : v <= tree.threshold[node];
    const hot = goLeft ? tree.left[node] : tree.right[node];
    const cold = goLeft ? tree.right[node] : tree.left[node];
    let incomingZero = 1;
    let incomingOne = 1;
    let k = 0;
    while (k <= u && feature[at + k] !== split) k++;
    if (k <= u) {
      incomingZero = zero[at + k];
      incomingOne = one[at + k];
      unwind(at, u, k);
      u -= 1;
    }
    const cover = tree.cover[node];
    recurse(hot, u + 1, at, (incomingZero * tree.cover[hot]) / cover, incomingOne, split);
    recurse(cold, u + 1, at, (incomingZero * tree.cover[cold]) / cover, 0, split);
  };
  // The root's path element is a placeholder (feature -1) that no split matches.
  recurse(0, 0, 0, 1, 1, -1);
}
