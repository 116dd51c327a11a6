// The trainers without a database: metrics, folds, each estimator on data whose answer is known, trainModel's
// validation, progress and cancellation. The quality on real data is in train-quality.test.ts.
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { Matrix, inverse } from 'ml-matrix';
import { ValidationError } from '../src/core/errors.ts';
import type { DataTable } from '../src/predict/table.ts';
import { lagTable } from '../src/predict/train/ar.ts';
import { groupKFold, kFold, stratifiedKFold } from '../src/predict/train/cv.ts';
import { fitGradientBoosting } from '../src/predict/train/gbdt/boost.ts';
import { type TrainRequest, trainModel } from '../src/predict/train/index.ts';
import { fitRidge } from '../src/predict/train/linear.ts';
import { seededRandom } from '../src/core/random.ts';
import { fitLogistic } from '../src/predict/train/logistic.ts';
import { accuracy, averagePrecision, f1Score, logLoss, mae, r2, rmse, rocAuc } from '../src/predict/train/metrics.ts';
import { margins } from '../src/predict/train/predict.ts';
import { applyPrep, fitPrep } from '../src/predict/train/prep.ts';
import type { Dense } from '../src/predict/train/types.ts';
import { addWindowFeatures } from '../src/predict/train/windows.ts';
import { describe, it } from './helpers.ts';
import { normalRandom, syntheticRows, tableOf } from './train-data.ts';

const close = (actual: number, expected: number, tolerance: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} ${actual} is not within ${tolerance} of ${expected}`);

/** The fieldErrors of the ValidationError fn throws (fails when it throws anything else or nothing). */
function fieldErrorsOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${String(err)}`);
    assert.equal(err.code, 'VALIDATION_FAILED');
    return err.fieldErrors;
  }
  assert.fail('expected a ValidationError, nothing was thrown');
}

function dense(rows: number[][]): Dense {
  return { data: Float64Array.from(rows.flat()), rows: rows.length, cols: rows[0].length };
}

describe('metrics (hand-computed values)', () => {
  it('roc_auc counts tied scores as half a correct ordering', () => {
    assert.equal(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
    // Pairs (positive, negative): (0.5, 0.5) = 1/2, (0.5, 0.2), (0.9, 0.5), (0.9, 0.2) = 1 each: 3.5 / 4.
    assert.equal(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]), 0.875);
    assert.ok(Number.isNaN(rocAuc([1, 1], [0.2, 0.3])));
  });
  it('pr_auc is average precision over distinct thresholds', () => {
    // Thresholds 0.8: P 1, R 1/2; 0.4: R unchanged; 0.35: P 2/3, R 1 -> 1/2 + 1/2 * 2/3 = 5/6.
    close(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 5 / 6, 1e-15);
    // The tie at 0.5 is one threshold: P 1/2, R 1/2; then P 2/3, R 1 -> 1/4 + 1/3 = 7/12.
    close(averagePrecision([1, 0, 1], [0.5, 0.5, 0.1]), 7 / 12, 1e-15);
  });
  it('f1, accuracy, logloss (clipped), rmse, mae, r2', () => {
    // TP 2, FP 1, FN 1: 4 / 6.
    close(f1Score([1, 1, 0, 0, 1], [1, 0, 1, 0, 1]), 2 / 3, 1e-15);
    assert.equal(f1Score([0, 0], [0, 0]), 0);
    assert.equal(accuracy([1, 1, 0, 0, 1], [1, 0, 1, 0, 1]), 0.6);
    close(logLoss([1, 0], [0.1, 0.9, 0.8, 0.2], 2), -(Math.log(0.9) + Math.log(0.8)) / 2, 1e-15);
    close(logLoss([1], [1, 0], 2), -Math.log(1e-15), 1e-9);
    close(rmse([1, 2, 3], [1, 2, 5]), Math.sqrt(4 / 3), 1e-15);
    close(mae([1, 2, 3], [1, 2, 5]), 2 / 3, 1e-15);
    // SSres 4, SStot 2.
    assert.equal(r2([1, 2, 3], [1, 2, 5]), -1);
    assert.equal(r2([2, 2], [2, 2]), 1);
    assert.equal(r2([2, 2], [2, 3]), 0);
  });
});

