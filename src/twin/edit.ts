import { ConflictError, echo, NotFoundError, Problems, ValidationError } from '../core/errors.ts';
import { encodeId } from '../core/ids.ts';
import { canSeePlant, type PlantScope } from '../core/scope.ts';
import { checkName, checkPositive, checkValidDate, checkUnique } from '../core/validate.ts';
import { floatArray, intArray, nullableFloatArray, textArray } from '../db/arrays.ts';
import type { Database, Queryable } from '../db/client.ts';
import { isUniqueViolation, sqlState } from '../db/errors.ts';
import type { OrderStatus } from '../db/schema/index.ts';
import type { MachineDirectory } from './directory.ts';
import { checkMachineTimes, IMPORT_LIMITS, ORDER_STEP_TIMES, type OrderImport, type PlantImport, type RoutingStepImport } from './import.ts';

/**
 * Editing a live twin after its import: lines, machines, products with routings, and orders with their lifecycle.
 * Every function runs in one transaction, checks the caller's plant scope (a row of another plant reads exactly like
 * an unknown one: NotFoundError), validates its whole input (ValidationError with paths), and refuses to remove what
 * other rows refer to (ConflictError naming them). Structural edits take the plant's row lock first (bumping its
 * structure version, which the per-process size caches compare), so two edits of one plant's structure never
 * interleave and a reference check cannot miss a reference written concurrently.
 */

export interface EditDeps {
  database: Database;
  /** Dropped entries on machine rename, move and delete. */
  machineNames?: MachineDirectory;
  now: () => Date;
}

/** How many references a ConflictError names (the rest are counted). */
export const NAMED_REFERENCES = 10;

type Kind = 'Plant' | 'Line' | 'Machine' | 'Product' | 'Order';
const TABLE: Record<Kind, string> = { Plant: 'plants', Line: 'lines', Machine: 'machines', Product: 'products', Order: 'orders' };

/** The plant of row `id` of `kind`, locked for update, if the caller may see it; NotFoundError otherwise. */
async function locate(q: Queryable, scope: PlantScope, kind: Kind, id: number, lock = true): Promise<number> {
  const col = kind === 'Plant' ? 'id' : 'plant_id';
  const rows = await q.query<{ plant_id: number }>(`select ${col} as plant_id from ${TABLE[kind]} where id = $1${lock ? ' for update' : ''}`, [id]);
  if (rows.length === 0 || !canSeePlant(scope, Number(rows[0].plant_id))) throw new NotFoundError(kind, encodeId(kind, id));
  return Number(rows[0].plant_id);
}

/** Takes the plant's row lock and bumps its structure version (size caches re-measure it). */
async function structureChanged(q: Queryable, plantId: number): Promise<void> {
  await q.query('update plants set structure_version = structure_version + 1 where id = $1', [plantId]);
}

function refused(what: string, refs: string[], total: number): ConflictError {
  const more = total > refs.length ? ` and ${total - refs.length} more` : '';
  return new ConflictError(`${what} is still referred to by ${refs.join(', ')}${more}`);
}

function duplicateName(path: string, what: string, name: string): ValidationError {
  return ValidationError.single(path, `${what === 'order' ? 'an order with code' : `a ${what} named`} ${echo(name)} already exists in this plant`);
}

/** Runs `fn` in a transaction; a unique violation (two writers racing for one name) becomes `onDuplicate`. */
async function inTx<T>(deps: EditDeps, fn: (q: Queryable) => Promise<T>, onDuplicate?: () => Error): Promise<T> {
  try {
    return await deps.database.transaction(fn);
  } catch (err) {
    if (onDuplicate && isUniqueViolation(err)) throw onDuplicate();
    // A foreign key hit by a concurrent delete (e.g. an order's product): the reference check decides next time.
    if (sqlState(err) === '23503') throw new ConflictError('a row this change refers to was changed concurrently; try again');
    throw err;
  }
}

// ---- lines ----

