import { desc, lt } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { auditLog } from '../db/schema/index.ts';
import type { Principal } from './roles.ts';

const SECRET_NAME = /key|secret|password|passwd|token|authorization|credential/i;

/** Replaces the values of secret-looking fields (at any depth) with "[redacted]". */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 20) return '[too deep]';
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redactSecrets(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_NAME.test(k) ? '[redacted]' : redactSecrets(v, depth + 1);
    return out;
  }
  if (typeof value === 'string' && value.length > 2000) return `${value.slice(0, 2000)}…`;
  return value;
}

export interface AuditRecord {
  principal: Principal;
  operation: string;
  fields: string[];
  variables: unknown;
  outcome: string;
}

export async function writeAudit(db: Db, r: AuditRecord): Promise<void> {
  await db.insert(auditLog).values({
    keyName: r.principal.name,
    keyId: r.principal.keyId,
    role: r.principal.role,
    operation: r.operation,
    fields: r.fields,
    variables: redactSecrets(r.variables ?? null) as never,
    outcome: r.outcome,
  });
}

export async function listAudit(db: Db, opts: { first: number; beforeId?: number }) {
  return db
    .select()
    .from(auditLog)
    .where(opts.beforeId ? lt(auditLog.id, opts.beforeId) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(opts.first + 1);
}
