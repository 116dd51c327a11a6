import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { lines, machines, type OrderStatus, orders, plants, products, routingStepMachines, routingSteps } from '../db/schema/index.ts';
import { checkName, checkPositive, checkTimezone, checkUnique, checkValidDate } from '../core/validate.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { echo, Problems, ValidationError } from '../core/errors.ts';

export interface MachineImport {
  name: string;
  kind?: string | null;
  idealCycleSeconds?: number | null;
  /** Speed against the routings' times (0 < x ≤ 10, default 1): 0.8 takes 1/0.8 of the time. */
  rateFactor?: number | null;
}
export interface LineImport {
  name: string;
  machines: MachineImport[];
}
/** One eligible machine's own time for a step, when it differs from the step's (flexible job-shop data). */
export interface MachineTimeImport {
  machine: string;
  minutesPerUnit: number;
  /** Default: the step's setupMinutes. */
  setupMinutes?: number | null;
}
export interface RoutingStepImport {
  machines: string[];
  minutesPerUnit: number;
  setupMinutes?: number | null;
  /** Per-machine overrides, each for one of `machines`, at most one per machine. */
  machineTimes?: MachineTimeImport[] | null;
}

/**
 * Checks a step's machineTimes against its eligible machines (`names`): each names one of them, once, with a
 * positive time per unit and a non-negative setup under the import limits. Problems go to `p` under `path`.
 */
export function checkMachineTimes(p: Problems, path: string, names: readonly string[], times: readonly MachineTimeImport[] | null | undefined): void {
  if (!times) return;
  if (times.length > IMPORT_LIMITS.machinesPerStep) p.add(`${path}.machineTimes`, `at most ${IMPORT_LIMITS.machinesPerStep} machine times per step`);
  const eligible = new Set(names);
  const seen = new Set<string>();
  times.forEach((t, k) => {
    const tp = `${path}.machineTimes[${k}]`;
    const name = typeof t.machine === 'string' ? t.machine.trim() : '';
    if (!eligible.has(name)) p.add(`${tp}.machine`, `${echo(name)} is not one of this step's machines`);
    else if (seen.has(name)) p.add(`${tp}.machine`, `a second time for machine ${echo(name)}`);
    seen.add(name);
    checkPositive(p, `${tp}.minutesPerUnit`, t.minutesPerUnit, { max: IMPORT_LIMITS.minutesPerUnit });
    checkPositive(p, `${tp}.setupMinutes`, t.setupMinutes, { allowZero: true, max: IMPORT_LIMITS.minutesPerUnit });
  });
}
export interface ProductImport {
  name: string;
  routing: RoutingStepImport[];
}
export interface OrderImport {
  code: string;
  product: string;
  quantity: number;
  releaseAt?: Date | null;
  dueAt: Date;
  priority?: number | null;
  /** Where the order is in its lifecycle (default PLANNED) and when it got there: what exportPlant writes. */
  status?: OrderStatus | null;
  releasedAt?: Date | null;
  startedAt?: Date | null;
  doneAt?: Date | null;
  cancelledAt?: Date | null;
}

/** The lifecycle times an order document may carry, with the status each belongs to. */
export const ORDER_STEP_TIMES = [
  ['releasedAt', 'RELEASED'],
  ['startedAt', 'IN_PROGRESS'],
  ['doneAt', 'DONE'],
  ['cancelledAt', 'CANCELLED'],
] as const;
export interface PlantImport {
  name: string;
  timezone?: string | null;
  /** How far ahead the scheduler plans (1 to 8,784 hours, default 336: two weeks). */
  planningHorizonHours?: number | null;
  lines: LineImport[];
  products?: ProductImport[] | null;
  orders?: OrderImport[] | null;
}

/** Upper bounds on one import, so one request cannot exhaust memory or hold a transaction for minutes. */
export const IMPORT_LIMITS = {
  lines: 500,
  machinesPerLine: 1_000,
  machines: 5_000,
  products: 5_000,
  stepsPerProduct: 100,
  machinesPerStep: 200,
  orders: 50_000,
  quantity: 1_000_000_000,
  minutesPerUnit: 1_000_000,
  priority: 1_000,
  rateFactor: 10,
  planningHorizonHours: 8_784,
} as const;

