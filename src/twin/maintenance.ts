/**
 * Maintenance windows: planned time a machine is not available for production. The scheduler keeps operations off
 * them; planners create and delete them. A machine's windows never overlap (a second one over the same time is a
 * ConflictError naming the first), so the plan and the floor agree on when a machine is free.
 */
import { ConflictError, NotFoundError, Problems } from '../core/errors.ts';
import { encodeId } from '../core/ids.ts';
import { canSeePlant, type PlantScope } from '../core/scope.ts';
import { checkValidDate } from '../core/validate.ts';
import type { Database } from '../db/client.ts';

export const MAINTENANCE_LIMITS = {
  /** The longest window. */
  maxDays: 366,
  /** Windows per machine at most. */
  perMachine: 1000,
  reasonLength: 500,
};

export interface MaintenanceWindowInput {
  machineId: number;
  start: Date;
  end: Date;
  reason?: string | null;
}

/** Creates a window on a machine of a plant the caller may see. */
export async function createMaintenanceWindow(
  database: Database,
  scope: PlantScope,
  input: MaintenanceWindowInput,
  createdBy: string,
): Promise<{ id: number; plantId: number }> {
  const p = new Problems();
  checkValidDate(p, 'start', input.start);
  checkValidDate(p, 'end', input.end);
  if (p.empty && input.end.getTime() <= input.start.getTime()) p.add('end', 'must be after start');
  if (p.empty && input.end.getTime() - input.start.getTime() > MAINTENANCE_LIMITS.maxDays * 86_400_000)
    p.add('end', `a window lasts at most ${MAINTENANCE_LIMITS.maxDays} days`);
  const reason = input.reason?.trim() || null;
  if (reason && reason.length > MAINTENANCE_LIMITS.reasonLength) p.add('reason', `at most ${MAINTENANCE_LIMITS.reasonLength} characters`);
  p.throwIfAny();
  return database.transaction(async (q) => {
    // The machine's row lock orders concurrent creations on it, so the overlap check holds.
    const [m] = await q.query<{ plant_id: number }>('select plant_id from machines where id = $1 for update', [input.machineId]);
    if (!m || !canSeePlant(scope, Number(m.plant_id))) throw new NotFoundError('Machine', encodeId('Machine', input.machineId));
    const plantId = Number(m.plant_id);
    const [overlap] = await q.query<{ id: number; starts_at: Date; ends_at: Date }>(
      'select id, starts_at, ends_at from maintenance_windows where machine_id = $1 and starts_at < $3 and ends_at > $2 order by starts_at limit 1',
      [input.machineId, input.start.toISOString(), input.end.toISOString()],
    );
    if (overlap)
      throw new ConflictError(
        `the machine already has maintenance window ${encodeId('MaintenanceWindow', Number(overlap.id))} from ${new Date(overlap.starts_at).toISOString()} to ${new Date(overlap.ends_at).toISOString()} over that time`,
      );
    const [{ n }] = await q.query<{ n: number }>('select count(*)::int as n from maintenance_windows where machine_id = $1', [input.machineId]);
    if (Number(n) >= MAINTENANCE_LIMITS.perMachine)
      throw new ConflictError(`a machine has at most ${MAINTENANCE_LIMITS.perMachine} maintenance windows; delete old ones first`);
    const [row] = await q.query<{ id: number }>(
      'insert into maintenance_windows (plant_id, machine_id, starts_at, ends_at, reason, created_by) values ($1, $2, $3, $4, $5, $6) returning id',
      [plantId, input.machineId, input.start.toISOString(), input.end.toISOString(), reason, createdBy],
    );
    return { id: Number(row.id), plantId };
  });
}

/** Deletes a window of a plant the caller may see. */
export async function deleteMaintenanceWindow(database: Database, scope: PlantScope, id: number): Promise<{ id: number; plantId: number }> {
  return database.transaction(async (q) => {
    const [w] = await q.query<{ plant_id: number }>('select plant_id from maintenance_windows where id = $1 for update', [id]);
    if (!w || !canSeePlant(scope, Number(w.plant_id))) throw new NotFoundError('MaintenanceWindow', encodeId('MaintenanceWindow', id));
    await q.query('delete from maintenance_windows where id = $1', [id]);
    return { id, plantId: Number(w.plant_id) };
  });
}
