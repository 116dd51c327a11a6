import { and, eq, getColumns, inArray, ne, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { alerts } from '../db/schema/index.ts';
import { ConflictError, NotFoundError, Problems } from '../core/errors.ts';
import type { AlertRule } from './kinds/index.ts';

export type AlertRow = typeof alerts.$inferSelect;
export type AlertEventKind = 'OPENED' | 'UPDATED' | 'ACKNOWLEDGED' | 'RESOLVED';
export interface AlertEvent {
  kind: AlertEventKind;
  alert: AlertRow;
}

export interface Breach {
  rule: AlertRule;
  subject: string;
  machineId: number | null;
  orderId: number | null;
  value: number | null;
  at: Date;
  message: string;
}

export const NOTE_MAX = 2_000;

/**
 * Raises or updates alerts for a set of breaches in one statement: a rule and subject with an OPEN or ACKNOWLEDGED
 * alert get it UPDATED (value, message, occurrences); otherwise a new alert is OPENED. The partial unique index
 * alerts_one_active_uq makes this safe against concurrent writers.
 */
export async function raiseAlerts(db: Db, breaches: Breach[]): Promise<AlertEvent[]> {
  const byKey = new Map<string, Breach>();
  for (const b of breaches) byKey.set(`${b.rule.id}|${b.subject}`, b);
  if (byKey.size === 0) return [];
  const rows = await db
    .insert(alerts)
    .values(
      [...byKey.values()].map((b) => ({
        plantId: b.rule.plantId,
        ruleId: b.rule.id,
        subject: b.subject,
        machineId: b.machineId,
        orderId: b.orderId,
        severity: b.rule.severity,
        message: b.message,
        value: b.value,
        openedAt: b.at,
        lastSeenAt: b.at,
      })),
    )
    .onConflictDoUpdate({
      target: [alerts.ruleId, alerts.subject],
      targetWhere: sql`status <> 'RESOLVED'`,
      set: {
        value: sql`excluded.value`,
        message: sql`excluded.message`,
        severity: sql`excluded.severity`,
        lastSeenAt: sql`greatest(${alerts.lastSeenAt}, excluded.last_seen_at)`,
        occurrences: sql`${alerts.occurrences} + 1`,
        seq: sql`nextval('alert_seq')`,
      },
    })
    .returning({ ...getColumns(alerts), inserted: sql<boolean>`(xmax = 0)` });
  return rows
    .map(({ inserted, ...alert }) => ({ kind: (inserted ? 'OPENED' : 'UPDATED') as AlertEventKind, alert: alert as AlertRow }))
    .sort((a, b) => a.alert.seq - b.alert.seq);
}

/** Resolves the active alerts of these rule/subject pairs (the condition cleared). One statement. */
export async function autoResolve(db: Db, pairs: { ruleId: number; subject: string }[], at: Date): Promise<AlertEvent[]> {
  if (pairs.length === 0) return [];
  const conds = pairs.map((p) => and(eq(alerts.ruleId, p.ruleId), eq(alerts.subject, p.subject)));
  const rows = await db
    .update(alerts)
    .set({ status: 'RESOLVED', resolvedAt: at, resolvedBy: 'auto', resolveNote: 'condition cleared', seq: sql`nextval('alert_seq')` })
    .where(and(ne(alerts.status, 'RESOLVED'), or(...conds)))
    .returning();
  return rows.sort((a, b) => a.seq - b.seq).map((alert) => ({ kind: 'RESOLVED', alert }));
}

function checkNote(note: string | null | undefined): string | null {
  if (note == null) return null;
  const p = new Problems();
  if (note.length > NOTE_MAX) p.add('note', `must be at most ${NOTE_MAX} characters`);
  p.throwIfAny();
  return note;
}

/** OPEN → ACKNOWLEDGED. Acknowledging twice or acknowledging a resolved alert is a ConflictError. */
export async function acknowledgeAlert(db: Db, id: number, by: string, note: string | null | undefined, now: Date): Promise<AlertEvent> {
  const n = checkNote(note);
  const [row] = await db
    .update(alerts)
    .set({ status: 'ACKNOWLEDGED', acknowledgedAt: now, acknowledgedBy: by, acknowledgeNote: n, seq: sql`nextval('alert_seq')` })
    .where(and(eq(alerts.id, id), eq(alerts.status, 'OPEN')))
    .returning();
  if (row) return { kind: 'ACKNOWLEDGED', alert: row };
  const [current] = await db.select({ status: alerts.status }).from(alerts).where(eq(alerts.id, id)).limit(1);
  if (!current) throw new NotFoundError('Alert', String(id));
  throw new ConflictError(`alert is already ${current.status}`);
}

/** OPEN or ACKNOWLEDGED → RESOLVED. Resolving a resolved alert is a ConflictError. */
export async function resolveAlert(db: Db, id: number, by: string, note: string | null | undefined, now: Date): Promise<AlertEvent> {
  const n = checkNote(note);
  const [row] = await db
    .update(alerts)
    .set({ status: 'RESOLVED', resolvedAt: now, resolvedBy: by, resolveNote: n, seq: sql`nextval('alert_seq')` })
    .where(and(eq(alerts.id, id), inArray(alerts.status, ['OPEN', 'ACKNOWLEDGED'])))
    .returning();
  if (row) return { kind: 'RESOLVED', alert: row };
  const [current] = await db.select({ status: alerts.status }).from(alerts).where(eq(alerts.id, id)).limit(1);
  if (!current) throw new NotFoundError('Alert', String(id));
  throw new ConflictError('alert is already RESOLVED');
}
