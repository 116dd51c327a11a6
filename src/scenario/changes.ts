/**
 * Validating a scenario change against the twin the scenario sees (the live twin with its earlier changes laid
 * over it). Every problem is a ValidationError whose path names the field (`input.machineDown.to`); nothing is
 * stored unless the whole change is valid. Returns the change as stored (row IDs, ISO times) and the basis keys of
 * the live rows it touches (promote checks them).
 */
import { echo, Problems, ValidationError } from '../core/errors.ts';
import { checkName, checkValidDate } from '../core/validate.ts';
import { IMPORT_LIMITS } from '../twin/import.ts';
import { MAINTENANCE_LIMITS } from '../twin/maintenance.ts';
import type { ScenarioChangeKind, ScenarioChangePayloads } from '../twin/overlay.ts';
import type { TwinSnapshot } from '../twin/snapshot.ts';

export const SCENARIO_LIMITS = {
  /** Changes per scenario. */
  changes: 1_000,
  /** Machines a routing step may list. */
  stepMachines: 100,
  /** How far from now a window may start or end. */
  windowYears: 2,
} as const;

/** A change as the API gives it, IDs decoded (null: not an ID of the right type). Exactly one field is set. */
export interface ScenarioChangeInput {
  machineDown?: { machineId: number | null; from: Date; to: Date } | null;
  machineRate?: { machineId: number | null; factor: number } | null;
  addOrder?: { code: string; product: string; quantity: number; releaseAt?: Date | null; dueAt: Date; priority?: number | null } | null;
  cancelOrder?: { orderId: number | null } | null;
  changeDueDate?: { orderId: number | null; dueAt: Date } | null;
  changeQuantity?: { orderId: number | null; quantity: number } | null;
  changePriority?: { orderId: number | null; priority: number } | null;
  addMaintenanceWindow?: { machineId: number | null; from: Date; to: Date; reason?: string | null } | null;
  removeMaintenanceWindow?: { windowId: number | null } | null;
  changeRoutingMachines?: { productId: number | null; step: number; machineIds: (number | null)[] } | null;
}

const FIELDS: Record<keyof ScenarioChangeInput, ScenarioChangeKind> = {
  machineDown: 'MACHINE_DOWN',
  machineRate: 'MACHINE_RATE',
  addOrder: 'ADD_ORDER',
  cancelOrder: 'CANCEL_ORDER',
  changeDueDate: 'CHANGE_DUE_DATE',
  changeQuantity: 'CHANGE_QUANTITY',
  changePriority: 'CHANGE_PRIORITY',
  addMaintenanceWindow: 'ADD_MAINTENANCE',
  removeMaintenanceWindow: 'REMOVE_MAINTENANCE',
  changeRoutingMachines: 'ROUTING_MACHINES',
};

/** The GraphQL input field of each kind (ScenarioChange.kind ↔ ScenarioChangeInput field). */
export const CHANGE_FIELD = Object.fromEntries(Object.entries(FIELDS).map(([f, k]) => [k, f])) as Record<ScenarioChangeKind, keyof ScenarioChangeInput>;

const OPEN = ['PLANNED', 'RELEASED', 'IN_PROGRESS'];

export interface CheckedChange<K extends ScenarioChangeKind = ScenarioChangeKind> {
  kind: K;
  payload: ScenarioChangePayloads[K];
  /** Basis keys of the live rows the change touches. */
  touches: string[];
}

function checkWindow(p: Problems, path: string, from: Date, to: Date, now: Date): void {
  checkValidDate(p, `${path}.from`, from);
  checkValidDate(p, `${path}.to`, to);
  if (!p.empty) return;
  const span = SCENARIO_LIMITS.windowYears * 366 * 86_400_000;
  if (to.getTime() <= from.getTime()) p.add(`${path}.to`, 'must be after from');
  else if (to.getTime() - from.getTime() > MAINTENANCE_LIMITS.maxDays * 86_400_000)
    p.add(`${path}.to`, `a window lasts at most ${MAINTENANCE_LIMITS.maxDays} days`);
  if (Math.abs(from.getTime() - now.getTime()) > span) p.add(`${path}.from`, `must be within ${SCENARIO_LIMITS.windowYears} years of now`);
  if (to.getTime() <= now.getTime()) p.add(`${path}.to`, 'must be in the future (a window that has passed changes no plan)');
}

/**
 * Checks `input` against `twin` (the scenario's overlaid twin of plant `plantId`). `added` lists the codes of orders
 * the scenario already adds; `removedWindows` the live windows it already removes.
 */
