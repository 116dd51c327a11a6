/**
 * The scheduling problem of a plant, read from a TwinSnapshot (the live twin, later a scenario): its open orders
 * (PLANNED, RELEASED, IN_PROGRESS) with quantities, routings with eligible machines and machine-dependent times and
 * setups, release times, due dates and priorities; machines with their rate factors, their maintenance windows and,
 * for machines not available now (DOWN, MAINTENANCE, OFFLINE), an expected repair time from the start. Operations
 * that had started before the start in the previous current schedule stay fixed there; a planner's pins hold.
 *
 * Times are minutes from `start`. Duration on machine m = quantity × minutes per unit on m / rate factor of m; the
 * setup is added once per operation (occupancy = duration + setup).
 */
import type { MachineInfo, OrderInfo, ProductInfo, TwinSnapshot } from '../../twin/snapshot.ts';
import { InfeasibleProblemError, type JobSpec, type MachineSpec, type ScheduleProblem } from './problem.ts';

/** What the twin problem remembers about each job, to map the solver's answer back to rows. */
export interface TwinProblemIndex {
  start: Date;
  horizonEnd: Date;
  /** Job id (the order's ID as a string) → the order. */
  orders: Map<string, OrderInfo>;
  machines: Map<string, MachineInfo>;
  /** Setup minutes of each (job, step, machine): `${job}#${step}@${machine}`. */
  setups: Map<string, number>;
  /** Operations fixed because they had started: `${job}#${step}`. */
  fixed: Set<string>;
  pinned: Set<string>;
  /** Job id → the routing step index (step_index) of each operation, in order. */
  steps: Map<string, number[]>;
  /** Orders with no routing: nothing to schedule. */
  skipped: { orderId: number; code: string; reason: string }[];
}

export interface StartedOperation {
  orderId: number;
  stepIndex: number;
  machineId: number;
  startsAt: Date;
}

export interface OperationPin {
  orderId: number;
  stepIndex: number;
  machineId: number | null;
  startsAt: Date | null;
}

export interface TwinProblemOptions {
  start: Date;
  /** Minutes a machine that is not available now stays out from the start (default 120). */
  repairMinutes?: number;
  /** Operations of the current schedule that had started before `start` (they stay fixed). */
  started?: readonly StartedOperation[];
  pins?: readonly OperationPin[];
  /** Risk-aware planning: failure risk (0..1) per machine ID, and what to do with machines over the threshold. */
  risk?: { byMachine: ReadonlyMap<number, number>; threshold: number; mode: 'AVOID' | 'DERATE' };
}

export const DEFAULT_REPAIR_MINUTES = 120;
const OPEN = ['PLANNED', 'RELEASED', 'IN_PROGRESS'] as const;

const minutesFrom = (start: Date, d: Date) => (d.getTime() - start.getTime()) / 60_000;

