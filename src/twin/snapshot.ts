import { type Queryable, statement } from '../db/client.ts';
import type { MachineStatus, OrderStatus } from '../db/schema/index.ts';
import { intArray, textArray } from '../db/arrays.ts';

/**
 * The twin read model. Capabilities built on the twin (telemetry, alerts, and later predictions, the scheduler and
 * scenarios) read plants, lines, machines, products with routings and orders only through a TwinSnapshot, never the
 * twin tables. `liveTwin` reads the live twin; a scenario will lay its changes over it behind the same interface, so
 * every capability works the same on a scenario. Every method is one statement, whatever the number of rows.
 */
export interface TwinSnapshot {
  plants(ids?: readonly number[]): Promise<PlantInfo[]>;
  /** Machines by ID and/or plant (both filters apply when both are given), ordered by ID. */
  machines(filter: MachineFilter): Promise<MachineInfo[]>;
  /** Every machine with its plant's and its own name (for bridges that address machines by name). */
  machineNames(): Promise<MachineName[]>;
  lines(plantId: number): Promise<LineInfo[]>;
  products(plantId: number): Promise<ProductInfo[]>;
  /** A plant's orders by due date, optionally only of some statuses and/or IDs. */
  orders(plantId: number, statuses?: readonly OrderStatus[], ids?: readonly number[]): Promise<OrderInfo[]>;
  /** Maintenance windows of a plant's machines that overlap [from, to), by machine and start. */
  maintenanceWindows(plantId: number, from: Date, to: Date): Promise<MaintenanceWindowInfo[]>;
  /** Machines of a plant that are not available now (DOWN, MAINTENANCE or OFFLINE), with since when. */
  downtime(plantId: number): Promise<{ machineId: number; status: MachineStatus; since: Date | null }[]>;
}

export interface PlantInfo {
  id: number;
  name: string;
  timezone: string;
  /** How far ahead the scheduler plans, in hours. */
  planningHorizonHours: number;
}

export interface MaintenanceWindowInfo {
  id: number;
  machineId: number;
  startsAt: Date;
  endsAt: Date;
  reason: string | null;
  /** MAINTENANCE (planned, the default) or DOWNTIME (a scenario's machine-down window). */
  kind?: 'MAINTENANCE' | 'DOWNTIME';
}

export interface MachineInfo {
  id: number;
  plantId: number;
  lineId: number;
  name: string;
  kind: string | null;
  idealCycleSeconds: number | null;
  /** Speed against the routings' times (1 = as routed; 0.8 takes 1/0.8 of the time). */
  rateFactor: number;
  status: MachineStatus;
  statusSince: Date | null;
}

export interface MachineName {
  id: number;
  plantId: number;
  plant: string;
  machine: string;
}

export interface MachineFilter {
  ids?: readonly number[];
  plantIds?: readonly number[];
}

export interface LineInfo {
  id: number;
  plantId: number;
  name: string;
}

export interface RoutingStepInfo {
  index: number;
  minutesPerUnit: number;
  setupMinutes: number;
  machineIds: number[];
  /** Machines whose own time for the step differs from the step's (the others take the step's). */
  machineTimes: { machineId: number; minutesPerUnit: number; setupMinutes: number }[];
}

export interface ProductInfo {
  id: number;
  plantId: number;
  name: string;
  routing: RoutingStepInfo[];
}

export interface OrderInfo {
  id: number;
  plantId: number;
  productId: number;
  code: string;
  quantity: number;
  releaseAt: Date | null;
  dueAt: Date;
  priority: number;
  status: OrderStatus;
}

const MACHINES = statement(
  'twin_machines',
  `select id, plant_id, line_id, name, kind, ideal_cycle_seconds, rate_factor, status, status_since from machines
   where ($1::text is null or id = any($1::text::int[])) and ($2::text is null or plant_id = any($2::text::int[]))
   order by id`,
);

const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string));

type MachineRow = {
  id: number;
  plant_id: number;
  line_id: number;
  name: string;
  kind: string | null;
  ideal_cycle_seconds: number | null;
  rate_factor: number;
  status: MachineStatus;
  status_since: Date | null;
};
const toMachine = (r: MachineRow): MachineInfo => ({
  id: r.id,
  plantId: r.plant_id,
  lineId: r.line_id,
  name: r.name,
  kind: r.kind,
  idealCycleSeconds: r.ideal_cycle_seconds,
  rateFactor: Number(r.rate_factor),
  status: r.status,
  statusSince: date(r.status_since),
});

