import type { TelemetryConfig } from '../config.ts';
import type { Queryable } from '../db/client.ts';
import type { Problems } from '../core/errors.ts';
import { canSeePlant, type PlantScope } from '../core/scope.ts';
import { liveTwin } from '../twin/snapshot.ts';
import { timestampProblem } from './timestamps.ts';

/** Checks of an ingest batch: the row and columnar forms in one columnar shape, and every point checked at once. */

export const INGEST_LIMITS = {
  /** Points per call (row or columnar form). */
  points: 50_000,
  metricLength: 200,
  batchIdLength: 200,
} as const;

export interface TelemetryPointIn {
  /** Decoded machine ID; null for an ID that could not be decoded (reported as an unknown machine). */
  machineId: number | null;
  metric: string;
  ts: Date | number;
  value: number;
}

export interface TelemetryColumnsIn {
  machineIds: readonly (number | null)[];
  metrics: readonly string[];
  ts: readonly (Date | number)[];
  values: readonly number[];
}

export interface TelemetryBatchIn {
  /** Idempotency key: a batch ID seen before stores nothing and reports every point as a duplicate. */
  batchId?: string | null;
  points?: readonly TelemetryPointIn[] | null;
  columns?: TelemetryColumnsIn | null;
}

export interface IngestResult {
  /** Points stored by this call. */
  accepted: number;
  /** Points that were already stored (same machine, metric and timestamp, or a repeated batch ID). */
  duplicates: number;
}

export interface Columns {
  n: number;
  machineIds: (number | null)[];
  metrics: string[];
  ms: Float64Array;
  /** The timestamps as given (Date objects are reused for the after-commit rows). */
  ts: readonly (Date | number)[];
  values: number[];
  path(i: number, field: 'machineId' | 'metric' | 'ts' | 'value'): string;
}

const COLUMN_NAMES = { machineId: 'machineIds', metric: 'metrics', ts: 'ts', value: 'values' } as const;

/** Epoch milliseconds (whole: the storage keeps microseconds, the API speaks milliseconds). */
function toMs(t: Date | number): number {
  return typeof t === 'number' ? Math.round(t) : t instanceof Date ? t.getTime() : NaN;
}

/** Row and columnar input in one columnar shape, or the problems that stop it from being one. */
export function normalise(batch: TelemetryBatchIn, p: Problems): Columns | null {
  const { points, columns } = batch;
  if (points && columns) {
    p.add('points', 'give either points or columns, not both');
    return null;
  }
  if (!points && !columns) {
    p.add('points', 'give points (row form) or columns (columnar form)');
    return null;
  }
  const max = INGEST_LIMITS.points;
  if (points) {
    if (points.length > max) {
      p.add('points', `at most ${max.toLocaleString('en-US')} points per call, got ${points.length.toLocaleString('en-US')}`);
      return null;
    }
    const n = points.length;
    const out: Columns = {
      n,
      machineIds: new Array(n),
      metrics: new Array(n),
      ms: new Float64Array(n),
      ts: new Array(n),
      values: new Array(n),
      path: (i, f) => `points[${i}].${f}`,
    };
    for (let i = 0; i < n; i++) {
      const pt = points[i];
      out.machineIds[i] = pt.machineId;
      out.metrics[i] = pt.metric;
      out.ms[i] = toMs(pt.ts);
      (out.ts as (Date | number)[])[i] = pt.ts;
      out.values[i] = pt.value;
    }
    return out;
  }
  const c = columns!;
  const n = c.machineIds.length;
  if (n > max) {
    p.add('columns.machineIds', `at most ${max.toLocaleString('en-US')} points per call, got ${n.toLocaleString('en-US')}`);
    return null;
  }
  for (const [name, list] of [
    ['metrics', c.metrics],
    ['ts', c.ts],
    ['values', c.values],
  ] as const) {
    if (list.length !== n) p.add(`columns.${name}`, `has ${list.length} entries but columns.machineIds has ${n}; all columns must have the same length`);
  }
  if (!p.empty) return null;
  const ms = new Float64Array(n);
  for (let i = 0; i < n; i++) ms[i] = toMs(c.ts[i]);
  return {
    n,
    machineIds: c.machineIds as (number | null)[],
    metrics: c.metrics as string[],
    ms,
    ts: c.ts,
    values: c.values as number[],
    path: (i, f) => `columns.${COLUMN_NAMES[f]}[${i}]`,
  };
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why a metric name is refused, or null when it is fine. */
export function metricProblem(metric: unknown): string | null {
  if (typeof metric !== 'string' || metric.trim() === '') return 'metric name must not be empty';
  if (metric.length > INGEST_LIMITS.metricLength) return `metric name must be at most ${INGEST_LIMITS.metricLength} characters`;
  if (CONTROL.test(metric)) return 'metric name must not contain control characters';
  return null;
}

/** Machines of these IDs that the scope may see: id -> plantId. */
export async function visibleMachines(q: Queryable, ids: Iterable<number>, scope: PlantScope): Promise<Map<number, number>> {
  const list = [...new Set(ids)];
  const out = new Map<number, number>();
  if (list.length === 0) return out;
  for (const m of await liveTwin(q).machines({ ids: list })) if (canSeePlant(scope, m.plantId)) out.set(m.id, m.plantId);
  return out;
}

/** Checks every point; throws one ValidationError naming every bad index. Returns machine -> plant. */
export async function validatePoints(
  q: Queryable,
  config: TelemetryConfig,
  cols: Columns,
  scope: PlantScope,
  now: Date,
  p: Problems,
): Promise<Map<number, number>> {
  const ids = new Set<number>();
  for (const id of cols.machineIds) if (typeof id === 'number') ids.add(id);
  const plantOf = await visibleMachines(q, ids, scope);
  const metricChecked = new Map<string, string | null>();
  for (let i = 0; i < cols.n; i++) {
    const id = cols.machineIds[i];
    if (id === null || !plantOf.has(id)) p.add(cols.path(i, 'machineId'), 'unknown machine');
    const metric = cols.metrics[i];
    let problem = metricChecked.get(metric);
    if (problem === undefined) metricChecked.set(metric, (problem = metricProblem(metric)));
    if (problem) p.add(cols.path(i, 'metric'), problem);
    const tsProblem = timestampProblem(cols.ms[i], now, config);
    if (tsProblem) p.add(cols.path(i, 'ts'), tsProblem);
    const v = cols.values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) p.add(cols.path(i, 'value'), 'value must be a finite number');
  }
  return plantOf;
}
