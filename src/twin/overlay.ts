import type { Queryable } from '../db/client.ts';
import type { MachineStatus } from '../db/schema/index.ts';
import { liveTwin, type MaintenanceWindowInfo, type OrderInfo, type TwinSnapshot } from './snapshot.ts';

/**
 * A scenario's changes laid over a TwinSnapshot (copy-on-write: the scenario stores only these rows; nothing is
 * copied). The overlay is computed in memory on top of the base snapshot's statements, so an overlaid read costs the
 * same statements as a live one, plus one to read the changes. Later changes win over earlier ones on the same row.
 *
 * IDs: an order a scenario adds is -(its change ID) in the overlaid twin; a machine-down window is a DOWNTIME window
 * with ID -(its change ID); a maintenance window the scenario adds is a MAINTENANCE window with ID -(its change ID).
 */
export type ScenarioChangeKind =
  | 'MACHINE_DOWN'
  | 'MACHINE_RATE'
  | 'ADD_ORDER'
  | 'CANCEL_ORDER'
  | 'CHANGE_DUE_DATE'
  | 'CHANGE_QUANTITY'
  | 'CHANGE_PRIORITY'
  | 'ADD_MAINTENANCE'
  | 'REMOVE_MAINTENANCE'
  | 'ROUTING_MACHINES';

export interface ScenarioChangePayloads {
  MACHINE_DOWN: { machineId: number; from: string; to: string };
  MACHINE_RATE: { machineId: number; factor: number };
  ADD_ORDER: { productId: number; product: string; code: string; quantity: number; releaseAt: string | null; dueAt: string; priority: number };
  CANCEL_ORDER: { orderId: number };
  CHANGE_DUE_DATE: { orderId: number; dueAt: string };
  CHANGE_QUANTITY: { orderId: number; quantity: number };
  CHANGE_PRIORITY: { orderId: number; priority: number };
  ADD_MAINTENANCE: { machineId: number; from: string; to: string; reason: string | null };
  REMOVE_MAINTENANCE: { windowId: number };
  ROUTING_MACHINES: { productId: number; stepIndex: number; machineIds: number[] };
}

export type ScenarioChange = {
  [K in ScenarioChangeKind]: { id: number; kind: K; payload: ScenarioChangePayloads[K] };
}[ScenarioChangeKind];

/** The order ID an ADD_ORDER change has in the overlaid twin. */
export const addedOrderId = (changeId: number) => -changeId;

/** The changes of a scenario, in the order they were made (one statement). */
export async function scenarioChanges(q: Queryable, scenarioId: number): Promise<ScenarioChange[]> {
  const rows = await q.query<{ id: number; kind: ScenarioChangeKind; payload: unknown }>(
    'select id, kind, payload from scenario_changes where scenario_id = $1 order by id',
    [scenarioId],
  );
  return rows.map((r) => ({ id: Number(r.id), kind: r.kind, payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as never }));
}

/** The live twin with a scenario's changes laid over it. */
export async function scenarioTwin(q: Queryable, scenario: { id: number; plantId: number }, now?: () => Date): Promise<TwinSnapshot> {
  return overlayTwin(liveTwin(q), scenario.plantId, await scenarioChanges(q, scenario.id), now);
}

const overlaps = (w: { startsAt: Date; endsAt: Date }, from: Date, to: Date) => w.endsAt.getTime() > from.getTime() && w.startsAt.getTime() < to.getTime();

/**
 * `base` with the changes of a scenario on plant `plantId` applied (pure: `changes` as stored, validated when they
 * were added). Reads of other plants pass through unchanged.
 */
