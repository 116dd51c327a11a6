import type { ModelSpec } from '../spec.ts';
import { accuracy, averagePrecision, f1Score, logLoss, mae, r2, rmse, rocAuc } from './metrics.ts';
import { marginWidth, margins, probabilities } from './predict.ts';
import { applyPrep } from './prep.ts';
import type { DataTable } from '../table.ts';

/**
 * Scores `spec` on the given rows of `table` against `y` (values, or class indices into `classes`). Regression and
 * forecasts: rmse, mae, r2. Classification: auc, pr_auc (average precision), f1, accuracy, logloss; with more than
 * two classes auc, pr_auc and f1 are macro averages over the classes (one against the rest). A metric the rows
 * cannot define (AUC of a single class) is left out.
 */
export function scoreRows(spec: ModelSpec, table: DataTable, rows: ArrayLike<number>, y: Float64Array, classes?: string[]): Record<string, number> {
  const x = applyPrep(spec.prep, table, rows);
  const raw = margins(spec.estimator, x);
  if (!classes) return finite({ rmse: rmse(y, raw), mae: mae(y, raw), r2: r2(y, raw) });
  const k = classes.length;
  const p = probabilities(raw, marginWidth(spec.estimator));
  const predicted = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (p[i * k + c] > p[i * k + best]) best = c;
    predicted[i] = best;
  }
  const common = { accuracy: accuracy(y, predicted), logloss: logLoss(y, p, k) };
  if (k === 2) {
    const score = Float64Array.from({ length: y.length }, (_, i) => p[i * 2 + 1]);
    return finite({ auc: rocAuc(y, score), pr_auc: averagePrecision(y, score), f1: f1Score(y, predicted, 1), ...common });
  }
  const perClass = { auc: [] as number[], pr_auc: [] as number[], f1: [] as number[] };
  for (let c = 0; c < k; c++) {
    const isClass = Float64Array.from(y, (v) => (v === c ? 1 : 0));
    const score = Float64Array.from({ length: y.length }, (_, i) => p[i * k + c]);
    perClass.auc.push(rocAuc(isClass, score));
    perClass.pr_auc.push(averagePrecision(isClass, score));
    perClass.f1.push(f1Score(y, predicted, c));
  }
  return finite({ auc: mean(perClass.auc), pr_auc: mean(perClass.pr_auc), f1: mean(perClass.f1), ...common });
}

/** The mean of the finite values (NaN when there is none). */
export function mean(values: number[]): number {
  const ok = values.filter(Number.isFinite);
  return ok.length === 0 ? Number.NaN : ok.reduce((s, v) => s + v, 0) / ok.length;
}

function finite(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));
}
