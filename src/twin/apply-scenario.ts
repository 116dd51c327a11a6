/**
 * Applying a scenario's changes to the live twin, inside promote's transaction (the caller holds the plant's row
 * lock and has checked for conflicting live changes). A change that no longer applies (its machine or order is gone,
 * an order moved on to a final status, an order code now taken, a maintenance window overlapping one added live) is
 * a ConflictError naming it, and the transaction rolls back: promote is all or nothing.
 */
import { ConflictError, echo } from '../core/errors.ts';
import type { Queryable } from '../db/client.ts';
import type { OrderStatus } from '../db/schema/index.ts';
import { intArray } from '../db/arrays.ts';
import { ORDER_TRANSITIONS } from './edit.ts';
import type { ScenarioChange } from './overlay.ts';

const EDITABLE: readonly OrderStatus[] = ['PLANNED', 'RELEASED', 'IN_PROGRESS'];

/** [from, to) minus the windows it overlaps: the pieces left (sorted windows of one machine). */
function uncovered(from: number, to: number, windows: readonly { s: number; e: number }[]): { s: number; e: number }[] {
  const out: { s: number; e: number }[] = [];
  let at = from;
  for (const w of windows) {
    if (w.e <= at || w.s >= to) continue;
    if (w.s > at) out.push({ s: at, e: w.s });
    at = Math.max(at, w.e);
  }
  if (at < to) out.push({ s: at, e: to });
  return out;
}

