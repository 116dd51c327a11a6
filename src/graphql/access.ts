import { and, eq, inArray, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { GraphQLError } from 'graphql';
import { canSeePlant } from '../core/scope.ts';
import { machines, plants } from '../db/schema/index.ts';
import { NotFoundError } from '../core/errors.ts';
import type { Context } from './context.ts';
import { decodeId } from '../core/ids.ts';

/**
 * Plant scoping for root fields. Every entry point that takes an ID or lists rows filters by the caller's plants,
 * and an ID of a plant the caller may not see reads exactly like an unknown ID (null, or NotFoundError).
 */

/** RQB `where` for the plants table. */
export function visiblePlantsWhere(ctx: Context): { id?: { in: number[] } } {
  return ctx.auth.plantIds === null ? {} : { id: { in: [...ctx.auth.plantIds] } };
}

/** The numeric ID of a Plant global ID the caller may see; null when malformed, of another type or out of scope. */
export function visiblePlantId(ctx: Context, globalId: string): number | null {
  const id = decodeId('Plant', globalId);
  return id === null || !canSeePlant(ctx.auth, id) ? null : id;
}

/** SQL condition `column in (caller's plants)`, or undefined for an unscoped caller. */
export function visiblePlantsSql(ctx: Context, column: PgColumn): SQL | undefined {
  return ctx.auth.plantIds === null ? undefined : inArray(column, [...ctx.auth.plantIds]);
}

/** Decodes a Plant ID the caller may see, or throws NotFoundError (also for plants that exist elsewhere). */
export async function requirePlant(ctx: Context, globalId: string, what = 'Plant'): Promise<number> {
  const id = visiblePlantId(ctx, globalId);
  if (id === null) throw new NotFoundError(what, globalId);
  const rows = await ctx.db.select({ id: plants.id }).from(plants).where(eq(plants.id, id)).limit(1);
  if (rows.length === 0) throw new NotFoundError(what, globalId);
  return id;
}

/** Decodes a row ID of `typename` in `table` whose plant the caller may see; returns its id and plantId. */
export async function requireRow(
  ctx: Context,
  typename: string,
  table: PgTable & { id: PgColumn; plantId: PgColumn },
  globalId: string,
): Promise<{ id: number; plantId: number }> {
  const id = decodeId(typename, globalId);
  if (id === null) throw new NotFoundError(typename, globalId);
  const cond = visiblePlantsSql(ctx, table.plantId);
  const rows = (await ctx.db
    .select({ id: table.id, plantId: table.plantId })
    .from(table as PgTable)
    .where(cond ? and(eq(table.id, id), cond) : eq(table.id, id))
    .limit(1)) as { id: number; plantId: number }[];
  if (rows.length === 0) throw new NotFoundError(typename, globalId);
  return rows[0];
}

export function requireMachine(ctx: Context, globalId: string): Promise<{ id: number; plantId: number }> {
  return requireRow(ctx, 'Machine', machines, globalId);
}

interface ScopedRows {
  Plant: typeof plants.$inferSelect;
  Machine: typeof machines.$inferSelect;
}

const scopedTypes: { [K in keyof ScopedRows]: { load(ctx: Context, id: number): Promise<ScopedRows[K] | undefined>; plantOf(row: ScopedRows[K]): number } } = {
  Plant: { load: (ctx, id) => ctx.db.query.plants.findFirst({ where: { id } }), plantOf: (r) => r.id },
  Machine: { load: (ctx, id) => ctx.db.query.machines.findFirst({ where: { id } }), plantOf: (r) => r.plantId },
};

/**
 * The row behind a global ID of `typename` whose plant the caller may see. Unknown, malformed, mistyped and
 * out-of-scope IDs all throw the same NOT_FOUND GraphQLError (for fields without an error union, e.g. subscriptions).
 */
export async function requireVisible<K extends keyof ScopedRows>(ctx: Context, typename: K, globalId: string): Promise<ScopedRows[K]> {
  const type = scopedTypes[typename];
  const id = decodeId(typename, globalId);
  const row = id === null ? undefined : await type.load(ctx, id);
  if (!row || !canSeePlant(ctx.auth, type.plantOf(row))) {
    throw new GraphQLError(new NotFoundError(typename, globalId).message, { extensions: { code: 'NOT_FOUND' } });
  }
  return row;
}
