// Quality on real data (issue 11's acceptance), with the trainers' defaults and general methods only:
// - AI4I 2020 "Machine failure" from the five numeric sensor columns plus product Type, 5-fold stratified CV:
//   ROC-AUC >= 0.97 with GRADIENT_BOOSTING, >= 0.88 with LOGISTIC_REGRESSION;
// - C-MAPSS FD001 remaining useful life capped at 125 cycles, trailing-window features per engine, 5 folds
//   grouped by engine: RMSE <= 17 with GRADIENT_BOOSTING.
// Data: test/fixtures/ai4i2020 and test/fixtures/cmapss (see their PROVENANCE.md).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import type { DataTable } from '../src/predict/table.ts';
import { trainModel } from '../src/predict/train/index.ts';
import { addWindowFeatures } from '../src/predict/train/windows.ts';
import { describe, it } from './helpers.ts';

const fixture = (path: string) => new URL(`./fixtures/${path}`, import.meta.url);

/** The AI4I CSV (no quoted fields): Type and Product ID as categories, the rest as numbers. */
function loadAi4i(): DataTable {
  const [head, ...lines] = fs.readFileSync(fixture('ai4i2020/ai4i2020.csv'), 'utf8').trim().split('\n');
  const names = head.split(',');
  const rows = lines.map((line) => line.split(','));
  const categorical = new Set(['Type', 'Product ID']);
  return {
    rowCount: rows.length,
    columns: names.map((name, j) =>
      categorical.has(name) ? { name, kind: 'categorical', values: rows.map((r) => r[j]) } : { name, kind: 'numeric', values: Float64Array.from(rows, (r) => Number(r[j])) },
    ),
  };
}

const CMAPSS_SENSORS = Array.from({ length: 21 }, (_, i) => `s${i + 1}`);

/** C-MAPSS FD001 training data with its RUL target: cycles left until the engine's last one, capped at 125. */
function loadCmapss(): DataTable {
  const text = zlib.gunzipSync(fs.readFileSync(fixture('cmapss/train_FD001.txt.gz'))).toString('latin1');
  const rows = text
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number));
  const names = ['unit', 'cycle', 'setting1', 'setting2', 'setting3', ...CMAPSS_SENSORS];
  const lastCycle = new Map<number, number>();
  for (const [unit, cycle] of rows) lastCycle.set(unit, Math.max(lastCycle.get(unit) ?? 0, cycle));
  return {
    rowCount: rows.length,
    columns: [
      ...names.map((name, j) => ({ name, kind: 'numeric' as const, values: Float64Array.from(rows, (r) => r[j]) })),
      { name: 'rul', kind: 'numeric', values: Float64Array.from(rows, ([unit, cycle]) => Math.min(125, lastCycle.get(unit)! - cycle)) },
    ],
  };
}

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

describe('quality on real data', () => {
  const ai4iFeatures = ['Type', 'Air temperature [K]', 'Process temperature [K]', 'Rotational speed [rpm]', 'Torque [Nm]', 'Tool wear [min]'];

  it('AI4I 2020 machine failure: 5-fold stratified CV ROC-AUC >= 0.97 (gradient boosting), >= 0.88 (logistic)', { timeout: 300_000 }, (t) => {
    const table = loadAi4i();
    assert.equal(table.rowCount, 10_000);
    for (const [algorithm, floor] of [
      ['GRADIENT_BOOSTING', 0.97],
      ['LOGISTIC_REGRESSION', 0.88],
    ] as const) {
      const started = performance.now();
      const { metrics, spec, classes } = trainModel({ table, target: 'Machine failure', features: ai4iFeatures, algorithm });
      t.diagnostic(`${algorithm}: cv_auc ${metrics.cv_auc.toFixed(4)}, cv_pr_auc ${metrics.cv_pr_auc.toFixed(4)}, cv_f1 ${metrics.cv_f1.toFixed(4)}, ${seconds(started)} s for 5 folds + final`);
      assert.equal(spec.task, 'CLASSIFICATION');
      assert.deepEqual(classes, ['0', '1']);
      assert.equal(metrics.folds, 5);
      assert.equal(metrics.train_rows, 10_000);
      assert.ok(metrics.cv_auc >= floor, `${algorithm} cv_auc ${metrics.cv_auc} < ${floor}`);
    }
  });

  it('C-MAPSS FD001 remaining useful life: CV RMSE <= 17 with folds grouped by engine', { timeout: 600_000 }, (t) => {
    const table = addWindowFeatures(loadCmapss(), { columns: CMAPSS_SENSORS, window: 10, aggregates: ['mean', 'std', 'slope'], group: 'unit', time: 'cycle' });
    const features = table.columns.map((c) => c.name).filter((name) => name !== 'rul' && name !== 'unit');
    const started = performance.now();
    const { metrics, spec } = trainModel({ table, target: 'rul', features, algorithm: 'GRADIENT_BOOSTING', group: 'unit' });
    t.diagnostic(`GRADIENT_BOOSTING: cv_rmse ${metrics.cv_rmse.toFixed(2)}, cv_mae ${metrics.cv_mae.toFixed(2)}, cv_r2 ${metrics.cv_r2.toFixed(3)}, ${features.length} features, ${seconds(started)} s`);
    assert.equal(spec.task, 'REGRESSION');
    assert.equal(metrics.train_rows, 20_631);
    assert.ok(metrics.cv_rmse <= 17, `cv_rmse ${metrics.cv_rmse}`);
  });
});