export async function checkChange(twin: TwinSnapshot, plantId: number, input: ScenarioChangeInput, now: Date): Promise<CheckedChange> {
  const given = (Object.keys(FIELDS) as (keyof ScenarioChangeInput)[]).filter((f) => input[f] != null);
  if (given.length !== 1)
    throw ValidationError.single('input', `give exactly one change (${Object.keys(FIELDS).join(', ')}); got ${given.length === 0 ? 'none' : given.join(', ')}`);
  const field = given[0];
  const path = `input.${field}`;
  const p = new Problems();
  const machine = async (id: number | null, at: string) => {
    if (id === null) {
      p.add(at, 'not a Machine ID');
      return null;
    }
    const [m] = await twin.machines({ ids: [id], plantIds: [plantId] });
    if (!m) p.add(at, "unknown machine in the scenario's plant");
    return m ?? null;
  };
  const openOrder = async (id: number | null, at: string) => {
    if (id === null) {
      p.add(at, 'not an Order ID');
      return null;
    }
    const [o] = await twin.orders(plantId, undefined, [id]);
    if (!o) p.add(at, "unknown order in the scenario's plant");
    else if (!OPEN.includes(o.status)) p.add(at, `order ${echo(o.code)} is ${o.status} in this scenario; only open orders change`);
    return o && OPEN.includes(o.status) ? o : null;
  };

  switch (field) {
    case 'machineDown':
    case 'addMaintenanceWindow': {
      const c = (input.machineDown ?? input.addMaintenanceWindow)!;
      const m = await machine(c.machineId, `${path}.machineId`);
      checkWindow(p, path, c.from, c.to, now);
      let reason: string | null = null;
      if (field === 'addMaintenanceWindow' && input.addMaintenanceWindow?.reason != null) {
        reason = input.addMaintenanceWindow.reason.trim();
        if (reason.length > MAINTENANCE_LIMITS.reasonLength) p.add(`${path}.reason`, `must be at most ${MAINTENANCE_LIMITS.reasonLength} characters`);
      }
      p.throwIfAny();
      const window = { machineId: m!.id, from: c.from.toISOString(), to: c.to.toISOString() };
      return field === 'machineDown'
        ? { kind: 'MACHINE_DOWN', payload: window, touches: [`machine:${m!.id}`] }
        : { kind: 'ADD_MAINTENANCE', payload: { ...window, reason }, touches: [`windows:${m!.id}`] };
    }
    case 'machineRate': {
      const c = input.machineRate!;
      const m = await machine(c.machineId, `${path}.machineId`);
      if (!Number.isFinite(c.factor) || c.factor <= 0 || c.factor > IMPORT_LIMITS.rateFactor)
        p.add(`${path}.factor`, `must be greater than 0 and at most ${IMPORT_LIMITS.rateFactor} (0.5 = half speed)`);
      p.throwIfAny();
      return { kind: 'MACHINE_RATE', payload: { machineId: m!.id, factor: c.factor }, touches: [`machine:${m!.id}`] };
    }
    case 'addOrder': {
      const c = input.addOrder!;
      const code = checkName(p, `${path}.code`, c.code);
      if (!Number.isInteger(c.quantity) || c.quantity <= 0 || c.quantity > IMPORT_LIMITS.quantity)
        p.add(`${path}.quantity`, `must be a whole number from 1 to ${IMPORT_LIMITS.quantity}`);
      const priority = c.priority ?? 0;
      if (!Number.isInteger(priority) || priority < 0 || priority > IMPORT_LIMITS.priority)
        p.add(`${path}.priority`, `must be a whole number from 0 to ${IMPORT_LIMITS.priority}`);
      checkValidDate(p, `${path}.dueAt`, c.dueAt);
      checkValidDate(p, `${path}.releaseAt`, c.releaseAt);
      if (p.empty && c.releaseAt && c.dueAt.getTime() <= c.releaseAt.getTime()) p.add(`${path}.dueAt`, 'must be after releaseAt');
      const [products, orders] = await Promise.all([twin.products(plantId), twin.orders(plantId)]);
      const name = typeof c.product === 'string' ? c.product.trim() : '';
      const product = products.find((x) => x.name === name);
      if (!product) p.add(`${path}.product`, `unknown product ${echo(name)} in the scenario's plant`);
      if (code && orders.some((o) => o.code === code)) p.add(`${path}.code`, `an order with code ${echo(code)} already exists in this plant or scenario`);
      p.throwIfAny();
      return {
        kind: 'ADD_ORDER',
        payload: {
          productId: product!.id,
          product: product!.name,
          code,
          quantity: c.quantity,
          releaseAt: c.releaseAt ? c.releaseAt.toISOString() : null,
          dueAt: c.dueAt.toISOString(),
          priority,
        },
        touches: [`product:${product!.id}`],
      };
    }
    case 'cancelOrder': {
      const o = await openOrder(input.cancelOrder!.orderId, `${path}.orderId`);
      p.throwIfAny();
      if (o!.id < 0) throw ValidationError.single(`${path}.orderId`, 'the scenario adds this order: remove that change instead');
      return { kind: 'CANCEL_ORDER', payload: { orderId: o!.id }, touches: [`order:${o!.id}`] };
    }
    case 'changeDueDate': {
      const c = input.changeDueDate!;
      const o = await openOrder(c.orderId, `${path}.orderId`);
      checkValidDate(p, `${path}.dueAt`, c.dueAt);
      if (o && p.empty && o.releaseAt && c.dueAt.getTime() <= o.releaseAt.getTime()) p.add(`${path}.dueAt`, "must be after the order's releaseAt");
      p.throwIfAny();
      return { kind: 'CHANGE_DUE_DATE', payload: { orderId: o!.id, dueAt: c.dueAt.toISOString() }, touches: o!.id > 0 ? [`order:${o!.id}`] : [] };
    }
    case 'changeQuantity': {
      const c = input.changeQuantity!;
      const o = await openOrder(c.orderId, `${path}.orderId`);
      if (!Number.isInteger(c.quantity) || c.quantity <= 0 || c.quantity > IMPORT_LIMITS.quantity)
        p.add(`${path}.quantity`, `must be a whole number from 1 to ${IMPORT_LIMITS.quantity}`);
      p.throwIfAny();
      return { kind: 'CHANGE_QUANTITY', payload: { orderId: o!.id, quantity: c.quantity }, touches: o!.id > 0 ? [`order:${o!.id}`] : [] };
    }
    case 'changePriority': {
      const c = input.changePriority!;
      const o = await openOrder(c.orderId, `${path}.orderId`);
      if (!Number.isInteger(c.priority) || c.priority < 0 || c.priority > IMPORT_LIMITS.priority)
        p.add(`${path}.priority`, `must be a whole number from 0 to ${IMPORT_LIMITS.priority}`);
      p.throwIfAny();
      return { kind: 'CHANGE_PRIORITY', payload: { orderId: o!.id, priority: c.priority }, touches: o!.id > 0 ? [`order:${o!.id}`] : [] };
    }
    case 'removeMaintenanceWindow': {
      const id = input.removeMaintenanceWindow!.windowId;
      if (id === null) throw ValidationError.single(`${path}.windowId`, 'not a MaintenanceWindow ID');
      const far = new Date(now.getTime() + SCENARIO_LIMITS.windowYears * 366 * 86_400_000);
      const w = (await twin.maintenanceWindows(plantId, now, far)).find((x) => x.id === id && x.kind !== 'DOWNTIME');
      if (!w || id < 0)
        throw ValidationError.single(
          `${path}.windowId`,
          id < 0 ? 'the scenario adds this window: remove that change instead' : "unknown, past or already removed maintenance window in the scenario's plant",
        );
      return { kind: 'REMOVE_MAINTENANCE', payload: { windowId: id }, touches: [`windows:${w.machineId}`] };
    }
    case 'changeRoutingMachines': {
      const c = input.changeRoutingMachines!;
      if (c.productId === null) p.add(`${path}.productId`, 'not a Product ID');
      const product = c.productId === null ? undefined : (await twin.products(plantId)).find((x) => x.id === c.productId);
      if (c.productId !== null && !product) p.add(`${path}.productId`, "unknown product in the scenario's plant");
      const step = product?.routing.find((s) => s.index === c.step);
      if (product && !step) p.add(`${path}.step`, `product ${echo(product.name)} has steps 1 to ${product.routing.length}`);
      if (c.machineIds.length === 0) p.add(`${path}.machineIds`, 'a step needs at least one machine');
      if (c.machineIds.length > SCENARIO_LIMITS.stepMachines) p.add(`${path}.machineIds`, `at most ${SCENARIO_LIMITS.stepMachines} machines`);
      const ids = [...new Set(c.machineIds)];
      if (ids.length !== c.machineIds.length) p.add(`${path}.machineIds`, 'lists a machine twice');
      if (ids.includes(null)) p.add(`${path}.machineIds`, 'not a Machine ID');
      const known = new Set((await twin.machines({ ids: ids.filter((x): x is number => x !== null), plantIds: [plantId] })).map((m) => m.id));
      ids.forEach((id, i) => {
        if (id !== null && !known.has(id)) p.add(`${path}.machineIds[${i}]`, "unknown machine in the scenario's plant");
      });
      p.throwIfAny();
      return {
        kind: 'ROUTING_MACHINES',
        payload: { productId: product!.id, stepIndex: step!.index, machineIds: (ids as number[]).sort((a, b) => a - b) },
        touches: [`product:${product!.id}`],
      };
    }
  }
  throw ValidationError.single('input', 'unknown change');
}
