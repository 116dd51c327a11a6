import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import { type Database, statement } from '../db/client.ts';
import { Problems } from '../core/errors.ts';
import { metricProblem } from './input.ts';
import { intArray } from '../db/arrays.ts';
import { machineIdsOfPlantSql } from '../twin/queries.ts';

export interface TelemetryPointOut {
  machineId: number;
  metric: string;
  ts: Date;
  value: number;
}

/**
 * The newest stored point of `metric` of one machine as a correlated subquery on `machineId` (a column of the outer
 * query): a JSON object {value, ts}, or null. Added to the machine rows' own query, the latest values of any number
 * of machines cost no statement of their own.
 */
export function latestValueSql(machineId: SQLWrapper, metric: string): SQL {
  return sql`(select json_build_object('value', l.value, 'ts', l.ts) from telemetry_latest l where l.machine_id = ${machineId} and l.metric = ${metric})`;
}

/** The metrics listed per machine and per plant at most (alphabetical; the cost estimate counts on these bounds). */
export const METRIC_LIST_LIMITS = { perMachine: 100, perPlant: 1_000 } as const;

/** A metric a machine (or the machines of a plant) reported: first and last point time and how many points. */
export interface MetricSummary {
  metric: string;
  firstAt: Date | string;
  lastAt: Date | string;
  count: number;
  /** Plant summaries: how many of its machines reported it. */
  machines?: number;
}

/**
 * The metrics one machine has reported, alphabetical, at most METRIC_LIST_LIMITS.perMachine, as a correlated
 * subquery on `machineId`: a JSON array of MetricSummary. Read from `telemetry_series` (one row per series,
 * maintained at ingest), so it costs an index range of the machine's series and never touches raw telemetry.
 */
export function machineMetricsSql(machineId: SQLWrapper): SQL {
  return sql`(select coalesce(json_agg(x order by x.metric), '[]'::json) from (select s.metric, s.first_ts as "firstAt", s.last_ts as "lastAt", s.count from telemetry_series s where s.machine_id = ${machineId} order by s.metric limit ${sql.raw(String(METRIC_LIST_LIMITS.perMachine))}) x)`;
}

/** The union of the metrics of a plant's machines (correlated on `plantId`), alphabetical, at most perPlant. */
export function plantMetricsSql(plantId: SQLWrapper): SQL {
  return sql`(select coalesce(json_agg(x order by x.metric), '[]'::json) from (select s.metric, min(s.first_ts) as "firstAt", max(s.last_ts) as "lastAt", sum(s.count)::float8 as count, count(*)::int as machines from telemetry_series s where s.machine_id in (${machineIdsOfPlantSql(plantId)}) group by s.metric order by s.metric limit ${sql.raw(String(METRIC_LIST_LIMITS.perPlant))}) x)`;
}

export interface Bucket {
  start: Date;
  count: number;
  avg: number | null;
  min: number | null;
  max: number | null;
}

export const BUCKET_LIMITS = {
  defaultBucketSeconds: 60,
  maxBuckets: 10_000,
  maxBucketSeconds: 366 * 86_400,
} as const;

export type BucketSource = 'auto' | 'raw' | 'rollup';

export interface BucketQuery {
  metric: string;
  from: Date;
  to: Date;
  bucketSeconds?: number | null;
  /** auto: the one-minute rollup when the buckets and range are whole minutes, raw points otherwise. */
  source?: BucketSource;
}

export interface CheckedBucketQuery {
  metric: string;
  from: Date;
  to: Date;
  bucketSeconds: number;
  buckets: number;
  source: 'raw' | 'rollup';
}

/** Validates a bucket query (throws ValidationError naming each bad argument) and picks raw or rollup. */
export function checkBucketQuery(q: BucketQuery): CheckedBucketQuery {
  const p = new Problems();
  const metricErr = metricProblem(q.metric);
  if (metricErr) p.add('metric', metricErr);
  const bucketSeconds = q.bucketSeconds ?? BUCKET_LIMITS.defaultBucketSeconds;
  if (!Number.isInteger(bucketSeconds) || bucketSeconds < 1 || bucketSeconds > BUCKET_LIMITS.maxBucketSeconds) {
    p.add('bucketSeconds', `must be a whole number of seconds from 1 to ${BUCKET_LIMITS.maxBucketSeconds}`);
  }
  const from = q.from.getTime();
  const to = q.to.getTime();
  if (!Number.isFinite(from)) p.add('from', 'not a valid timestamp');
  if (!Number.isFinite(to)) p.add('to', 'not a valid timestamp');
  else if (to <= from) p.add('to', 'must be after from');
  p.throwIfAny();
  const buckets = Math.ceil((to - from) / (bucketSeconds * 1000));
  if (buckets > BUCKET_LIMITS.maxBuckets) {
    p.add('bucketSeconds', `${buckets} buckets requested; at most ${BUCKET_LIMITS.maxBuckets} per call (use larger buckets or a shorter range)`);
  }
  const wholeMinutes = bucketSeconds % 60 === 0 && from % 60_000 === 0 && to % 60_000 === 0;
  const source = q.source ?? 'auto';
  if (source === 'rollup' && !wholeMinutes) p.add('bucketSeconds', 'the rollup serves only whole-minute buckets over a whole-minute range');
  p.throwIfAny();
  return { metric: q.metric, from: q.from, to: q.to, bucketSeconds, buckets, source: source === 'raw' || !wholeMinutes ? 'raw' : 'rollup' };
}