export async function createLine(deps: EditDeps, scope: PlantScope, input: { plantId: number; name: string }): Promise<{ id: number }> {
  const p = new Problems();
  const name = checkName(p, 'name', input.name);
  p.throwIfAny();
  return inTx(
    deps,
    async (q) => {
      await locate(q, scope, 'Plant', input.plantId);
      await structureChanged(q, input.plantId);
      const [{ n }] = await q.query<{ n: number }>('select count(*)::int as n from lines where plant_id = $1', [input.plantId]);
      if (Number(n) >= IMPORT_LIMITS.lines) throw ValidationError.single('plantId', `a plant has at most ${IMPORT_LIMITS.lines} lines`);
      const dup = await q.query('select 1 from lines where plant_id = $1 and name = $2', [input.plantId, name]);
      if (dup.length > 0) throw duplicateName('name', 'line', name);
      const [row] = await q.query<{ id: number }>('insert into lines (plant_id, name) values ($1, $2) returning id', [input.plantId, name]);
      return { id: Number(row.id) };
    },
    () => duplicateName('name', 'line', name),
  );
}

export async function updateLine(deps: EditDeps, scope: PlantScope, input: { id: number; name?: string | null }): Promise<{ id: number }> {
  const p = new Problems();
  const name = input.name == null ? null : checkName(p, 'name', input.name);
  p.throwIfAny();
  return inTx(
    deps,
    async (q) => {
      const plantId = await locate(q, scope, 'Line', input.id);
      if (name !== null) {
        const dup = await q.query('select 1 from lines where plant_id = $1 and name = $2 and id <> $3', [plantId, name, input.id]);
        if (dup.length > 0) throw duplicateName('name', 'line', name);
        await q.query('update lines set name = $2 where id = $1', [input.id, name]);
      }
      return { id: input.id };
    },
    () => duplicateName('name', 'line', name ?? ''),
  );
}

export async function deleteLine(deps: EditDeps, scope: PlantScope, id: number): Promise<{ id: number; plantId: number }> {
  return inTx(deps, async (q) => {
    const plantId = await locate(q, scope, 'Line', id, false);
    await structureChanged(q, plantId);
    await locate(q, scope, 'Line', id);
    const refs = await q.query<{ name: string; total: number }>(
      'select name, count(*) over ()::int as total from machines where line_id = $1 order by id limit $2',
      [id, NAMED_REFERENCES],
    );
    if (refs.length > 0) {
      throw refused(
        `line ${encodeId('Line', id)}`,
        refs.map((r) => `machine ${echo(r.name)}`),
        Number(refs[0].total),
      );
    }
    await q.query('delete from lines where id = $1', [id]);
    return { id, plantId };
  });
}

// ---- machines ----

export interface MachinePatch {
  name?: string | null;
  kind?: string | null;
  lineId?: number | null;
  idealCycleSeconds?: number | null;
  /** Speed against the routings' times (0 < x ≤ 10); null keeps it. */
  rateFactor?: number | null;
}

function checkMachine(p: Problems, input: MachinePatch): { name: string | null; kind: string | null | undefined } {
  const name = input.name == null ? null : checkName(p, 'name', input.name);
  const kind = input.kind === undefined ? undefined : input.kind === null ? null : checkName(p, 'kind', input.kind);
  checkPositive(p, 'idealCycleSeconds', input.idealCycleSeconds, { max: 86_400 });
  checkPositive(p, 'rateFactor', input.rateFactor, { max: IMPORT_LIMITS.rateFactor });
  return { name, kind };
}

/** The line's plant must be `plantId` (a line of another plant, visible or not, reads as unknown in this plant). */
async function checkLine(q: Queryable, plantId: number, lineId: number, path: string): Promise<void> {
  const rows = await q.query('select 1 from lines where id = $1 and plant_id = $2 for share', [lineId, plantId]);
  if (rows.length === 0) throw ValidationError.single(path, 'unknown line in this plant');
}

