import { column, type DataColumn, type DataTable } from '../table.ts';
import { seriesRows } from './series.ts';

/** The name of a lag feature: `<column>_lag<k>`, the column's value k rows earlier in the same series. */
export function lagColumnName(name: string, k: number): string {
  return `${name}_lag${k}`;
}

/**
 * The design table of an AR(p) forecast of `target`. A series is the rows of one `group` value (one machine, one
 * engine) in `time` order (see seriesRows); lags never reach into another series. Each row at position t >= p of
 * its series becomes one row with the target at t, its p previous values `<target>_lag1..p` and, for each
 * exogenous column, its previous value `<column>_lag1`; the first p rows of a series have no full history and are
 * left out. The group column is carried along for grouped folds. Every series shares one set of coefficients
 * (a pooled AR model), so the model also forecasts series it was not trained on.
 */
export function lagTable(table: DataTable, target: string, p: number, exogenous: string[], group?: string, time?: string): DataTable {
  const rows: number[] = [];
  const sources: number[][] = Array.from({ length: p }, () => []);
  for (const series of seriesRows(table, group, time)) {
    for (let t = p; t < series.length; t++) {
      rows.push(series[t]);
      for (let k = 1; k <= p; k++) sources[k - 1].push(series[t - k]);
    }
  }
  const targetColumn = column(table, target)!;
  const columns: DataColumn[] = [pick(targetColumn, target, rows)];
  for (let k = 1; k <= p; k++) columns.push(pick(targetColumn, lagColumnName(target, k), sources[k - 1]));
  for (const name of exogenous) columns.push(pick(column(table, name)!, lagColumnName(name, 1), sources[0]));
  if (group !== undefined && group !== target) columns.push(pick(column(table, group)!, group, rows));
  return { rowCount: rows.length, columns };
}

function pick(source: DataColumn, name: string, rows: number[]): DataColumn {
  if (source.kind === 'numeric') return { name, kind: 'numeric', values: Float64Array.from(rows, (i) => source.values[i]) };
  return { name, kind: 'categorical', values: rows.map((i) => source.values[i]) };
}