// Buckets are aligned to `from`: bucket k covers [from + k*bucketSeconds, from + (k+1)*bucketSeconds).
const BUCKETS = {
  raw: statement(
    'telemetry_buckets_raw',
    `select machine_id, date_bin($5::int * interval '1 second', ts, $2::timestamptz) as start,
        count(*)::int as count, (sum(value) / count(*))::float8 as avg, min(value) as min, max(value) as max
      from telemetry
      where machine_id = any($1::text::int[]) and metric = $4 and ts >= $2::timestamptz and ts < $3::timestamptz
      group by 1, 2`,
  ),
  rollup: statement(
    'telemetry_buckets_rollup',
    `select machine_id, date_bin($5::int * interval '1 second', minute, $2::timestamptz) as start,
      sum(count)::int as count, (sum(sum) / sum(count))::float8 as avg, min(min) as min, max(max) as max
    from telemetry_1m
    where machine_id = any($1::text::int[]) and metric = $4 and minute >= $2::timestamptz and minute < $3::timestamptz
    group by 1, 2`,
  ),
};

/** Every bucket of the range in order, from the non-empty ones (empty buckets get count 0 and null aggregates). */
export function fillBuckets(
  q: CheckedBucketQuery,
  rows: readonly { start: Date | string; count: number; avg: number | null; min: number | null; max: number | null }[],
): Bucket[] {
  const from = q.from.getTime();
  const step = q.bucketSeconds * 1000;
  const list: Bucket[] = new Array(q.buckets);
  for (let k = 0; k < q.buckets; k++) list[k] = { start: new Date(from + k * step), count: 0, avg: null, min: null, max: null };
  for (const r of rows) {
    const b = list[Math.round((new Date(r.start).getTime() - from) / step)];
    if (!b) continue;
    b.count = Number(r.count);
    b.avg = r.avg;
    b.min = r.min;
    b.max = r.max;
  }
  return list;
}

/**
 * The non-empty buckets of one machine as a correlated subquery on `machineId` (a column of the outer query): a JSON
 * array of {start, count, avg, min, max} for `fillBuckets`. Added to the machine rows' own query, the buckets of any
 * number of machines cost no statement of their own.
 */
export function bucketsSql(machineId: SQLWrapper, q: CheckedBucketQuery): SQL {
  const from = q.from.toISOString();
  const to = q.to.toISOString();
  const [table, ts, aggregates] =
    q.source === 'raw'
      ? [sql`telemetry`, sql`ts`, sql`count(*)::int as count, (sum(value) / count(*))::float8 as avg, min(value) as min, max(value) as max`]
      : [sql`telemetry_1m`, sql`minute`, sql`sum(count)::int as count, (sum(sum) / sum(count))::float8 as avg, min(min) as min, max(max) as max`];
  return sql`(select coalesce(json_agg(json_build_object('start', b.start, 'count', b.count, 'avg', b.avg, 'min', b.min, 'max', b.max)), '[]'::json)
    from (select date_bin(${q.bucketSeconds}::int * interval '1 second', ${ts}, ${from}::timestamptz) as start, ${aggregates}
          from ${table} where machine_id = ${machineId} and metric = ${q.metric} and ${ts} >= ${from}::timestamptz and ${ts} < ${to}::timestamptz
          group by 1) b)`;
}

/**
 * count/avg/min/max per bucket for several machines and one metric, computed in SQL in one statement, every bucket
 * of the range present (empty ones with count 0 and null aggregates). Results per machine ID.
 */
export async function telemetryBuckets(
  database: Database,
  machineIds: readonly number[],
  query: BucketQuery | CheckedBucketQuery,
): Promise<Map<number, Bucket[]>> {
  const q = 'buckets' in query ? query : checkBucketQuery(query);
  const byMachine = new Map<number, { start: Date; count: number; avg: number; min: number; max: number }[]>(machineIds.map((id) => [id, []]));
  if (machineIds.length > 0) {
    const rows = await database.query<{ machine_id: number; start: Date; count: number; avg: number; min: number; max: number }>(BUCKETS[q.source], [
      intArray(machineIds),
      q.from.toISOString(),
      q.to.toISOString(),
      q.metric,
      q.bucketSeconds,
    ]);
    for (const r of rows) byMachine.get(r.machine_id)?.push(r);
  }
  return new Map([...byMachine].map(([id, rows]) => [id, fillBuckets(q, rows)]));
}