export async function createMachine(
  deps: EditDeps,
  scope: PlantScope,
  input: { lineId: number; name: string; kind?: string | null; idealCycleSeconds?: number | null; rateFactor?: number | null },
): Promise<{ id: number }> {
  const p = new Problems();
  if (input.name == null) p.add('name', 'must not be empty');
  const { name, kind } = checkMachine(p, input);
  p.throwIfAny();
  return inTx(
    deps,
    async (q) => {
      const plantId = await locate(q, scope, 'Line', input.lineId, false);
      await structureChanged(q, plantId);
      const [{ total, on_line }] = await q.query<{ total: number; on_line: number }>(
        'select count(*)::int as total, (count(*) filter (where line_id = $2))::int as on_line from machines where plant_id = $1',
        [plantId, input.lineId],
      );
      if (Number(total) >= IMPORT_LIMITS.machines) throw ValidationError.single('lineId', `a plant has at most ${IMPORT_LIMITS.machines} machines`);
      if (Number(on_line) >= IMPORT_LIMITS.machinesPerLine)
        throw ValidationError.single('lineId', `a line has at most ${IMPORT_LIMITS.machinesPerLine} machines`);
      const dup = await q.query('select 1 from machines where plant_id = $1 and name = $2', [plantId, name]);
      if (dup.length > 0) throw duplicateName('name', 'machine', name!);
      const [row] = await q.query<{ id: number }>(
        'insert into machines (plant_id, line_id, name, kind, ideal_cycle_seconds, rate_factor) values ($1, $2, $3, $4, $5, $6) returning id',
        [plantId, input.lineId, name, kind ?? null, input.idealCycleSeconds ?? null, input.rateFactor ?? 1],
      );
      return { id: Number(row.id) };
    },
    () => duplicateName('name', 'machine', name!),
  );
}

/** Fields left undefined keep their value; `kind` and `idealCycleSeconds` null clear it. */
export async function updateMachine(deps: EditDeps, scope: PlantScope, input: MachinePatch & { id: number }): Promise<{ id: number }> {
  const p = new Problems();
  const { name, kind } = checkMachine(p, input);
  p.throwIfAny();
  const result = await inTx(
    deps,
    async (q) => {
      const plantId = await locate(q, scope, 'Machine', input.id, false);
      await structureChanged(q, plantId);
      await locate(q, scope, 'Machine', input.id);
      if (input.lineId != null) {
        await checkLine(q, plantId, input.lineId, 'lineId');
        const [{ n }] = await q.query<{ n: number }>('select count(*)::int as n from machines where line_id = $1 and id <> $2', [input.lineId, input.id]);
        if (Number(n) >= IMPORT_LIMITS.machinesPerLine) throw ValidationError.single('lineId', `a line has at most ${IMPORT_LIMITS.machinesPerLine} machines`);
      }
      if (name !== null) {
        const dup = await q.query('select 1 from machines where plant_id = $1 and name = $2 and id <> $3', [plantId, name, input.id]);
        if (dup.length > 0) throw duplicateName('name', 'machine', name);
      }
      await q.query(
        `update machines set
           name = coalesce($2, name),
           line_id = coalesce($3, line_id),
           kind = case when $4::boolean then $5 else kind end,
           ideal_cycle_seconds = case when $6::boolean then $7::double precision else ideal_cycle_seconds end,
           rate_factor = coalesce($8::double precision, rate_factor)
         where id = $1`,
        [
          input.id,
          name,
          input.lineId ?? null,
          kind !== undefined,
          kind ?? null,
          input.idealCycleSeconds !== undefined,
          input.idealCycleSeconds ?? null,
          input.rateFactor ?? null,
        ],
      );
      return { id: input.id };
    },
    () => duplicateName('name', 'machine', name ?? ''),
  );
  deps.machineNames?.forget([input.id]);
  return result;
}

export async function deleteMachine(deps: EditDeps, scope: PlantScope, id: number): Promise<{ id: number; plantId: number }> {
  const result = await inTx(deps, async (q) => {
    const plantId = await locate(q, scope, 'Machine', id, false);
    await structureChanged(q, plantId);
    await locate(q, scope, 'Machine', id);
    const refs = await q.query<{ ref: string; total: number }>(
      `with r as (
         select 'routing step ' || rs.step_index || ' of product ' || to_json(pr.name)::text as ref, 0 as k, pr.id as a, rs.step_index as b
         from routing_step_machines rsm join routing_steps rs on rs.id = rsm.step_id join products pr on pr.id = rs.product_id
         where rsm.machine_id = $1
         union all
         select 'alert rule ' || to_json(ar.name)::text, 1, ar.id, 0 from alert_rules ar where ar.machine_id = $1)
       select ref, count(*) over ()::int as total from r order by k, a, b limit $2`,
      [id, NAMED_REFERENCES],
    );
    if (refs.length > 0) {
      throw refused(
        `machine ${encodeId('Machine', id)}`,
        refs.map((r) => r.ref),
        Number(refs[0].total),
      );
    }
    await q.query('delete from machines where id = $1', [id]);
    return { id, plantId };
  });
  deps.machineNames?.forget([id]);
  return result;
}

