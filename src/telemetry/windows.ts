import { intArray, textArray } from '../db/arrays.ts';
import type { Queryable } from '../db/client.ts';

/**
 * Set-based reads of series over trailing windows and of the state history around an instant, as SQL fragments that
 * callers (features, twin datasets) compose into one statement for many machines and instants at once. Every
 * argument is an SQL expression (a column of the outer query or a parameter); the fragments' own aliases (t, l, st)
 * must not be names the outer query uses for those.
 */

/**
 * A subquery over the points of `metric` of `machineId` with `at` − `seconds` < ts <= `at`: n (count), mean, min,
 * max, std (population standard deviation), slope (least squares, value units per second; null below 2 points) and,
 * with `latest`, the newest value.
 */
export function trailingWindowSql(p: { machineId: string; metric: string; at: string; seconds: string; latest: boolean }): string {
  const inWindow = (t: string) =>
    `${t}.machine_id = ${p.machineId} and ${t}.metric = ${p.metric} and ${t}.ts > ${p.at} - ${p.seconds} * interval '1 second' and ${t}.ts <= ${p.at}`;
  const latest = p.latest ? `(select l.value from telemetry l where ${inWindow('l')} order by l.ts desc limit 1)` : 'null::float8';
  return `select count(*)::int as n, avg(t.value) as mean, min(t.value) as min, max(t.value) as max, stddev_pop(t.value) as std,
      regr_slope(t.value, extract(epoch from t.ts - ${p.at})::float8) as slope, ${latest} as latest
    from telemetry t where ${inWindow('t')}`;
}

/** The status in force at `at` (the newest state at or before it), or null. */
export function statusAtSql(machineId: string, at: string): string {
  return `(select st.status::text from machine_states st where st.machine_id = ${machineId} and st.at <= ${at} order by st.at desc limit 1)`;
}

/** Epoch milliseconds of the first DOWN state after `at` and at most `within` seconds later (null: none), or null. */
export function nextDownMsSql(machineId: string, at: string, within: string | null): string {
  const bound = within === null ? '' : ` and st.at <= ${at} + ${within} * interval '1 second'`;
  return `(select (extract(epoch from st.at) * 1000)::float8 from machine_states st where st.machine_id = ${machineId} and st.at > ${at}${bound} and st.status = 'DOWN' order by st.at limit 1)`;
}

/** Which of `metrics` some of the machines reported between `from` and `to` (from the series summaries). */
export async function metricsReported(q: Queryable, machineIds: readonly number[], metrics: readonly string[], from: Date, to: Date): Promise<Set<string>> {
  if (machineIds.length === 0 || metrics.length === 0) return new Set();
  const rows = await q.query<{ metric: string }>(
    `select distinct metric from telemetry_series
     where machine_id = any($1::text::int[]) and metric = any($2::text::text[]) and first_ts <= $4::timestamptz and last_ts >= $3::timestamptz`,
    [intArray(machineIds), textArray(metrics), from.toISOString(), to.toISOString()],
  );
  return new Set(rows.map((r) => r.metric));
}

/** Whether any of the machines has a recorded state before `before`. */
export async function statesRecordedBefore(q: Queryable, machineIds: readonly number[], before: Date): Promise<boolean> {
  if (machineIds.length === 0) return false;
  const rows = await q.query<{ yes: boolean }>(
    'select exists (select 1 from machine_states where machine_id = any($1::text::int[]) and at < $2::timestamptz) as yes',
    [intArray(machineIds), before.toISOString()],
  );
  return rows[0]?.yes === true;
}
