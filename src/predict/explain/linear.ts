import { type FeatureValue, inputColumns, inputWidth, prepRow } from '../train/prep.ts';
import type { ModelSpec } from '../spec.ts';
import { checkOutput, marginSpace } from './space.ts';
import type { Explanation } from './types.ts';

/**
 * Exact contributions of a linear or logistic model: input j contributes w_j · (z_j - E[z_j]), z the preprocessed
 * row and E[z] its training mean (0 for standardised numeric inputs, the category's share for one-hot inputs), so
 * base = b + w · E[z] is the mean margin over the training rows. `x` holds the original feature values in the
 * model's feature order; `output` picks the class of a multiclass model.
 */
export function linearContributions(spec: ModelSpec, x: readonly FeatureValue[], output = 0): Explanation {
  const e = spec.estimator;
  if (e.kind === 'trees') throw new TypeError('linearContributions needs a linear or logistic model; use treeShap for trees');
  checkOutput(spec, output);
  const z = prepRow(spec.prep, x);
  const expected = expectedInputs(spec);
  const owner = inputColumns(spec.prep);
  const w = e.coefficients[output];
  const contributions = new Array<number>(spec.prep.columns.length).fill(0);
  let base = e.intercepts[output];
  for (let j = 0; j < z.length; j++) {
    base += w[j] * expected[j];
    contributions[owner[j]] += w[j] * (z[j] - expected[j]);
  }
  return { space: marginSpace(spec), base, contributions };
}

/** The training mean of every estimator input: 0 for numeric ones, each category's share for one-hot ones. */
function expectedInputs(spec: ModelSpec): Float64Array {
  const out = new Float64Array(inputWidth(spec.prep));
  let j = 0;
  for (const c of spec.prep.columns) {
    if (c.kind === 'numeric') j++;
    else for (let k = 0; k < c.categories.length; k++) out[j++] = c.frequencies?.[k] ?? 0;
  }
  return out;
}
