/**
 * Drift: how far the feature values a model is served lie from those it was trained on. A model trained here keeps a
 * profile of its training rows (per numeric feature the decile edges and the share of rows in each bin; per
 * categorical feature the share of each category); serving counts its rows into the same bins, and the population
 * stability index PSI = Σ (served − trained) · ln(served / trained) compares the two (shares floored at 1e-4 so an
 * empty bin does not make it infinite). Usual reading: below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a
 * large one.
 */
import type { DataTable } from './table.ts';
import type { FeatureValue } from './train/prep.ts';

export type FeatureProfile =
  /** `edges` (ascending, distinct) split the line into edges.length + 1 bins: (-inf, e0], (e0, e1], ..., (e_last, inf); one more bin for missing. */
  | { feature: string; kind: 'numeric'; edges: number[]; shares: number[] }
  /** One share per category, then one for any other value (or missing). */
  | { feature: string; kind: 'categorical'; categories: string[]; shares: number[] };

export interface ModelProfile {
  rows: number;
  features: FeatureProfile[];
}

const FLOOR = 1e-4;
const MAX_CATEGORIES = 50;

/** The training profile of `features` over the table's rows. */
export function profileOf(table: DataTable, features: readonly string[]): ModelProfile {
  const out: FeatureProfile[] = [];
  for (const name of features) {
    const col = table.columns.find((c) => c.name === name);
    if (!col) continue;
    if (col.kind === 'numeric') {
      const values = Array.from(col.values).filter((v) => !Number.isNaN(v));
      values.sort((a, b) => a - b);
      const edges: number[] = [];
      for (let q = 1; q < 10; q++) {
        const v = values[Math.min(values.length - 1, Math.floor((q * values.length) / 10))];
        if (v !== undefined && (edges.length === 0 || v > edges[edges.length - 1])) edges.push(v);
      }
      const counts = new Array(edges.length + 2).fill(0);
      for (const v of col.values) counts[numericBin(edges, v)]++;
      out.push({ feature: name, kind: 'numeric', edges, shares: counts.map((c) => c / Math.max(1, table.rowCount)) });
    } else {
      const tally = new Map<string, number>();
      for (const v of col.values) if (v !== null) tally.set(v, (tally.get(v) ?? 0) + 1);
      const categories = [...tally.entries()]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, MAX_CATEGORIES)
        .map(([c]) => c);
      const counts = new Array(categories.length + 1).fill(0);
      for (const v of col.values) counts[categoricalBin(categories, v)]++;
      out.push({ feature: name, kind: 'categorical', categories, shares: counts.map((c) => c / Math.max(1, table.rowCount)) });
    }
  }
  return { rows: table.rowCount, features: out };
}

function numericBin(edges: readonly number[], v: number): number {
  if (Number.isNaN(v)) return edges.length + 1;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= edges[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function categoricalBin(categories: readonly string[], v: string | null): number {
  const i = v === null ? -1 : categories.indexOf(v);
  return i < 0 ? categories.length : i;
}

/** The bin of one served value of a profiled feature. */
export function binOf(profile: FeatureProfile, value: FeatureValue): number {
  if (profile.kind === 'numeric') return numericBin(profile.edges, typeof value === 'number' ? value : value === null ? Number.NaN : Number(value));
  return categoricalBin(profile.categories, value === null ? null : String(value));
}

/** Served rows counted into the profile's bins: one count array per profiled feature. */
export function countRows(profile: ModelProfile, features: readonly string[], rows: readonly (readonly FeatureValue[])[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const p of profile.features) {
    const index = features.indexOf(p.feature);
    if (index < 0) continue;
    const counts = new Array(p.shares.length).fill(0);
    for (const row of rows) counts[binOf(p, row[index] ?? null)]++;
    out.set(p.feature, counts);
  }
  return out;
}

/** The population stability index of served counts against the training shares. */
export function psi(trainShares: readonly number[], servedCounts: readonly number[]): number {
  const total = servedCounts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  let sum = 0;
  trainShares.forEach((t, i) => {
    const e = Math.max(FLOOR, t);
    const a = Math.max(FLOOR, (servedCounts[i] ?? 0) / total);
    sum += (a - e) * Math.log(a / e);
  });
  return sum;
}