// ---- products ----

/** Checks a routing and resolves its machine names in the plant; problems go to `p` under `path`. */
async function resolveRouting(q: Queryable, p: Problems, plantId: number, routing: RoutingStepImport[], path: string) {
  if (routing.length === 0) p.add(path, 'a product needs at least one routing step');
  if (routing.length > IMPORT_LIMITS.stepsPerProduct) {
    p.add(path, `at most ${IMPORT_LIMITS.stepsPerProduct} steps`);
    p.throwIfAny();
  }
  // Oversized steps are refused before their names are looked up.
  routing.forEach((s, j) => {
    if ((s.machines ?? []).length > IMPORT_LIMITS.machinesPerStep)
      p.add(`${path}[${j}].machines`, `at most ${IMPORT_LIMITS.machinesPerStep} machines per step`);
  });
  p.throwIfAny();
  const names = [...new Set(routing.flatMap((s) => (s.machines ?? []).map((n) => (typeof n === 'string' ? n.trim() : ''))))];
  // Locked for share: a machine named here cannot be deleted before this commits.
  const rows =
    names.length === 0
      ? []
      : await q.query<{ id: number; name: string }>('select id, name from machines where plant_id = $1 and name = any($2::text::text[]) for share', [
          plantId,
          textArray(names),
        ]);
  const ids = new Map(rows.map((r) => [r.name, Number(r.id)]));
  const steps = routing.map((s, j) => {
    const sp = `${path}[${j}]`;
    const ms = (s.machines ?? []).map((n) => (typeof n === 'string' ? n.trim() : ''));
    if (ms.length === 0) p.add(`${sp}.machines`, 'a step needs at least one eligible machine');
    ms.forEach((n, k) => {
      if (!ids.has(n)) p.add(`${sp}.machines[${k}]`, `unknown machine ${echo(n)} (not in this plant)`);
    });
    checkUnique(
      p,
      ms,
      (n) => n,
      (k) => `${sp}.machines[${k}]`,
      'machine',
    );
    checkPositive(p, `${sp}.minutesPerUnit`, s.minutesPerUnit, { max: IMPORT_LIMITS.minutesPerUnit });
    checkPositive(p, `${sp}.setupMinutes`, s.setupMinutes, { allowZero: true, max: IMPORT_LIMITS.minutesPerUnit });
    checkMachineTimes(p, sp, ms, s.machineTimes);
    const own = new Map((s.machineTimes ?? []).map((t) => [typeof t.machine === 'string' ? t.machine.trim() : '', t]));
    return {
      machineIds: ms.map((n) => ids.get(n) ?? 0),
      minutesPerUnit: s.minutesPerUnit,
      setupMinutes: s.setupMinutes ?? 0,
      machineTimes: ms.map((n) => {
        const t = own.get(n);
        return t ? { minutesPerUnit: t.minutesPerUnit, setupMinutes: t.setupMinutes ?? s.setupMinutes ?? 0 } : null;
      }),
    };
  });
  return steps;
}

async function writeRouting(
  q: Queryable,
  productId: number,
  steps: { machineIds: number[]; minutesPerUnit: number; setupMinutes: number; machineTimes: ({ minutesPerUnit: number; setupMinutes: number } | null)[] }[],
): Promise<void> {
  await q.query('delete from routing_steps where product_id = $1', [productId]);
  const inserted = await q.query<{ id: number; step_index: number }>(
    `insert into routing_steps (product_id, step_index, minutes_per_unit, setup_minutes)
     select $1, i, m, s from unnest($2::text::int[], $3::text::float8[], $4::text::float8[]) as u(i, m, s) returning id, step_index`,
    [productId, intArray(steps.map((_s, j) => j + 1)), floatArray(steps.map((s) => s.minutesPerUnit)), floatArray(steps.map((s) => s.setupMinutes))],
  );
  const byIndex = new Map(inserted.map((r) => [Number(r.step_index), Number(r.id)]));
  const pairs = steps.flatMap((s, j) => s.machineIds.map((m, k) => [byIndex.get(j + 1)!, m, s.machineTimes[k]] as const));
  await q.query(
    `insert into routing_step_machines (step_id, machine_id, minutes_per_unit, setup_minutes)
     select * from unnest($1::text::int[], $2::text::int[], $3::text::float8[], $4::text::float8[])`,
    [
      intArray(pairs.map((x) => x[0])),
      intArray(pairs.map((x) => x[1])),
      nullableFloatArray(pairs.map((x) => x[2]?.minutesPerUnit ?? null)),
      nullableFloatArray(pairs.map((x) => x[2]?.setupMinutes ?? null)),
    ],
  );
}

