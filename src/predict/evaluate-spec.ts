/**
 * A ModelSpec computed in plain TypeScript: the reference for the exported ONNX graph (tests) and what
 * explanations evaluate. It follows the graph's arithmetic so both agree to float32 output precision, also for
 * values exactly at a tree threshold:
 * - numeric inputs are first rounded to float32 (`Math.fround`), as the graph's `numeric` input is float32;
 * - imputation, standardisation, the estimator and the link function run in float64, as the graph does after
 *   casting to double; trees compare the float64 standardised value with the float64 threshold (the graph feeds
 *   TreeEnsembleRegressor a double tensor and stores thresholds as double `nodes_values_as_tensor`, so onnxruntime
 *   compares in double, not float32);
 * - the graph's outputs are float32, so they differ from these float64 results by float32 rounding (about 1e-7
 *   relative).
 * A numeric value is missing when NaN; a categorical one when null or not a category (all zeros, as OneHotEncoder
 * with zeros=1 gives; serving feeds a missing category as '', never a category).
 */
import { ValidationError } from '../core/errors.ts';
import type { ColumnPrep, ModelSpec, Preprocessing, Tree } from './spec.ts';

export interface SpecInputs {
  /** One row per prediction: the numeric columns in prep order (NaN = missing). Omit when there are none. */
  numeric?: ArrayLike<number>[];
  /** Per categorical column name, one value per row (null = missing). */
  categorical?: Record<string, ArrayLike<string | null>>;
}

export interface SpecOutputs {
  /** Regression and forecast: the prediction per row. */
  values?: Float64Array;
  /** Classification: per row, one probability per class in `classes` order. */
  probabilities?: Float64Array[];
  /** Per row, the estimator's raw scores: y (linear), the log-odds of classes[1] (binary) or the K softmax inputs. */
  margins: Float64Array[];
}

/** The width of the estimator's input vector. */
export const expandedWidth = (prep: Preprocessing): number => prep.columns.reduce((n, c) => n + (c.kind === 'numeric' ? 1 : c.categories.length), 0);

const numericColumns = (prep: Preprocessing) => prep.columns.filter((c): c is Extract<ColumnPrep, { kind: 'numeric' }> => c.kind === 'numeric');

function rowCount(prep: Preprocessing, inputs: SpecInputs): number {
  if (numericColumns(prep).length > 0) return inputs.numeric?.length ?? 0;
  const first = prep.columns[0];
  return first ? (inputs.categorical?.[first.name]?.length ?? 0) : 0;
}

/** The estimator's input vector of every row (one-hot and standardised), as the exported graph computes it. */
export function expandInputs(prep: Preprocessing, inputs: SpecInputs): Float64Array[] {
  const rows = rowCount(prep, inputs);
  const width = expandedWidth(prep);
  const numericCount = numericColumns(prep).length;
  const out: Float64Array[] = [];
  for (let r = 0; r < rows; r++) {
    const numeric = inputs.numeric?.[r];
    if (numericCount > 0 && numeric?.length !== numericCount)
      throw ValidationError.single(`numeric[${r}]`, `expected ${numericCount} values, got ${numeric?.length ?? 'none'}`);
    const x = new Float64Array(width);
    let at = 0;
    let n = 0;
    for (const c of prep.columns) {
      if (c.kind === 'numeric') {
        const raw = Math.fround(numeric![n++]);
        x[at++] = ((Number.isNaN(raw) ? c.impute : raw) - c.center) / c.scale;
      } else {
        const values = inputs.categorical?.[c.name];
        if (!values || values.length !== rows)
          throw ValidationError.single(`categorical.${c.name}`, `expected ${rows} values, got ${values?.length ?? 'none'}`);
        const k = values[r] === null ? -1 : c.categories.indexOf(values[r] as string);
        if (k >= 0) x[at + k] = 1;
        at += c.categories.length;
      }
    }
    out.push(x);
  }
  return out;
}

const dot = (w: number[], x: Float64Array, b: number) => {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * x[i];
  return s + b;
};

/** The leaf value `x` reaches in `tree`: x[feature] <= threshold goes left, NaN follows missingLeft. */
export function treeLeaf(tree: Tree, x: ArrayLike<number>): number {
  let n = 0;
  for (let steps = 0; tree.left[n] !== -1; steps++) {
    if (steps >= tree.left.length) throw new Error('tree has a cycle');
    const v = x[tree.feature[n]];
    n = Number.isNaN(v) ? (tree.missingLeft[n] ? tree.left[n] : tree.right[n]) : v <= tree.threshold[n] ? tree.left[n] : tree.right[n];
  }
  return n;
}

const sigmoid = (m: number) => 1 / (1 + Math.exp(-m));

function softmax(m: Float64Array): Float64Array {
  const max = Math.max(...m);
  const e = m.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** What the exported graph of `spec` computes for `inputs`, in float64 (see the header for the float32 rounding). */
export function evaluateSpec(spec: ModelSpec, inputs: SpecInputs): SpecOutputs {
  const xs = expandInputs(spec.prep, inputs);
  const est = spec.estimator;
  let margins: Float64Array[];
  if (est.kind === 'trees') {
    margins = xs.map((x) => {
      const m = Float64Array.from(est.base);
      for (const { tree, output } of est.trees) m[output] += tree.value[treeLeaf(tree, x)];
      return m;
    });
  } else {
    margins = xs.map((x) => Float64Array.from(est.coefficients, (w, k) => dot(w, x, est.intercepts[k])));
  }
  const classification = est.kind === 'logistic' || (est.kind === 'trees' && est.objective !== 'regression');
  if (!classification) return { values: Float64Array.from(margins, (m) => m[0]), margins };
  const probabilities = margins.map((m) => {
    if (m.length > 1) return softmax(m);
    const p = sigmoid(m[0]);
    return Float64Array.of(1 - p, p);
  });
  return { probabilities, margins };
}