/** The default planning horizon: two weeks. */
export const DEFAULT_PLANNING_HORIZON_HOURS = 336;

/** Checks a planning horizon (whole hours, 1 to 8,784: a leap year). */
export function checkPlanningHorizon(p: Problems, path: string, hours: number | null | undefined): void {
  if (hours == null) return;
  if (!Number.isInteger(hours) || hours < 1 || hours > IMPORT_LIMITS.planningHorizonHours)
    p.add(path, `must be a whole number of hours from 1 to ${IMPORT_LIMITS.planningHorizonHours}`);
}

const CHUNK = 2_000;

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function latest(dates: (Date | null | undefined)[]): Date | null {
  let out: Date | null = null;
  for (const d of dates) if (d && (!out || d.getTime() > out.getTime())) out = d;
  return out;
}

/** Checks the whole input and reports every problem with its path; returns the normalised input. */
export function validatePlantImport(input: PlantImport): PlantImport {
  const p = new Problems();
  const name = checkName(p, 'name', input.name);
  const timezone = input.timezone?.trim() || 'UTC';
  checkTimezone(p, 'timezone', timezone);
  checkPlanningHorizon(p, 'planningHorizonHours', input.planningHorizonHours);

  const lineList = input.lines ?? [];
  const productList = input.products ?? [];
  const orderList = input.orders ?? [];
  if (lineList.length === 0) p.add('lines', 'a plant needs at least one line');
  // Oversized inputs are refused before anything else is looked at.
  const sizes = new Problems();
  if (lineList.length > IMPORT_LIMITS.lines) sizes.add('lines', `at most ${IMPORT_LIMITS.lines} lines per import`);
  if (productList.length > IMPORT_LIMITS.products) sizes.add('products', `at most ${IMPORT_LIMITS.products} products per import`);
  if (orderList.length > IMPORT_LIMITS.orders) sizes.add('orders', `at most ${IMPORT_LIMITS.orders} orders per import`);
  sizes.throwIfAny();

  const normLines = lineList.map((l, i) => {
    const ms = l.machines ?? [];
    if (ms.length > IMPORT_LIMITS.machinesPerLine) p.add(`lines[${i}].machines`, `at most ${IMPORT_LIMITS.machinesPerLine} machines per line`);
    return {
      name: checkName(p, `lines[${i}].name`, l.name),
      machines: ms.map((m, j) => {
        checkPositive(p, `lines[${i}].machines[${j}].idealCycleSeconds`, m.idealCycleSeconds, { max: 86_400 });
        checkPositive(p, `lines[${i}].machines[${j}].rateFactor`, m.rateFactor, { max: IMPORT_LIMITS.rateFactor });
        const kind = m.kind == null ? null : checkName(p, `lines[${i}].machines[${j}].kind`, m.kind);
        return {
          name: checkName(p, `lines[${i}].machines[${j}].name`, m.name),
          kind,
          idealCycleSeconds: m.idealCycleSeconds ?? null,
          rateFactor: m.rateFactor ?? 1,
        };
      }),
    };
  });
  checkUnique(
    p,
    normLines,
    (l) => l.name,
    (i) => `lines[${i}].name`,
    'line name',
  );
  const allMachines = normLines.flatMap((l, i) => l.machines.map((m, j) => ({ m, path: `lines[${i}].machines[${j}].name` })));
  if (allMachines.length > IMPORT_LIMITS.machines) p.add('lines', `at most ${IMPORT_LIMITS.machines} machines per plant`);
  checkUnique(
    p,
    allMachines,
    (x) => x.m.name,
    (i) => allMachines[i].path,
    'machine name',
  );
  const machineNames = new Set(allMachines.map((x) => x.m.name));

  const normProducts = productList.map((pr, i) => {
    const routing = pr.routing ?? [];
    if (routing.length === 0) p.add(`products[${i}].routing`, 'a product needs at least one routing step');
    if (routing.length > IMPORT_LIMITS.stepsPerProduct) p.add(`products[${i}].routing`, `at most ${IMPORT_LIMITS.stepsPerProduct} steps`);
    return {
      name: checkName(p, `products[${i}].name`, pr.name),
      routing: routing.map((s, j) => {
        const path = `products[${i}].routing[${j}]`;
        const ms = s.machines ?? [];
        if (ms.length === 0) p.add(`${path}.machines`, 'a step needs at least one eligible machine');
        if (ms.length > IMPORT_LIMITS.machinesPerStep) p.add(`${path}.machines`, `at most ${IMPORT_LIMITS.machinesPerStep} machines per step`);
        const names = ms.map((n) => (typeof n === 'string' ? n.trim() : ''));
        names.forEach((n, k) => {
          if (!machineNames.has(n)) p.add(`${path}.machines[${k}]`, `unknown machine ${echo(n)} (not in this plant's lines)`);
        });
        checkUnique(
          p,
          names,
          (n) => n,
          (k) => `${path}.machines[${k}]`,
          'machine',
        );
        checkPositive(p, `${path}.minutesPerUnit`, s.minutesPerUnit, { max: IMPORT_LIMITS.minutesPerUnit });
        checkPositive(p, `${path}.setupMinutes`, s.setupMinutes, { allowZero: true, max: IMPORT_LIMITS.minutesPerUnit });
        checkMachineTimes(p, path, names, s.machineTimes);
        return {
          machines: names,
          minutesPerUnit: s.minutesPerUnit,
          setupMinutes: s.setupMinutes ?? 0,
          ...(s.machineTimes?.length ? { machineTimes: s.machineTimes.map((t) => ({ ...t, machine: t.machine.trim() })) } : {}),
        };
      }),
    };
  });
  checkUnique(
    p,
    normProducts,
    (x) => x.name,
    (i) => `products[${i}].name`,
    'product name',
  );
  const productNames = new Set(normProducts.map((x) => x.name));

  const normOrders = orderList.map((o, i) => {
    const path = `orders[${i}]`;
    const code = checkName(p, `${path}.code`, o.code);
    const product = typeof o.product === 'string' ? o.product.trim() : '';
    if (!productNames.has(product)) p.add(`${path}.product`, `unknown product ${echo(product)}`);
    if (!Number.isInteger(o.quantity) || o.quantity <= 0) p.add(`${path}.quantity`, 'must be a positive whole number');
    else if (o.quantity > IMPORT_LIMITS.quantity) p.add(`${path}.quantity`, `must be at most ${IMPORT_LIMITS.quantity}`);
    const priority = o.priority ?? 0;
    if (!Number.isInteger(priority) || priority < 0 || priority > IMPORT_LIMITS.priority) {
      p.add(`${path}.priority`, `must be a whole number from 0 to ${IMPORT_LIMITS.priority}`);
    }
    checkValidDate(p, `${path}.dueAt`, o.dueAt);
    checkValidDate(p, `${path}.releaseAt`, o.releaseAt);
    if (o.releaseAt && o.dueAt && o.dueAt.getTime() <= o.releaseAt.getTime()) {
      p.add(`${path}.dueAt`, 'must be after releaseAt');
    }
    for (const [field] of ORDER_STEP_TIMES) checkValidDate(p, `${path}.${field}`, o[field]);
    const times = Object.fromEntries(ORDER_STEP_TIMES.map(([field]) => [field, o[field] ?? null]));
    return { code, product, quantity: o.quantity, releaseAt: o.releaseAt ?? null, dueAt: o.dueAt, priority, status: o.status ?? 'PLANNED', ...times };
  });
  checkUnique(
    p,
    normOrders,
    (x) => x.code,
    (i) => `orders[${i}].code`,
    'order code',
  );

  p.throwIfAny();
  return {
    name,
    timezone,
    planningHorizonHours: input.planningHorizonHours ?? DEFAULT_PLANNING_HORIZON_HOURS,
    lines: normLines,
    products: normProducts,
    orders: normOrders,
  };
}