describe('cross-validation folds', () => {
  const partitions = (folds: { train: Uint32Array; test: Uint32Array }[], n: number) => {
    const tested = folds.flatMap((f) => [...f.test]).sort((a, b) => a - b);
    assert.deepEqual(
      tested,
      Array.from({ length: n }, (_, i) => i),
      'every row is tested exactly once',
    );
    for (const f of folds) {
      assert.equal(f.train.length + f.test.length, n);
      const test = new Set(f.test);
      assert.ok(![...f.train].some((i) => test.has(i)), 'no row is in both train and test');
    }
  };
  it('k-fold: a partition into folds whose sizes differ by at most one, the same for the same seed', () => {
    const folds = kFold(23, 5, 7);
    partitions(folds, 23);
    assert.deepEqual(folds.map((f) => f.test.length).sort(), [4, 5, 5, 5, 4].sort());
    assert.deepEqual(kFold(23, 5, 7), folds);
    assert.notDeepEqual(kFold(23, 5, 8), folds);
  });
  it('stratified k-fold: every fold holds its share of each class', () => {
    const labels = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const folds = stratifiedKFold(labels, 5, 1);
    partitions(folds, 30);
    for (const f of folds) {
      assert.equal([...f.test].filter((i) => labels[i] === 1).length, 2);
      assert.equal([...f.test].filter((i) => labels[i] === 0).length, 4);
    }
  });
  it('grouped k-fold: a group is never in both train and test, and the folds are balanced', () => {
    const groups = Array.from({ length: 100 }, (_, i) => `engine-${i % 17}`);
    const folds = groupKFold(groups, 4, 3);
    partitions(folds, 100);
    for (const f of folds) {
      const testGroups = new Set([...f.test].map((i) => groups[i]));
      assert.ok(![...f.train].some((i) => testGroups.has(groups[i])));
    }
    const sizes = folds.map((f) => f.test.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 6, `fold sizes ${sizes}`);
  });
});

describe('preprocessing', () => {
  it('imputes the mean, standardises, one-hots the sorted categories and caps them', () => {
    const table = tableOf({ x: [1, null, 3, 5], c: ['b', 'a', null, 'b'], z: [2, 2, 2, 2] });
    const prep = fitPrep(table, ['x', 'c', 'z'], [0, 1, 2, 3]);
    const std = Math.sqrt(8 / 3);
    assert.deepEqual(prep.columns, [
      { name: 'x', kind: 'numeric', impute: 3, center: 3, scale: std },
      { name: 'c', kind: 'categorical', categories: ['a', 'b'], frequencies: [0.25, 0.5] },
      { name: 'z', kind: 'numeric', impute: 2, center: 2, scale: 1 },
    ]);
    assert.deepEqual(Array.from(applyPrep(prep, table).data), [-2 / std, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2 / std, 0, 1, 0]);
    const capped = fitPrep(table, ['c'], [0, 1, 2, 3], { maxCategories: 1 });
    assert.deepEqual(capped.columns[0], { name: 'c', kind: 'categorical', categories: ['b'], frequencies: [0.5] });
  });
});

