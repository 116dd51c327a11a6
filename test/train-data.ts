// Data for the trainer and explanation tests: seeded synthetic rows, and the real data sets in test/fixtures.
import fs from 'node:fs';
import zlib from 'node:zlib';
import type { DataColumn, DataTable } from '../src/predict/table.ts';
import { seededRandom } from '../src/core/random.ts';

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

/** The five numeric sensor columns of AI4I 2020 plus the product Type. */
export const AI4I_FEATURES = ['Type', 'Air temperature [K]', 'Process temperature [K]', 'Rotational speed [rpm]', 'Torque [Nm]', 'Tool wear [min]'];

const fixture = (path: string) => new URL(`./fixtures/${path}`, import.meta.url);

/** The AI4I CSV (no quoted fields): Type and Product ID as categories, the rest as numbers. */
export function loadAi4i(): DataTable {
  const [head, ...lines] = fs.readFileSync(fixture('ai4i2020/ai4i2020.csv'), 'utf8').trim().split('\n');
  const names = head.split(',');
  const rows = lines.map((line) => line.split(','));
  const categorical = new Set(['Type', 'Product ID']);
  return {
    rowCount: rows.length,
    columns: names.map((name, j) =>
      categorical.has(name)
        ? { name, kind: 'categorical', values: rows.map((r) => r[j]) }
        : { name, kind: 'numeric', values: Float64Array.from(rows, (r) => Number(r[j])) },
    ),
  };
}

export const CMAPSS_SENSORS = Array.from({ length: 21 }, (_, i) => `s${i + 1}`);

/** C-MAPSS FD001 training data with its RUL target: cycles left until the engine's last one, capped at 125. */
export function loadCmapss(): DataTable {
  const text = zlib.gunzipSync(fs.readFileSync(fixture('cmapss/train_FD001.txt.gz'))).toString('latin1');
  const rows = text
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number));
  const names = ['unit', 'cycle', 'setting1', 'setting2', 'setting3', ...CMAPSS_SENSORS];
  const lastCycle = new Map<number, number>();
  for (const [unit, cycle] of rows) lastCycle.set(unit, Math.max(lastCycle.get(unit) ?? 0, cycle));
  return {
    rowCount: rows.length,
    columns: [
      ...names.map((name, j) => ({ name, kind: 'numeric' as const, values: Float64Array.from(rows, (r) => r[j]) })),
      { name: 'rul', kind: 'numeric', values: Float64Array.from(rows, ([unit, cycle]) => Math.min(125, lastCycle.get(unit)! - cycle)) },
    ],
  };
}
