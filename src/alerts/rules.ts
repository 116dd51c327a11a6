import { and, eq, inArray } from 'drizzle-orm';
import type { Clock } from '../core/clock.ts';
import type { Queryable } from '../db/client.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { alertRules, type Severity } from '../db/schema/index.ts';
import { ConflictError, echo, NotFoundError, Problems } from '../core/errors.ts';
import { checkName } from '../core/validate.ts';
import { liveTwin } from '../twin/snapshot.ts';
import { type AlertRule, type AlertRuleInput, RULE_KINDS } from './kinds/index.ts';

export type { AlertRule, AlertRuleInput } from './kinds/index.ts';

export const SEVERITY_RANK: Record<Severity, number> = { INFO: 0, WARNING: 1, CRITICAL: 2 };
export const MAX_FOR_SECONDS = 7 * 24 * 3600;

/** What every rule needs, then what its kind needs. */
function validateRule(input: AlertRuleInput, p: Problems): void {
  checkName(p, 'name', input.name);
  const fs = input.forSeconds ?? 0;
  if (!Number.isInteger(fs) || fs < 0 || fs > MAX_FOR_SECONDS) p.add('forSeconds', `must be a whole number from 0 to ${MAX_FOR_SECONDS}`);
  RULE_KINDS[input.kind].validate(input, p);
  if (input.replan && !(input.kind === 'MACHINE_STATE' && (input.status ?? 'DOWN') === 'DOWN'))
    p.add('replan', 'only MACHINE_STATE rules on DOWN re-plan (they open a scenario with the machine out)');
}

/** A machine named by a rule must belong to the rule's plant. */
async function checkMachine(q: Queryable, p: Problems, plantId: number, machineId: number | null | undefined): Promise<void> {
  if (machineId == null) return;
  const [m] = await liveTwin(q).machines({ ids: [machineId], plantIds: [plantId] });
  if (!m) p.add('machineId', 'unknown machine in this plant');
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
    replan: input.replan ?? false,
    enabled: input.enabled ?? true,
  };
}

const duplicate = (name: string) => new ConflictError(`an alert rule named ${echo(name.trim())} already exists in this plant`);

export async function insertAlertRule(q: Queryable, input: AlertRuleInput): Promise<AlertRule> {
  const p = new Problems();
  validateRule(input, p);
  await checkMachine(q, p, input.plantId, input.machineId);
  p.throwIfAny();
  try {
    const [row] = await q.db.insert(alertRules).values(toRow(input)).returning();
    return row;
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicate(input.name);
    throw err;
  }
}

/** Changes a rule; fields left undefined keep their value. The rule's plant cannot change. */
export async function changeAlertRule(q: Queryable, id: number, patch: Partial<Omit<AlertRuleInput, 'plantId'>>, now: Date): Promise<AlertRule> {
  const [current] = await q.db.select().from(alertRules).where(eq(alertRules.id, id)).limit(1);
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
    replan: patch.replan ?? current.replan,
    enabled: patch.enabled ?? current.enabled,
  };
  const p = new Problems();
  validateRule(merged, p);
  await checkMachine(q, p, merged.plantId, merged.machineId);
  p.throwIfAny();
  try {
    const [row] = await q.db
      .update(alertRules)
      .set({ ...toRow(merged), updatedAt: now })
      .where(eq(alertRules.id, id))
      .returning();
    return row;
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicate(merged.name);
    throw err;
  }
}

/**
 * Enabled rules per plant, cached briefly: the evaluator runs on every ingest and must not cost a query per batch.
 * Changing a rule through the AlertService invalidates at once; other processes see changes within `ttlMs`.
 */
export class RuleCache {
  private byPlant = new Map<number, { rules: AlertRule[]; at: number }>();
  constructor(
    private clock: Clock,
    private ttlMs = 2_000,
  ) {}

  /** `q` is the caller's open transaction (on PGlite a query outside it would wait for it). */
  async forPlants(q: Queryable, plantIds: number[]): Promise<AlertRule[]> {
    const now = this.clock.now().getTime();
    const missing = plantIds.filter((id) => {
      const e = this.byPlant.get(id);
      return !e || now - e.at > this.ttlMs;
    });
    if (missing.length > 0) {
      const rows = await q.db
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
