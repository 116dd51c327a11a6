import type { ColumnPrep, Preprocessing } from '../spec.ts';
import { column, type DataColumn, type DataTable } from '../table.ts';
import type { Dense } from './types.ts';

/** One-hot encodes at most this many categories per column by default; rarer ones are treated as unknown. */
export const DEFAULT_MAX_CATEGORIES = 100;

/** An original feature value as callers give it: a number (NaN or null when missing) or a category (null when missing). */
export type FeatureValue = number | string | null;

/** The rows whose target is present (a number that is not NaN, or a category that is not null): the rows a model learns from. */
export function labelledRows(table: DataTable, target: string): Uint32Array {
  const col = column(table, target);
  if (!col) throw new Error(`no column ${target}`);
  const out = new Uint32Array(table.rowCount);
  let n = 0;
  for (let i = 0; i < table.rowCount; i++) if (!isMissing(col, i)) out[n++] = i;
  return out.slice(0, n);
}

function isMissing(col: DataColumn, i: number): boolean {
  return col.kind === 'numeric' ? Number.isNaN(col.values[i]) : col.values[i] === null;
}

/**
 * Fits the preprocessing of `features` on the given rows of `table`: a numeric column is imputed with its mean and
 * standardised (population standard deviation, 1 when it is 0); a categorical one is one-hot over its categories,
 * the `maxCategories` most frequent ones (ties by name) kept and sorted, the others treated as unknown (all zeros).
 */
export function fitPrep(table: DataTable, features: string[], rows: ArrayLike<number>, opts: { maxCategories?: number } = {}): Preprocessing {
  const maxCategories = opts.maxCategories ?? DEFAULT_MAX_CATEGORIES;
  return { columns: features.map((name) => fitColumn(columnOf(table, name), rows, maxCategories)) };
}

function columnOf(table: DataTable, name: string): DataColumn {
  const col = column(table, name);
  if (!col) throw new Error(`no column ${name}`);
  return col;
}

function fitColumn(col: DataColumn, rows: ArrayLike<number>, maxCategories: number): ColumnPrep {
  if (col.kind === 'numeric') {
    let sum = 0;
    let count = 0;
    for (let k = 0; k < rows.length; k++) {
      const v = col.values[rows[k]];
      if (!Number.isNaN(v)) {
        sum += v;
        count++;
      }
    }
    const mean = count > 0 ? sum / count : 0;
    let squares = 0;
    for (let k = 0; k < rows.length; k++) {
      const v = col.values[rows[k]];
      if (!Number.isNaN(v)) squares += (v - mean) * (v - mean);
    }
    const std = count > 0 ? Math.sqrt(squares / count) : 0;
    // A spread below rounding noise of the mean is a constant column.
    const scale = std > 1e-12 * Math.max(1, Math.abs(mean)) ? std : 1;
    return { name: col.name, kind: 'numeric', impute: mean, center: mean, scale };
  }
  const counts = new Map<string, number>();
  for (let k = 0; k < rows.length; k++) {
    const v = col.values[rows[k]];
    if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const kept = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]))
    .slice(0, maxCategories)
    .sort((a, b) => compareText(a[0], b[0]));
  const total = rows.length || 1;
  return { name: col.name, kind: 'categorical', categories: kept.map(([c]) => c), frequencies: kept.map(([, n]) => n / total) };
}

/** Code-unit order, the same on every machine (no locale). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** How many estimator inputs `prep` produces. */
export function inputWidth(prep: Preprocessing): number {
  let width = 0;
  for (const c of prep.columns) width += c.kind === 'numeric' ? 1 : c.categories.length;
  return width;
}

/** For each estimator input, the index of the prep column (original feature) it comes from. */
export function inputColumns(prep: Preprocessing): Int32Array {
  const out = new Int32Array(inputWidth(prep));
  let j = 0;
  prep.columns.forEach((c, index) => {
    const width = c.kind === 'numeric' ? 1 : c.categories.length;
    out.fill(index, j, j + width);
    j += width;
  });
  return out;
}

/**
 * The estimator's input matrix for the given rows of `table` (all rows when omitted). A column of the other kind
 * than the prep expects is converted (a number's text as category, a category parsed as a number).
 */
export function applyPrep(prep: Preprocessing, table: DataTable, rows?: ArrayLike<number>): Dense {
  const n = rows ? rows.length : table.rowCount;
  const cols = inputWidth(prep);
  const data = new Float64Array(n * cols);
  let offset = 0;
  for (const p of prep.columns) {
    const col = columnOf(table, p.name);
    if (p.kind === 'numeric') {
      const { impute, center, scale } = p;
      for (let k = 0; k < n; k++) {
        const i = rows ? rows[k] : k;
        const raw = col.kind === 'numeric' ? col.values[i] : toNumber(col.values[i]);
        data[k * cols + offset] = ((Number.isNaN(raw) ? impute : raw) - center) / scale;
      }
      offset += 1;
    } else {
      const index = new Map(p.categories.map((c, j) => [c, j]));
      for (let k = 0; k < n; k++) {
        const i = rows ? rows[k] : k;
        const j = index.get(col.kind === 'categorical' ? (col.values[i] as string) : String(col.values[i]));
        if (j !== undefined) data[k * cols + offset + j] = 1;
      }
      offset += p.categories.length;
    }
  }
  return { data, rows: n, cols };
}

/** One row of original feature values (in prep column order) as estimator input. */
export function prepRow(prep: Preprocessing, row: readonly FeatureValue[]): Float64Array {
  const out = new Float64Array(inputWidth(prep));
  let offset = 0;
  prep.columns.forEach((p, index) => {
    const value = row[index] ?? null;
    if (p.kind === 'numeric') {
      const raw = typeof value === 'number' ? value : toNumber(value);
      out[offset++] = ((Number.isNaN(raw) ? p.impute : raw) - p.center) / p.scale;
    } else {
      const j = value === null ? -1 : p.categories.indexOf(String(value));
      if (j >= 0) out[offset + j] = 1;
      offset += p.categories.length;
    }
  });
  return out;
}

function toNumber(value: string | null): number {
  if (value === null || value.trim() === '') return Number.NaN;
  return Number(value);
}
