import type { ModelSpec } from '../spec.ts';
import type { FeatureValue } from '../train/prep.ts';
import { linearContributions } from './linear.ts';
import { treeShap } from './treeshap.ts';
import type { Explanation } from './types.ts';

export { kernelShap, type KernelShapOptions, type PredictFunction } from './kernelshap.ts';
export { linearContributions } from './linear.ts';
export { marginSpace } from './space.ts';
export { treeShap } from './treeshap.ts';
export type { Explanation, ExplanationSpace } from './types.ts';

/** The exact explanation of a server-trained model: linear contributions or TreeSHAP, by its estimator. */
export function explainSpec(spec: ModelSpec, x: readonly FeatureValue[], output = 0): Explanation {
  return spec.estimator.kind === 'trees' ? treeShap(spec, x, output) : linearContributions(spec, x, output);
}