export async function createProduct(
  deps: EditDeps,
  scope: PlantScope,
  input: { plantId: number; name: string; routing: RoutingStepImport[] },
): Promise<{ id: number }> {
  const p = new Problems();
  const name = checkName(p, 'name', input.name);
  return inTx(
    deps,
    async (q) => {
      await locate(q, scope, 'Plant', input.plantId);
      await structureChanged(q, input.plantId);
      const steps = await resolveRouting(q, p, input.plantId, input.routing ?? [], 'routing');
      p.throwIfAny();
      const [{ n }] = await q.query<{ n: number }>('select count(*)::int as n from products where plant_id = $1', [input.plantId]);
      if (Number(n) >= IMPORT_LIMITS.products) throw ValidationError.single('plantId', `a plant has at most ${IMPORT_LIMITS.products} products`);
      const dup = await q.query('select 1 from products where plant_id = $1 and name = $2', [input.plantId, name]);
      if (dup.length > 0) throw duplicateName('name', 'product', name);
      const [row] = await q.query<{ id: number }>('insert into products (plant_id, name) values ($1, $2) returning id', [input.plantId, name]);
      await writeRouting(q, Number(row.id), steps);
      return { id: Number(row.id) };
    },
    () => duplicateName('name', 'product', name),
  );
}

/** Fields left undefined keep their value; a routing replaces the whole routing. */
export async function updateProduct(
  deps: EditDeps,
  scope: PlantScope,
  input: { id: number; name?: string | null; routing?: RoutingStepImport[] | null },
): Promise<{ id: number }> {
  const p = new Problems();
  const name = input.name == null ? null : checkName(p, 'name', input.name);
  return inTx(
    deps,
    async (q) => {
      const plantId = await locate(q, scope, 'Product', input.id, false);
      await structureChanged(q, plantId);
      await locate(q, scope, 'Product', input.id);
      const steps = input.routing == null ? null : await resolveRouting(q, p, plantId, input.routing, 'routing');
      p.throwIfAny();
      if (name !== null) {
        const dup = await q.query('select 1 from products where plant_id = $1 and name = $2 and id <> $3', [plantId, name, input.id]);
        if (dup.length > 0) throw duplicateName('name', 'product', name);
        await q.query('update products set name = $2 where id = $1', [input.id, name]);
      }
      if (steps) await writeRouting(q, input.id, steps);
      return { id: input.id };
    },
    () => duplicateName('name', 'product', name ?? ''),
  );
}

export async function deleteProduct(deps: EditDeps, scope: PlantScope, id: number): Promise<{ id: number; plantId: number }> {
  return inTx(deps, async (q) => {
    const plantId = await locate(q, scope, 'Product', id, false);
    await structureChanged(q, plantId);
    await locate(q, scope, 'Product', id);
    const refs = await q.query<{ code: string; total: number }>(
      'select code, count(*) over ()::int as total from orders where product_id = $1 order by id limit $2',
      [id, NAMED_REFERENCES],
    );
    if (refs.length > 0) {
      throw refused(
        `product ${encodeId('Product', id)}`,
        refs.map((r) => `order ${echo(r.code)}`),
        Number(refs[0].total),
      );
    }
    await q.query('delete from products where id = $1', [id]);
    return { id, plantId };
  });
}

// ---- orders ----

interface OrderFields {
  quantity?: number | null;
  priority?: number | null;
  releaseAt?: Date | null;
  dueAt?: Date | null;
}