describe('linear models', () => {
  const normal = normalRandom(11);
  const x = dense(Array.from({ length: 60 }, () => [normal(), normal(), normal()]));
  const y = Float64Array.from({ length: 60 }, (_, i) => 2 * x.data[i * 3] - 3 * x.data[i * 3 + 1] + 0.5 * x.data[i * 3 + 2] + 5 + 0.3 * normal());

  it('ridge equals the closed-form solution with an unpenalised intercept', () => {
    const alpha = 2.5;
    const spec = fitRidge(x, y, { alpha });
    // [w; b] = (AᵀA + alpha·diag(1, 1, 1, 0))⁻¹ Aᵀy with A = [X 1].
    const a = new Matrix(Array.from({ length: 60 }, (_, i) => [...x.data.subarray(i * 3, i * 3 + 3), 1]));
    const normalMatrix = a.transpose().mmul(a);
    for (let j = 0; j < 3; j++) normalMatrix.set(j, j, normalMatrix.get(j, j) + alpha);
    const expected = inverse(normalMatrix).mmul(a.transpose()).mmul(Matrix.columnVector(y)).getColumn(0);
    spec.coefficients[0].forEach((w, j) => {
      close(w, expected[j], 1e-10, `w${j}`);
    });
    close(spec.intercepts[0], expected[3], 1e-10, 'intercept');
  });
  it('ridge without a penalty recovers an exact linear relation', () => {
    const exact = Float64Array.from({ length: 60 }, (_, i) => 2 * x.data[i * 3] - 3 * x.data[i * 3 + 1] + 0.5 * x.data[i * 3 + 2] + 5);
    const spec = fitRidge(x, exact, { alpha: 0 });
    [2, -3, 0.5].forEach((w, j) => {
      close(spec.coefficients[0][j], w, 1e-10);
    });
    close(spec.intercepts[0], 5, 1e-10);
  });

  /** The largest entry of the gradient of Σ log-loss + ||w||²/2C (0 at the optimum). */
  const logisticGradient = (xs: Dense, labels: Int32Array, w: number[][], b: number[], c: number) => {
    const k = w.length === 1 ? 2 : w.length;
    const grad = w.map((row) => row.map((v) => v / c).concat(0));
    for (let i = 0; i < xs.rows; i++) {
      const z = w.map((row, s) => b[s] + row.reduce((sum, v, j) => sum + v * xs.data[i * xs.cols + j], 0));
      const p = k === 2 ? [1 / (1 + Math.exp(-z[0]))] : z.map((v) => Math.exp(v) / z.reduce((s, u) => s + Math.exp(u), 0));
      p.forEach((ps, s) => {
        const r = ps - (k === 2 ? labels[i] : labels[i] === s ? 1 : 0);
        for (let j = 0; j < xs.cols; j++) grad[s][j] += r * xs.data[i * xs.cols + j];
        grad[s][xs.cols] += r;
      });
    }
    return Math.max(...grad.flat().map(Math.abs));
  };

  it('logistic regression on separable data converges to the finite L2 optimum', () => {
    const xs = dense(Array.from({ length: 40 }, (_, i) => [(i - 19.5) / 10]));
    const labels = Int32Array.from({ length: 40 }, (_, i) => (i >= 20 ? 1 : 0));
    const spec = fitLogistic(xs, labels, { classes: ['no', 'yes'], C: 1, maxIter: 100, tol: 1e-10 });
    assert.ok(Number.isFinite(spec.coefficients[0][0]) && spec.coefficients[0][0] > 1);
    assert.ok(logisticGradient(xs, labels, spec.coefficients, spec.intercepts, 1) < 1e-7);
    const predicted = Array.from(margins(spec, xs), (m) => (m > 0 ? 1 : 0));
    assert.equal(accuracy(labels, predicted), 1);
  });
  it('logistic regression on noisy data recovers the generating coefficients', () => {
    const n = 20_000;
    const rows = Array.from({ length: n }, () => [normal(), normal()]);
    const uniform = seededRandom(5);
    const labels = Int32Array.from(rows, ([a, b]) => (1 / (1 + Math.exp(-(1.5 * a - 2 * b + 0.5))) > uniform() ? 1 : 0));
    const xs = dense(rows);
    const spec = fitLogistic(xs, labels, { classes: ['0', '1'], C: 1e6, maxIter: 100, tol: 1e-10 });
    close(spec.coefficients[0][0], 1.5, 0.1, 'w1');
    close(spec.coefficients[0][1], -2, 0.1, 'w2');
    close(spec.intercepts[0], 0.5, 0.1, 'b');
    assert.ok(logisticGradient(xs, labels, spec.coefficients, spec.intercepts, 1e6) < 1e-4 * n);
  });
  it('multiclass logistic regression (softmax, L-BFGS) reaches the optimum', () => {
    const rows = Array.from({ length: 600 }, () => [normal(), normal()]);
    const labels = Int32Array.from(rows, ([a, b]) => (a + 0.5 * normal() > 0.5 ? 2 : b + 0.5 * normal() > 0 ? 1 : 0));
    const xs = dense(rows);
    const spec = fitLogistic(xs, labels, { classes: ['a', 'b', 'c'], C: 1, maxIter: 500, tol: 1e-9 });
    assert.equal(spec.coefficients.length, 3);
    assert.ok(logisticGradient(xs, labels, spec.coefficients, spec.intercepts, 1) < 1e-5);
    close(
      spec.intercepts.reduce((s, v) => s + v, 0),
      0,
      1e-12,
      'intercepts are centred',
    );
  });
});

