// Synthetic data for the trainer and explanation tests: seeded, so every run sees the same rows.
import type { DataColumn, DataTable } from '../src/predict/table.ts';
import { seededRandom } from '../src/predict/train/random.ts';

/** A seeded standard normal generator (Box-Muller). */
export function normalRandom(seed: number): () => number {
  const uniform = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** A table from columns: numbers become numeric columns (null = NaN), strings categorical ones. */
export function tableOf(columns: Record<string, (number | null)[] | (string | null)[]>): DataTable {
  const list: DataColumn[] = Object.entries(columns).map(([name, values]) =>
    values.some((v) => typeof v === 'string')
      ? { name, kind: 'categorical', values: values as (string | null)[] }
      : { name, kind: 'numeric', values: Float64Array.from(values as (number | null)[], (v) => v ?? Number.NaN) },
  );
  return { rowCount: list[0]?.values.length ?? 0, columns: list };
}

/** n rows of x1, x2 ~ N(0, 1) and a category c in {a, b, c}; y = f(x1, x2, c). */
export function syntheticRows(n: number, seed: number, f: (x1: number, x2: number, c: string, noise: number) => number | string) {
  const normal = normalRandom(seed);
  const x1: number[] = [];
  const x2: number[] = [];
  const c: string[] = [];
  const y: (number | string)[] = [];
  for (let i = 0; i < n; i++) {
    x1.push(normal());
    x2.push(normal());
    c.push('abc'[i % 3]);
    y.push(f(x1[i], x2[i], c[i], normal()));
  }
  return { x1, x2, c, y };
}
