import { desc, eq, lt } from 'drizzle-orm';
import { cutText } from '../core/errors.ts';
import { isBlobLike, storableText } from '../core/validate.ts';
import type { Db } from '../db/client.ts';
import { auditLog } from '../db/schema/index.ts';
import type { Principal } from './roles.ts';

const SECRET_NAME = /key|secret|password|passwd|token|authorization|credential/i;

/** What one audit entry keeps at most; anything beyond is cut, with a marker saying so. */
export const AUDIT_LIMITS = {
  /** Characters per string value (the rest becomes "…"). */
  stringChars: 2_000,
  /** Items per array (then one "[N more items]" marker). */
  arrayItems: 100,
  /** Keys per object (then a "[more keys]": N marker). */
  objectKeys: 100,
  /** Nesting depth (deeper values become "[too deep]"). */
  depth: 20,
  /** Bytes of the stored variables as JSON (UTF-8); more is replaced by a truncation marker with a preview. */
  variablesBytes: 16 * 1024,
  /** Characters of the key name, the operation name and each field name. */
  nameChars: 200,
} as const;

/** The outcome of an entry written before its mutation ran and not (yet) updated: the outcome is unknown. */
export const PENDING = 'PENDING';

/** `s` storable (see storableText) and cut to `max` characters, with an ellipsis when cut. */
const cut = (s: string, max: number) => storableText(cutText(s, max));

/**
 * What the audit log keeps of a value: secret-looking fields (at any depth) replaced with "[redacted]", strings and
 * keys made storable (see storableText), and strings, arrays, objects and depth capped (AUDIT_LIMITS).
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > AUDIT_LIMITS.depth) return '[too deep]';
  if (isBlobLike(value)) return { '[file]': typeof value.name === 'string' ? cut(value.name, AUDIT_LIMITS.stringChars) : null, bytes: value.size };
  if (Array.isArray(value)) {
    const out = value.slice(0, AUDIT_LIMITS.arrayItems).map((v) => redactSecrets(v, depth + 1));
    if (value.length > AUDIT_LIMITS.arrayItems) out.push(`[${value.length - AUDIT_LIMITS.arrayItems} more items]`);
    return out;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    let n = 0;
    let more = 0;
    for (const k in value) {
      if (!Object.hasOwn(value, k)) continue;
      if (n >= AUDIT_LIMITS.objectKeys) {
        more++;
        continue;
      }
      n++;
      const v = (value as Record<string, unknown>)[k];
      out[cut(k, AUDIT_LIMITS.stringChars)] = SECRET_NAME.test(k) ? '[redacted]' : redactSecrets(v, depth + 1);
    }
    if (more > 0) out['[more keys]'] = more;
    return out;
  }
  if (typeof value === 'string') return cut(value, AUDIT_LIMITS.stringChars);
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  return value ?? null;
}

/**
 * The variables as stored: redacted and capped (redactSecrets), and at most AUDIT_LIMITS.variablesBytes of JSON.
 * Larger variables are replaced by `{ "[truncated]": "<what happened>", "preview": "<the start of their JSON>" }`.
 */
export function auditVariables(variables: unknown): unknown {
  if (variables === null || variables === undefined) return null;
  const safe = redactSecrets(variables);
  const json = JSON.stringify(safe) ?? 'null';
  const bytes = Buffer.byteLength(json);
  const max = AUDIT_LIMITS.variablesBytes;
  if (bytes <= max) return safe;
  const note = `the variables took ${bytes} bytes as JSON; an audit entry keeps at most ${max}`;
  // The preview is JSON text inside a JSON string: escaping can make it longer, so shrink until the entry fits.
  let chars = max;
  for (;;) {
    const entry = { '[truncated]': note, preview: cut(json, chars) };
    if (Buffer.byteLength(JSON.stringify(entry)) <= max || chars === 0) return entry;
    chars = Math.floor(chars * 0.8);
  }
}

export interface AuditRecord {
  principal: Principal;
  operation: string;
  fields: string[];
  variables: unknown;
  outcome: string;
}

/** The row of an audit record, with every value storable and capped. */
function auditRow(r: AuditRecord) {
  return {
    keyName: cut(r.principal.name, AUDIT_LIMITS.nameChars),
    keyId: r.principal.keyId,
    role: r.principal.role,
    operation: cut(r.operation, AUDIT_LIMITS.nameChars),
    fields: r.fields.slice(0, AUDIT_LIMITS.arrayItems).map((f) => cut(f, AUDIT_LIMITS.nameChars)),
    variables: auditVariables(r.variables) as never,
    outcome: cut(r.outcome, AUDIT_LIMITS.stringChars),
  };
}

/** Writes one audit entry and returns its id. Throws when it cannot be written. */
export async function writeAudit(db: Db, r: AuditRecord): Promise<number> {
  const [row] = await db.insert(auditLog).values(auditRow(r)).returning({ id: auditLog.id });
  return row.id;
}

/** Sets the outcome of an entry written as PENDING before its mutation ran. Throws when it cannot be written. */
export async function finishAudit(db: Db, id: number, outcome: string): Promise<void> {
  await db
    .update(auditLog)
    .set({ outcome: cut(outcome, AUDIT_LIMITS.stringChars) })
    .where(eq(auditLog.id, id));
}

export async function listAudit(db: Db, opts: { first: number; beforeId?: number }) {
  return db
    .select()
    .from(auditLog)
    .where(opts.beforeId ? lt(auditLog.id, opts.beforeId) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(opts.first + 1);
}