describe('gradient boosting', () => {
  const params = {
    learningRate: 0.1,
    maxIter: 100,
    maxLeafNodes: 31,
    maxDepth: 0,
    minSamplesLeaf: 20,
    l2Regularization: 0,
    maxBins: 255,
    earlyStopping: false,
    validationFraction: 0.1,
    nIterNoChange: 10,
    tol: 1e-7,
    seed: 0,
  };
  // 250 distinct values (at most 255): every midpoint is a bin edge, the step's too.
  const xs = dense(Array.from({ length: 250 }, (_, i) => [(i + 0.5) / 250]));
  const step = Float64Array.from({ length: 250 }, (_, i) => (xs.data[i] > 0.5 ? 3 : 1));

  it('fits a step function, every tree splitting between the two sides of the step', () => {
    const spec = fitGradientBoosting(xs, step, { ...params, objective: 'regression' });
    assert.equal(spec.trees.length, 100);
    const predicted = margins(spec, xs);
    // Each round removes 10% of the remaining residual (±1): 0.9^100 of it is left.
    step.forEach((v, i) => {
      close(predicted[i], v, 1.1 * 0.9 ** 100, `row ${i}`);
    });
    for (const { tree } of spec.trees) {
      assert.ok(tree.threshold[0] > xs.data[124] && tree.threshold[0] < xs.data[125], `root threshold ${tree.threshold[0]}`);
      for (let node = 0; node < tree.left.length; node++) {
        if (tree.left[node] >= 0) assert.equal(tree.cover[node], tree.cover[tree.left[node]] + tree.cover[tree.right[node]]);
      }
    }
  });
  it('classifies a step (log loss) and several classes (one tree per class and round)', () => {
    const labels = Float64Array.from(step, (v) => (v === 3 ? 1 : 0));
    const binary = fitGradientBoosting(xs, labels, { ...params, objective: 'binary', classes: ['0', '1'] });
    const m = margins(binary, xs);
    assert.equal(rocAuc(labels, m), 1);
    labels.forEach((v, i) => {
      assert.ok(v === 1 ? m[i] > 4 : m[i] < -4, `row ${i} margin ${m[i]}`);
    });
    const three = Float64Array.from({ length: 250 }, (_, i) => Math.floor((3 * i) / 250));
    const multi = fitGradientBoosting(xs, three, { ...params, objective: 'multiclass', classes: ['a', 'b', 'c'], maxIter: 30 });
    assert.equal(multi.trees.length, 90);
    assert.deepEqual(
      multi.trees.slice(0, 3).map((t) => t.output),
      [0, 1, 2],
    );
    const scores = margins(multi, xs);
    const predicted = Array.from({ length: 250 }, (_, i) => [0, 1, 2].reduce((best, k) => (scores[i * 3 + k] > scores[i * 3 + best] ? k : best), 0));
    assert.equal(accuracy(three, predicted), 1);
  });
  it('stops early on a validation split when rows > 10,000 (auto) and the loss stops improving', () => {
    const normal = normalRandom(3);
    const n = 12_000;
    const table = tableOf({ x: Array.from({ length: n }, () => normal()), y: Array.from({ length: n }, () => normal()) });
    const request: TrainRequest = { table, target: 'y', features: ['x'], algorithm: 'GRADIENT_BOOSTING', folds: 0 };
    const auto = trainModel(request);
    assert.equal(auto.spec.task, 'REGRESSION');
    assert.ok(auto.metrics.n_iter < 50, `n_iter ${auto.metrics.n_iter}`);
    assert.equal(trainModel({ ...request, params: { early_stopping: false, max_iter: 20 } }).metrics.n_iter, 20);
  });
});