function checkOrderFields(p: Problems, prefix: string, o: OrderFields): void {
  if (o.quantity != null) {
    if (!Number.isInteger(o.quantity) || o.quantity <= 0) p.add(`${prefix}quantity`, 'must be a positive whole number');
    else if (o.quantity > IMPORT_LIMITS.quantity) p.add(`${prefix}quantity`, `must be at most ${IMPORT_LIMITS.quantity}`);
  }
  if (o.priority != null && (!Number.isInteger(o.priority) || o.priority < 0 || o.priority > IMPORT_LIMITS.priority)) {
    p.add(`${prefix}priority`, `must be a whole number from 0 to ${IMPORT_LIMITS.priority}`);
  }
  checkValidDate(p, `${prefix}dueAt`, o.dueAt);
  checkValidDate(p, `${prefix}releaseAt`, o.releaseAt);
}

function checkDates(p: Problems, path: string, releaseAt: Date | null, dueAt: Date): void {
  if (releaseAt && dueAt.getTime() <= releaseAt.getTime()) p.add(path, 'must be after releaseAt');
}

export async function createOrder(deps: EditDeps, scope: PlantScope, input: { plantId: number; order: OrderImport }): Promise<{ id: number }> {
  const o = input.order;
  const p = new Problems();
  const code = checkName(p, 'order.code', o.code);
  const product = typeof o.product === 'string' ? o.product.trim() : '';
  if (o.quantity == null) p.add('order.quantity', 'must be a positive whole number');
  if (o.dueAt == null) p.add('order.dueAt', 'is required');
  if (o.status != null && o.status !== 'PLANNED') p.add('order.status', 'a new order is PLANNED; move it on with setOrderStatus');
  for (const [field] of ORDER_STEP_TIMES) if (o[field] != null) p.add(`order.${field}`, 'is set by setOrderStatus');
  checkOrderFields(p, 'order.', o);
  p.throwIfAny();
  checkDates(p, 'order.dueAt', o.releaseAt ?? null, o.dueAt);
  p.throwIfAny();
  return inTx(
    deps,
    async (q) => {
      await locate(q, scope, 'Plant', input.plantId, false);
      const [pr] = await q.query<{ id: number }>('select id from products where plant_id = $1 and name = $2 for share', [input.plantId, product]);
      if (!pr) throw ValidationError.single('order.product', `unknown product ${echo(product)}`);
      const dup = await q.query('select 1 from orders where plant_id = $1 and code = $2', [input.plantId, code]);
      if (dup.length > 0) throw duplicateName('order.code', 'order', code);
      const [row] = await q.query<{ id: number }>(
        `insert into orders (plant_id, product_id, code, quantity, release_at, due_at, priority)
         values ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7) returning id`,
        [input.plantId, pr.id, code, o.quantity, o.releaseAt?.toISOString() ?? null, o.dueAt.toISOString(), o.priority ?? 0],
      );
      return { id: Number(row.id) };
    },
    () => duplicateName('order.code', 'order', code),
  );
}

/** States in which an order's plan (quantity, dates, priority) may still change. */
const EDITABLE: readonly OrderStatus[] = ['PLANNED', 'RELEASED', 'IN_PROGRESS'];

/** Fields left undefined keep their value; `releaseAt: null` clears it. DONE and CANCELLED orders are final. */
export async function updateOrder(deps: EditDeps, scope: PlantScope, input: OrderFields & { id: number }): Promise<{ id: number }> {
  const p = new Problems();
  checkOrderFields(p, '', input);
  if (input.quantity === null) p.add('quantity', 'cannot be cleared');
  if (input.priority === null) p.add('priority', 'cannot be cleared');
  if (input.dueAt === null) p.add('dueAt', 'cannot be cleared');
  p.throwIfAny();
  return inTx(deps, async (q) => {
    await locate(q, scope, 'Order', input.id);
    const [cur] = await q.query<{ status: OrderStatus; code: string; release_at: Date | null; due_at: Date }>(
      'select status, code, release_at, due_at from orders where id = $1',
      [input.id],
    );
    if (!EDITABLE.includes(cur.status)) throw new ConflictError(`order ${echo(cur.code)} is ${cur.status}; it can no longer change`);
    const releaseAt = input.releaseAt !== undefined ? input.releaseAt : cur.release_at ? new Date(cur.release_at) : null;
    const dueAt = input.dueAt ?? new Date(cur.due_at);
    checkDates(p, input.dueAt !== undefined ? 'dueAt' : 'releaseAt', releaseAt, dueAt);
    p.throwIfAny();
    await q.query(
      `update orders set quantity = coalesce($2, quantity), priority = coalesce($3, priority), release_at = $4::timestamptz, due_at = $5::timestamptz
       where id = $1`,
      [input.id, input.quantity ?? null, input.priority ?? null, releaseAt?.toISOString() ?? null, dueAt.toISOString()],
    );
    return { id: input.id };
  });
}

