/**
 * Comparing two plans of a plant: a scenario's schedule against the live plan (the plant's current schedule) or
 * against another scenario's. KPI deltas come from the stored KPIs; orders that became late or early and by how much,
 * and operations that moved or changed machine, are computed here from the stored operations and each side's due
 * dates (the live twin's, or the scenario's overlaid ones). Reads are batched: any number of comparisons load their
 * schedules in two statements.
 */
import type { Queryable } from '../db/client.ts';
import { intArray } from '../db/arrays.ts';
import type { OrderInfo } from '../twin/snapshot.ts';

/** A start that differs by more than this is a moved operation. */
export const MOVED_TOLERANCE_MINUTES = 1;

export interface StoredKpis {
  makespanMinutes: number;
  totalTardinessMinutes: number;
  weightedTardinessMinutes: number;
  onTimeRate: number;
  lateOrders: number;
  utilization: Record<string, number>;
}

export interface PlanOperation {
  /** `o:<order id>` for a live order, `c:<change id>` for an order a scenario adds. */
  order: string;
  orderId: number | null;
  step: number;
  machineId: number;
  start: number;
  end: number;
}

export interface LoadedPlan {
  id: number;
  startsAt: Date;
  kpis: StoredKpis;
  operations: PlanOperation[];
}

/** Stored schedules with their operations (two statements for any number). */
export async function loadPlans(q: Queryable, ids: readonly number[]): Promise<Map<number, LoadedPlan>> {
  const out = new Map<number, LoadedPlan>();
  const unique = [...new Set(ids)];
  if (unique.length === 0) return out;
  const rows = await q.query<{ id: number; starts_at: Date; kpis: unknown }>('select id, starts_at, kpis from schedules where id = any($1::text::int[])', [
    intArray(unique),
  ]);
  for (const r of rows)
    out.set(Number(r.id), {
      id: Number(r.id),
      startsAt: new Date(r.starts_at),
      kpis: (typeof r.kpis === 'string' ? JSON.parse(r.kpis) : r.kpis) as StoredKpis,
      operations: [],
    });
  const ops = await q.query<{
    schedule_id: number;
    order_id: number | null;
    scenario_order_id: number | null;
    step_index: number;
    machine_id: number;
    s: number;
    e: number;
  }>(
    `select so.schedule_id, so.order_id, so.scenario_order_id, so.step_index, so.machine_id,
       extract(epoch from so.starts_at) * 1000 as s, extract(epoch from so.ends_at) * 1000 as e
     from scheduled_operations so where so.schedule_id = any($1::text::int[]) order by so.schedule_id, so.order_id, so.scenario_order_id, so.step_index`,
    [intArray(unique)],
  );
  for (const r of ops)
    out.get(Number(r.schedule_id))?.operations.push({
      order: r.order_id !== null ? `o:${r.order_id}` : `c:${r.scenario_order_id}`,
      orderId: r.order_id === null ? null : Number(r.order_id),
      step: r.step_index,
      machineId: r.machine_id,
      start: Number(r.s),
      end: Number(r.e),
    });
  return out;
}

export interface KpiDelta {
  name: string;
  base: number | null;
  scenario: number | null;
  delta: number | null;
}

export type OrderChange = 'BECAME_LATE' | 'BECAME_ON_TIME' | 'LATER' | 'EARLIER' | 'ADDED' | 'REMOVED';

export interface OrderDelta {
  code: string;
  orderId: number | null;
  change: OrderChange;
  baseEnd: Date | null;
  scenarioEnd: Date | null;
  /** scenarioEnd − baseEnd in minutes (null when the order is in one plan only). */
  deltaMinutes: number | null;
  /** Minutes after its due date in each plan (0: on time; null: not in that plan). */
  baseLateMinutes: number | null;
  scenarioLateMinutes: number | null;
}

export interface PlanComparison {
  baseScheduleId: number | null;
  scenarioScheduleId: number | null;
  kpis: KpiDelta[];
  /** Operations in both plans whose start moved by more than MOVED_TOLERANCE_MINUTES or that changed machine. */
  movedOperations: number;
  /** Of those, the ones on another machine. */
  reassignedOperations: number;
  /** Operations in both plans. */
  comparedOperations: number;
  /** Every order whose planned end moved by more than the tolerance, became late or on time, or is in one plan only. */
  orders: OrderDelta[];
}

