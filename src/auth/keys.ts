import type { Clock } from '../core/clock.ts';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { intArray } from '../db/arrays.ts';
import type { Db } from '../db/client.ts';
import { apiKeys } from '../db/schema/index.ts';
import { NotFoundError, Problems } from '../core/errors.ts';
import { checkName } from '../core/validate.ts';
import { type Principal, ROLES, type Role } from './roles.ts';

const KEY_PREFIX = 'pgk_';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new random key: 32 bytes of entropy, URL-safe. */
export function generateKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export interface CreatedKey {
  key: string;
  row: typeof apiKeys.$inferSelect;
}

export async function createApiKey(db: Db, input: { name: string; role: Role; plantIds?: number[] | null; createdBy?: string }): Promise<CreatedKey> {
  const p = new Problems();
  const name = checkName(p, 'name', input.name);
  if (!ROLES.includes(input.role)) p.add('role', `must be one of ${ROLES.join(', ')}`);
  if (input.plantIds && input.plantIds.length > 1000) p.add('plantIds', 'at most 1000 plants per key');
  p.throwIfAny();
  const key = generateKey();
  const [row] = await db
    .insert(apiKeys)
    .values({
      name,
      role: input.role,
      plantIds: input.plantIds ? [...new Set(input.plantIds)].sort((a, b) => a - b) : null,
      keyHash: hashKey(key),
      prefix: key.slice(0, KEY_PREFIX.length + 6),
      createdBy: input.createdBy ?? null,
    })
    .returning();
  return { key, row };
}

/** created_by of a bootstrap key until start-up has printed it; then BOOTSTRAP_SHOWN. */
export const BOOTSTRAP_NOT_SHOWN = 'start-up (not yet shown)';
export const BOOTSTRAP_SHOWN = 'start-up';

export interface BootstrapKey {
  key: string;
  id: number;
  /** How many earlier bootstrap keys, created but never shown, this one replaces (revoked). */
  replaced: number;
}

/**
 * The bootstrap ADMIN key: created when there is no active key, or when the only active keys are bootstrap keys that
 * were created but never shown (start-up failed before printing them), which are revoked so nobody is locked out.
 */
export async function createBootstrapKey(db: Db): Promise<BootstrapKey | null> {
  const active = await db.select({ id: apiKeys.id, createdBy: apiKeys.createdBy }).from(apiKeys).where(isNull(apiKeys.revokedAt));
  if (active.some((k) => k.createdBy !== BOOTSTRAP_NOT_SHOWN)) return null;
  if (active.length > 0)
    await db
      .update(apiKeys)
      .set({ revokedAt: sql`now()` })
      .where(and(isNull(apiKeys.revokedAt), eq(apiKeys.createdBy, BOOTSTRAP_NOT_SHOWN)));
  const { key, row } = await createApiKey(db, { name: 'bootstrap-admin', role: 'ADMIN', createdBy: BOOTSTRAP_NOT_SHOWN });
  return { key, id: row.id, replaced: active.length };
}

/** Records that the bootstrap key is about to be printed; false when it was revoked meanwhile (it must not be shown). */
export async function markBootstrapKeyShown(db: Db, id: number): Promise<boolean> {
  const rows = await db
    .update(apiKeys)
    .set({ createdBy: BOOTSTRAP_SHOWN })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return rows.length === 1;
}

export async function revokeApiKey(db: Db, id: number): Promise<typeof apiKeys.$inferSelect> {
  const [row] = await db
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
    .where(eq(apiKeys.id, id))
    .returning();
  if (!row) throw new NotFoundError('ApiKey', String(id));
  return row;
}

/** Which of these keys exist and are not revoked (one statement, one parameter however many keys). */
export async function activeKeyIds(db: Db, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(sql`${apiKeys.id} = any(${intArray(ids)}::text::int[])`, isNull(apiKeys.revokedAt)));
  return new Set(rows.map((r) => r.id));
}

export async function countActiveKeys(db: Db): Promise<number> {
  return db.$count(apiKeys, isNull(apiKeys.revokedAt));
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Resolves API keys to principals. Lookups are cached for a few seconds so that a busy dashboard does not cost a SQL
 * statement per request; revoking a key through this process clears the cache at once, and other processes see the
 * revocation within `ttlMs` (4 s: a connection opened on a cached lookup is re-checked within the next second by
 * CredentialSessions, so open connections, too, end within 5 s of a revocation elsewhere).
 */
export class KeyStore {
  private cache = new Map<string, { principal: Principal | null; at: number }>();
  constructor(
    private db: Db,
    private adminKey: string | undefined,
    private clock: Clock,
    private ttlMs = 4_000,
  ) {}

  async authenticate(key: string): Promise<Principal | null> {
    if (this.adminKey && safeEqual(key, this.adminKey)) {
      return { kind: 'admin-env', name: 'PLANTGRAPH_ADMIN_KEY', role: 'ADMIN', keyId: null, plantIds: null };
    }
    if (!key.startsWith(KEY_PREFIX) || key.length > 200) return null;
    const hash = hashKey(key);
    const hit = this.cache.get(hash);
    const now = this.clock.now().getTime();
    if (hit && now - hit.at < this.ttlMs) return hit.principal;
    const [row] = await this.db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)))
      .limit(1);
    const principal: Principal | null = row ? { kind: 'api-key', name: row.name, role: row.role, keyId: row.id, plantIds: row.plantIds ?? null } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, at: now });
    if (row && (!row.lastUsedAt || now - row.lastUsedAt.getTime() > 60_000)) {
      void this.db
        .update(apiKeys)
        .set({ lastUsedAt: new Date(now) })
        .where(eq(apiKeys.id, row.id))
        .catch(() => {});
    }
    return principal;
  }

  invalidate(): void {
    this.cache.clear();
  }
}
