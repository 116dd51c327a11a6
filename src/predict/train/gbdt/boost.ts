import type { EstimatorSpec, Tree } from '../../spec.ts';
import { seededRandom, shuffle } from '../../../core/random.ts';
import { checkAborted, type Dense, type FitOptions } from '../types.ts';
import { binColumns, findBinEdges } from './binning.ts';
import { TreeGrower } from './grower.ts';
import { type Objective, baseline, gradients, meanLoss } from './loss.ts';

export interface BoostingParams {
  objective: Objective;
  /** The class labels (binary and multiclass); y holds indices into them. */
  classes?: string[];
  learningRate: number;
  maxIter: number;
  maxLeafNodes: number;
  /** 0 = unlimited. */
  maxDepth: number;
  minSamplesLeaf: number;
  l2Regularization: number;
  maxBins: number;
  /** 'auto': on when there are more than 10,000 rows (sklearn's rule). */
  earlyStopping: 'auto' | boolean;
  validationFraction: number;
  nIterNoChange: number;
  tol: number;
  seed: number;
}

export type TreesSpec = Extract<EstimatorSpec, { kind: 'trees' }>;

/** Rows above which early stopping is on when params.earlyStopping is 'auto'. */
export const AUTO_EARLY_STOPPING_ROWS = 10_000;

/**
 * Histogram gradient boosting as sklearn's HistGradientBoostingRegressor/Classifier: squared error, log loss (one
 * score) or softmax log loss (one tree per class and round). `y` is the target (regression) or a class index.
 * With early stopping, a seeded (stratified for classes) validation share is held out and boosting stops when its
 * loss has not improved by more than tol for nIterNoChange rounds.
 */
export function fitGradientBoosting(x: Dense, y: Float64Array, params: BoostingParams, opts: FitOptions = {}): TreesSpec {
  const { objective, classes } = params;
  const random = seededRandom(params.seed);
  const outputs = objective === 'multiclass' ? classes!.length : 1;
  const early = params.earlyStopping === 'auto' ? x.rows > AUTO_EARLY_STOPPING_ROWS : params.earlyStopping;
  const { train, validation } = early ? holdOut(y, objective, params.validationFraction, random) : { train: null, validation: null };
  const xTrain = train ? takeRows(x, train) : x;
  const yTrain = train ? take(y, train) : y;
  const n = xTrain.rows;
  const edges = findBinEdges(xTrain, params.maxBins, random);
  const bins = binColumns(xTrain, edges);
  const binCounts = Int32Array.from(edges, (e) => e.length + 1);
  const grower = new TreeGrower(bins, n, binCounts, params, objective === 'regression');
  const base = baseline(objective, yTrain, outputs);
  const raw = new Float64Array(n * outputs);
  for (let i = 0; i < n; i++) raw.set(base, i * outputs);
  const g = Array.from({ length: outputs }, () => new Float64Array(n));
  const h = Array.from({ length: outputs }, () => new Float64Array(n));

  const xValidation = validation ? takeRows(x, validation) : null;
  const yValidation = validation ? take(y, validation) : null;
  const validationBins = xValidation ? binColumns(xValidation, edges) : null;
  const rawValidation = new Float64Array((xValidation?.rows ?? 0) * outputs);
  for (let i = 0; i < (xValidation?.rows ?? 0); i++) rawValidation.set(base, i * outputs);
  const scores: number[] = validation ? [-meanLoss(objective, yValidation!, rawValidation, outputs)] : [];

  const trees: { tree: Tree; output: number }[] = [];
  for (let iteration = 0; iteration < params.maxIter; iteration++) {
    checkAborted(opts.signal);
    gradients(objective, yTrain, raw, outputs, g, h);
    for (let output = 0; output < outputs; output++) {
      const tree = grower.grow(g[output], h[output], raw, outputs, output);
      if (validationBins) addBinnedPredictions(tree, validationBins, xValidation!.rows, rawValidation, outputs, output);
      trees.push({ tree, output });
    }
    opts.onProgress?.((iteration + 1) / params.maxIter, `boosting round ${iteration + 1} of at most ${params.maxIter}`);
    if (validation) {
      scores.push(-meanLoss(objective, yValidation!, rawValidation, outputs));
      if (shouldStop(scores, params.nIterNoChange, params.tol)) break;
    }
  }
  for (const { tree } of trees) toRealThresholds(tree, edges);
  return { kind: 'trees', objective, base: Array.from(base), trees, ...(classes ? { classes } : {}) };
}

/** sklearn's rule: stop when none of the last nIterNoChange scores beats the one before them by more than tol. */
function shouldStop(scores: number[], nIterNoChange: number, tol: number): boolean {
  const reference = nIterNoChange + 1;
  if (scores.length < reference) return false;
  const target = scores[scores.length - reference] + tol;
  for (let k = scores.length - reference + 1; k < scores.length; k++) if (scores[k] > target) return false;
  return true;
}

/** A seeded validation share of the rows, stratified by class for classification. */
function holdOut(y: Float64Array, objective: Objective, fraction: number, random: () => number): { train: Uint32Array; validation: Uint32Array } {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    const key = objective === 'regression' ? 0 : y[i];
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(i);
  }
  const train: number[] = [];
  const validation: number[] = [];
  for (const list of groups.values()) {
    shuffle(list, random);
    const take = Math.max(1, Math.round(list.length * fraction));
    validation.push(...list.slice(0, Math.min(take, list.length - 1)));
    train.push(...list.slice(Math.min(take, list.length - 1)));
  }
  return { train: Uint32Array.from(train.sort((a, b) => a - b)), validation: Uint32Array.from(validation.sort((a, b) => a - b)) };
}

function takeRows(x: Dense, rows: Uint32Array): Dense {
  const data = new Float64Array(rows.length * x.cols);
  for (let k = 0; k < rows.length; k++) data.set(x.data.subarray(rows[k] * x.cols, (rows[k] + 1) * x.cols), k * x.cols);
  return { data, rows: rows.length, cols: x.cols };
}

function take(y: Float64Array, rows: Uint32Array): Float64Array {
  return Float64Array.from(rows, (i) => y[i]);
}

function addBinnedPredictions(tree: Tree, bins: Uint8Array, rows: number, raw: Float64Array, stride: number, output: number): void {
  for (let i = 0; i < rows; i++) {
    let node = 0;
    while (tree.left[node] >= 0) node = bins[tree.feature[node] * rows + i] <= tree.threshold[node] ? tree.left[node] : tree.right[node];
    raw[i * stride + output] += tree.value[node];
  }
}

/** Replaces each split's bin index by its real-valued edge, so the tree compares x <= threshold on the inputs. */
function toRealThresholds(tree: Tree, edges: Float64Array[]): void {
  for (let node = 0; node < tree.left.length; node++) if (tree.left[node] >= 0) tree.threshold[node] = edges[tree.feature[node]][tree.threshold[node]];
}