const KPI_NAMES = ['makespanMinutes', 'totalTardinessMinutes', 'weightedTardinessMinutes', 'onTimeRate', 'lateOrders', 'meanUtilization'] as const;

function kpiValue(k: StoredKpis | undefined, name: (typeof KPI_NAMES)[number]): number | null {
  if (!k) return null;
  if (name === 'meanUtilization') {
    const values = Object.values(k.utilization ?? {});
    return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
  }
  const v = k[name];
  return typeof v === 'number' ? v : null;
}

export interface PlanOrder {
  code: string;
  dueAt: Date;
}

/** Each order's key in a plan (`o:<id>` or `c:<change id>`) → its code and due date, from a twin's orders. */
export function planOrders(orders: readonly OrderInfo[]): Map<string, PlanOrder> {
  return new Map(orders.map((o) => [o.id > 0 ? `o:${o.id}` : `c:${-o.id}`, { code: o.code, dueAt: o.dueAt }]));
}

const ends = (plan: LoadedPlan | null) => {
  const out = new Map<string, { orderId: number | null; end: number }>();
  for (const op of plan?.operations ?? []) {
    const cur = out.get(op.order);
    if (!cur || op.end > cur.end) out.set(op.order, { orderId: op.orderId, end: op.end });
  }
  return out;
};

export function comparePlans(
  base: LoadedPlan | null,
  scenario: LoadedPlan | null,
  baseOrders: ReadonlyMap<string, PlanOrder>,
  scenarioOrders: ReadonlyMap<string, PlanOrder>,
): PlanComparison {
  const kpis = KPI_NAMES.map((name): KpiDelta => {
    const b = kpiValue(base?.kpis, name);
    const s = kpiValue(scenario?.kpis, name);
    return { name, base: b, scenario: s, delta: b !== null && s !== null ? s - b : null };
  });
  const tol = MOVED_TOLERANCE_MINUTES * 60_000;
  const baseOps = new Map((base?.operations ?? []).map((o) => [`${o.order}#${o.step}`, o]));
  let moved = 0;
  let reassigned = 0;
  let compared = 0;
  for (const o of scenario?.operations ?? []) {
    const b = baseOps.get(`${o.order}#${o.step}`);
    if (!b) continue;
    compared++;
    if (b.machineId !== o.machineId) {
      moved++;
      reassigned++;
    } else if (Math.abs(b.start - o.start) > tol) moved++;
  }
  const be = ends(base);
  const se = ends(scenario);
  const late = (due: Date | undefined, end: number) => (due ? Math.max(0, (end - due.getTime()) / 60_000) : 0);
  const orders: OrderDelta[] = [];
  for (const key of new Set([...be.keys(), ...se.keys()])) {
    const b = be.get(key);
    const s = se.get(key);
    const bl = b ? late(baseOrders.get(key)?.dueAt, b.end) : null;
    const sl = s ? late(scenarioOrders.get(key)?.dueAt, s.end) : null;
    let change: OrderChange | null = null;
    if (!b) change = 'ADDED';
    else if (!s) change = 'REMOVED';
    else if (bl === 0 && sl! > 0) change = 'BECAME_LATE';
    else if (bl! > 0 && sl === 0) change = 'BECAME_ON_TIME';
    else if (s.end - b.end > tol) change = 'LATER';
    else if (b.end - s.end > tol) change = 'EARLIER';
    if (!change) continue;
    orders.push({
      code: scenarioOrders.get(key)?.code ?? baseOrders.get(key)?.code ?? key,
      orderId: (s ?? b)!.orderId,
      change,
      baseEnd: b ? new Date(b.end) : null,
      scenarioEnd: s ? new Date(s.end) : null,
      deltaMinutes: b && s ? (s.end - b.end) / 60_000 : null,
      baseLateMinutes: bl,
      scenarioLateMinutes: sl,
    });
  }
  orders.sort((x, y) => x.code.localeCompare(y.code));
  return {
    baseScheduleId: base?.id ?? null,
    scenarioScheduleId: scenario?.id ?? null,
    kpis,
    movedOperations: moved,
    reassignedOperations: reassigned,
    comparedOperations: compared,
    orders,
  };
}