describe('autoregressive', () => {
  it('lags stay inside their series, in time order', () => {
    const table = tableOf({ m: ['a', 'b', 'a', 'b', 'a', 'a'], t: [3, 1, 1, 2, 2, 4], v: [30, 100, 10, 200, 20, 40] });
    const lags = lagTable(table, 'v', 2, [], 'm', 't');
    // Series a in time order: 10, 20, 30, 40; series b: 100, 200 (too short for two lags).
    assert.deepEqual(
      lags.columns.map((c) => [c.name, Array.from(c.values as ArrayLike<number | string | null>)]),
      [
        ['v', [30, 40]],
        ['v_lag1', [20, 30]],
        ['v_lag2', [10, 20]],
        ['m', ['a', 'a']],
      ],
    );
  });
  it('recovers the coefficients of a known AR(2) process, pooled over series', () => {
    const normal = normalRandom(21);
    const machine: string[] = [];
    const time: number[] = [];
    const value: number[] = [];
    for (let s = 0; s < 20; s++) {
      let prev1 = 2;
      let prev2 = 2;
      for (let t = 0; t < 500; t++) {
        const v = 0.6 * prev1 - 0.3 * prev2 + 1 + 0.1 * normal();
        machine.push(`m${s}`);
        time.push(t);
        value.push(v);
        prev2 = prev1;
        prev1 = v;
      }
    }
    const result = trainModel({
      table: tableOf({ machine, time, value }),
      target: 'value',
      features: [],
      algorithm: 'AUTOREGRESSIVE',
      params: { p: 2 },
      group: 'machine',
      time: 'time',
    });
    assert.equal(result.spec.task, 'FORECAST');
    assert.deepEqual(result.spec.features, ['value_lag1', 'value_lag2']);
    assert.equal(result.metrics.train_rows, 20 * 498);
    const est = result.spec.estimator;
    assert.equal(est.kind, 'linear');
    if (est.kind !== 'linear') return;
    // Back from standardised lags to the raw ones.
    const cols = result.spec.prep.columns.map((c) => (c.kind === 'numeric' ? c : assert.fail('numeric lags')));
    const raw = est.coefficients[0].map((w, j) => w / cols[j].scale);
    const intercept = est.intercepts[0] - est.coefficients[0].reduce((s, w, j) => s + (w * cols[j].center) / cols[j].scale, 0);
    close(raw[0], 0.6, 0.02, 'phi1');
    close(raw[1], -0.3, 0.02, 'phi2');
    close(intercept, 1, 0.05, 'intercept');
    close(result.metrics.cv_rmse, 0.1, 0.005, 'cv_rmse (the noise)');
  });
});

describe('window features', () => {
  it('aggregates the trailing window of each series in time order', () => {
    const table = tableOf({ g: ['a', 'b', 'a', 'a', 'b'], t: [2, 1, 1, 3, 2], v: [3, 10, 1, 2, null] });
    const out = addWindowFeatures(table, { columns: ['v'], window: 2, group: 'g', time: 't' });
    const col = (name: string) => Array.from(out.columns.find((c) => c.name === name)!.values as Float64Array);
    // Series a by time: t1 v1, t2 v3, t3 v2; series b: t1 v10, t2 missing. Rows in table order: a@2, b@1, a@1, a@3, b@2.
    assert.deepEqual(col('v_mean_2'), [2, 10, 1, 2.5, 10]);
    assert.deepEqual(col('v_std_2'), [1, 0, 0, 0.5, 0]);
    assert.deepEqual(col('v_min_2'), [1, 10, 1, 2, 10]);
    assert.deepEqual(col('v_max_2'), [3, 10, 1, 3, 10]);
    assert.deepEqual(col('v_slope_2'), [2, 0, 0, -1, 0]);
    assert.deepEqual(col('v_latest_2'), [3, 10, 1, 2, 10]);
    assert.equal(table.columns.length, 3, 'the input table is unchanged');
  });
  it('refuses unknown and categorical columns and a bad window, naming each', () => {
    const table = tableOf({ g: ['a'], v: [1] });
    assert.deepEqual(
      fieldErrorsOf(() => addWindowFeatures(table, { columns: ['nope', 'g'], window: 0, group: 'x' })),
      [
        { path: 'window', message: 'must be a whole number from 1 to 10,000' },
        { path: 'columns[0]', message: 'unknown column "nope"' },
        { path: 'columns[1]', message: 'column "g" is categorical; window features need a numeric column' },
        { path: 'group', message: 'unknown column "x"' },
      ],
    );
  });
});