/** The lifecycle: each status and the statuses it may go to. */
export const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  PLANNED: ['RELEASED', 'CANCELLED'],
  RELEASED: ['IN_PROGRESS', 'CANCELLED'],
  IN_PROGRESS: ['DONE', 'CANCELLED'],
  DONE: [],
  CANCELLED: [],
};

const STEP_COLUMN: Partial<Record<OrderStatus, string>> = { RELEASED: 'released_at', IN_PROGRESS: 'started_at', DONE: 'done_at', CANCELLED: 'cancelled_at' };

/** How far in the future a reported status time may be (clock skew between a terminal and the server). */
export const STATUS_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Moves an order one step along its lifecycle at `at` (default now), recorded as the time of that step and as
 * `statusChangedAt`. A step that the lifecycle does not allow, or a time before the previous change, is refused.
 */
export async function setOrderStatus(deps: EditDeps, scope: PlantScope, input: { id: number; status: OrderStatus; at?: Date | null }): Promise<{ id: number }> {
  const now = deps.now();
  const at = input.at ?? now;
  const p = new Problems();
  checkValidDate(p, 'at', at);
  if (p.empty && at.getTime() > now.getTime() + STATUS_CLOCK_SKEW_MS) p.add('at', 'must not be in the future');
  p.throwIfAny();
  return inTx(deps, async (q) => {
    await locate(q, scope, 'Order', input.id);
    const [cur] = await q.query<{ status: OrderStatus; code: string; status_changed_at: Date | null; created_at: Date }>(
      'select status, code, status_changed_at, created_at from orders where id = $1',
      [input.id],
    );
    if (!ORDER_TRANSITIONS[cur.status].includes(input.status)) {
      const allowed = ORDER_TRANSITIONS[cur.status];
      throw new ConflictError(
        `order ${echo(cur.code)} is ${cur.status} and cannot become ${input.status}${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ' (it is final)'}`,
      );
    }
    const last = cur.status_changed_at ? new Date(cur.status_changed_at) : null;
    if (last && at.getTime() < last.getTime()) {
      throw ValidationError.single('at', `must not be before the order's last status change (${last.toISOString()})`);
    }
    await q.query(
      `update orders set status = $2::order_status, status_changed_at = $3::timestamptz, ${STEP_COLUMN[input.status]} = $3::timestamptz where id = $1`,
      [input.id, input.status, at.toISOString()],
    );
    return { id: input.id };
  });
}

// ---- export ----

/**
 * The plant as a document `importPlant` accepts (the same shape as PlantImportInput, dates as ISO-8601 UTC): its
 * lines with machines, products with routings (machine names, in step order) and orders (plan fields, status and
 * lifecycle times). Four statements, whatever the plant's size.
 */
