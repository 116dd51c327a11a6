import { echo, Problems } from '../../core/errors.ts';
import { column, type DataColumn, type DataTable } from '../table.ts';
import { seriesRows } from './series.ts';

export const WINDOW_AGGREGATES = ['mean', 'std', 'min', 'max', 'slope', 'latest'] as const;
export type WindowAggregate = (typeof WINDOW_AGGREGATES)[number];

/** The cost is rows x window per column, so windows are bounded. */
export const MAX_WINDOW_ROWS = 10_000;

export interface WindowOptions {
  /** Numeric columns to aggregate. */
  columns: string[];
  /** The last `window` rows of the series, the current one included. */
  window: number;
  /** Default: all of WINDOW_AGGREGATES. */
  aggregates?: WindowAggregate[];
  /** One series per value of this column (a machine, an engine); without it the table is one series. */
  group?: string;
  /** Orders each series (numeric); without it the table order is the time order. */
  time?: string;
}

/** The name of an added column: `<column>_<aggregate>_<window>`, e.g. `s11_mean_10`. */
export function windowColumnName(name: string, aggregate: WindowAggregate, window: number): string {
  return `${name}_${aggregate}_${window}`;
}

/**
 * `table` with trailing-window features added: for each row and each column, aggregates of that column over the
 * last `window` rows of the row's series up to and including the row (fewer at the start of a series). Missing
 * values are skipped; a window with no value gives NaN. std is the population standard deviation (0 for one value);
 * slope is the least-squares slope against the time column (the row position without one), 0 with fewer than two
 * distinct times; latest is the most recent value present. Rows keep their order; the table is not changed.
 */
export function addWindowFeatures(table: DataTable, opts: WindowOptions): DataTable {
  const aggregates = opts.aggregates ?? [...WINDOW_AGGREGATES];
  checkWindowOptions(table, opts, aggregates);
  const series = seriesRows(table, opts.group, opts.time);
  const time = opts.time === undefined ? undefined : (column(table, opts.time)!.values as Float64Array);
  const added: DataColumn[] = [];
  for (const name of opts.columns) {
    const values = column(table, name)!.values as Float64Array;
    const outputs = aggregates.map(() => new Float64Array(table.rowCount));
    for (const rows of series) aggregateSeries(rows, values, time, opts.window, aggregates, outputs);
    aggregates.forEach((aggregate, a) => {
      added.push({ name: windowColumnName(name, aggregate, opts.window), kind: 'numeric', values: outputs[a] });
    });
  }
  return { rowCount: table.rowCount, columns: [...table.columns, ...added] };
}

function checkWindowOptions(table: DataTable, opts: WindowOptions, aggregates: readonly string[]): void {
  const problems = new Problems();
  if (!Number.isInteger(opts.window) || opts.window < 1 || opts.window > MAX_WINDOW_ROWS)
    problems.add('window', `must be a whole number from 1 to ${MAX_WINDOW_ROWS.toLocaleString('en-US')}`);
  if (opts.columns.length === 0) problems.add('columns', 'must name at least one column');
  opts.columns.forEach((name, i) => {
    const col = column(table, name);
    if (!col) problems.add(`columns[${i}]`, `unknown column ${echo(name)}`);
    else if (col.kind !== 'numeric') problems.add(`columns[${i}]`, `column ${echo(name)} is categorical; window features need a numeric column`);
  });
  aggregates.forEach((a, i) => {
    if (!(WINDOW_AGGREGATES as readonly string[]).includes(a))
      problems.add(`aggregates[${i}]`, `unknown aggregate ${echo(a)}; allowed: ${WINDOW_AGGREGATES.join(', ')}`);
  });
  if (opts.group !== undefined && !column(table, opts.group)) problems.add('group', `unknown column ${echo(opts.group)}`);
  if (opts.time !== undefined) {
    const col = column(table, opts.time);
    if (!col) problems.add('time', `unknown column ${echo(opts.time)}`);
    else if (col.kind !== 'numeric') problems.add('time', `column ${echo(opts.time)} is categorical; the time column must be numeric`);
  }
  if (problems.empty) {
    const names = new Set(table.columns.map((c) => c.name));
    for (const name of opts.columns)
      for (const a of aggregates as WindowAggregate[]) {
        const added = windowColumnName(name, a, opts.window);
        if (names.has(added)) problems.add('columns', `the table already has a column ${echo(added)}`);
        names.add(added);
      }
  }
  problems.throwIfAny();
}

function aggregateSeries(
  rows: Uint32Array,
  values: Float64Array,
  time: Float64Array | undefined,
  window: number,
  aggregates: readonly WindowAggregate[],
  outputs: Float64Array[],
): void {
  for (let p = 0; p < rows.length; p++) {
    let count = 0;
    let sum = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let latest = Number.NaN;
    let sumT = 0;
    for (let q = Math.max(0, p - window + 1); q <= p; q++) {
      const v = values[rows[q]];
      if (Number.isNaN(v)) continue;
      count++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
      latest = v;
      sumT += time ? time[rows[q]] : q;
    }
    const mean = count > 0 ? sum / count : Number.NaN;
    let squares = 0;
    let covariance = 0;
    let spreadT = 0;
    const meanT = sumT / count;
    for (let q = Math.max(0, p - window + 1); q <= p && count > 0; q++) {
      const v = values[rows[q]];
      if (Number.isNaN(v)) continue;
      const dt = (time ? time[rows[q]] : q) - meanT;
      squares += (v - mean) ** 2;
      covariance += dt * (v - mean);
      spreadT += dt * dt;
    }
    const row = rows[p];
    aggregates.forEach((aggregate, a) => {
      let out: number;
      if (count === 0) out = Number.NaN;
      else if (aggregate === 'mean') out = mean;
      else if (aggregate === 'std') out = Math.sqrt(squares / count);
      else if (aggregate === 'min') out = min;
      else if (aggregate === 'max') out = max;
      else if (aggregate === 'slope') out = spreadT > 0 ? covariance / spreadT : 0;
      else out = latest;
      outputs[a][row] = out;
    });
  }
}
