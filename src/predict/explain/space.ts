import type { ModelSpec } from '../spec.ts';
import type { ExplanationSpace } from './types.ts';

/** The space a ModelSpec's margins (and so its exact explanations) are in. */
export function marginSpace(spec: ModelSpec): ExplanationSpace {
  const e = spec.estimator;
  if (e.kind === 'linear') return 'value';
  if (e.kind === 'logistic') return e.classes.length === 2 ? 'log_odds' : 'softmax_logit';
  return e.objective === 'regression' ? 'value' : e.objective === 'binary' ? 'log_odds' : 'softmax_logit';
}

/** Which margin of the estimator an explanation is for: 0 unless multiclass, where it is the class index. */
export function checkOutput(spec: ModelSpec, output: number): void {
  const e = spec.estimator;
  const width = e.kind === 'trees' ? e.base.length : e.intercepts.length;
  if (!Number.isInteger(output) || output < 0 || output >= width) throw new RangeError(`output ${output} is not one of the model's ${width} scores`);
}