/** Applies `changes` in order (promoteScenario); returns the live order created for each ADD_ORDER change (change ID → order ID). */
export async function applyChanges(
  tx: Queryable,
  scenario: { id: number; plantId: number; name: string },
  changes: readonly ScenarioChange[],
  by: string,
  now: Date,
): Promise<Map<number, number>> {
  const added = new Map<number, number>();
  const plantId = scenario.plantId;
  const orderOf = (id: number) => (id > 0 ? id : (added.get(-id) ?? null));
  let routingChanged = false;

  const windowsOf = async (machineId: number) =>
    (
      await tx.query<{ id: number; s: number; e: number }>(
        'select id, extract(epoch from starts_at) * 1000 as s, extract(epoch from ends_at) * 1000 as e from maintenance_windows where machine_id = $1 order by starts_at',
        [machineId],
      )
    ).map((w) => ({ id: w.id, s: Number(w.s), e: Number(w.e) }));
  const insertWindow = (machineId: number, s: number, e: number, reason: string | null) =>
    tx.query('insert into maintenance_windows (plant_id, machine_id, starts_at, ends_at, reason, created_by) values ($1, $2, $3, $4, $5, $6)', [
      plantId,
      machineId,
      new Date(s).toISOString(),
      new Date(e).toISOString(),
      reason,
      by,
    ]);
  const machineExists = async (machineId: number) => {
    const rows = await tx.query('select 1 from machines where id = $1 and plant_id = $2', [machineId, plantId]);
    if (rows.length === 0) throw new ConflictError(`a machine the scenario changes (ID ${machineId}) no longer exists`);
  };
  const editableOrder = async (orderId: number | null, what: string) => {
    const [o] =
      orderId === null
        ? []
        : await tx.query<{ code: string; status: OrderStatus }>('select code, status from orders where id = $1 and plant_id = $2 for update', [
            orderId,
            plantId,
          ]);
    if (!o) throw new ConflictError(`an order the scenario ${what} no longer exists`);
    return o;
  };

  for (const c of changes) {
    switch (c.kind) {
      case 'MACHINE_RATE': {
        const r = await tx.query('update machines set rate_factor = $2 where id = $1 and plant_id = $3 returning id', [
          c.payload.machineId,
          c.payload.factor,
          plantId,
        ]);
        if (r.length === 0) throw new ConflictError(`a machine the scenario changes (ID ${c.payload.machineId}) no longer exists`);
        break;
      }
      case 'MACHINE_DOWN': {
        // A planned outage becomes maintenance time; the parts already covered by a window stay as they are.
        await machineExists(c.payload.machineId);
        const pieces = uncovered(Date.parse(c.payload.from), Date.parse(c.payload.to), await windowsOf(c.payload.machineId));
        for (const p of pieces) await insertWindow(c.payload.machineId, p.s, p.e, `scenario ${scenario.name}: machine down`);
        break;
      }
      case 'ADD_MAINTENANCE': {
        await machineExists(c.payload.machineId);
        const s = Date.parse(c.payload.from);
        const e = Date.parse(c.payload.to);
        const clash = (await windowsOf(c.payload.machineId)).find((w) => w.s < e && s < w.e);
        if (clash)
          throw new ConflictError(
            `a maintenance window the scenario adds overlaps a live window (${new Date(clash.s).toISOString()} to ${new Date(clash.e).toISOString()})`,
          );
        await insertWindow(c.payload.machineId, s, e, c.payload.reason);
        break;
      }
      case 'REMOVE_MAINTENANCE': {
        const r = await tx.query('delete from maintenance_windows where id = $1 and plant_id = $2 returning id', [c.payload.windowId, plantId]);
        if (r.length === 0) throw new ConflictError('a maintenance window the scenario removes no longer exists');
        break;
      }
      case 'ADD_ORDER': {
        const p = c.payload;
        const product = await tx.query('select 1 from products where id = $1 and plant_id = $2', [p.productId, plantId]);
        if (product.length === 0) throw new ConflictError(`product ${echo(p.product)} of the order ${echo(p.code)} the scenario adds no longer exists`);
        const dup = await tx.query('select 1 from orders where plant_id = $1 and code = $2', [plantId, p.code]);
        if (dup.length > 0) throw new ConflictError(`an order with code ${echo(p.code)} was created live after the scenario added it`);
        const [row] = await tx.query<{ id: number }>(
          `insert into orders (plant_id, product_id, code, quantity, release_at, due_at, priority)
           values ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7) returning id`,
          [plantId, p.productId, p.code, p.quantity, p.releaseAt, p.dueAt, p.priority],
        );
        added.set(c.id, Number(row.id));
        break;
      }
      case 'CANCEL_ORDER': {
        const o = await editableOrder(orderOf(c.payload.orderId), 'cancels');
        if (!ORDER_TRANSITIONS[o.status].includes('CANCELLED'))
          throw new ConflictError(`order ${echo(o.code)} is ${o.status} now and can no longer be cancelled`);
        await tx.query(`update orders set status = 'CANCELLED', status_changed_at = $2, cancelled_at = $2 where id = $1`, [
          orderOf(c.payload.orderId),
          now.toISOString(),
        ]);
        break;
      }
      case 'CHANGE_DUE_DATE':
      case 'CHANGE_QUANTITY':
      case 'CHANGE_PRIORITY': {
        const id = orderOf(c.payload.orderId);
        const o = await editableOrder(id, 'changes');
        if (!EDITABLE.includes(o.status)) throw new ConflictError(`order ${echo(o.code)} is ${o.status} now; it can no longer change`);
        if (c.kind === 'CHANGE_DUE_DATE') await tx.query('update orders set due_at = $2::timestamptz where id = $1', [id, c.payload.dueAt]);
        else if (c.kind === 'CHANGE_QUANTITY') await tx.query('update orders set quantity = $2 where id = $1', [id, c.payload.quantity]);
        else await tx.query('update orders set priority = $2 where id = $1', [id, c.payload.priority]);
        break;
      }
      case 'ROUTING_MACHINES': {
        const [step] = await tx.query<{ id: number }>(
          'select s.id from routing_steps s join products p on p.id = s.product_id where p.id = $1 and p.plant_id = $2 and s.step_index = $3',
          [c.payload.productId, plantId, c.payload.stepIndex],
        );
        if (!step) throw new ConflictError(`routing step ${c.payload.stepIndex} the scenario changes no longer exists`);
        const ids = intArray(c.payload.machineIds);
        const known = await tx.query('select id from machines where plant_id = $1 and id = any($2::text::int[])', [plantId, ids]);
        if (known.length !== c.payload.machineIds.length) throw new ConflictError('a machine the scenario puts on a routing step no longer exists');
        await tx.query('delete from routing_step_machines where step_id = $1 and not (machine_id = any($2::text::int[]))', [step.id, ids]);
        await tx.query(
          'insert into routing_step_machines (step_id, machine_id) select $1, m from unnest($2::text::int[]) as m on conflict (step_id, machine_id) do nothing',
          [step.id, ids],
        );
        routingChanged = true;
        break;
      }
    }
  }
  // Routings are structure: the per-process size caches re-measure the plant.
  if (routingChanged) await tx.query('update plants set structure_version = structure_version + 1 where id = $1', [plantId]);
  return added;
}
