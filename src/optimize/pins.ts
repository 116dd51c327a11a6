/**
 * A planner's pins: an operation (an order's routing step) kept on a machine, at a start, or both, by every later
 * optimizeSchedule of its plant (the rest is re-planned around it). Pins are checked against the twin when set: the
 * order must be open, the step must exist, the machine must be eligible for it.
 */
import { NotFoundError, Problems, ValidationError } from '../core/errors.ts';
import { canSeePlant, type PlantScope } from '../core/scope.ts';
import type { Database } from '../db/client.ts';
import type { RowIdentityBatcher } from '../twin/identity.ts';
import { liveTwin } from '../twin/snapshot.ts';

export interface PinInput {
  orderId: number;
  step: number;
  machineId?: number | null;
  start?: Date | null;
}

export interface PinDeps {
  database: Database;
  identities: RowIdentityBatcher;
}

async function orderPlant(deps: PinDeps, scope: PlantScope, orderId: number, shownId: string): Promise<number> {
  const row = await deps.identities.load('Order', orderId);
  if (!row || !canSeePlant(scope, row.plantId)) throw new NotFoundError('Order', shownId);
  return row.plantId;
}

/** Sets (or replaces) the pin of an operation. */
export async function pinOperation(
  deps: PinDeps,
  scope: PlantScope,
  input: PinInput,
  by: string,
  shownOrderId: string,
): Promise<{ id: number; plantId: number }> {
  const p = new Problems();
  if (input.machineId == null && input.start == null) p.add('input', 'pin a machine, a start, or both');
  if (input.start != null && Number.isNaN(input.start.getTime())) p.add('input.start', 'must be a valid date-time');
  p.throwIfAny();
  const plantId = await orderPlant(deps, scope, input.orderId, shownOrderId);
  const twin = liveTwin(deps.database);
  const [orders, products] = await Promise.all([twin.orders(plantId, ['PLANNED', 'RELEASED', 'IN_PROGRESS']), twin.products(plantId)]);
  const order = orders.find((o) => o.id === input.orderId);
  if (!order) throw ValidationError.single('input.orderId', 'only PLANNED, RELEASED and IN_PROGRESS orders are scheduled, so only they can be pinned');
  const step = products.find((x) => x.id === order.productId)?.routing.find((s) => s.index === input.step);
  if (!step) throw ValidationError.single('input.step', `order ${order.code} has no routing step ${input.step}`);
  if (input.machineId != null && !step.machineIds.includes(input.machineId))
    throw ValidationError.single('input.machineId', `the machine is not eligible for step ${input.step} of order ${order.code}`);
  const [row] = await deps.database.query<{ id: number }>(
    `insert into operation_pins (plant_id, order_id, step_index, machine_id, starts_at, created_by) values ($1, $2, $3, $4, $5, $6)
     on conflict (order_id, step_index) do update set machine_id = excluded.machine_id, starts_at = excluded.starts_at, created_by = excluded.created_by, created_at = now()
     returning id`,
    [plantId, input.orderId, input.step, input.machineId ?? null, input.start?.toISOString() ?? null, by],
  );
  return { id: Number(row.id), plantId };
}

/** Removes an operation's pin; NotFoundError when it has none. */
export async function unpinOperation(deps: PinDeps, scope: PlantScope, orderId: number, step: number, shownOrderId: string): Promise<{ plantId: number }> {
  const plantId = await orderPlant(deps, scope, orderId, shownOrderId);
  const rows = await deps.database.query('delete from operation_pins where order_id = $1 and step_index = $2 returning id', [orderId, step]);
  if (rows.length === 0) throw new NotFoundError('OperationPin', `${shownOrderId}#${step}`);
  return { plantId };
}
