/**
 * Reading scenarios in bulk: the overlaid machines and orders of any number of scenarios, in one statement for their
 * changes plus the live twin's statements once per plant (shared by every scenario of that plant), and the newest
 * schedule of each. GraphQL list fields go through here, never one overlay per row.
 */
import type { Queryable } from '../db/client.ts';
import { intArray } from '../db/arrays.ts';
import { addedOrderId, overlayTwin, type ScenarioChange } from '../twin/overlay.ts';
import { liveTwin, type MachineInfo, type OrderInfo, type TwinSnapshot } from '../twin/snapshot.ts';

export interface ScenarioMachineView extends MachineInfo {
  /** The machine's live rate factor (rateFactor is the scenario's). */
  liveRateFactor: number;
  /** The scenario's machine-down windows of this machine. */
  downtime: { from: Date; to: Date }[];
}

export interface ScenarioOrderView extends OrderInfo {
  /** The live order's ID (null for an order the scenario adds). */
  liveId: number | null;
  added: boolean;
  /** The scenario changes the order (its due date, quantity, priority, or cancels it). */
  changed: boolean;
}

export interface ScenarioView {
  machines: ScenarioMachineView[];
  orders: ScenarioOrderView[];
}

/** A TwinSnapshot whose reads are shared: the same call with the same arguments runs once. */
function memo(base: TwinSnapshot): TwinSnapshot {
  const cache = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    let p = cache.get(key) as Promise<T> | undefined;
    if (!p) cache.set(key, (p = fn()));
    return p;
  };
  return {
    plants: (ids) => once(`plants:${ids?.join(',')}`, () => base.plants(ids)),
    machines: (f) => once(`machines:${f.ids?.join(',')}:${f.plantIds?.join(',')}`, () => base.machines(f)),
    machineNames: () => once('names', () => base.machineNames()),
    lines: (id) => once(`lines:${id}`, () => base.lines(id)),
    products: (id) => once(`products:${id}`, () => base.products(id)),
    orders: (id, st, ids) => once(`orders:${id}:${st?.join(',')}:${ids?.join(',')}`, () => base.orders(id, st, ids)),
    maintenanceWindows: (id, from, to) => once(`mw:${id}:${from.getTime()}:${to.getTime()}`, () => base.maintenanceWindows(id, from, to)),
    downtime: (id) => once(`down:${id}`, () => base.downtime(id)),
  };
}

export async function scenarioViews(q: Queryable, scenarios: readonly { id: number; plantId: number }[], now: Date): Promise<Map<number, ScenarioView>> {
  const out = new Map<number, ScenarioView>();
  if (scenarios.length === 0) return out;
  const rows = await q.query<{ id: number; scenario_id: number; kind: ScenarioChange['kind']; payload: unknown }>(
    'select id, scenario_id, kind, payload from scenario_changes where scenario_id = any($1::text::int[]) order by scenario_id, id',
    [intArray(scenarios.map((s) => s.id))],
  );
  const bySc = new Map<number, ScenarioChange[]>();
  for (const r of rows) {
    let list = bySc.get(Number(r.scenario_id));
    if (!list) bySc.set(Number(r.scenario_id), (list = []));
    list.push({ id: Number(r.id), kind: r.kind, payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as never });
  }
  const base = memo(liveTwin(q));
  await Promise.all(
    scenarios.map(async (s) => {
      const changes = bySc.get(s.id) ?? [];
      const twin = overlayTwin(base, s.plantId, changes, () => now);
      const [live, machines, orders] = await Promise.all([
        base.machines({ plantIds: [s.plantId] }),
        twin.machines({ plantIds: [s.plantId] }),
        twin.orders(s.plantId),
      ]);
      const liveRate = new Map(live.map((m) => [m.id, m.rateFactor]));
      const touched = new Set<number>();
      for (const c of changes) if ('orderId' in c.payload) touched.add(c.payload.orderId);
      out.set(s.id, {
        machines: machines.map((m) => ({
          ...m,
          liveRateFactor: liveRate.get(m.id) ?? m.rateFactor,
          downtime: changes.flatMap((c) =>
            c.kind === 'MACHINE_DOWN' && c.payload.machineId === m.id ? [{ from: new Date(c.payload.from), to: new Date(c.payload.to) }] : [],
          ),
        })),
        orders: orders.map((o) => ({ ...o, liveId: o.id > 0 ? o.id : null, added: o.id < 0, changed: touched.has(o.id) })),
      });
    }),
  );
  return out;
}

export { addedOrderId };
