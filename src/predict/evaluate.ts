/**
 * evaluateModel: scores any registered version (trained here or uploaded) on a dataset whose columns include the
 * model's features and a target, in chunks through the batcher, and reports the metrics of its task: for a
 * classifier auc and pr_auc (binary: the last class is positive), accuracy, f1 (binary), logloss; for a regressor
 * rmse, mae, r2. Rows whose target is missing are left out.
 */
import { ValidationError } from '../core/errors.ts';
import type { Queryable } from '../db/client.ts';
import { loadDataset } from './datasets.ts';
import { InputMismatchError } from './errors.ts';
import type { Feeds } from './onnx/feeds.ts';
import { featureFeeds } from './machine.ts';
import type { ModelRecord } from './registry.ts';
import type { PredictionService } from './service.ts';
import type { ModelSpec } from './spec.ts';
import type { DataTable } from './table.ts';
import { accuracy, averagePrecision, f1Score, logLoss, mae, r2, rmse, rocAuc } from './train/metrics.ts';

const CHUNK = 4096;
/** Largest dataset evaluated inline. */
export const MAX_EVALUATION_ROWS = 1_000_000;

export interface Evaluation {
  rows: number;
  metrics: Record<string, number>;
}

function column(table: DataTable, name: string, path: string) {
  const c = table.columns.find((x) => x.name === name);
  if (!c) throw ValidationError.single(path, `the dataset has no column ${JSON.stringify(name)}`);
  return c;
}

/** Feeds for the given rows of the table, in the model's feature order; a numeric input needs a numeric column. */
function chunkFeeds(model: ModelRecord, table: DataTable, rows: Uint32Array): Feeds {
  const spec = model.spec as ModelSpec | null;
  const cols = model.features!.map((f, i) => {
    const col = column(table, f, `features[${i}]`);
    const numeric = spec ? spec.prep.columns[i]?.kind !== 'categorical' : true;
    if (numeric && col.kind !== 'numeric') throw ValidationError.single(`features[${i}]`, `column ${JSON.stringify(f)} must be numeric for this model`);
    return col;
  });
  return featureFeeds(
    model,
    Array.from(rows, (r) => cols.map((c) => c.values[r])),
  );
}

export async function evaluateModel(db: Queryable, predictions: PredictionService, model: ModelRecord, datasetId: number, target: string): Promise<Evaluation> {
  if (!model.features?.length)
    throw InputMismatchError.single(
      'model',
      'the model does not name its features (register it with features) so dataset columns cannot be matched to its input',
    );
  const table = await loadDataset(db, datasetId);
  if (table.rowCount > MAX_EVALUATION_ROWS)
    throw ValidationError.single('datasetId', `at most ${MAX_EVALUATION_ROWS.toLocaleString('en-US')} rows are evaluated inline`);
  const y = column(table, target, 'target');
  for (const [i, f] of model.features.entries()) column(table, f, `features[${i}]`);
  const labelled = Uint32Array.from({ length: table.rowCount }, (_, i) => i).filter((i) =>
    y.kind === 'numeric' ? !Number.isNaN(y.values[i]) : y.values[i] !== null,
  );
  if (labelled.length === 0) throw ValidationError.single('target', 'no row has a target value');
  const classes = model.serving.classes ?? [];
  const truth: number[] = [];
  const values: number[] = [];
  const probabilities: number[] = [];
  const predicted: number[] = [];
  for (let start = 0; start < labelled.length; start += CHUNK) {
    const rows = labelled.subarray(start, start + CHUNK);
    const scored = await predictions.score(model, chunkFeeds(model, table, rows));
    for (const [i, r] of rows.entries()) {
      const s = scored[i];
      if (model.task === 'CLASSIFICATION') {
        const label = y.kind === 'numeric' ? String(y.values[r]) : String(y.values[r]);
        const k = classes.indexOf(label);
        if (k < 0)
          throw ValidationError.single(
            'target',
            `target value ${JSON.stringify(label)} (row ${r + 1}) is not one of the model's classes ${JSON.stringify(classes)}`,
          );
        truth.push(k);
        predicted.push(Math.max(0, classes.indexOf(s.label ?? '')));
        for (const p of s.probabilities ?? []) probabilities.push(p.probability);
        values.push(s.value ?? Number.NaN);
      } else {
        if (y.kind !== 'numeric') throw ValidationError.single('target', 'a regression model needs a numeric target');
        truth.push(y.values[r]);
        values.push(s.value ?? Number.NaN);
      }
    }
  }
  const metrics: Record<string, number> = {};
  if (model.task === 'CLASSIFICATION') {
    const k = classes.length;
    metrics.accuracy = accuracy(truth, predicted);
    metrics.logloss = logLoss(truth, probabilities, k);
    if (k === 2) {
      const positive = truth.map((t) => (t === 1 ? 1 : 0));
      metrics.auc = rocAuc(positive, values);
      metrics.pr_auc = averagePrecision(positive, values);
      metrics.f1 = f1Score(truth, predicted, 1);
    }
  } else {
    metrics.rmse = rmse(truth, values);
    metrics.mae = mae(truth, values);
    metrics.r2 = r2(truth, values);
  }
  return { rows: labelled.length, metrics };
}
