import { and, inArray, sql } from 'drizzle-orm';
import type { Clock } from '../core/clock.ts';
import type { Database, Queryable, Tx } from '../db/client.ts';
import { alertPending, alertRules } from '../db/schema/index.ts';
import type { WriteEvents } from '../events/hub.ts';
import type { MachineDirectory } from '../twin/directory.ts';
import { type AlertRule, type PendingState, RULE_KINDS, type RuleKind } from './kinds/index.ts';
import { type AlertEvent, autoResolve, type Breach, raiseAlerts } from './lifecycle.ts';
import type { RuleCache } from './rules.ts';

type PendingRow = typeof alertPending.$inferSelect;
type Pair = { ruleId: number; subject: string };
const keyOf = (ruleId: number, subject: string) => `${ruleId}|${subject}`;
export const machineSubject = (machineId: number) => `machine:${machineId}`;

/**
 * Evaluates alert rules against what was just written, inside the writer's transaction, one pass per batch: the
 * rules of the plants involved come from a cache, the pending breaches of the touched rule/subject pairs are read in
 * one statement, each rule's kind walks every subject's inputs once in memory, and the outcome is written with a
 * fixed number of statements (pending upserts, pending deletes, one alert upsert, one auto-resolve). Events come back
 * to the caller, which publishes them after the commit. `forSeconds` breaches still pending are raised by `sweep()`
 * when their time has come even if no further input arrives.
 */
export class AlertEvaluator {
  constructor(
    private database: Database,
    private rules: RuleCache,
    private names: MachineDirectory,
    private clock: Clock,
  ) {}

  /** Evaluates the rules whose kind reacts to `event`; `tx` is the writer's open transaction. */
  async evaluate<K extends keyof WriteEvents>(event: K, payload: WriteEvents[K], plantIds: number[], tx: Tx): Promise<AlertEvent[]> {
    const rules = (await this.rules.forPlants(tx, plantIds)).filter((r) => RULE_KINDS[r.kind].trigger?.event === event);
    if (rules.length === 0) return [];
    const work: { rule: AlertRule; kind: RuleKind; machineId: number; inputs: unknown[] }[] = [];
    for (const rule of rules) {
      const kind = RULE_KINDS[rule.kind];
      for (const [machineId, inputs] of kind.trigger!.inputs(rule, payload)) work.push({ rule, kind, machineId, inputs });
    }
    if (work.length === 0) return [];

    const pending = await this.loadPending(
      tx,
      work.map((w) => ({ ruleId: w.rule.id, subject: machineSubject(w.machineId) })),
    );
    const names = await this.names.names([...new Set(work.map((w) => w.machineId))], tx);
    const now = this.clock.now();
    const out = new Outcome();
    for (const { rule, kind, machineId, inputs } of work) {
      const subject = machineSubject(machineId);
      const row = pending.get(keyOf(rule.id, subject));
      const before: PendingState | null = row ? { since: row.since, fired: row.fired, value: row.value } : null;
      const { state, fire, cleared } = kind.trigger!.evaluate(rule, before, inputs, now);
      if (fire) {
        const name = names.get(machineId) ?? `machine ${machineId}`;
        out.breaches.push({
          rule,
          subject,
          machineId,
          orderId: null,
          value: fire.value,
          at: fire.at,
          message: kind.message(rule, name, { ...fire, since: state?.since ?? fire.at }),
        });
      }
      // The pending row only matters for its start time and whether it fired; a breach that simply goes on (same
      // start, already fired) needs no write, which keeps a sustained breach at one statement per batch.
      if (state && (!before || before.since.getTime() !== state.since.getTime() || before.fired !== state.fired)) {
        out.upserts.push({ ruleId: rule.id, subject, plantId: rule.plantId, machineId, since: state.since, value: state.value, fired: state.fired });
      }
      if (!state && before) out.deletes.push({ ruleId: rule.id, subject });
      if (cleared && rule.autoResolve) out.clears.push({ ruleId: rule.id, subject });
    }
    return out.write(tx, now);
  }

