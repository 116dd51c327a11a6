import { echo, Problems, ValidationError } from '../../core/errors.ts';
import type { SpecTask } from '../spec.ts';
import { column, type DataColumn, type DataTable } from '../table.ts';
import { lagColumnName, lagTable } from './ar.ts';
import { ALGORITHMS, type Algorithm, type EffectiveParams, resolveParams } from './params.ts';
import { compareText, labelledRows } from './prep.ts';

export interface TrainRequest {
  table: DataTable;
  target: string;
  features: string[];
  algorithm: Algorithm;
  /** Forces the task where the algorithm allows a choice (GRADIENT_BOOSTING); params.task does the same. */
  task?: SpecTask;
  params?: Record<string, unknown>;
  /** Cross-validation folds: default 5; 0 or 1 = none. */
  folds?: number;
  /** A column naming the unit each row belongs to (machine, engine): folds keep a unit's rows together. */
  group?: string;
  /** AUTOREGRESSIVE: orders the rows of each series (numeric); default the table order. */
  time?: string;
  seed?: number;
}

/** What training works on once the request is validated: the rows with a target and the encoded target. */
export interface TrainingPlan {
  algorithm: Algorithm;
  task: SpecTask;
  /** The request's table, or for AUTOREGRESSIVE the lag table built from it. */
  table: DataTable;
  target: string;
  /** The model's features (for AUTOREGRESSIVE the lag columns). */
  features: string[];
  /** Rows of `table` with a target. */
  rows: Uint32Array;
  /** Per row of `rows`: the target value, or the class index for classification. */
  y: Float64Array;
  classes?: string[];
  /** Per row of `rows`: its group, when folds are grouped. */
  groups?: (string | number | null)[];
  folds: number;
  seed: number;
  params: EffectiveParams;
}

export const DEFAULT_FOLDS = 5;
export const MAX_FOLDS = 100;
export const MAX_CLASSES = 100;
/**
 * GRADIENT_BOOSTING classifies when the target is categorical, or numeric with whole-number values only and at most
 * this many distinct ones (labels such as 0/1 or a 1-5 grade); otherwise it regresses. params.task overrides.
 */
export const MAX_INFERRED_CLASSES = 10;

const FIXED_TASK: Record<Algorithm, SpecTask | null> = {
  LINEAR_REGRESSION: 'REGRESSION',
  LOGISTIC_REGRESSION: 'CLASSIFICATION',
  AUTOREGRESSIVE: 'FORECAST',
  GRADIENT_BOOSTING: null,
};

/** Validates a training request (every problem with its path, as one ValidationError) and prepares its data. */
export function planTraining(request: TrainRequest): TrainingPlan {
  const problems = new Problems();
  const { table } = request;
  if (!table || !Number.isInteger(table.rowCount) || !Array.isArray(table.columns)) throw ValidationError.single('table', 'must be a data table');
  if (!(ALGORITHMS as readonly string[]).includes(request.algorithm))
    throw ValidationError.single('algorithm', `unknown algorithm ${echo(request.algorithm)}; allowed: ${ALGORITHMS.join(', ')}`);
  const { algorithm } = request;
  for (const c of table.columns)
    if (c.values.length !== table.rowCount) problems.add('table', `column ${echo(c.name)} has ${c.values.length} values for ${table.rowCount} rows`);
  const known = (path: string, name: unknown) => {
    if (typeof name !== 'string') problems.add(path, 'must be a column name');
    else if (!column(table, name)) problems.add(path, `unknown column ${echo(name)}`);
    else return checkFinite(problems, path, column(table, name)!);
    return false;
  };
  known('target', request.target);
  const features = Array.isArray(request.features) ? request.features : [];
  if (!Array.isArray(request.features)) problems.add('features', 'must be a list of column names');
  else if (features.length === 0 && algorithm !== 'AUTOREGRESSIVE') problems.add('features', 'must name at least one column');
  const seen = new Set<string>();
  features.forEach((name, i) => {
    if (!known(`features[${i}]`, name)) return;
    if (name === request.target) problems.add(`features[${i}]`, 'is the target; a model cannot learn from its own answer');
    else if (seen.has(name)) problems.add(`features[${i}]`, `${echo(name)} is listed twice`);
    seen.add(name);
  });
  if (request.group !== undefined) known('group', request.group);
  if (request.time !== undefined && known('time', request.time) && column(table, request.time)!.kind !== 'numeric')
    problems.add('time', `column ${echo(request.time)} is categorical; the time column must be numeric`);
  const folds = request.folds ?? DEFAULT_FOLDS;
  if (!Number.isInteger(folds) || folds < 0 || folds > MAX_FOLDS) problems.add('folds', `must be a whole number from 0 to ${MAX_FOLDS}`);
  const seed = request.seed ?? 0;
  if (!Number.isSafeInteger(seed)) problems.add('seed', 'must be a whole number');
  const params = resolveParams(problems, algorithm, request.params);
  const task = chooseTask(problems, request, params);
  problems.throwIfAny();

  let source = table;
  let modelFeatures = features;
  if (algorithm === 'AUTOREGRESSIVE') {
    if (column(table, request.target)!.kind !== 'numeric')
      throw ValidationError.single('target', `column ${echo(request.target)} is categorical; AUTOREGRESSIVE forecasts a numeric column`);
    const p = params.p as number;
    source = lagTable(table, request.target, p, features, request.group, request.time);
    modelFeatures = [...Array.from({ length: p }, (_, k) => lagColumnName(request.target, k + 1)), ...features.map((f) => lagColumnName(f, 1))];
  }
  const rows = labelledRows(source, request.target);
  if (rows.length < 2)
    throw ValidationError.single(
      'target',
      `needs at least 2 rows with a value of ${echo(request.target)}${algorithm === 'AUTOREGRESSIVE' ? ' after the first p rows of each series' : ''}; there are ${rows.length}`,
    );
  const resolvedTask = task ?? inferTask(source, request.target, rows);
  // The effective params say which task was used, so the same params train the same model again.
  if ('task' in params) params.task = resolvedTask;
  const { y, classes } = encodeTarget(source, request.target, rows, resolvedTask, algorithm);
  const groups = request.group === undefined ? undefined : Array.from(rows, (i) => column(source, request.group!)!.values[i]);
  checkFolds(folds, rows.length, y, classes, groups, request.group);
  return { algorithm, task: resolvedTask, table: source, target: request.target, features: modelFeatures, rows, y, classes, groups, folds, seed, params };
}

