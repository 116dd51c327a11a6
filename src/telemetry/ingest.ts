import type { TelemetryConfig } from '../config.ts';
import type { Database } from '../db/client.ts';
import { isUniqueViolation, Problems } from '../errors.ts';
import type { AfterCommit, EventHub, TelemetryRow } from '../events.ts';
import type { PubSub } from '../pubsub.ts';
import { dayOf, ensurePartitions, retentionCutoffDay } from './partitions.ts';
import { DAY_MS, floatArray, intArray, type RawTx, textArray, withTransaction } from './sql.ts';

export const INGEST_LIMITS = {
  /** Points per call (row or columnar form). */
  points: 50_000,
  metricLength: 200,
  batchIdLength: 200,
  /** How far ahead of the server clock a timestamp may be. */
  futureMs: DAY_MS,
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

/** Which plants the caller may write to; null for every plant. */
export interface PlantScope {
  plantIds: readonly number[] | null;
}

export interface TelemetryDeps {
  database: Database;
  events: EventHub;
  pubsub: PubSub;
  config: { telemetry: TelemetryConfig };
}

export type InsertMethod = 'auto' | 'unnest' | 'copy';

/** Batches of at least this many points go through COPY on PostgreSQL. */
const COPY_THRESHOLD = 2_000;

export function telemetryTopic(machineId: number): string {
  return `telemetry:${machineId}`;
}

interface Columns {
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
function normalise(batch: TelemetryBatchIn, p: Problems): Columns | null {
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
  for (const [name, list] of [['metrics', c.metrics], ['ts', c.ts], ['values', c.values]] as const) {
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
export async function visibleMachines(database: Database, ids: Iterable<number>, scope: PlantScope): Promise<Map<number, number>> {
  const list = [...new Set(ids)];
  const out = new Map<number, number>();
  if (list.length === 0) return out;
  const rows = await database.query<{ id: number; plant_id: number }>('select id, plant_id from machines where id = any($1::text::int[])', [intArray(list)]);
  for (const r of rows) {
    if (scope.plantIds === null || scope.plantIds.includes(r.plant_id)) out.set(r.id, r.plant_id);
  }
  return out;
}

/** Checks every point; throws one ValidationError naming every bad index. Returns machine -> plant. */
async function validate(database: Database, config: TelemetryConfig, cols: Columns, scope: PlantScope, now: Date, p: Problems): Promise<Map<number, number>> {
  const ids = new Set<number>();
  for (const id of cols.machineIds) if (typeof id === 'number') ids.add(id);
  const plantOf = await visibleMachines(database, ids, scope);
  const latest = now.getTime() + INGEST_LIMITS.futureMs;
  const earliest = retentionCutoffDay(config, now) * DAY_MS;
  const metricChecked = new Map<string, string | null>();
  for (let i = 0; i < cols.n; i++) {
    const id = cols.machineIds[i];
    if (id === null || !plantOf.has(id)) p.add(cols.path(i, 'machineId'), 'unknown machine');
    const metric = cols.metrics[i];
    let problem = metricChecked.get(metric);
    if (problem === undefined) metricChecked.set(metric, (problem = metricProblem(metric)));
    if (problem) p.add(cols.path(i, 'metric'), problem);
    const ms = cols.ms[i];
    if (!Number.isFinite(ms)) p.add(cols.path(i, 'ts'), 'not a valid timestamp');
    else if (ms > latest) p.add(cols.path(i, 'ts'), 'is more than a day in the future');
    else if (ms < earliest) p.add(cols.path(i, 'ts'), `is older than the telemetry retention of ${config.retentionDays} days`);
    const v = cols.values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) p.add(cols.path(i, 'value'), 'value must be a finite number');
  }
  return plantOf;
}

/**
 * Careful path, used when a batch contains points that are already stored: insert what is new and maintain the
 * rollup and latest values from exactly the rows inserted, returning them.
 */
const INSERT_NEW_RETURNING = `with src as (
  select * from unnest($1::text::int[], $2::text::text[], $3::text::float8[], $4::text::float8[]) as u(machine_id, metric, ms, value)
),
ins as (
  insert into telemetry (machine_id, metric, ts, value)
  select machine_id, metric, to_timestamp(ms / 1000), value from src
  on conflict do nothing
  returning machine_id, metric, ts, value
),
roll as (
  insert into telemetry_1m as r (machine_id, metric, minute, count, sum, min, max)
  select machine_id, metric, date_bin('1 minute', ts, timestamptz '2000-01-01 00:00:00+00'), count(*), sum(value), min(value), max(value)
  from ins group by 1, 2, 3
  on conflict (machine_id, metric, minute) do update
    set count = r.count + excluded.count, sum = r.sum + excluded.sum, min = least(r.min, excluded.min), max = greatest(r.max, excluded.max)
),
latest as (
  insert into telemetry_latest as l (machine_id, metric, ts, value)
  select distinct on (machine_id, metric) machine_id, metric, ts, value from ins order by machine_id, metric, ts desc
  on conflict (machine_id, metric) do update set ts = excluded.ts, value = excluded.value where excluded.ts > l.ts
)
select machine_id, metric, ts, value from ins`;

/** Fast path, raw rows: a plain insert that fails as a whole on the first point already stored. */
const INSERT_ALL = `insert into telemetry (machine_id, metric, ts, value)
  select machine_id, metric, to_timestamp(ms / 1000), value
  from unnest($1::text::int[], $2::text::text[], $3::text::float8[], $4::text::float8[]) as u(machine_id, metric, ms, value)`;

/** Fast path, derived tables: the batch's one-minute aggregates and newest points, computed in the caller. */
const UPSERT_AGGREGATES = `with roll as (
  insert into telemetry_1m as r (machine_id, metric, minute, count, sum, min, max)
  select machine_id, metric, to_timestamp(minute / 1000), count, sum, min, max
  from unnest($1::text::int[], $2::text::text[], $3::text::float8[], $4::text::int[], $5::text::float8[], $6::text::float8[], $7::text::float8[])
    as u(machine_id, metric, minute, count, sum, min, max)
  on conflict (machine_id, metric, minute) do update
    set count = r.count + excluded.count, sum = r.sum + excluded.sum, min = least(r.min, excluded.min), max = greatest(r.max, excluded.max)
)
insert into telemetry_latest as l (machine_id, metric, ts, value)
select machine_id, metric, to_timestamp(ms / 1000), value
from unnest($8::text::int[], $9::text::text[], $10::text::float8[], $11::text::float8[]) as u(machine_id, metric, ms, value)
on conflict (machine_id, metric) do update set ts = excluded.ts, value = excluded.value where excluded.ts > l.ts`;

interface Aggregates {
  roll: { machineIds: number[]; metrics: string[]; minutes: number[]; counts: number[]; sums: number[]; mins: number[]; maxs: number[] };
  latest: { machineIds: number[]; metrics: string[]; ms: number[]; values: number[] };
}

/** One-minute count/sum/min/max and the newest point per series of a batch (all of whose points are new). */
function aggregate(cols: Columns): Aggregates {
  const roll: Aggregates['roll'] = { machineIds: [], metrics: [], minutes: [], counts: [], sums: [], mins: [], maxs: [] };
  const latest: Aggregates['latest'] = { machineIds: [], metrics: [], ms: [], values: [] };
  const seriesOf = new Map<number, Map<string, number>>();
  // Per series: minute -> rollup row, with the last one remembered (a series' points usually come in time order).
  const minutesOf: Map<number, number>[] = [];
  const lastMinute: number[] = [];
  const lastRow: number[] = [];
  for (let i = 0; i < cols.n; i++) {
    const m = cols.machineIds[i]!;
    const metric = cols.metrics[i];
    const ms = cols.ms[i];
    const v = cols.values[i];
    let byMetric = seriesOf.get(m);
    if (!byMetric) seriesOf.set(m, (byMetric = new Map()));
    let series = byMetric.get(metric);
    if (series === undefined) {
      byMetric.set(metric, (series = latest.ms.length));
      latest.machineIds.push(m);
      latest.metrics.push(metric);
      latest.ms.push(ms);
      latest.values.push(v);
      minutesOf.push(new Map());
      lastMinute.push(NaN);
      lastRow.push(-1);
    } else if (ms > latest.ms[series]) {
      latest.ms[series] = ms;
      latest.values[series] = v;
    }
    const minute = Math.floor(ms / 60_000);
    let r: number | undefined = lastMinute[series] === minute ? lastRow[series] : minutesOf[series].get(minute);
    if (r === undefined) {
      r = roll.counts.length;
      minutesOf[series].set(minute, r);
      roll.machineIds.push(m);
      roll.metrics.push(metric);
      roll.minutes.push(minute * 60_000);
      roll.counts.push(1);
      roll.sums.push(v);
      roll.mins.push(v);
      roll.maxs.push(v);
    } else {
      roll.counts[r]++;
      roll.sums[r] += v;
      if (v < roll.mins[r]) roll.mins[r] = v;
      if (v > roll.maxs[r]) roll.maxs[r] = v;
    }
    lastMinute[series] = minute;
    lastRow[series] = r;
  }
  return { roll, latest };
}

const COPY_CHUNK = 5_000;
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * The batch in COPY binary format (no number or date formatting on either side), produced in chunks so that
 * PostgreSQL reads one chunk while the next is built. Row: 4 fields; int4 machine_id, text metric,
 * timestamptz ts (int8 microseconds since 2000-01-01), float8 value.
 */
function* copyBinary(cols: Columns): Generator<Buffer> {
  const header = Buffer.alloc(COPY_SIGNATURE.length + 8);
  COPY_SIGNATURE.copy(header, 0);
  yield header; // flags 0, no header extension
  const metricBytes = new Map<string, Buffer>();
  for (let from = 0; from < cols.n; from += COPY_CHUNK) {
    const to = Math.min(cols.n, from + COPY_CHUNK);
    let size = 0;
    for (let i = from; i < to; i++) {
      let b = metricBytes.get(cols.metrics[i]);
      if (b === undefined) metricBytes.set(cols.metrics[i], (b = Buffer.from(cols.metrics[i], 'utf8')));
      size += 2 + 8 + 4 + b.length + 12 + 12;
    }
    const buf = Buffer.allocUnsafe(to === cols.n ? size + 2 : size);
    let o = 0;
    for (let i = from; i < to; i++) {
      o = buf.writeInt16BE(4, o);
      o = buf.writeInt32BE(4, o);
      o = buf.writeInt32BE(cols.machineIds[i]!, o);
      const b = metricBytes.get(cols.metrics[i])!;
      o = buf.writeInt32BE(b.length, o);
      o += b.copy(buf, o);
      const us = (cols.ms[i] - PG_EPOCH_MS) * 1000;
      const hi = Math.floor(us / 4_294_967_296);
      o = buf.writeInt32BE(8, o);
      o = buf.writeInt32BE(hi, o);
      o = buf.writeUInt32BE(us - hi * 4_294_967_296, o);
      o = buf.writeInt32BE(8, o);
      o = buf.writeDoubleBE(cols.values[i], o);
    }
    if (to === cols.n) buf.writeInt16BE(-1, o); // trailer
    yield buf;
  }
  if (cols.n === 0) yield Buffer.from([0xff, 0xff]);
}

function columnParams(cols: Columns): string[] {
  return [intArray(cols.machineIds as number[]), textArray(cols.metrics), floatArray(cols.ms), floatArray(cols.values)];
}

/** Stores every point of the batch, or throws a unique violation if any of them is already stored. */
async function insertAll(tx: RawTx, cols: Columns, method: 'unnest' | 'copy'): Promise<void> {
  let aggregates: Aggregates;
  if (method === 'copy') {
    const copying = tx.copyFrom!('copy telemetry (machine_id, metric, ts, value) from stdin (format binary)', copyBinary(cols));
    copying.catch(() => {}); // awaited below; this only keeps an early failure from counting as unhandled
    // The aggregates are computed while PostgreSQL is busy with the first chunks.
    await new Promise((r) => setImmediate(r));
    aggregates = aggregate(cols);
    await copying;
  } else {
    await tx.query(INSERT_ALL, columnParams(cols));
    aggregates = aggregate(cols);
  }
  const { roll, latest } = aggregates;
  await tx.query(UPSERT_AGGREGATES, [
    intArray(roll.machineIds),
    textArray(roll.metrics),
    floatArray(roll.minutes),
    intArray(roll.counts),
    floatArray(roll.sums),
    floatArray(roll.mins),
    floatArray(roll.maxs),
    intArray(latest.machineIds),
    textArray(latest.metrics),
    floatArray(latest.ms),
    floatArray(latest.values),
  ]);
}

async function insertNew(tx: RawTx, cols: Columns): Promise<{ machine_id: number; metric: string; ts: Date; value: number }[]> {
  return tx.query(INSERT_NEW_RETURNING, columnParams(cols));
}

/**
 * Validates a whole batch (any bad point rejects all of it, nothing stored), stores it with set-based SQL in one
 * transaction together with the rollup and latest values, then runs the after-commit hooks and publishes every new
 * point on `telemetry:<machineId>`.
 */
export async function ingestTelemetry(
  deps: TelemetryDeps,
  scope: PlantScope,
  batch: TelemetryBatchIn,
  opts: { now?: Date; method?: InsertMethod } = {},
): Promise<IngestResult> {
  const { database } = deps;
  const now = opts.now ?? new Date();
  const p = new Problems();
  const batchId = batch.batchId ?? null;
  if (batchId !== null && (batchId.trim() === '' || batchId.length > INGEST_LIMITS.batchIdLength)) {
    p.add('batchId', `batchId must be 1 to ${INGEST_LIMITS.batchIdLength} characters`);
  }
  const cols = normalise(batch, p);
  p.throwIfAny();
  const plantOf = await validate(database, deps.config.telemetry, cols!, scope, now, p);
  p.throwIfAny();
  const c = cols!;
  if (c.n === 0) return { accepted: 0, duplicates: 0 };

  const days = new Set<number>();
  let lastDay = NaN;
  for (let i = 0; i < c.n; i++) {
    const d = dayOf(c.ms[i]);
    if (d !== lastDay) days.add((lastDay = d));
  }
  await ensurePartitions(database, days);

  const method = opts.method === 'copy' || (opts.method !== 'unnest' && database.kind === 'postgres' && c.n >= COPY_THRESHOLD) ? 'copy' : 'unnest';
  if (method === 'copy' && database.kind !== 'postgres') throw new Error('COPY needs PostgreSQL');

  const claimBatch = async (tx: RawTx): Promise<boolean> => {
    if (batchId === null) return true;
    const fresh = await tx.query('insert into telemetry_batches (batch_id, points) values ($1, $2) on conflict do nothing returning batch_id', [batchId, c.n]);
    return fresh.length > 0;
  };
  // Fast path: all points are new (the usual case), stored by COPY or one plain insert. If any point is already
  // stored the transaction fails on the unique index, and the careful path inserts only the new points.
  // Transactional listeners (the alert evaluator) run inside the same transaction, so the points and the alerts they
  // raise commit together; their after-commit work (publishing alert events) runs once it has.
  const allRows = (): TelemetryRow[] => {
    const out: TelemetryRow[] = new Array(c.n);
    for (let i = 0; i < c.n; i++) {
      const machineId = c.machineIds[i]!;
      const t = c.ts[i];
      out[i] = { machineId, plantId: plantOf.get(machineId)!, metric: c.metrics[i], ts: t instanceof Date ? t : new Date(c.ms[i]), value: c.values[i] };
    }
    return out;
  };
  let result: { rows: TelemetryRow[]; after: AfterCommit[] } | null;
  try {
    result = await withTransaction(database, async (tx) => {
      if (!(await claimBatch(tx))) return null;
      await insertAll(tx, c, method);
      const rows = allRows();
      return { rows, after: await deps.events.runTelemetryInTransaction(rows, tx) };
    });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    result = await withTransaction(database, async (tx) => {
      if (!(await claimBatch(tx))) return null;
      const inserted = await insertNew(tx, c);
      const rows = inserted.map((r) => ({ machineId: r.machine_id, plantId: plantOf.get(r.machine_id)!, metric: r.metric, ts: new Date(r.ts), value: r.value }));
      return { rows, after: await deps.events.runTelemetryInTransaction(rows, tx) };
    });
  }
  if (result === null) return { accepted: 0, duplicates: c.n };
  const rows = result.rows;
  await deps.events.afterCommit(result.after);
  await publishPoints(deps.pubsub, rows);
  return { accepted: rows.length, duplicates: c.n - rows.length };
}

async function publishPoints(pubsub: PubSub, rows: TelemetryRow[]): Promise<void> {
  const topics = new Map<number, string>();
  const pending = new Array<Promise<void>>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    let topic = topics.get(r.machineId);
    if (topic === undefined) topics.set(r.machineId, (topic = telemetryTopic(r.machineId)));
    pending[i] = pubsub.publish(topic, r);
  }
  await Promise.all(pending);
}