export async function twinScheduleProblem(
  twin: TwinSnapshot,
  plantId: number,
  options: TwinProblemOptions,
): Promise<{ problem: ScheduleProblem; index: TwinProblemIndex }> {
  const start = options.start;
  const [[plant], machines, products, orders, down] = await Promise.all([
    twin.plants([plantId]),
    twin.machines({ plantIds: [plantId] }),
    twin.products(plantId),
    twin.orders(plantId, OPEN),
    twin.downtime(plantId),
  ]);
  const horizonEnd = new Date(start.getTime() + plant.planningHorizonHours * 3_600_000);
  // Windows far past the horizon still bind a plan that runs late: read ten horizons ahead.
  const windows = await twin.maintenanceWindows(plantId, start, new Date(start.getTime() + 10 * plant.planningHorizonHours * 3_600_000));
  const repair = options.repairMinutes ?? DEFAULT_REPAIR_MINUTES;

  const machineSpecs = new Map<number, MachineSpec>();
  const unavailable = new Map<number, NonNullable<MachineSpec['unavailable']>>();
  for (const m of machines) {
    const list: NonNullable<MachineSpec['unavailable']> = [];
    unavailable.set(m.id, list);
    machineSpecs.set(m.id, { id: String(m.id), unavailable: list });
  }
  for (const w of windows)
    unavailable
      .get(w.machineId)
      ?.push({ start: Math.max(0, minutesFrom(start, w.startsAt)), end: minutesFrom(start, w.endsAt), kind: w.kind ?? 'MAINTENANCE' });
  for (const d of down) if (repair > 0) unavailable.get(d.machineId)?.push({ start: 0, end: repair, kind: 'DOWNTIME' });

  const machineById = new Map(machines.map((m) => [m.id, m]));
  const productById = new Map<number, ProductInfo>(products.map((p) => [p.id, p]));
  const startedByOp = new Map((options.started ?? []).map((s) => [`${s.orderId}#${s.stepIndex}`, s]));
  const pinByOp = new Map((options.pins ?? []).map((p) => [`${p.orderId}#${p.stepIndex}`, p]));
  const index: TwinProblemIndex = {
    start,
    horizonEnd,
    orders: new Map(),
    machines: new Map(machines.map((m) => [String(m.id), m])),
    setups: new Map(),
    fixed: new Set(),
    pinned: new Set(),
    steps: new Map(),
    skipped: [],
  };
  const noMachine: { order: OrderInfo; step: number }[] = [];
  const lateRelease: OrderInfo[] = [];
  const jobs: JobSpec[] = [];
  for (const order of orders) {
    const product = productById.get(order.productId);
    if (!product || product.routing.length === 0) {
      index.skipped.push({ orderId: order.id, code: order.code, reason: 'its product has no routing' });
      continue;
    }
    if (order.releaseAt && order.releaseAt.getTime() > horizonEnd.getTime()) {
      lateRelease.push(order);
      continue;
    }
    const job = String(order.id);
    let release = order.releaseAt ? Math.max(0, minutesFrom(start, order.releaseAt)) : 0;
    const operations: JobSpec['operations'] = [];
    for (const step of product.routing) {
      const own = new Map(step.machineTimes.map((t) => [t.machineId, t]));
      const opts: JobSpec['operations'][number]['options'] = [];
      const addOption = (machineId: number, rate: number) => {
        const t = own.get(machineId);
        const setup = t ? t.setupMinutes : step.setupMinutes;
        index.setups.set(`${job}#${step.index}@${machineId}`, setup);
        opts.push({ machine: String(machineId), duration: (order.quantity * (t ? t.minutesPerUnit : step.minutesPerUnit)) / rate, setup });
      };
      const eligible = step.machineIds.filter((id) => machineById.has(id));
      for (const machineId of eligible) {
        const rate = machineById.get(machineId)!.rateFactor || 1;
        const risk = options.risk?.byMachine.get(machineId);
        if (options.risk && risk !== undefined && risk > options.risk.threshold) {
          if (options.risk.mode === 'AVOID') continue;
          addOption(machineId, rate * Math.max(0.01, 1 - risk));
        } else addOption(machineId, rate);
      }
      // Avoiding risky machines must not make an operation impossible: fall back to every eligible machine.
      if (opts.length === 0 && eligible.length > 0) for (const machineId of eligible) addOption(machineId, machineById.get(machineId)!.rateFactor || 1);
      if (opts.length === 0) {
        noMachine.push({ order, step: step.index });
        continue;
      }
      const key = `${order.id}#${step.index}`;
      const started = startedByOp.get(key);
      const pin = pinByOp.get(key);
      const op: JobSpec['operations'][number] = { id: `${order.code}#${step.index}`, options: opts };
      if (started && opts.some((o) => o.machine === String(started.machineId))) {
        op.fixed = { machine: String(started.machineId), start: minutesFrom(start, started.startsAt) };
        index.fixed.add(`${job}#${operations.length}`);
        if (operations.length === 0) release = Math.min(release, op.fixed.start);
      } else if (pin) {
        op.pin = {};
        if (pin.machineId !== null) op.pin.machine = String(pin.machineId);
        if (pin.startsAt !== null) op.pin.start = Math.max(release, minutesFrom(start, pin.startsAt));
        index.pinned.add(`${job}#${operations.length}`);
      }
      operations.push(op);
    }
    index.orders.set(job, order);
    index.steps.set(
      job,
      product.routing.map((s) => s.index),
    );
    jobs.push({ id: job, release, due: minutesFrom(start, order.dueAt), weight: 1 + order.priority, operations });
  }
  if (noMachine.length > 0)
    throw new InfeasibleProblemError(
      `${noMachine.length === 1 ? 'an operation has' : `${noMachine.length} operations have`} no eligible machine: ${noMachine
        .slice(0, 10)
        .map((x) => `order ${x.order.code} step ${x.step}`)
        .join(', ')}; give each routing step at least one machine of the plant`,
      [...new Set(noMachine.map((x) => x.order.code))],
      noMachine.map((x) => `${x.order.code}#${x.step}`),
      [],
    );
  if (lateRelease.length > 0)
    throw new InfeasibleProblemError(
      `${lateRelease.length === 1 ? 'an order is' : `${lateRelease.length} orders are`} released after the planning horizon (${horizonEnd.toISOString()}): ${lateRelease
        .slice(0, 10)
        .map((o) => `${o.code} (${o.releaseAt!.toISOString()})`)
        .join(', ')}; lengthen the plant's planningHorizonHours or move the release`,
      lateRelease.map((o) => o.code),
      [],
      [],
    );
  return { problem: { machines: [...machineSpecs.values()], jobs }, index };
}
