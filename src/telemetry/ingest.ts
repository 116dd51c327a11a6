import type { Clock } from '../core/clock.ts';
import type { PlantScope } from '../core/scope.ts';
import type { TelemetryConfig } from '../config.ts';
import { floatArray, intArray, textArray } from '../db/arrays.ts';
import type { Database, Tx } from '../db/client.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { Problems } from '../core/errors.ts';
import type { AfterCommit, EventHub } from '../events/hub.ts';
import type { PubSub } from '../pubsub/index.ts';
import { copyBinary } from './copy-binary.ts';
import { type TelemetryRow, telemetryBatchEvents, telemetryTopic } from './events.ts';
import { type Columns, INGEST_LIMITS, type IngestResult, normalise, type TelemetryBatchIn, validatePoints } from './input.ts';
import { ensurePartitions } from './partitions.ts';
import { aggregate, type Aggregates, upsertAggregates } from './rollup.ts';
import { dayOf } from './timestamps.ts';

export { INGEST_LIMITS, metricProblem, type IngestResult, type TelemetryBatchIn, type TelemetryColumnsIn, type TelemetryPointIn } from './input.ts';

export interface TelemetryDeps {
  database: Database;
  events: EventHub;
  pubsub: PubSub;
  clock: Clock;
  config: { telemetry: TelemetryConfig };
}

export type InsertMethod = 'auto' | 'unnest' | 'copy';

/** Batches of at least this many points go through COPY on PostgreSQL. */
const COPY_THRESHOLD = 2_000;

/**
 * Careful path, used when a batch contains points that are already stored: insert what is new and maintain the
 * rollup, latest values and series summaries from exactly the rows inserted, returning them.
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
),
series as (
  insert into telemetry_series as s (machine_id, metric, first_ts, last_ts, count)
  select machine_id, metric, min(ts), max(ts), count(*) from ins group by 1, 2
  on conflict (machine_id, metric) do update
    set first_ts = least(s.first_ts, excluded.first_ts), last_ts = greatest(s.last_ts, excluded.last_ts), count = s.count + excluded.count
)
select machine_id, metric, ts, value from ins`;

/** Fast path, raw rows: a plain insert that fails as a whole on the first point already stored. */
const INSERT_ALL = `insert into telemetry (machine_id, metric, ts, value)
  select machine_id, metric, to_timestamp(ms / 1000), value
  from unnest($1::text::int[], $2::text::text[], $3::text::float8[], $4::text::float8[]) as u(machine_id, metric, ms, value)`;

function columnParams(cols: Columns): string[] {
  return [intArray(cols.machineIds as number[]), textArray(cols.metrics), floatArray(cols.ms), floatArray(cols.values)];
}

/** Stores every point of the batch, or throws a unique violation if any of them is already stored. */
async function insertAll(tx: Tx, cols: Columns, method: 'unnest' | 'copy'): Promise<void> {
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
  await upsertAggregates(tx, aggregates);
}

async function insertNew(tx: Tx, cols: Columns): Promise<{ machine_id: number; metric: string; ts: Date; value: number }[]> {
  return tx.query(INSERT_NEW_RETURNING, columnParams(cols));
}

/**
 * Validates a whole batch (any bad point rejects all of it, nothing stored), stores it with set-based SQL in one
 * transaction together with the rollup and latest values and the `telemetryStored` listeners (the alert evaluator),
 * then runs their after-commit work and publishes the new points on each machine's telemetry topic (one event per
 * machine and batch).
 */
export async function ingestTelemetry(
  deps: TelemetryDeps,
  scope: PlantScope,
  batch: TelemetryBatchIn,
  opts: { method?: InsertMethod } = {},
): Promise<IngestResult> {
  const { database } = deps;
  const now = deps.clock.now();
  // Every problem is kept (at most a few per point of a bounded batch): the telemetry sink drops exactly the points
  // named and stores the rest. API callers see the first LISTED_PROBLEMS and the count.
  const p = new Problems(Number.POSITIVE_INFINITY);
  const batchId = batch.batchId ?? null;
  if (batchId !== null && (batchId.trim() === '' || batchId.length > INGEST_LIMITS.batchIdLength)) {
    p.add('batchId', `batchId must be 1 to ${INGEST_LIMITS.batchIdLength} characters`);
  }
  const cols = normalise(batch, p);
  p.throwIfAny();
  const plantOf = await validatePoints(database, deps.config.telemetry, cols!, scope, now, p);
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

  const claimBatch = async (tx: Tx): Promise<boolean> => {
    if (batchId === null) return true;
    const fresh = await tx.query('insert into telemetry_batches (batch_id, points) values ($1, $2) on conflict do nothing returning batch_id', [batchId, c.n]);
    return fresh.length > 0;
  };
  const stored = async (tx: Tx, rows: TelemetryRow[]) => ({ rows, after: rows.length > 0 ? await deps.events.run('telemetryStored', rows, tx) : [] });
  // Fast path: all points are new (the usual case), stored by COPY or one plain insert. If any point is already
  // stored the transaction fails on the unique index, and the careful path inserts only the new points.
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
    result = await database.transaction(async (tx) => {
      if (!(await claimBatch(tx))) return null;
      await insertAll(tx, c, method);
      return stored(tx, allRows());
    });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    result = await database.transaction(async (tx) => {
      if (!(await claimBatch(tx))) return null;
      const inserted = await insertNew(tx, c);
      return stored(
        tx,
        inserted.map((r) => ({ machineId: r.machine_id, plantId: plantOf.get(r.machine_id)!, metric: r.metric, ts: new Date(r.ts), value: r.value })),
      );
    });
  }
  if (result === null) return { accepted: 0, duplicates: c.n };
  const rows = result.rows;
  await deps.events.afterCommit(result.after);
  // One event per machine of the batch (not one per point): subscribers' queues are bounded in events.
  await Promise.all(telemetryBatchEvents(rows).map((e) => deps.pubsub.publish(telemetryTopic, e.machineId, e)));
  return { accepted: rows.length, duplicates: c.n - rows.length };
}
