import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { alertRules, machines } from '../db/schema/index.ts';
import { ConflictError, isUniqueViolation, NotFoundError, Problems } from '../errors.ts';
import type { MachineStatus } from '../events.ts';
import { checkName } from '../twin/validate.ts';

export type AlertRuleKind = 'THRESHOLD' | 'PREDICTION' | 'MACHINE_STATE' | 'ORDER_LATE';
export type Severity = 'INFO' | 'WARNING' | 'CRITICAL';
export type Comparator = 'GT' | 'GTE' | 'LT' | 'LTE';
export type AlertRule = typeof alertRules.$inferSelect;

export const SEVERITY_RANK: Record<Severity, number> = { INFO: 0, WARNING: 1, CRITICAL: 2 };
export const MAX_FOR_SECONDS = 7 * 24 * 3600;

export interface AlertRuleInput {
  plantId: number;
  name: string;
  kind: AlertRuleKind;
  severity: Severity;
  machineId?: number | null;
  metric?: string | null;
  comparator?: Comparator | null;
  threshold?: number | null;
  forSeconds?: number | null;
  status?: MachineStatus | null;
  model?: string | null;
  autoResolve?: boolean | null;
  enabled?: boolean | null;
}

export function compare(value: number, comparator: Comparator, threshold: number): boolean {
  switch (comparator) {
    case 'GT':
      return value > threshold;
    case 'GTE':
      return value >= threshold;
    case 'LT':
      return value < threshold;
    case 'LTE':
      return value <= threshold;
  }
}

/** Checks what each kind of rule needs; `machineOk` says whether a given machine belongs to the rule's plant. */
function validateRule(input: AlertRuleInput, p: Problems): void {
  checkName(p, 'name', input.name);
  const fs = input.forSeconds ?? 0;
  if (!Number.isInteger(fs) || fs < 0 || fs > MAX_FOR_SECONDS) p.add('forSeconds', `must be a whole number from 0 to ${MAX_FOR_SECONDS}`);
  switch (input.kind) {
    case 'THRESHOLD':
      if (!input.metric?.trim()) p.add('metric', 'a THRESHOLD rule needs a metric');
      if (!input.comparator) p.add('comparator', 'a THRESHOLD rule needs a comparator');
      if (input.threshold === null || input.threshold === undefined) p.add('threshold', 'a THRESHOLD rule needs a threshold');
      else if (!Number.isFinite(input.threshold)) p.add('threshold', 'must be a finite number');
      break;
    case 'MACHINE_STATE':
      if (input.metric || input.comparator || input.threshold != null) p.add('kind', 'a MACHINE_STATE rule takes status and forSeconds, not metric/comparator/threshold');
      break;
    case 'PREDICTION':
      if (!input.model?.trim()) p.add('model', 'a PREDICTION rule needs a model name');
      if (!input.comparator) p.add('comparator', 'a PREDICTION rule needs a comparator');
      if (input.threshold === null || input.threshold === undefined || !Number.isFinite(input.threshold)) p.add('threshold', 'a PREDICTION rule needs a finite threshold');
      break;
    case 'ORDER_LATE':
      if (input.machineId != null) p.add('machineId', 'an ORDER_LATE rule applies to orders, not machines');
      break;
  }
}

async function checkMachine(db: Db, p: Problems, plantId: number, machineId: number | null | undefined): Promise<void> {
  if (machineId == null) return;
  const rows = await db.select({ id: machines.id }).from(machines).where(and(eq(machines.id, machineId), eq(machines.plantId, plantId))).limit(1);
  if (rows.length === 0) p.add('machineId', 'unknown machine in this plant');
}

function toRow(input: AlertRuleInput) {
  return {
    plantId: input.plantId,
    name: input.name.trim(),
    kind: input.kind,
    severity: input.severity,
    machineId: input.machineId ?? null,
    metric: input.metric?.trim() || null,
    comparator: input.comparator ?? null,
    threshold: input.threshold ?? null,
    forSeconds: input.forSeconds ?? 0,
    status: input.kind === 'MACHINE_STATE' ? (input.status ?? 'DOWN') : null,
    model: input.model?.trim() || null,
    autoResolve: input.autoResolve ?? true,
    enabled: input.enabled ?? true,
  };
}

export async function createAlertRule(db: Db, input: AlertRuleInput): Promise<AlertRule> {
  const p = new Problems();
  validateRule(input, p);
  await checkMachine(db, p, input.plantId, input.machineId);
  p.throwIfAny();
  try {
    const [row] = await db.insert(alertRules).values(toRow(input)).returning();
    return row;
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`an alert rule named "${input.name.trim()}" already exists in this plant`);
    throw err;
  }
}

/** Changes a rule; fields left undefined keep their value. The rule's plant cannot change. */
export async function updateAlertRule(db: Db, id: number, patch: Partial<Omit<AlertRuleInput, 'plantId'>>): Promise<AlertRule> {
  const [current] = await db.select().from(alertRules).where(eq(alertRules.id, id)).limit(1);
  if (!current) throw new NotFoundError('AlertRule', String(id));
  const merged: AlertRuleInput = {
    plantId: current.plantId,
    name: patch.name ?? current.name,
    kind: patch.kind ?? current.kind,
    severity: patch.severity ?? current.severity,
    machineId: patch.machineId !== undefined ? patch.machineId : current.machineId,
    metric: patch.metric !== undefined ? patch.metric : current.metric,
    comparator: patch.comparator !== undefined ? patch.comparator : current.comparator,
    threshold: patch.threshold !== undefined ? patch.threshold : current.threshold,
    forSeconds: patch.forSeconds ?? current.forSeconds,
    status: patch.status !== undefined ? patch.status : current.status,
    model: patch.model !== undefined ? patch.model : current.model,
    autoResolve: patch.autoResolve ?? current.autoResolve,
    enabled: patch.enabled ?? current.enabled,
  };
  const p = new Problems();
  validateRule(merged, p);
  await checkMachine(db, p, merged.plantId, merged.machineId);
  p.throwIfAny();
  try {
    const [row] = await db
      .update(alertRules)
      .set({ ...toRow(merged), updatedAt: new Date() })
      .where(eq(alertRules.id, id))
      .returning();
    return row;
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`an alert rule named "${merged.name.trim()}" already exists in this plant`);
    throw err;
  }
}

/**
 * Enabled rules per plant, cached briefly: the evaluator runs on every ingest and must not cost a query per batch.
 * Changing a rule through this process invalidates at once; other processes see changes within `ttlMs`.
 */
export class RuleCache {
  private byPlant = new Map<number, { rules: AlertRule[]; at: number }>();
  constructor(
    private db: Db,
    private ttlMs = 2_000,
  ) {}

  /** `db` may be the caller's open transaction (on PGlite a query outside it would wait for it). */
  async forPlants(plantIds: number[], db: Db = this.db): Promise<AlertRule[]> {
    const now = Date.now();
    const missing = plantIds.filter((id) => {
      const e = this.byPlant.get(id);
      return !e || now - e.at > this.ttlMs;
    });
    if (missing.length > 0) {
      const rows = await db
        .select()
        .from(alertRules)
        .where(and(inArray(alertRules.plantId, missing), eq(alertRules.enabled, true)));
      for (const id of missing) this.byPlant.set(id, { rules: rows.filter((r) => r.plantId === id), at: now });
    }
    return plantIds.flatMap((id) => this.byPlant.get(id)?.rules ?? []);
  }

  invalidate(): void {
    this.byPlant.clear();
  }
}