/** Missing numbers are NaN; an infinite one is an error (it would poison means and standardisation). */
function checkFinite(problems: Problems, path: string, col: DataColumn): boolean {
  if (col.kind !== 'numeric') return true;
  const at = col.values.findIndex((v) => v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY);
  if (at >= 0) problems.add(path, `column ${echo(col.name)} has an infinite value (row index ${at}); use NaN for a missing value`);
  return at < 0;
}

function chooseTask(problems: Problems, request: TrainRequest, params: EffectiveParams): SpecTask | null {
  const fixed = FIXED_TASK[request.algorithm];
  const forced = (params.task as SpecTask | null) ?? null;
  if (request.task !== undefined && !['REGRESSION', 'CLASSIFICATION', 'FORECAST'].includes(request.task)) {
    problems.add('task', `must be REGRESSION, CLASSIFICATION or FORECAST, not ${echo(request.task)}`);
    return fixed;
  }
  const asked = request.task ?? forced;
  if (request.task !== undefined && forced !== null && request.task !== forced) problems.add('params.task', `contradicts task ${request.task}`);
  if (fixed) {
    if (asked !== null && asked !== fixed) problems.add('task', `${request.algorithm} is for ${fixed} only`);
    return fixed;
  }
  if (asked === 'FORECAST') problems.add('task', 'GRADIENT_BOOSTING is for REGRESSION or CLASSIFICATION; use AUTOREGRESSIVE to forecast');
  return asked;
}

function inferTask(table: DataTable, target: string, rows: Uint32Array): SpecTask {
  const col = column(table, target)!;
  if (col.kind === 'categorical') return 'CLASSIFICATION';
  const distinct = new Set<number>();
  for (const i of rows) {
    const v = col.values[i];
    if (!Number.isInteger(v)) return 'REGRESSION';
    distinct.add(v);
    if (distinct.size > MAX_INFERRED_CLASSES) return 'REGRESSION';
  }
  return 'CLASSIFICATION';
}

function encodeTarget(table: DataTable, target: string, rows: Uint32Array, task: SpecTask, algorithm: Algorithm): { y: Float64Array; classes?: string[] } {
  const col = column(table, target)!;
  if (task !== 'CLASSIFICATION') {
    if (col.kind !== 'numeric')
      throw ValidationError.single('target', `column ${echo(target)} is categorical; ${algorithm} for ${task} needs a numeric target`);
    return { y: Float64Array.from(rows, (i) => col.values[i]) };
  }
  const labels: (number | string)[] = Array.from(rows, (i) => col.values[i] as number | string);
  const distinct = [...new Set(labels)];
  if (col.kind === 'numeric') (distinct as number[]).sort((a, b) => a - b);
  else (distinct as string[]).sort(compareText);
  if (distinct.length < 2)
    throw ValidationError.single('target', `has only one class (${echo(String(distinct[0]))}) in the rows with a target; classification needs at least two`);
  if (distinct.length > MAX_CLASSES)
    throw ValidationError.single(
      'target',
      `has ${distinct.length} classes; classification allows at most ${MAX_CLASSES} (is it a numeric target for regression?)`,
    );
  const index = new Map<number | string, number>(distinct.map((v, k) => [v, k]));
  return { y: Float64Array.from(labels, (v) => index.get(v)!), classes: distinct.map(String) };
}

function checkFolds(
  folds: number,
  rowCount: number,
  y: Float64Array,
  classes: string[] | undefined,
  groups: unknown[] | undefined,
  group: string | undefined,
): void {
  if (folds < 2) return;
  if (groups) {
    const count = new Set(groups).size;
    if (count < folds) throw ValidationError.single('folds', `${folds} folds need at least ${folds} groups in column ${echo(group)}; there are ${count}`);
  } else if (classes) {
    const counts = new Array<number>(classes.length).fill(0);
    for (const v of y) counts[v]++;
    const rarest = counts.indexOf(Math.min(...counts));
    if (counts[rarest] < folds)
      throw ValidationError.single('folds', `${folds} folds need at least ${folds} rows of every class; class ${echo(classes[rarest])} has ${counts[rarest]}`);
  } else if (rowCount < folds) throw ValidationError.single('folds', `${folds} folds need at least ${folds} rows with a target; there are ${rowCount}`);
}
