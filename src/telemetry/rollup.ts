import type { Tx } from '../db/client.ts';
import { floatArray, intArray, textArray } from '../db/arrays.ts';
import type { Columns } from './input.ts';

/**
 * The derived tables of a batch whose points are all new: one-minute aggregates (count, sum, min, max) merged into
 * `telemetry_1m`, the newest point per series into `telemetry_latest` and each series' oldest and newest time and
 * point count into `telemetry_series`, computed in one pass in Node and written with one statement.
 */

/** Fast path, derived tables: the batch's one-minute aggregates and newest points, computed in the caller. */
const UPSERT_AGGREGATES = `with roll as (
  insert into telemetry_1m as r (machine_id, metric, minute, count, sum, min, max)
  select machine_id, metric, to_timestamp(minute / 1000), count, sum, min, max
  from unnest($1::text::int[], $2::text::text[], $3::text::float8[], $4::text::int[], $5::text::float8[], $6::text::float8[], $7::text::float8[])
    as u(machine_id, metric, minute, count, sum, min, max)
  on conflict (machine_id, metric, minute) do update
    set count = r.count + excluded.count, sum = r.sum + excluded.sum, min = least(r.min, excluded.min), max = greatest(r.max, excluded.max)
),
series as (
  insert into telemetry_series as s (machine_id, metric, first_ts, last_ts, count)
  select machine_id, metric, to_timestamp(first_ms / 1000), to_timestamp(ms / 1000), n
  from unnest($8::text::int[], $9::text::text[], $10::text::float8[], $12::text::float8[], $13::text::int[]) as u(machine_id, metric, ms, first_ms, n)
  on conflict (machine_id, metric) do update
    set first_ts = least(s.first_ts, excluded.first_ts), last_ts = greatest(s.last_ts, excluded.last_ts), count = s.count + excluded.count
)
insert into telemetry_latest as l (machine_id, metric, ts, value)
select machine_id, metric, to_timestamp(ms / 1000), value
from unnest($8::text::int[], $9::text::text[], $10::text::float8[], $11::text::float8[]) as u(machine_id, metric, ms, value)
on conflict (machine_id, metric) do update set ts = excluded.ts, value = excluded.value where excluded.ts > l.ts`;

export interface Aggregates {
  roll: { machineIds: number[]; metrics: string[]; minutes: number[]; counts: number[]; sums: number[]; mins: number[]; maxs: number[] };
  latest: { machineIds: number[]; metrics: string[]; ms: number[]; values: number[]; firstMs: number[]; counts: number[] };
}

/** One-minute count/sum/min/max, the newest point, the oldest time and the point count per series of a batch (all of whose points are new). */
export function aggregate(cols: Columns): Aggregates {
  const roll: Aggregates['roll'] = { machineIds: [], metrics: [], minutes: [], counts: [], sums: [], mins: [], maxs: [] };
  const latest: Aggregates['latest'] = { machineIds: [], metrics: [], ms: [], values: [], firstMs: [], counts: [] };
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
      latest.firstMs.push(ms);
      latest.counts.push(1);
      minutesOf.push(new Map());
      lastMinute.push(NaN);
      lastRow.push(-1);
    } else {
      latest.counts[series]++;
      if (ms > latest.ms[series]) {
        latest.ms[series] = ms;
        latest.values[series] = v;
      } else if (ms < latest.firstMs[series]) latest.firstMs[series] = ms;
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

/** Writes a batch's aggregates (one statement). */
export async function upsertAggregates(tx: Tx, { roll, latest }: Aggregates): Promise<void> {
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
    floatArray(latest.firstMs),
    intArray(latest.counts),
  ]);
}