/**
 * Imports a whole plant in one transaction: every name and reference is checked first and any problem aborts the
 * import with a ValidationError listing all of them; nothing is written unless everything is valid.
 * Cost: a fixed number of multi-row statements (one per table per 2,000 rows), independent of plant size.
 */
export async function importPlant(db: Db, raw: PlantImport): Promise<{ id: number }> {
  const input = validatePlantImport(raw);
  try {
    return await db.transaction(async (tx) => {
      const existing = await tx.select({ id: plants.id }).from(plants).where(eq(plants.name, input.name)).limit(1);
      if (existing.length > 0) throw ValidationError.single('name', `a plant named ${echo(input.name)} already exists`);

      const [plant] = await tx
        .insert(plants)
        .values({ name: input.name, timezone: input.timezone!, planningHorizonHours: input.planningHorizonHours! })
        .returning({ id: plants.id });

      const lineIds = new Map<string, number>();
      for (const part of chunks(input.lines)) {
        const rows = await tx
          .insert(lines)
          .values(part.map((l) => ({ plantId: plant.id, name: l.name })))
          .returning({ id: lines.id, name: lines.name });
        for (const r of rows) lineIds.set(r.name, r.id);
      }

      const machineIds = new Map<string, number>();
      const machineRows = input.lines.flatMap((l) =>
        l.machines.map((m) => ({
          plantId: plant.id,
          lineId: lineIds.get(l.name)!,
          name: m.name,
          kind: m.kind ?? null,
          idealCycleSeconds: m.idealCycleSeconds ?? null,
          rateFactor: m.rateFactor ?? 1,
        })),
      );
      for (const part of chunks(machineRows)) {
        const rows = await tx.insert(machines).values(part).returning({ id: machines.id, name: machines.name });
        for (const r of rows) machineIds.set(r.name, r.id);
      }

      const productIds = new Map<string, number>();
      for (const part of chunks(input.products ?? [])) {
        const rows = await tx
          .insert(products)
          .values(part.map((pr) => ({ plantId: plant.id, name: pr.name })))
          .returning({ id: products.id, name: products.name });
        for (const r of rows) productIds.set(r.name, r.id);
      }

      const stepRows = (input.products ?? []).flatMap((pr) =>
        pr.routing.map((s, j) => ({
          productId: productIds.get(pr.name)!,
          stepIndex: j + 1,
          minutesPerUnit: s.minutesPerUnit,
          setupMinutes: s.setupMinutes ?? 0,
          machines: s.machines,
          times: new Map((s.machineTimes ?? []).map((t) => [t.machine.trim(), t])),
        })),
      );
      const stepMachineRows: { stepId: number; machineId: number; minutesPerUnit: number | null; setupMinutes: number | null }[] = [];
      for (const part of chunks(stepRows)) {
        const rows = await tx
          .insert(routingSteps)
          .values(part.map(({ machines: _m, times: _t, ...s }) => s))
          .returning({ id: routingSteps.id, productId: routingSteps.productId, stepIndex: routingSteps.stepIndex });
        const byKey = new Map(rows.map((r) => [`${r.productId}/${r.stepIndex}`, r.id]));
        for (const s of part) {
          const stepId = byKey.get(`${s.productId}/${s.stepIndex}`)!;
          for (const m of s.machines) {
            const own = s.times.get(m.trim());
            stepMachineRows.push({
              stepId,
              machineId: machineIds.get(m)!,
              minutesPerUnit: own?.minutesPerUnit ?? null,
              setupMinutes: own ? (own.setupMinutes ?? s.setupMinutes) : null,
            });
          }
        }
      }
      for (const part of chunks(stepMachineRows)) await tx.insert(routingStepMachines).values(part);

      const orderRows = (input.orders ?? []).map((o) => ({
        plantId: plant.id,
        productId: productIds.get(o.product)!,
        code: o.code,
        quantity: o.quantity,
        releaseAt: o.releaseAt ?? null,
        dueAt: o.dueAt,
        priority: o.priority ?? 0,
        status: o.status ?? 'PLANNED',
        releasedAt: o.releasedAt ?? null,
        startedAt: o.startedAt ?? null,
        doneAt: o.doneAt ?? null,
        cancelledAt: o.cancelledAt ?? null,
        // The latest lifecycle time given is when the status last changed.
        statusChangedAt: latest(ORDER_STEP_TIMES.map(([field]) => o[field])),
      }));
      for (const part of chunks(orderRows)) await tx.insert(orders).values(part);

      return { id: plant.id };
    });
  } catch (err) {
    // Two imports of the same plant name racing: the unique index decides, the loser gets the same typed error.
    if (isUniqueViolation(err)) throw ValidationError.single('name', `a plant named ${echo(input.name)} already exists`);
    throw err;
  }
}
