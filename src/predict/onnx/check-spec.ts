/** A ModelSpec checked before export, so a trainer bug is a ValidationError naming the field, not a broken graph. */
import { Problems } from '../../core/errors.ts';
import { expandedWidth } from '../evaluate-spec.ts';
import { ONNX_LABEL_OUTPUT, ONNX_NUMERIC_INPUT, ONNX_PROBABILITIES_OUTPUT, ONNX_VALUE_OUTPUT, type ModelSpec, type Tree } from '../spec.ts';

/** Names of the exporter's intermediate values start with this; columns may not. */
export const INTERNAL_PREFIX = 'plantgraph.';

const RESERVED = new Set([ONNX_NUMERIC_INPUT, ONNX_VALUE_OUTPUT, ONNX_LABEL_OUTPUT, ONNX_PROBABILITIES_OUTPUT]);

function checkPrep(spec: ModelSpec, p: Problems): void {
  if (spec.prep.columns.length === 0) p.add('prep.columns', 'a model needs at least one column');
  const names = new Set<string>();
  spec.prep.columns.forEach((c, i) => {
    const at = `prep.columns[${i}]`;
    if (names.has(c.name)) p.add(`${at}.name`, `duplicate column ${JSON.stringify(c.name)}`);
    names.add(c.name);
    if (c.kind === 'numeric') {
      if (![c.impute, c.center].every(Number.isFinite)) p.add(at, 'impute and center must be finite');
      if (!Number.isFinite(c.scale) || c.scale === 0) p.add(`${at}.scale`, 'must be finite and non-zero');
      return;
    }
    if (RESERVED.has(c.name) || c.name.startsWith(INTERNAL_PREFIX))
      p.add(`${at}.name`, `a categorical column (an input of its own) cannot be named ${JSON.stringify(c.name)}`);
    if (c.categories.length === 0) p.add(`${at}.categories`, 'at least one category');
    if (new Set(c.categories).size !== c.categories.length) p.add(`${at}.categories`, 'categories must be distinct');
    if (c.categories.includes('')) p.add(`${at}.categories`, "'' stands for a missing value and cannot be a category");
  });
}

function checkTree(tree: Tree, width: number, at: string, p: Problems): void {
  const n = tree.feature.length;
  const arrays = [tree.threshold, tree.left, tree.right, tree.missingLeft, tree.value, tree.cover];
  if (n === 0 || arrays.some((a) => a.length !== n)) {
    p.add(at, 'node arrays must be non-empty and of equal length');
    return;
  }
  for (let i = 0; i < n; i++) {
    const leaf = tree.left[i] === -1;
    if (leaf) {
      if (tree.right[i] !== -1) p.add(`${at}.right[${i}]`, 'a leaf has left = right = -1');
      if (!Number.isFinite(tree.value[i])) p.add(`${at}.value[${i}]`, 'must be finite');
      continue;
    }
    // children after their parent: the tree has no cycle and every node is reached once at most
    for (const [side, child] of [['left', tree.left[i]] as const, ['right', tree.right[i]] as const])
      if (!(Number.isInteger(child) && child > i && child < n)) p.add(`${at}.${side}[${i}]`, `must be a node after ${i} and before ${n}`);
    if (!(Number.isInteger(tree.feature[i]) && tree.feature[i] >= 0 && tree.feature[i] < width))
      p.add(`${at}.feature[${i}]`, `must be an input index below ${width}`);
    if (!Number.isFinite(tree.threshold[i])) p.add(`${at}.threshold[${i}]`, 'must be finite');
  }
}

/** The number of estimator scores: 1 for regression and binary, K for multiclass. */
export function scoreCount(spec: ModelSpec): number {
  const est = spec.estimator;
  if (est.kind === 'linear') return 1;
  if (est.kind === 'logistic') return est.classes.length === 2 ? 1 : est.classes.length;
  return est.objective === 'multiclass' ? (est.classes?.length ?? 0) : 1;
}

export function classesOf(spec: ModelSpec): string[] | null {
  const est = spec.estimator;
  if (est.kind === 'logistic') return est.classes;
  if (est.kind === 'trees' && est.objective !== 'regression') return est.classes ?? [];
  return null;
}

/** Throws a ValidationError listing every problem of `spec`. */
export function checkSpec(spec: ModelSpec): void {
  const p = new Problems();
  checkPrep(spec, p);
  const width = expandedWidth(spec.prep);
  const est = spec.estimator;
  const classes = classesOf(spec);
  if ((classes !== null) !== (spec.task === 'CLASSIFICATION')) p.add('task', `a ${spec.task} model cannot have this estimator`);
  if (classes) {
    if (classes.length < 2 || (est.kind === 'trees' && est.objective === 'binary' && classes.length !== 2))
      p.add('estimator.classes', 'wrong number of classes');
    if (new Set(classes).size !== classes.length) p.add('estimator.classes', 'classes must be distinct');
  }
  const scores = scoreCount(spec);
  if (est.kind === 'trees') {
    if (est.base.length !== scores || !est.base.every(Number.isFinite)) p.add('estimator.base', `expected ${scores} finite values`);
    est.trees.forEach(({ tree, output }, i) => {
      if (!(Number.isInteger(output) && output >= 0 && output < scores)) p.add(`estimator.trees[${i}].output`, `must be a score index below ${scores}`);
      checkTree(tree, width, `estimator.trees[${i}].tree`, p);
    });
  } else {
    if (est.coefficients.length !== scores) p.add('estimator.coefficients', `expected ${scores} rows`);
    if (est.intercepts.length !== scores || !est.intercepts.every(Number.isFinite)) p.add('estimator.intercepts', `expected ${scores} finite values`);
    est.coefficients.forEach((row, k) => {
      if (row.length !== width || !row.every(Number.isFinite)) p.add(`estimator.coefficients[${k}]`, `expected ${width} finite values`);
    });
  }
  p.throwIfAny();
}
