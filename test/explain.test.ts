// Explanations: exact linear contributions, TreeSHAP against brute-force Shapley values, Kernel SHAP's efficiency
// and accuracy. Every explanation must add up: base + Σ contributions = the model's output in the stated space.
import assert from 'node:assert/strict';
import { explainSpec, kernelShap, linearContributions, treeShap } from '../src/predict/explain/index.ts';
import type { ModelSpec, Tree } from '../src/predict/spec.ts';
import type { DataTable } from '../src/predict/table.ts';
import { trainModel } from '../src/predict/train/index.ts';
import { marginWidth, margins } from '../src/predict/train/predict.ts';
import { applyPrep, type FeatureValue, prepRow } from '../src/predict/train/prep.ts';
import { describe, it } from './helpers.ts';
import { normalRandom, syntheticRows, tableOf } from './train-data.ts';

const close = (actual: number, expected: number, tolerance: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} ${actual} is not within ${tolerance} of ${expected}`);

const sum = (values: number[]) => values.reduce((s, v) => s + v, 0);

/** The margin (output `output`) of one original-feature row. */
function marginOf(spec: ModelSpec, row: FeatureValue[], output = 0): number {
  const z = prepRow(spec.prep, row);
  return margins(spec.estimator, { data: z, rows: 1, cols: z.length })[output];
}

/** The table's rows as original feature values, in the model's feature order. */
function rowsOf(table: DataTable, features: string[]): FeatureValue[][] {
  const cols = features.map((f) => table.columns.find((c) => c.name === f)!);
  return Array.from({ length: table.rowCount }, (_, i) => cols.map((c) => c.values[i]));
}

/** Exact Shapley values by enumerating every coalition of the m players of v. */
function bruteForceShapley(m: number, v: (inCoalition: boolean[]) => number): number[] {
  const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
  const phi = new Array<number>(m).fill(0);
  for (let code = 0; code < 2 ** m; code++) {
    const set = Array.from({ length: m }, (_, i) => ((code >> i) & 1) === 1);
    const size = set.filter(Boolean).length;
    for (let i = 0; i < m; i++) {
      if (set[i]) continue;
      const weight = (factorial(size) * factorial(m - size - 1)) / factorial(m);
      const withI = set.slice();
      withI[i] = true;
      phi[i] += weight * (v(withI) - v(set));
    }
  }
  return phi;
}

/** TreeSHAP's value function: E[tree | the inputs in S fixed to z], following covers where a split's input is not in S. */
function conditionalExpectation(tree: Tree, z: Float64Array, inS: boolean[], node = 0): number {
  if (tree.left[node] < 0) return tree.value[node];
  const f = tree.feature[node];
  if (inS[f]) return conditionalExpectation(tree, z, inS, z[f] <= tree.threshold[node] ? tree.left[node] : tree.right[node]);
  const l = tree.left[node];
  const r = tree.right[node];
  return (tree.cover[l] * conditionalExpectation(tree, z, inS, l) + tree.cover[r] * conditionalExpectation(tree, z, inS, r)) / tree.cover[node];
}

/** Builds a tree from nested nodes: [feature, threshold, cover, left, right] or [value, cover] for a leaf. */
type NodeSpec = [number, number, number, NodeSpec, NodeSpec] | [number, number];
function buildTree(root: NodeSpec): Tree {
  const tree: Tree = { feature: [], threshold: [], left: [], right: [], missingLeft: [], value: [], cover: [] };
  const add = (node: NodeSpec): number => {
    const id = tree.left.length;
    tree.feature.push(0);
    tree.threshold.push(0);
    tree.left.push(-1);
    tree.right.push(-1);
    tree.missingLeft.push(true);
    tree.value.push(0);
    tree.cover.push(0);
    if (node.length === 2) {
      tree.value[id] = node[0];
      tree.cover[id] = node[1];
    } else {
      tree.feature[id] = node[0];
      tree.threshold[id] = node[1];
      tree.cover[id] = node[2];
      tree.left[id] = add(node[3]);
      tree.right[id] = add(node[4]);
    }
    return id;
  };
  add(root);
  return tree;
}

describe('TreeSHAP', () => {
  // Feature 0 is split on twice along one path, which is what the path-unwinding of the algorithm is for.
  const first = buildTree([0, 0.5, 100, [1, 0, 60, [1.0, 30], [0, -1, 30, [-2, 10], [0.5, 20]]], [2, 1, 40, [3, 25], [-1, 15]]]);
  const second = buildTree([2, 0, 100, [0, 0, 50, [0.2, 20], [1, 1, 30, [-0.7, 12], [0.4, 18]]], [1.5, 50]]);
  const identity = { kind: 'numeric', impute: 0, center: 0, scale: 1 } as const;
  const spec: ModelSpec = {
    task: 'REGRESSION',
    features: ['a', 'b', 'c'],
    prep: { columns: ['a', 'b', 'c'].map((name) => ({ name, ...identity })) },
    estimator: {
      kind: 'trees',
      objective: 'regression',
      base: [10],
      trees: [
        { tree: first, output: 0 },
        { tree: second, output: 0 },
      ],
    },
  };

  it('equals brute-force Shapley values of the cover-weighted expectation on small trees', () => {
    for (const x of [
      [-2, -1, 0.5],
      [-0.5, 2, 3],
      [1, 0.5, -1],
      [0.5, 0, 1],
    ]) {
      const z = Float64Array.from(x);
      const exact = bruteForceShapley(3, (inS) => conditionalExpectation(first, z, inS) + conditionalExpectation(second, z, inS));
      const explanation = treeShap(spec, x);
      assert.equal(explanation.space, 'value');
      explanation.contributions.forEach((c, i) => {
        close(c, exact[i], 1e-12, `x=${x} feature ${i}`);
      });
      // Base: 10 + each tree's mean leaf by cover.
      close(explanation.base, 10 + (30 * 1 + 10 * -2 + 20 * 0.5 + 25 * 3 + 15 * -1) / 100 + (20 * 0.2 + 12 * -0.7 + 18 * 0.4 + 50 * 1.5) / 100, 1e-12);
      close(explanation.base + sum(explanation.contributions), marginOf(spec, x), 1e-12, 'adds up');
    }
  });

  const { x1, x2, c, y } = syntheticRows(600, 9, (a, b, cat, noise) => (a * b + (cat === 'b' ? 1 : 0) + 0.3 * noise > 0.3 ? 1 : 0));
  const table = tableOf({ x1, x2, c, y: y as number[] });
  const features = ['x1', 'x2', 'c'];

  it('adds up to the margin within 1e-9 on trained trees, one contribution per original feature', () => {
    const binary = trainModel({ table, target: 'y', features, algorithm: 'GRADIENT_BOOSTING', folds: 0 }).spec;
    const regression = trainModel({
      table: tableOf({ x1, x2, c, y: x1.map((v, i) => v * x2[i]) }),
      target: 'y',
      features,
      algorithm: 'GRADIENT_BOOSTING',
      folds: 0,
    }).spec;
    const three = trainModel({
      table: tableOf({ x1, x2, c, y: x1.map((v) => (v < -0.5 ? 'low' : v > 0.5 ? 'high' : 'mid')) }),
      target: 'y',
      features,
      algorithm: 'GRADIENT_BOOSTING',
      folds: 0,
      params: { max_iter: 20 },
    }).spec;
    let worst = 0;
    for (const [spec, space] of [
      [binary, 'log_odds'],
      [regression, 'value'],
      [three, 'softmax_logit'],
    ] as const) {
      for (const row of rowsOf(table, features).slice(0, 100)) {
        for (let output = 0; output < marginWidth(spec.estimator); output++) {
          const e = treeShap(spec, row, output);
          assert.equal(e.space, space);
          assert.equal(e.contributions.length, 3);
          worst = Math.max(worst, Math.abs(e.base + sum(e.contributions) - marginOf(spec, row, output)));
        }
      }
    }
    assert.ok(worst <= 1e-9, `largest gap ${worst}`);
  });
  it('sums the one-hot inputs of a categorical feature: brute force on the expanded inputs agrees', () => {
    const spec = trainModel({ table, target: 'y', features, algorithm: 'GRADIENT_BOOSTING', folds: 0, params: { max_iter: 5 } }).spec;
    assert.equal(spec.estimator.kind, 'trees');
    if (spec.estimator.kind !== 'trees') return;
    const trees = spec.estimator.trees.map((t) => t.tree);
    for (const row of rowsOf(table, features).slice(0, 5)) {
      const z = prepRow(spec.prep, row);
      const exact = bruteForceShapley(z.length, (inS) => sum(trees.map((t) => conditionalExpectation(t, z, inS))));
      const e = treeShap(spec, row);
      close(e.contributions[0], exact[0], 1e-12, 'x1');
      close(e.contributions[1], exact[1], 1e-12, 'x2');
      close(e.contributions[2], exact[2] + exact[3] + exact[4], 1e-12, 'c = its three one-hot inputs');
    }
  });
});

describe('linear contributions', () => {
  const { x1, x2, c, y } = syntheticRows(300, 2, (a, b, cat, noise) => 3 * a - b + (cat === 'c' ? 2 : 0) + 0.1 * noise);
  const table = tableOf({ x1, x2, c, y: y as number[], label: (y as number[]).map((v) => (v > 0.5 ? 'hi' : v < -1 ? 'lo' : 'mid')) });
  const features = ['x1', 'x2', 'c'];
  const rows = rowsOf(table, features);

  it('are exact for ridge: w·(x - mean) per numeric feature, base = the mean training prediction', () => {
    const spec = trainModel({ table, target: 'y', features, algorithm: 'LINEAR_REGRESSION', folds: 0 }).spec;
    const e0 = linearContributions(spec, rows[0]);
    assert.equal(e0.space, 'value');
    const training = margins(spec.estimator, applyPrep(spec.prep, table));
    close(e0.base, sum(Array.from(training)) / training.length, 1e-9, 'base');
    const est = spec.estimator.kind === 'linear' ? spec.estimator : assert.fail('linear');
    const col = spec.prep.columns[0].kind === 'numeric' ? spec.prep.columns[0] : assert.fail('numeric');
    close(e0.contributions[0], (est.coefficients[0][0] * (x1[0] - col.center)) / col.scale, 1e-12, 'x1');
    for (const row of rows.slice(0, 50)) {
      const e = explainSpec(spec, row);
      close(e.base + sum(e.contributions), marginOf(spec, row), 1e-9);
    }
  });
  it('are in log-odds for binary and per-class softmax logits for multiclass logistic models', () => {
    const binary = trainModel({
      table: tableOf({ x1, x2, c, y: (y as number[]).map((v) => (v > 0 ? 1 : 0)) }),
      target: 'y',
      features,
      algorithm: 'LOGISTIC_REGRESSION',
      folds: 0,
    }).spec;
    const multi = trainModel({ table, target: 'label', features, algorithm: 'LOGISTIC_REGRESSION', folds: 0 }).spec;
    for (const row of rows.slice(0, 30)) {
      const e = linearContributions(binary, row);
      assert.equal(e.space, 'log_odds');
      close(e.base + sum(e.contributions), marginOf(binary, row), 1e-9);
      for (let k = 0; k < 3; k++) {
        const ek = linearContributions(multi, row, k);
        assert.equal(ek.space, 'softmax_logit');
        close(ek.base + sum(ek.contributions), marginOf(multi, row, k), 1e-9);
      }
    }
  });
});

describe('Kernel SHAP', () => {
  const normal = normalRandom(17);
  const background = Array.from({ length: 40 }, () => Float64Array.from({ length: 12 }, () => normal()));
  const x = Float64Array.from({ length: 12 }, () => normal());
  const mean = (i: number) => sum(background.map((b) => b[i])) / background.length;

  it('is exact for a linear model even when sampling: w_i·(x_i - background mean)', async () => {
    const w = Array.from({ length: 12 }, (_, i) => i - 5.5);
    const linear = (rows: Float64Array[]) => Float64Array.from(rows, (r) => 3 + sum(w.map((wi, i) => wi * r[i])));
    const e = await kernelShap(linear, x, background, { samples: 512, seed: 1 });
    assert.equal(e.space, 'model_output');
    e.contributions.forEach((cv, i) => {
      close(cv, w[i] * (x[i] - mean(i)), 1e-9, `feature ${i}`);
    });
  });
  it('adds up exactly to f(x) - E[f(background)] for any model, and is the same for the same seed', async () => {
    const f = async (rows: Float64Array[]) => Float64Array.from(rows, (r) => Math.tanh(r[0] * r[1]) + r[2] ** 2 - Math.max(r[3], r[4]) + r[5] * r[6] * r[7]);
    const e = await kernelShap(f, x, background, { samples: 600, seed: 4 });
    const fx = (await f([x]))[0];
    const base = sum(Array.from(await f(background))) / background.length;
    close(e.base, base, 1e-12, 'base');
    close(e.base + sum(e.contributions), fx, 1e-9, 'efficiency');
    assert.deepEqual(await kernelShap(f, x, background, { samples: 600, seed: 4 }), e);
    assert.notDeepEqual((await kernelShap(f, x, background, { samples: 600, seed: 5 })).contributions, e.contributions);
  });
  it('enumerates every coalition when they fit in the budget, giving the exact Shapley values', async () => {
    const f = (rows: Float64Array[]) => Float64Array.from(rows, (r) => r[0] * r[1] + Math.sin(r[2]) * r[3] + r[3]);
    const small = background.slice(0, 10).map((b) => b.slice(0, 4));
    const point = x.slice(0, 4);
    const v = (inS: boolean[]) => sum(small.map((b) => f([Float64Array.from(b, (bv, i) => (inS[i] ? point[i] : bv))])[0])) / small.length;
    const exact = bruteForceShapley(4, v);
    const e = await kernelShap(f, point, small, { samples: 14 });
    e.contributions.forEach((cv, i) => {
      close(cv, exact[i], 1e-9, `feature ${i}`);
    });
  });
  it('approximates the exact explanation of a trained linear model with the training rows as background', async () => {
    const { x1, x2, y } = syntheticRows(200, 3, (a, b, _c, noise) => 2 * a + b + noise);
    const table = tableOf({ x1, x2, y: y as number[] });
    const spec = trainModel({ table, target: 'y', features: ['x1', 'x2'], algorithm: 'LINEAR_REGRESSION', folds: 0 }).spec;
    const predict = (rows: Float64Array[]) => Float64Array.from(rows, (r) => marginOf(spec, Array.from(r)));
    const exact = linearContributions(spec, [x1[0], x2[0]]);
    const approx = await kernelShap(
      predict,
      Float64Array.of(x1[0], x2[0]),
      x1.map((v, i) => Float64Array.of(v, x2[i])),
    );
    close(approx.base, exact.base, 1e-9, 'base');
    approx.contributions.forEach((cv, i) => {
      close(cv, exact.contributions[i], 1e-9, `feature ${i}`);
    });
  });
});
