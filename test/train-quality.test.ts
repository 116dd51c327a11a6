// Quality on real data (issue 11's acceptance), with the trainers' defaults and general methods only:
// - AI4I 2020 "Machine failure" from the five numeric sensor columns plus product Type, 5-fold stratified CV:
//   ROC-AUC >= 0.97 with GRADIENT_BOOSTING, >= 0.88 with LOGISTIC_REGRESSION;
// - C-MAPSS FD001 remaining useful life capped at 125 cycles, trailing-window features per engine, 5 folds
//   grouped by engine: RMSE <= 17 with GRADIENT_BOOSTING.
// Data: test/fixtures/ai4i2020 and test/fixtures/cmapss (see their PROVENANCE.md).
import assert from 'node:assert/strict';
import { trainModel } from '../src/predict/train/index.ts';
import { addWindowFeatures } from '../src/predict/train/windows.ts';
import { describe, it } from './helpers.ts';
import { AI4I_FEATURES, CMAPSS_SENSORS, loadAi4i, loadCmapss } from './train-data.ts';

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

describe('quality on real data', () => {
  it('AI4I 2020 machine failure: 5-fold stratified CV ROC-AUC >= 0.97 (gradient boosting), >= 0.88 (logistic)', { timeout: 300_000 }, (t) => {
    const table = loadAi4i();
    assert.equal(table.rowCount, 10_000);
    for (const [algorithm, floor] of [
      ['GRADIENT_BOOSTING', 0.97],
      ['LOGISTIC_REGRESSION', 0.88],
    ] as const) {
      const started = performance.now();
      const { metrics, spec, classes } = trainModel({ table, target: 'Machine failure', features: AI4I_FEATURES, algorithm });
      t.diagnostic(
        `${algorithm}: cv_auc ${metrics.cv_auc.toFixed(4)}, cv_pr_auc ${metrics.cv_pr_auc.toFixed(4)}, cv_f1 ${metrics.cv_f1.toFixed(4)}, ${seconds(started)} s for 5 folds + final`,
      );
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
    t.diagnostic(
      `GRADIENT_BOOSTING: cv_rmse ${metrics.cv_rmse.toFixed(2)}, cv_mae ${metrics.cv_mae.toFixed(2)}, cv_r2 ${metrics.cv_r2.toFixed(3)}, ${features.length} features, ${seconds(started)} s`,
    );
    assert.equal(spec.task, 'REGRESSION');
    assert.equal(metrics.train_rows, 20_631);
    assert.ok(metrics.cv_rmse <= 17, `cv_rmse ${metrics.cv_rmse}`);
  });
});