export function overlayTwin(base: TwinSnapshot, plantId: number, changes: readonly ScenarioChange[], now: () => Date = () => new Date()): TwinSnapshot {
  const scenarioPlant = plantId;
  const rate = new Map<number, number>();
  const down: { id: number; machineId: number; startsAt: Date; endsAt: Date }[] = [];
  const addedWindows: MaintenanceWindowInfo[] = [];
  const removedWindows = new Set<number>();
  const added: ScenarioChange[] = [];
  const orderPatch = new Map<number, Partial<Pick<OrderInfo, 'dueAt' | 'quantity' | 'priority' | 'status'>>>();
  const routing = new Map<string, number[]>();
  const patch = (orderId: number, p: Partial<Pick<OrderInfo, 'dueAt' | 'quantity' | 'priority' | 'status'>>) =>
    orderPatch.set(orderId, { ...orderPatch.get(orderId), ...p });
  for (const c of changes) {
    switch (c.kind) {
      case 'MACHINE_RATE':
        rate.set(c.payload.machineId, c.payload.factor);
        break;
      case 'MACHINE_DOWN':
        down.push({ id: -c.id, machineId: c.payload.machineId, startsAt: new Date(c.payload.from), endsAt: new Date(c.payload.to) });
        break;
      case 'ADD_MAINTENANCE':
        addedWindows.push({
          id: -c.id,
          machineId: c.payload.machineId,
          startsAt: new Date(c.payload.from),
          endsAt: new Date(c.payload.to),
          reason: c.payload.reason,
          kind: 'MAINTENANCE',
        });
        break;
      case 'REMOVE_MAINTENANCE':
        removedWindows.add(c.payload.windowId);
        break;
      case 'ADD_ORDER':
        added.push(c);
        break;
      case 'CANCEL_ORDER':
        patch(c.payload.orderId, { status: 'CANCELLED' });
        break;
      case 'CHANGE_DUE_DATE':
        patch(c.payload.orderId, { dueAt: new Date(c.payload.dueAt) });
        break;
      case 'CHANGE_QUANTITY':
        patch(c.payload.orderId, { quantity: c.payload.quantity });
        break;
      case 'CHANGE_PRIORITY':
        patch(c.payload.orderId, { priority: c.payload.priority });
        break;
      case 'ROUTING_MACHINES':
        routing.set(`${c.payload.productId}#${c.payload.stepIndex}`, c.payload.machineIds);
        break;
    }
  }
  const downNow = (machineId: number) => {
    const t = now().getTime();
    return down.some((d) => d.machineId === machineId && d.startsAt.getTime() <= t && d.endsAt.getTime() > t);
  };
  return {
    plants: (ids) => base.plants(ids),
    async machines(filter) {
      const rows = await base.machines(filter);
      return rows.map((m) => {
        const r = rate.get(m.id);
        const isDown = downNow(m.id);
        if (r === undefined && !isDown) return m;
        return { ...m, rateFactor: r ?? m.rateFactor, ...(isDown && m.status !== 'DOWN' ? { status: 'DOWN' as MachineStatus, statusSince: null } : {}) };
      });
    },
    machineNames: () => base.machineNames(),
    lines: (plantId) => base.lines(plantId),
    async products(plantId) {
      const rows = await base.products(plantId);
      if (routing.size === 0 || plantId !== scenarioPlant) return rows;
      return rows.map((p) => ({
        ...p,
        routing: p.routing.map((s) => {
          const machineIds = routing.get(`${p.id}#${s.index}`);
          if (!machineIds) return s;
          const keep = new Set(machineIds);
          return { ...s, machineIds: [...machineIds].sort((a, b) => a - b), machineTimes: s.machineTimes.filter((t) => keep.has(t.machineId)) };
        }),
      }));
    },
    async orders(plantId, statuses, ids) {
      if (plantId !== scenarioPlant) return base.orders(plantId, statuses, ids);
      const wanted = ids ? new Set(ids) : null;
      const rows = await base.orders(
        plantId,
        undefined,
        ids?.filter((id) => id > 0),
      );
      const out: OrderInfo[] = rows.map((o) => {
        const p = orderPatch.get(o.id);
        return p ? { ...o, ...p } : o;
      });
      for (const c of added) {
        if (c.kind !== 'ADD_ORDER' || (wanted && !wanted.has(addedOrderId(c.id)))) continue;
        const p = c.payload;
        out.push({
          id: addedOrderId(c.id),
          plantId,
          productId: p.productId,
          code: p.code,
          quantity: orderPatch.get(addedOrderId(c.id))?.quantity ?? p.quantity,
          releaseAt: p.releaseAt ? new Date(p.releaseAt) : null,
          dueAt: orderPatch.get(addedOrderId(c.id))?.dueAt ?? new Date(p.dueAt),
          priority: orderPatch.get(addedOrderId(c.id))?.priority ?? p.priority,
          status: orderPatch.get(addedOrderId(c.id))?.status ?? 'PLANNED',
        });
      }
      const kept = statuses ? out.filter((o) => statuses.includes(o.status)) : out;
      return kept.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.id - b.id);
    },
    async maintenanceWindows(plantId, from, to) {
      if (plantId !== scenarioPlant) return base.maintenanceWindows(plantId, from, to);
      const rows = (await base.maintenanceWindows(plantId, from, to)).filter((w) => !removedWindows.has(w.id));
      const extra = [...addedWindows, ...down.map((d): MaintenanceWindowInfo => ({ ...d, reason: 'scenario: machine down', kind: 'DOWNTIME' }))].filter((w) =>
        overlaps(w, from, to),
      );
      if (extra.length === 0) return rows;
      return [...rows, ...extra].sort((a, b) => a.machineId - b.machineId || a.startsAt.getTime() - b.startsAt.getTime() || a.id - b.id);
    },
    downtime: (plantId) => base.downtime(plantId),
  };
}
