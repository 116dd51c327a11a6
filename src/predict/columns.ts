import type { ColumnSummary } from '../db/schema/index.ts';

export type { ColumnSummary };

/** Categories listed per column in its summary, most frequent first. */
export const CATEGORIES_LISTED = 100;
/** Distinct values counted per column; beyond this the column's categoryCount is null (unknown). */
export const DISTINCT_TRACKED = 1_000;

/** Values that mean "missing", after trimming: empty and the tokens pandas.read_csv reads as missing by default. */
export const MISSING_TOKENS: ReadonlySet<string> = new Set([
  '',
  '#N/A',
  '#N/A N/A',
  '#NA',
  '-1.#IND',
  '-1.#QNAN',
  '-NaN',
  '-nan',
  '1.#IND',
  '1.#QNAN',
  '<NA>',
  'N/A',
  'NA',
  'NULL',
  'NaN',
  'None',
  'n/a',
  'nan',
  'null',
]);

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The number a (trimmed, non-missing) text stands for: decimal notation only, finite; null when it is not one. */
export function parseNumber(text: string): number | null {
  if (!DECIMAL.test(text)) return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/**
 * Accumulates one column's summary while rows stream past: missing values, whether every present value is a number
 * (and if so min, max, mean), and the counts of its distinct values up to DISTINCT_TRACKED.
 */
export class ColumnStats {
  missing = 0;
  numeric = true;
  private n = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private readonly counts = new Map<string, number>();
  private overflow = false;

  constructor(readonly name: string) {}

  /** A value present as text; `number` its numeric value, or null when it is not a number. */
  addText(text: string, number: number | null): void {
    if (number === null) this.numeric = false;
    else this.addNumber(number);
    this.count(text);
  }

  /** A value known to be a number (twin features); NaN is missing. */
  addNumber(v: number): void {
    if (Number.isNaN(v)) {
      this.missing++;
      return;
    }
    this.n++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** A value known to be categorical (twin attributes); null is missing. */
  addCategory(v: string | null): void {
    this.numeric = false;
    if (v === null) this.missing++;
    else this.count(v);
  }

  // Past DISTINCT_TRACKED distinct values counting stops (a column of IDs or measurements would cost a lookup per
  // value for nothing): the listed categories then hold the counts up to that point.
  private count(v: string): void {
    if (this.overflow) return;
    const c = this.counts.get(v);
    if (c !== undefined) this.counts.set(v, c + 1);
    else if (this.counts.size < DISTINCT_TRACKED) this.counts.set(v, 1);
    else this.overflow = true;
  }

  /** The summary; `kind` defaults to numeric when every present value was a number (an all-missing column is categorical). */
  summary(kind: 'numeric' | 'categorical' = this.numeric && this.n > 0 ? 'numeric' : 'categorical'): ColumnSummary {
    if (kind === 'numeric') {
      const some = this.n > 0;
      return {
        name: this.name,
        kind,
        missing: this.missing,
        min: some ? this.min : null,
        max: some ? this.max : null,
        mean: some ? this.sum / this.n : null,
        categories: [],
        categoryCount: null,
      };
    }
    const categories = [...this.counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, CATEGORIES_LISTED)
      .map(([value, count]) => ({ value, count }));
    return {
      name: this.name,
      kind,
      missing: this.missing,
      min: null,
      max: null,
      mean: null,
      categories,
      categoryCount: this.overflow ? null : this.counts.size,
    };
  }
}