/** The live twin, read through `q` (the database, or an open transaction so that reads see its writes). */
export function liveTwin(q: Queryable): TwinSnapshot {
  return {
    async plants(ids) {
      const rows = await q.query<PlantInfo>(
        `select id, name, timezone, planning_horizon_hours as "planningHorizonHours" from plants ${ids ? 'where id = any($1::text::int[])' : ''} order by id`,
        ids ? [intArray(ids)] : [],
      );
      return rows;
    },
    async machines(filter) {
      if ((filter.ids && filter.ids.length === 0) || (filter.plantIds && filter.plantIds.length === 0)) return [];
      const rows = await q.query<MachineRow>(MACHINES, [
        filter.ids ? intArray([...new Set(filter.ids)]) : null,
        filter.plantIds ? intArray(filter.plantIds) : null,
      ]);
      return rows.map(toMachine);
    },
    machineNames() {
      return q.query<MachineName>(
        'select m.id, m.plant_id as "plantId", p.name as plant, m.name as machine from machines m join plants p on p.id = m.plant_id order by m.id',
      );
    },
    lines(plantId) {
      return q.query<LineInfo>('select id, plant_id as "plantId", name from lines where plant_id = $1 order by id', [plantId]);
    },
    async products(plantId) {
      const rows = await q.query<{ id: number; name: string; routing: RoutingStepInfo[] | null }>(
        `select p.id, p.name, (
           select json_agg(json_build_object('index', s.step_index, 'minutesPerUnit', s.minutes_per_unit, 'setupMinutes', s.setup_minutes,
             'machineIds', (select coalesce(json_agg(sm.machine_id order by sm.machine_id), '[]') from routing_step_machines sm where sm.step_id = s.id),
             'machineTimes', (select coalesce(json_agg(json_build_object('machineId', sm.machine_id, 'minutesPerUnit', sm.minutes_per_unit,
                 'setupMinutes', coalesce(sm.setup_minutes, s.setup_minutes)) order by sm.machine_id), '[]')
               from routing_step_machines sm where sm.step_id = s.id and sm.minutes_per_unit is not null))
             order by s.step_index)
           from routing_steps s where s.product_id = p.id) as routing
         from products p where p.plant_id = $1 order by p.id`,
        [plantId],
      );
      return rows.map((r) => ({ id: r.id, plantId, name: r.name, routing: r.routing ?? [] }));
    },
    async orders(plantId, statuses, ids) {
      if (ids && ids.length === 0) return [];
      const rows = await q.query<{
        id: number;
        product_id: number;
        code: string;
        quantity: number;
        release_at: Date | null;
        due_at: Date;
        priority: number;
        status: OrderStatus;
      }>(
        `select id, product_id, code, quantity, release_at, due_at, priority, status from orders
         where plant_id = $1 and ($2::text is null or status = any($2::text::order_status[])) and ($3::text is null or id = any($3::text::int[]))
         order by due_at, id`,
        [plantId, statuses ? textArray(statuses) : null, ids ? intArray(ids) : null],
      );
      return rows.map((r) => ({
        id: r.id,
        plantId,
        productId: r.product_id,
        code: r.code,
        quantity: r.quantity,
        releaseAt: date(r.release_at),
        dueAt: new Date(r.due_at),
        priority: r.priority,
        status: r.status,
      }));
    },
    async maintenanceWindows(plantId, from, to) {
      const rows = await q.query<{ id: number; machine_id: number; starts_at: Date; ends_at: Date; reason: string | null }>(
        `select id, machine_id, starts_at, ends_at, reason from maintenance_windows
         where plant_id = $1 and ends_at > $2 and starts_at < $3 order by machine_id, starts_at, id`,
        [plantId, from.toISOString(), to.toISOString()],
      );
      return rows.map((r) => ({ id: r.id, machineId: r.machine_id, startsAt: new Date(r.starts_at), endsAt: new Date(r.ends_at), reason: r.reason }));
    },
    async downtime(plantId) {
      const rows = await q.query<{ id: number; status: MachineStatus; status_since: Date | null }>(
        `select id, status, status_since from machines where plant_id = $1 and status in ('DOWN', 'MAINTENANCE', 'OFFLINE') order by id`,
        [plantId],
      );
      return rows.map((r) => ({ machineId: r.id, status: r.status, since: date(r.status_since) }));
    },
  };
}
