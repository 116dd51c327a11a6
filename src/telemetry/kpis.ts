import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import { intArray } from '../db/arrays.ts';
import { type Queryable, statement } from '../db/client.ts';
import { Problems } from '../core/errors.ts';
import { liveTwin, type MachineInfo } from '../twin/snapshot.ts';

/**
 * KPIs from the machine state history and production counts over a window [from, to).
 *
 * - The window ends at `to` or now, whichever is earlier: time that has not happened yet counts for nothing.
 * - The state in force at `from` is the last state recorded at or before `from`; time before a machine's first
 *   known state is `unknownSeconds`.
 * - plannedSeconds = window - MAINTENANCE - OFFLINE - unknown (planned downtime is excluded), i.e. RUNNING + IDLE + DOWN.
 * - availability = RUNNING / planned; performance = idealCycleSeconds x (good + scrap) / RUNNING (null when the
 *   ideal cycle is unknown or nothing ran); quality = good / (good + scrap); oee = availability x performance x quality.
 * - failures = transitions into DOWN (from any other state, or from no known state) at or after `from`;
 *   repairs = transitions out of DOWN at or after `from`. mtbfSeconds = RUNNING / failures, mttrSeconds = DOWN / repairs.
 * - Production counts are those recorded with `at` in [from, to).
 * Every ratio is null when its denominator is zero.
 */
export interface KpiTotals {
  from: Date;
  to: Date;
  runningSeconds: number;
  idleSeconds: number;
  downSeconds: number;
  maintenanceSeconds: number;
  offlineSeconds: number;
  unknownSeconds: number;
  plannedSeconds: number;
  failures: number;
  repairs: number;
  goodCount: number;
  scrapCount: number;
  totalCount: number;
  /** Sum of idealCycleSeconds x count over machines whose ideal cycle is known, and their running seconds. */
  idealSeconds: number;
  runningSecondsWithIdeal: number;
}

export interface Kpis extends KpiTotals {
  availability: number | null;
  performance: number | null;
  quality: number | null;
  oee: number | null;
  mtbfSeconds: number | null;
  mttrSeconds: number | null;
}

export interface MachineKpis extends Kpis {
  machineId: number;
  idealCycleSeconds: number | null;
}