describe('trainModel', () => {
  const { x1, x2, c, y } = syntheticRows(300, 4, (a, _b, cat, noise) => (a + (cat === 'a' ? 1 : 0) + 0.3 * noise > 0.5 ? 1 : 0));
  const table: DataTable = tableOf({ x1, x2, c, y: y as number[], level: x1.map((v) => v * 2.5), label: (y as number[]).map((v) => (v ? 'bad' : 'ok')) });
  const base: TrainRequest = { table, target: 'y', features: ['x1', 'x2', 'c'], algorithm: 'GRADIENT_BOOSTING' };

  it('chooses classification for a categorical target or few whole numbers, regression otherwise; params.task forces it', () => {
    const classified = trainModel({ ...base, folds: 0 });
    assert.equal(classified.spec.task, 'CLASSIFICATION');
    assert.deepEqual(classified.classes, ['0', '1']);
    assert.equal(classified.params.task, 'CLASSIFICATION');
    assert.deepEqual(trainModel({ ...base, target: 'label', folds: 0 }).classes, ['bad', 'ok']);
    assert.equal(trainModel({ ...base, target: 'level', features: ['x2', 'c'], folds: 0 }).spec.task, 'REGRESSION');
    const forced = trainModel({ ...base, folds: 0, params: { task: 'REGRESSION' } });
    assert.equal(forced.spec.task, 'REGRESSION');
    assert.equal(forced.classes, undefined);
  });
  it('reports cross-validated metrics, the effective params and the rows', () => {
    const result = trainModel({ ...base, algorithm: 'LOGISTIC_REGRESSION', folds: 3 });
    assert.deepEqual(Object.keys(result.metrics).sort(), ['cv_accuracy', 'cv_auc', 'cv_f1', 'cv_logloss', 'cv_pr_auc', 'folds', 'train_rows']);
    assert.equal(result.metrics.folds, 3);
    assert.equal(result.metrics.train_rows, 300);
    assert.ok(result.metrics.cv_auc > 0.9, `cv_auc ${result.metrics.cv_auc}`);
    assert.deepEqual(result.params, { C: 1, max_iter: 200, tol: 1e-6, max_categories: 100 });
    const regression = trainModel({ ...base, target: 'level', features: ['x1', 'c'], algorithm: 'LINEAR_REGRESSION', params: { alpha: 0 } });
    assert.deepEqual(Object.keys(regression.metrics).sort(), ['cv_mae', 'cv_r2', 'cv_rmse', 'folds', 'train_rows']);
    close(regression.metrics.cv_rmse, 0, 1e-9, 'level = 2.5 x1 exactly');
  });
  it('drops rows without a target and imputes missing features', () => {
    const gappy = tableOf({ x: [1, 2, null, 4, 5, 6], y: [2, 4, 6, null, 10, 12] });
    const result = trainModel({ table: gappy, target: 'y', features: ['x'], algorithm: 'LINEAR_REGRESSION', folds: 0, params: { alpha: 0 } });
    assert.equal(result.metrics.train_rows, 5);
    assert.deepEqual(result.spec.prep.columns[0], {
      name: 'x',
      kind: 'numeric',
      impute: 3.5,
      center: 3.5,
      scale: result.spec.prep.columns[0].kind === 'numeric' ? result.spec.prep.columns[0].scale : 0,
    });
  });
  it('refuses bad requests with every problem named', () => {
    assert.deepEqual(
      fieldErrorsOf(() =>
        trainModel({
          ...base,
          target: 'nope',
          features: ['x1', 'zz', 'x1'],
          folds: 1.5,
          params: { learning_rate: 0, max_leaf_nodes: 1, depth: 3, early_stopping: 'yes' },
        }),
      ),
      [
        { path: 'target', message: 'unknown column "nope"' },
        { path: 'features[1]', message: 'unknown column "zz"' },
        { path: 'features[2]', message: '"x1" is listed twice' },
        { path: 'folds', message: 'must be a whole number from 0 to 100' },
        { path: 'params.learning_rate', message: 'must be a number greater than 0 and at most 10, not 0' },
        { path: 'params.max_leaf_nodes', message: 'must be a whole number from 2 to 4096, not 1' },
        {
          path: 'params.depth',
          message:
            'unknown parameter for GRADIENT_BOOSTING; allowed: task, learning_rate, max_iter, max_leaf_nodes, max_depth, min_samples_leaf, l2_regularization, max_bins, early_stopping, validation_fraction, n_iter_no_change, tol, max_categories',
        },
        { path: 'params.early_stopping', message: 'must be one of "auto", true, false, not "yes"' },
      ],
    );
    const one = (request: Partial<TrainRequest>) => fieldErrorsOf(() => trainModel({ ...base, ...request }));
    assert.deepEqual(one({ features: ['y'] }), [{ path: 'features[0]', message: 'is the target; a model cannot learn from its own answer' }]);
    assert.deepEqual(one({ target: 'label', algorithm: 'LINEAR_REGRESSION' }), [
      { path: 'target', message: 'column "label" is categorical; LINEAR_REGRESSION for REGRESSION needs a numeric target' },
    ]);
    assert.deepEqual(one({ table: tableOf({ x: [1, 2, 3], y: [1, 1, 1] }), features: ['x'] }), [
      { path: 'target', message: 'has only one class ("1") in the rows with a target; classification needs at least two' },
    ]);
    assert.deepEqual(one({ table: tableOf({ x: [1, 2, 3, 4], y: [0, 1, 0, 0] }), features: ['x'] }), [
      { path: 'folds', message: '5 folds need at least 5 rows of every class; class "1" has 1' },
    ]);
    assert.deepEqual(one({ table: tableOf({ x: [1, 2, 3], y: [0.5, 1.5, 2.5] }), features: ['x'], algorithm: 'LINEAR_REGRESSION' }), [
      { path: 'folds', message: '5 folds need at least 5 rows with a target; there are 3' },
    ]);
    assert.deepEqual(one({ group: 'c' }), [{ path: 'folds', message: '5 folds need at least 5 groups in column "c"; there are 3' }]);
    assert.deepEqual(one({ algorithm: 'LOGISTIC_REGRESSION', params: { C: -1 } }), [
      { path: 'params.C', message: 'must be a number greater than 0 and at most 1000000000000, not -1' },
    ]);
    assert.deepEqual(one({ algorithm: 'LINEAR_REGRESSION', task: 'CLASSIFICATION' }), [{ path: 'task', message: 'LINEAR_REGRESSION is for REGRESSION only' }]);
    assert.deepEqual(one({ algorithm: 'RANDOM_FOREST' as never }), [
      { path: 'algorithm', message: 'unknown algorithm "RANDOM_FOREST"; allowed: LINEAR_REGRESSION, LOGISTIC_REGRESSION, AUTOREGRESSIVE, GRADIENT_BOOSTING' },
    ]);
    assert.deepEqual(one({ table: tableOf({ x: [1, Number.POSITIVE_INFINITY, 3, 4, 5], y: [0, 1, 0, 1, 1] }), features: ['x'], folds: 2 }), [
      { path: 'features[0]', message: 'column "x" has an infinite value (row index 1); use NaN for a missing value' },
    ]);
    assert.deepEqual(one({ algorithm: 'AUTOREGRESSIVE', target: 'label', features: [] }), [
      { path: 'target', message: 'column "label" is categorical; AUTOREGRESSIVE forecasts a numeric column' },
    ]);
  });
  it('reports progress through the folds up to 1, and stops with an AbortError when cancelled', () => {
    const seen: { fraction: number; message: string }[] = [];
    trainModel({ ...base, folds: 3, params: { max_iter: 10 } }, { onProgress: (fraction, message) => seen.push({ fraction, message }) });
    assert.ok(
      seen.every((p, i) => i === 0 || p.fraction >= seen[i - 1].fraction),
      'progress never goes back',
    );
    assert.equal(seen.at(-1)!.fraction, 1);
    assert.ok(seen.some((p) => p.message.startsWith('fold 2 of 3: boosting round')));
    assert.ok(seen.some((p) => p.message.startsWith('final model: ')));

    const controller = new AbortController();
    let after = 0;
    assert.throws(
      () =>
        trainModel(
          { ...base, folds: 3 },
          {
            signal: controller.signal,
            onProgress: (fraction) => {
              if (controller.signal.aborted) after++;
              if (fraction > 0.4) controller.abort();
            },
          },
        ),
      { name: 'AbortError' },
    );
    assert.equal(after, 0, 'no progress after the abort');
  });
  it('runs in a worker thread on a structured clone of the table, giving the same model', async () => {
    const request: TrainRequest = { ...base, folds: 2, params: { max_iter: 5 } };
    const here = trainModel(request);
    const module = new URL('../src/predict/train/index.ts', import.meta.url).href;
    // On Node 20, tsx registers its loader in the main thread only; the worker registers it itself.
    const code = `const { parentPort, workerData } = require('node:worker_threads');
      import('tsx/esm/api')
        .then((tsx) => { tsx.register(); return import(workerData.module); })
        .then((m) => parentPort.postMessage(m.trainModel(workerData.request)));`;
    const worker = new Worker(code, { eval: true, workerData: { module, request } });
    const there = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    assert.deepEqual(there, here);
  });
});