export async function exportPlant(q: Queryable, scope: PlantScope, plantId: number): Promise<(Omit<PlantImport, 'orders'> & { orders: unknown[] }) | null> {
  if (!canSeePlant(scope, plantId)) return null;
  const [plant] = await q.query<{ name: string; timezone: string; horizon: number }>(
    'select name, timezone, planning_horizon_hours as horizon from plants where id = $1',
    [plantId],
  );
  if (!plant) return null;
  const machineRows = await q.query<{ line: string; line_id: number; name: string | null; kind: string | null; ideal: number | null; rate: number | null }>(
    `select l.id as line_id, l.name as line, m.name, m.kind, m.ideal_cycle_seconds as ideal, m.rate_factor as rate
     from lines l left join machines m on m.line_id = l.id where l.plant_id = $1 order by l.id, m.id`,
    [plantId],
  );
  const lineMap = new Map<number, PlantImport['lines'][number]>();
  for (const r of machineRows) {
    let line = lineMap.get(Number(r.line_id));
    if (!line) lineMap.set(Number(r.line_id), (line = { name: r.line, machines: [] }));
    if (r.name !== null) {
      const m: PlantImport['lines'][number]['machines'][number] = { name: r.name };
      if (r.kind !== null) m.kind = r.kind;
      if (r.ideal !== null) m.idealCycleSeconds = Number(r.ideal);
      if (r.rate !== null && Number(r.rate) !== 1) m.rateFactor = Number(r.rate);
      line.machines.push(m);
    }
  }
  const stepRows = await q.query<{
    product_id: number;
    product: string;
    step_index: number | null;
    mpu: number;
    setup: number;
    machines: string[] | null;
    times: { machine: string; minutesPerUnit: number; setupMinutes: number }[] | string | null;
  }>(
    `select pr.id as product_id, pr.name as product, rs.step_index, rs.minutes_per_unit as mpu, rs.setup_minutes as setup,
       (select array_agg(m.name order by m.id) from routing_step_machines rsm join machines m on m.id = rsm.machine_id where rsm.step_id = rs.id) as machines,
       (select json_agg(json_build_object('machine', m.name, 'minutesPerUnit', rsm.minutes_per_unit, 'setupMinutes', coalesce(rsm.setup_minutes, rs.setup_minutes)) order by m.id)
          from routing_step_machines rsm join machines m on m.id = rsm.machine_id where rsm.step_id = rs.id and rsm.minutes_per_unit is not null) as times
     from products pr left join routing_steps rs on rs.product_id = pr.id where pr.plant_id = $1 order by pr.id, rs.step_index`,
    [plantId],
  );
  const productMap = new Map<number, { name: string; routing: RoutingStepImport[] }>();
  for (const r of stepRows) {
    let pr = productMap.get(Number(r.product_id));
    if (!pr) productMap.set(Number(r.product_id), (pr = { name: r.product, routing: [] }));
    if (r.step_index !== null) {
      const step: RoutingStepImport = { machines: r.machines ?? [], minutesPerUnit: Number(r.mpu), setupMinutes: Number(r.setup) };
      const times = typeof r.times === 'string' ? JSON.parse(r.times) : r.times;
      if (times?.length)
        step.machineTimes = times.map((t: { machine: string; minutesPerUnit: number; setupMinutes: number }) => ({
          machine: t.machine,
          minutesPerUnit: Number(t.minutesPerUnit),
          setupMinutes: Number(t.setupMinutes),
        }));
      pr.routing.push(step);
    }
  }
  const orderRows = await q.query<{
    code: string;
    product: string;
    quantity: number;
    release_at: Date | null;
    due_at: Date;
    priority: number;
    status: OrderStatus;
    released_at: Date | null;
    started_at: Date | null;
    done_at: Date | null;
    cancelled_at: Date | null;
  }>(
    `select o.code, pr.name as product, o.quantity, o.release_at, o.due_at, o.priority, o.status, o.released_at, o.started_at, o.done_at, o.cancelled_at
     from orders o join products pr on pr.id = o.product_id where o.plant_id = $1 order by o.id`,
    [plantId],
  );
  return {
    name: plant.name,
    timezone: plant.timezone,
    planningHorizonHours: Number(plant.horizon),
    lines: [...lineMap.values()],
    products: [...productMap.values()],
    orders: orderRows.map((o) => ({
      code: o.code,
      product: o.product,
      quantity: Number(o.quantity),
      ...(o.release_at ? { releaseAt: new Date(o.release_at).toISOString() } : {}),
      dueAt: new Date(o.due_at).toISOString(),
      priority: Number(o.priority),
      status: o.status,
      ...Object.fromEntries(
        (
          [
            ['releasedAt', o.released_at],
            ['startedAt', o.started_at],
            ['doneAt', o.done_at],
            ['cancelledAt', o.cancelled_at],
          ] as const
        )
          .filter(([, v]) => v !== null)
          .map(([k, v]) => [k, new Date(v!).toISOString()]),
      ),
    })),
  };
}
