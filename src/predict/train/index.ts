import type { EstimatorSpec, ModelSpec } from '../spec.ts';
import { groupKFold, kFold, stratifiedKFold } from './cv.ts';
import { mean, scoreRows } from './evaluate.ts';
import { fitGradientBoosting } from './gbdt/boost.ts';
import { fitRidge } from './linear.ts';
import { fitLogistic } from './logistic.ts';
import type { EffectiveParams } from './params.ts';
import { planTraining, type TrainingPlan, type TrainRequest } from './plan.ts';
import { applyPrep, fitPrep } from './prep.ts';
import { type FitOptions, subProgress } from './types.ts';

export type { TrainRequest } from './plan.ts';
export type { Algorithm } from './params.ts';
export type { FitOptions } from './types.ts';

export interface TrainResult {
  spec: ModelSpec;
  /**
   * cv_* are means over the folds (cv_auc, cv_pr_auc, cv_f1, cv_accuracy, cv_logloss for classification; cv_rmse,
   * cv_mae, cv_r2 otherwise); train_rows: rows the final model learned from; folds: 0 without cross-validation;
   * n_iter: boosting rounds of the final model (GRADIENT_BOOSTING).
   */
  metrics: Record<string, number>;
  /** Every parameter of the algorithm, defaults filled in. */
  params: EffectiveParams;
  classes?: string[];
}

/**
 * Validates the request, cross-validates (stratified k-fold for classification, grouped when `group` is given,
 * k-fold otherwise; preprocessing is fitted inside each fold), then fits the final model on every row with a target.
 * Plain data in and out, synchronous and CPU-bound: meant to run in a worker thread. Progress covers the folds and
 * the final fit; an aborted signal stops it between iterations with the signal's reason.
 */
export function trainModel(request: TrainRequest, opts: FitOptions = {}): TrainResult {
  const plan = planTraining(request);
  const k = plan.folds >= 2 ? plan.folds : 0;
  const all = Uint32Array.from({ length: plan.rows.length }, (_, i) => i);
  const share = 1 / (k + 1);
  const foldScores: Record<string, number>[] = [];
  if (k > 0) {
    const folds = plan.groups
      ? groupKFold(plan.groups, k, plan.seed)
      : plan.classes
        ? stratifiedKFold(plan.y, k, plan.seed)
        : kFold(plan.rows.length, k, plan.seed);
    folds.forEach((fold, f) => {
      const spec = fitSpec(plan, fold.train, subProgress(opts, f * share, share, `fold ${f + 1} of ${k}`));
      foldScores.push(scoreRows(spec, plan.table, pick(plan.rows, fold.test), pick(plan.y, fold.test), plan.classes));
    });
  }
  const spec = fitSpec(plan, all, subProgress(opts, k * share, share, 'final model'));
  const metrics: Record<string, number> = {};
  const names = new Set(foldScores.flatMap((s) => Object.keys(s)));
  for (const name of names) {
    const value = mean(foldScores.map((s) => s[name] ?? Number.NaN));
    if (Number.isFinite(value)) metrics[`cv_${name}`] = value;
  }
  metrics.train_rows = plan.rows.length;
  metrics.folds = k;
  if (spec.estimator.kind === 'trees') metrics.n_iter = spec.estimator.trees.length / spec.estimator.base.length;
  opts.onProgress?.(1, 'done');
  return { spec, metrics, params: plan.params, ...(plan.classes ? { classes: plan.classes } : {}) };
}

function pick<T extends Uint32Array | Float64Array>(values: T, positions: Uint32Array): T {
  const out = new (values.constructor as new (n: number) => T)(positions.length);
  for (let k = 0; k < positions.length; k++) out[k] = values[positions[k]];
  return out;
}

/** Fits preprocessing and estimator on the plan's rows at `positions`. */
function fitSpec(plan: TrainingPlan, positions: Uint32Array, opts: FitOptions): ModelSpec {
  const rows = pick(plan.rows, positions);
  const y = pick(plan.y, positions);
  const prep = fitPrep(plan.table, plan.features, rows, { maxCategories: plan.params.max_categories as number });
  const x = applyPrep(prep, plan.table, rows);
  const p = plan.params;
  let estimator: EstimatorSpec;
  if (plan.algorithm === 'LINEAR_REGRESSION' || plan.algorithm === 'AUTOREGRESSIVE') estimator = fitRidge(x, y, { alpha: p.alpha as number }, opts);
  else if (plan.algorithm === 'LOGISTIC_REGRESSION')
    estimator = fitLogistic(x, Int32Array.from(y), { classes: plan.classes!, C: p.C as number, maxIter: p.max_iter as number, tol: p.tol as number }, opts);
  else {
    const objective = !plan.classes ? 'regression' : plan.classes.length === 2 ? 'binary' : 'multiclass';
    estimator = fitGradientBoosting(
      x,
      y,
      {
        objective,
        classes: plan.classes,
        learningRate: p.learning_rate as number,
        maxIter: p.max_iter as number,
        maxLeafNodes: p.max_leaf_nodes as number,
        maxDepth: (p.max_depth as number | null) ?? 0,
        minSamplesLeaf: p.min_samples_leaf as number,
        l2Regularization: p.l2_regularization as number,
        maxBins: p.max_bins as number,
        earlyStopping: p.early_stopping as 'auto' | boolean,
        validationFraction: p.validation_fraction as number,
        nIterNoChange: p.n_iter_no_change as number,
        tol: p.tol as number,
        seed: plan.seed,
      },
      opts,
    );
  }
  return { task: plan.task, features: plan.features, prep, estimator };
}