  /**
   * Raises pending breaches whose forSeconds have passed. Safe with several processes: the rows are claimed with
   * FOR UPDATE SKIP LOCKED and marked fired in the same transaction. Returns the events; the caller publishes them.
   */
  sweep(now: Date = this.clock.now()): Promise<AlertEvent[]> {
    return this.database.transaction(async (tx) => {
      const rows = await tx.query<{ rule_id: number; subject: string; machine_id: number | null; since: string | Date; value: number | null }>(
        `select p.rule_id, p.subject, p.machine_id, p.since, p.value
         from alert_pending p join alert_rules r on r.id = p.rule_id
         where not p.fired and r.enabled and p.since + make_interval(secs => r.for_seconds) <= $1::timestamptz
         order by p.since
         limit 1000
         for update of p skip locked`,
        [now.toISOString()],
      );
      if (rows.length === 0) return [];
      const ruleIds = [...new Set(rows.map((r) => Number(r.rule_id)))];
      const rules = new Map((await tx.db.select().from(alertRules).where(inArray(alertRules.id, ruleIds))).map((r) => [r.id, r]));
      const machineIds = [...new Set(rows.flatMap((r) => (r.machine_id === null ? [] : [Number(r.machine_id)])))];
      const names = await this.names.names(machineIds, tx);
      const breaches: Breach[] = rows.map((r) => {
        const rule = rules.get(Number(r.rule_id))!;
        const machineId = r.machine_id === null ? null : Number(r.machine_id);
        const since = new Date(r.since);
        const kind = RULE_KINDS[rule.kind];
        const due = kind.due(rule, { since, fired: false, value: r.value }, now);
        const subject = machineId !== null ? (names.get(machineId) ?? `machine ${machineId}`) : 'plant';
        return { rule, subject: r.subject, machineId, orderId: null, value: due.value, at: due.at, message: kind.message(rule, subject, { ...due, since }) };
      });
      const raised = await raiseAlerts(tx.db, breaches);
      await tx.db
        .update(alertPending)
        .set({ fired: true })
        .where(
          sql`(${alertPending.ruleId}, ${alertPending.subject}) in (${sql.join(
            rows.map((r) => sql`(${Number(r.rule_id)}, ${r.subject})`),
            sql`, `,
          )})`,
        );
      return raised;
    });
  }

  private async loadPending(q: Queryable, pairs: Pair[]): Promise<Map<string, PendingRow>> {
    const ruleIds = [...new Set(pairs.map((p) => p.ruleId))];
    const subjects = [...new Set(pairs.map((p) => p.subject))];
    const rows = await q.db
      .select()
      .from(alertPending)
      .where(and(inArray(alertPending.ruleId, ruleIds), inArray(alertPending.subject, subjects)));
    return new Map(rows.map((r) => [keyOf(r.ruleId, r.subject), r]));
  }
}

/** What one evaluation writes, in at most four statements. */
class Outcome {
  breaches: Breach[] = [];
  upserts: (typeof alertPending.$inferInsert)[] = [];
  deletes: Pair[] = [];
  clears: Pair[] = [];

  async write(q: Queryable, now: Date): Promise<AlertEvent[]> {
    if (this.upserts.length > 0) {
      await q.db
        .insert(alertPending)
        .values(this.upserts)
        .onConflictDoUpdate({
          target: [alertPending.ruleId, alertPending.subject],
          set: { since: sql`excluded.since`, value: sql`excluded.value`, fired: sql`excluded.fired` },
        });
    }
    if (this.deletes.length > 0) {
      await q.db.delete(alertPending).where(
        sql`(${alertPending.ruleId}, ${alertPending.subject}) in (${sql.join(
          this.deletes.map((d) => sql`(${d.ruleId}, ${d.subject})`),
          sql`, `,
        )})`,
      );
    }
    return [...(await raiseAlerts(q.db, this.breaches)), ...(await autoResolve(q.db, this.clears, now))];
  }
}
