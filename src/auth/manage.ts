import { and, arrayContained, type Column, eq, type SQL, sql } from 'drizzle-orm';
import type { Db, Queryable } from '../db/client.ts';
import { apiKeys } from '../db/schema/index.ts';
import { liveTwin } from '../twin/snapshot.ts';
import { echo, ForbiddenError, Problems } from '../core/errors.ts';
import { type CreatedKey, createApiKey, revokeApiKey } from './keys.ts';
import { canSeePlant } from '../core/scope.ts';
import type { Principal, Role } from './roles.ts';

/**
 * Who may manage which API keys. An unscoped ADMIN sees every key; a plant-scoped ADMIN sees the keys limited to a
 * non-empty subset of its own plants (never an unscoped key, nor one that reaches any other plant); nobody else sees
 * keys. "Sees" covers listing, node(id), revoking and the objects mutations return.
 */
export function canSeeKey(p: Principal, key: { plantIds: readonly number[] | null }): boolean {
  if (p.role !== 'ADMIN') return false;
  if (p.plantIds === null) return true;
  return key.plantIds !== null && key.plantIds.length > 0 && key.plantIds.every((id) => canSeePlant(p, id));
}

/** canSeeKey as a SQL condition on the plant_ids column (pass the aliased column in relational queries); undefined: every key. */
export function visibleKeysSql(p: Principal, plantIds: Column = apiKeys.plantIds): SQL | undefined {
  if (p.role !== 'ADMIN') return sql`false`;
  if (p.plantIds === null) return undefined;
  if (p.plantIds.length === 0) return sql`false`;
  return and(sql`cardinality(${plantIds}) > 0`, arrayContained(plantIds, [...p.plantIds]));
}

/** A plant as the caller named it: `id` decoded (null when malformed), `given` for messages. */
export interface PlantRef {
  id: number | null;
  given: string;
}

export interface NewKeyInput {
  name: string;
  role: Role;
  /** null or omitted: every plant. */
  plantIds?: readonly PlantRef[] | null;
}

/**
 * Creates a key for `principal`: its plants must be plants that exist and that the caller may see (an unknown plant
 * and a plant elsewhere read alike), and a plant-scoped ADMIN must limit the key to some of them. ValidationError
 * lists every problem; nothing is written then.
 */
export async function createApiKeyFor(q: Queryable, principal: Principal, input: NewKeyInput): Promise<CreatedKey> {
  if (principal.role !== 'ADMIN') throw new ForbiddenError('Only ADMINs create API keys.');
  const p = new Problems();
  let plantIds: number[] | null = null;
  if (input.plantIds) {
    const visible = input.plantIds.map((r) => (r.id !== null && canSeePlant(principal, r.id) ? r.id : null));
    const candidates = [...new Set(visible.filter((id): id is number => id !== null))];
    const existing = new Set(candidates.length === 0 ? [] : (await liveTwin(q).plants(candidates)).map((r) => r.id));
    visible.forEach((id, i) => {
      if (id === null || !existing.has(id)) p.add(`plantIds[${i}]`, `unknown plant ${echo(input.plantIds![i].given)}`);
    });
    if (input.plantIds.length === 0) p.add('plantIds', 'give at least one plant, or omit plantIds for every plant');
    plantIds = candidates;
  } else if (principal.plantIds !== null) {
    p.add('plantIds', 'a plant-scoped ADMIN must limit new keys to some of its plants');
  }
  p.throwIfAny();
  return createApiKey(q.db, { name: input.name, role: input.role, plantIds, createdBy: principal.name });
}

/** Revokes a key the principal may see (revoking twice keeps the first time); null when unknown or not visible. */
export async function revokeApiKeyFor(db: Db, principal: Principal, id: number | null): Promise<typeof apiKeys.$inferSelect | null> {
  if (id === null) return null;
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1);
  if (!row || !canSeeKey(principal, row)) return null;
  return revokeApiKey(db, id);
}