export interface PlantKpis extends Kpis {
  plantId: number;
  machines: MachineKpis[];
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

export function kpisFrom(t: KpiTotals): Kpis {
  const availability = ratio(t.runningSeconds, t.plannedSeconds);
  const performance = ratio(t.idealSeconds, t.runningSecondsWithIdeal);
  const quality = ratio(t.goodCount, t.totalCount);
  return {
    ...t,
    availability,
    performance,
    quality,
    oee: availability === null || performance === null || quality === null ? null : availability * performance * quality,
    mtbfSeconds: ratio(t.runningSeconds, t.failures),
    mttrSeconds: ratio(t.downSeconds, t.repairs),
  };
}

export function checkWindow(from: Date, to: Date): void {
  const p = new Problems();
  if (!Number.isFinite(from.getTime())) p.add('from', 'not a valid timestamp');
  if (!Number.isFinite(to.getTime())) p.add('to', 'not a valid timestamp');
  else if (to.getTime() <= from.getTime()) p.add('to', 'must be after from');
  p.throwIfAny();
}

/**
 * Per machine: seconds in each status and transitions into and out of DOWN over [$2, $3) (the window clipped at
 * now), and the good and scrap counts recorded in [$2, $4) (the window as asked); one statement.
 */
const MACHINE_KPIS = statement(
  'kpi_machines',
  `
with m as (select unnest($1::text::int[]) as machine_id),
s as (
  -- the two states before the window (the one in force at from, and the one before it, for its transition)
  select m.machine_id, l.status, l.at from m cross join lateral (
    select status, at from machine_states ms where ms.machine_id = m.machine_id and ms.at <= $2::timestamptz order by at desc limit 2
  ) l
  union all
  select machine_id, status, at from machine_states where machine_id = any($1::text::int[]) and at > $2::timestamptz and at < $3::timestamptz
),
seg as (
  select machine_id, status, at,
    lag(status) over w as prev,
    greatest(at, $2::timestamptz) as start,
    coalesce(lead(at) over w, $3::timestamptz) as stop
  from s window w as (partition by machine_id order by at)
),
t as (
  select machine_id,
    coalesce(sum(extract(epoch from stop - start)) filter (where status = 'RUNNING' and stop > start), 0)::float8 as running,
    coalesce(sum(extract(epoch from stop - start)) filter (where status = 'IDLE' and stop > start), 0)::float8 as idle,
    coalesce(sum(extract(epoch from stop - start)) filter (where status = 'DOWN' and stop > start), 0)::float8 as down,
    coalesce(sum(extract(epoch from stop - start)) filter (where status = 'MAINTENANCE' and stop > start), 0)::float8 as maintenance,
    coalesce(sum(extract(epoch from stop - start)) filter (where status = 'OFFLINE' and stop > start), 0)::float8 as offline,
    (count(*) filter (where status = 'DOWN' and prev is distinct from 'DOWN' and at >= $2::timestamptz))::int as failures,
    (count(*) filter (where prev = 'DOWN' and status <> 'DOWN' and at >= $2::timestamptz))::int as repairs
  from seg group by machine_id
),
c as (
  select machine_id, sum(good)::float8 as good, sum(scrap)::float8 as scrap from production_counts
  where machine_id = any($1::text::int[]) and at >= $2::timestamptz and at < $4::timestamptz group by machine_id
)
select m.machine_id, t.running, t.idle, t.down, t.maintenance, t.offline, t.failures, t.repairs, c.good, c.scrap
from m left join t on t.machine_id = m.machine_id left join c on c.machine_id = m.machine_id`,
);

type KpiRow = {
  machine_id: number;
  running: number | null;
  idle: number | null;
  down: number | null;
  maintenance: number | null;
  offline: number | null;
  failures: number | null;
  repairs: number | null;
  good: number | null;
  scrap: number | null;
};

/** A machine as the KPIs need it: its ID and ideal cycle. */
export type KpiMachine = Pick<MachineInfo, 'id' | 'idealCycleSeconds'>;

/** A machine's KPIs from the totals its statement returned (null totals: nothing recorded in the window). */
export function machineKpisFrom(
  machine: KpiMachine,
  t: Omit<KpiRow, 'machine_id'> | null | undefined,
  from: Date,
  to: Date,
  windowSeconds: number,
): MachineKpis {
  const running = t?.running ?? 0;
  const idle = t?.idle ?? 0;
  const down = t?.down ?? 0;
  const maintenance = t?.maintenance ?? 0;
  const offline = t?.offline ?? 0;
  const known = running + idle + down + maintenance + offline;
  const good = Number(t?.good ?? 0);
  const scrap = Number(t?.scrap ?? 0);
  const ideal = machine.idealCycleSeconds;
  const hasIdeal = ideal !== null && ideal > 0;
  return {
    machineId: machine.id,
    idealCycleSeconds: ideal,
    ...kpisFrom({
      from,
      to,
      runningSeconds: running,
      idleSeconds: idle,
      downSeconds: down,
      maintenanceSeconds: maintenance,
      offlineSeconds: offline,
      // Times are exact to the microsecond; round away the float noise of the subtraction.
      unknownSeconds: Math.max(0, Math.round((windowSeconds - known) * 1e6) / 1e6),
      plannedSeconds: running + idle + down,
      failures: t?.failures ?? 0,
      repairs: t?.repairs ?? 0,
      goodCount: good,
      scrapCount: scrap,
      totalCount: good + scrap,
      idealSeconds: hasIdeal ? ideal * (good + scrap) : 0,
      runningSecondsWithIdeal: hasIdeal ? running : 0,
    }),
  };
}

/** The end of a KPI window: `to` or now, whichever is earlier (time that has not happened counts for nothing). */
export function windowEnd(from: Date, to: Date, now: Date): Date {
  return new Date(Math.max(from.getTime(), Math.min(to.getTime(), now.getTime())));
}

/**
 * One machine's KPI totals over [from, to) as a correlated subquery on `machineId` (a column of the outer query): a
 * JSON object with the fields of the per-machine statement and `windowSeconds`, for `machineKpisFrom`. Added to the
 * machine rows' own query, the OEE of any number of machines costs no statement of its own.
 */
export function machineKpiTotalsSql(machineId: SQLWrapper, from: Date, to: Date, now: Date): SQL {
  const f = from.toISOString();
  const e = windowEnd(from, to, now).toISOString();
  const t = to.toISOString();
  const secs = (status: string) => sql`coalesce(sum(extract(epoch from stop - start)) filter (where status = ${status} and stop > start), 0)::float8`;
  return sql`(select json_build_object(
      'running', ${secs('RUNNING')}, 'idle', ${secs('IDLE')}, 'down', ${secs('DOWN')}, 'maintenance', ${secs('MAINTENANCE')}, 'offline', ${secs('OFFLINE')},
      'failures', (count(*) filter (where status = 'DOWN' and prev is distinct from 'DOWN' and at >= ${f}::timestamptz))::int,
      'repairs', (count(*) filter (where prev = 'DOWN' and status <> 'DOWN' and at >= ${f}::timestamptz))::int,
      'good', (select coalesce(sum(pc.good), 0)::float8 from production_counts pc where pc.machine_id = ${machineId} and pc.at >= ${f}::timestamptz and pc.at < ${t}::timestamptz),
      'scrap', (select coalesce(sum(pc.scrap), 0)::float8 from production_counts pc where pc.machine_id = ${machineId} and pc.at >= ${f}::timestamptz and pc.at < ${t}::timestamptz),
      'windowSeconds', extract(epoch from (${e}::timestamptz - ${f}::timestamptz))::float8)
    from (
      select status, at, lag(status) over w as prev, greatest(at, ${f}::timestamptz) as start, coalesce(lead(at) over w, ${e}::timestamptz) as stop
      from (
        (select ms.status, ms.at from machine_states ms where ms.machine_id = ${machineId} and ms.at <= ${f}::timestamptz order by ms.at desc limit 2)
        union all
        (select ms.status, ms.at from machine_states ms where ms.machine_id = ${machineId} and ms.at > ${f}::timestamptz and ms.at < ${e}::timestamptz)
      ) s
      window w as (order by at)
    ) seg)`;
}

/**
 * KPIs of each machine over [from, to), in one statement whatever the number of machines, plus one to read the
 * machines' ideal cycles from the twin when given IDs only. Unknown IDs are left out.
 */
export async function machineKpis(
  q: Queryable,
  machines: readonly number[] | readonly KpiMachine[],
  from: Date,
  to: Date,
  now: Date,
): Promise<Map<number, MachineKpis>> {
  checkWindow(from, to);
  const out = new Map<number, MachineKpis>();
  if (machines.length === 0) return out;
  const idList = [...new Set(machines.map((m) => (typeof m === 'number' ? m : m.id)))];
  const ids = intArray(idList);
  const end = windowEnd(from, to, now);
  const windowSeconds = (end.getTime() - from.getTime()) / 1000;
  const [infos, rows] = await Promise.all([
    typeof machines[0] === 'number' ? liveTwin(q).machines({ ids: idList }) : (machines as readonly KpiMachine[]),
    q.query<KpiRow>(MACHINE_KPIS, [ids, from.toISOString(), end.toISOString(), to.toISOString()]),
  ]);
  const rowOf = new Map(rows.map((r) => [r.machine_id, r]));
  for (const machine of infos) out.set(machine.id, machineKpisFrom(machine, rowOf.get(machine.id), from, to, windowSeconds));
  return out;
}

/** Sums times and counts over machines, then computes the ratios. */
export function rollUp(from: Date, to: Date, machines: readonly MachineKpis[]): Kpis {
  const sum = (f: (m: MachineKpis) => number) => machines.reduce((a, m) => a + f(m), 0);
  return kpisFrom({
    from,
    to,
    runningSeconds: sum((m) => m.runningSeconds),
    idleSeconds: sum((m) => m.idleSeconds),
    downSeconds: sum((m) => m.downSeconds),
    maintenanceSeconds: sum((m) => m.maintenanceSeconds),
    offlineSeconds: sum((m) => m.offlineSeconds),
    unknownSeconds: sum((m) => m.unknownSeconds),
    plannedSeconds: sum((m) => m.plannedSeconds),
    failures: sum((m) => m.failures),
    repairs: sum((m) => m.repairs),
    goodCount: sum((m) => m.goodCount),
    scrapCount: sum((m) => m.scrapCount),
    totalCount: sum((m) => m.totalCount),
    idealSeconds: sum((m) => m.idealSeconds),
    runningSecondsWithIdeal: sum((m) => m.runningSecondsWithIdeal),
  });
}

/** KPIs of each plant (its machines rolled up), in three statements whatever the number of plants and machines. */
export async function plantKpis(q: Queryable, plantIds: readonly number[], from: Date, to: Date, now: Date): Promise<Map<number, PlantKpis>> {
  checkWindow(from, to);
  const out = new Map<number, PlantKpis>();
  if (plantIds.length === 0) return out;
  const rows = await liveTwin(q).machines({ plantIds: [...new Set(plantIds)] });
  const perMachine = await machineKpis(q, rows, from, to, now);
  for (const plantId of plantIds) {
    const list = rows
      .filter((r) => r.plantId === plantId)
      .map((r) => perMachine.get(r.id)!)
      .filter(Boolean);
    out.set(plantId, { plantId, machines: list, ...rollUp(from, to, list) });
  }
  return out;
}
