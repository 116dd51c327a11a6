import { and, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { alertPending, alertRules, machines } from '../db/schema/index.ts';
import type { MachineStateChange, TelemetryRow } from '../events.ts';
import type { Logger } from '../logger.ts';
import { type AlertEvent, autoResolve, type Breach, raiseAlerts } from './lifecycle.ts';
import { type AlertRule, compare, RuleCache } from './rules.ts';

const OPS = { GT: '>', GTE: '≥', LT: '<', LTE: '≤' } as const;

type PendingRow = typeof alertPending.$inferSelect;
const keyOf = (ruleId: number, subject: string) => `${ruleId}|${subject}`;
export const machineSubject = (machineId: number) => `machine:${machineId}`;

/** Machine names for alert messages; names change rarely, so a short-lived cache is enough. */
class MachineNames {
  private names = new Map<number, string>();
  constructor(private db: Db) {}
  /** `db` may be a transaction: on PGlite a query outside an open transaction would wait for it forever. */
  async load(ids: number[], db: Db = this.db): Promise<Map<number, string>> {
    const missing = ids.filter((id) => !this.names.has(id));
    if (missing.length > 0) {
      if (this.names.size > 100_000) this.names.clear();
      const rows = await db.select({ id: machines.id, name: machines.name }).from(machines).where(inArray(machines.id, missing));
      for (const r of rows) this.names.set(r.id, r.name);
    }
    return this.names;
  }
}

export interface EvaluationResult {
  events: AlertEvent[];
}

/**
 * Evaluates alert rules against what was just written, one pass per batch: the rules of the plants involved come
 * from a cache, the pending breaches of the touched rule/subject pairs are read in one statement, every point is
 * walked once per matching rule in memory, and the outcome is written with a fixed number of statements (pending
 * upserts, pending deletes, one alert upsert, one auto-resolve). `forSeconds` breaches that are still pending are
 * raised by `sweep()` when their time has come even if no further point arrives.
 */
export class AlertEvaluator {
  readonly rules: RuleCache;
  private names: MachineNames;

  constructor(
    private db: Db,
    private publish: (events: AlertEvent[]) => Promise<void>,
    private logger: Logger,
    private now: () => Date = () => new Date(),
  ) {
    this.rules = new RuleCache(db);
    this.names = new MachineNames(db);
  }

  /**
   * With `inTransaction`, everything is read and written through that handle (the writer's open transaction) and
   * nothing is published: the caller publishes the returned events once the transaction has committed.
   */
  async onTelemetry(rows: TelemetryRow[], inTransaction?: Db): Promise<AlertEvent[]> {
    const db = inTransaction ?? this.db;
    const plantIds = [...new Set(rows.map((r) => r.plantId))];
    const rules = (await this.rules.forPlants(plantIds, db)).filter((r) => r.kind === 'THRESHOLD' && r.metric && r.comparator && r.threshold !== null);
    if (rules.length === 0) return [];

    // Points by machine and metric, in time order.
    const series = new Map<string, TelemetryRow[]>();
    for (const r of rows) {
      const k = `${r.machineId}|${r.metric}`;
      let list = series.get(k);
      if (!list) series.set(k, (list = []));
      list.push(r);
    }
    for (const list of series.values()) list.sort((a, b) => a.ts.getTime() - b.ts.getTime());

    // Which (rule, machine) pairs this batch touches.
    const machinesByPlantMetric = new Map<string, Set<number>>();
    for (const r of rows) {
      const k = `${r.plantId}|${r.metric}`;
      let set = machinesByPlantMetric.get(k);
      if (!set) machinesByPlantMetric.set(k, (set = new Set()));
      set.add(r.machineId);
    }
    const work: { rule: AlertRule; machineId: number; points: TelemetryRow[] }[] = [];
    for (const rule of rules) {
      const candidates = machinesByPlantMetric.get(`${rule.plantId}|${rule.metric}`);
      if (!candidates) continue;
      for (const machineId of candidates) {
        if (rule.machineId !== null && rule.machineId !== machineId) continue;
        work.push({ rule, machineId, points: series.get(`${machineId}|${rule.metric}`)! });
      }
    }
    if (work.length === 0) return [];

    const pending = await this.loadPending(work.map((w) => ({ ruleId: w.rule.id, subject: machineSubject(w.machineId) })), db);
    const names = await this.names.load([...new Set(work.map((w) => w.machineId))], db);
    const breaches: Breach[] = [];
    const upserts: (typeof alertPending.$inferInsert)[] = [];
    const deletes: { ruleId: number; subject: string }[] = [];
    const clears: { ruleId: number; subject: string }[] = [];

    for (const { rule, machineId, points } of work) {
      const subject = machineSubject(machineId);
      const before = pending.get(keyOf(rule.id, subject));
      let state: { since: Date; fired: boolean; value: number } | null = before ? { since: before.since, fired: before.fired, value: before.value ?? NaN } : null;
      let touched = false;
      let fire: TelemetryRow | null = null;
      for (const p of points) {
        if (compare(p.value, rule.comparator!, rule.threshold!)) {
          if (!state) state = { since: p.ts, fired: false, value: p.value };
          state.value = p.value;
          touched = true;
          if ((p.ts.getTime() - state.since.getTime()) / 1000 >= rule.forSeconds) {
            fire = p;
            state.fired = true;
          }
        } else if (state) {
          state = null;
          touched = true;
        }
      }
      if (fire) {
        const name = names.get(machineId) ?? `machine ${machineId}`;
        breaches.push({
          rule,
          subject,
          machineId,
          orderId: null,
          value: fire.value,
          at: fire.ts,
          message: `${rule.name}: ${rule.metric} on ${name} is ${fire.value} (${OPS[rule.comparator!]} ${rule.threshold}${rule.forSeconds ? ` for ${rule.forSeconds} s` : ''})`,
        });
      }
      // The pending row only matters for its start time and whether it fired; a breach that simply goes on (same
      // start, already fired) needs no write, which keeps a sustained breach at one statement per batch.
      const changed = !before || before.since.getTime() !== state?.since.getTime() || before.fired !== state?.fired;
      if (state && touched && changed) upserts.push({ ruleId: rule.id, subject, plantId: rule.plantId, machineId, since: state.since, value: state.value, fired: state.fired });
      if (!state && (before || touched)) {
        if (before) deletes.push({ ruleId: rule.id, subject });
        if (rule.autoResolve) clears.push({ ruleId: rule.id, subject });
      }
    }
    return this.apply(breaches, upserts, deletes, clears, inTransaction);
  }

  async onMachineStates(changes: MachineStateChange[], inTransaction?: Db): Promise<AlertEvent[]> {
    const db = inTransaction ?? this.db;
    const plantIds = [...new Set(changes.map((c) => c.plantId))];
    const rules = (await this.rules.forPlants(plantIds, db)).filter((r) => r.kind === 'MACHINE_STATE');
    if (rules.length === 0) return [];
    const sorted = [...changes].sort((a, b) => a.at.getTime() - b.at.getTime());
    const work = rules.flatMap((rule) =>
      [...new Set(sorted.filter((c) => c.plantId === rule.plantId && (rule.machineId === null || rule.machineId === c.machineId)).map((c) => c.machineId))].map((machineId) => ({ rule, machineId })),
    );
    if (work.length === 0) return [];
    const pending = await this.loadPending(work.map((w) => ({ ruleId: w.rule.id, subject: machineSubject(w.machineId) })), db);
    const names = await this.names.load([...new Set(work.map((w) => w.machineId))], db);
    const now = this.now();
    const breaches: Breach[] = [];
    const upserts: (typeof alertPending.$inferInsert)[] = [];
    const deletes: { ruleId: number; subject: string }[] = [];
    const clears: { ruleId: number; subject: string }[] = [];
    for (const { rule, machineId } of work) {
      const subject = machineSubject(machineId);
      const before = pending.get(keyOf(rule.id, subject));
      let state: { since: Date; fired: boolean } | null = before ? { since: before.since, fired: before.fired } : null;
      for (const c of sorted) {
        if (c.machineId !== machineId) continue;
        if (c.status === rule.status) {
          if (!state) state = { since: c.at, fired: false };
          else if (c.at < state.since) state.since = c.at; // a late report that it started earlier
        } else state = null;
      }
      if (state) {
        if (!state.fired && (now.getTime() - state.since.getTime()) / 1000 >= rule.forSeconds) {
          state.fired = true;
          breaches.push(this.stateBreach(rule, machineId, names.get(machineId), state.since));
        }
        if (!before || before.since.getTime() !== state.since.getTime() || before.fired !== state.fired) {
          upserts.push({ ruleId: rule.id, subject, plantId: rule.plantId, machineId, since: state.since, value: null, fired: state.fired });
        }
      } else if (before) {
        deletes.push({ ruleId: rule.id, subject });
        if (rule.autoResolve) clears.push({ ruleId: rule.id, subject });
      }
    }
    return this.apply(breaches, upserts, deletes, clears, inTransaction);
  }

  /**
   * Raises pending breaches whose forSeconds have passed. Safe with several processes: the rows are claimed with
   * FOR UPDATE SKIP LOCKED and marked fired in the same transaction.
   */
  async sweep(): Promise<AlertEvent[]> {
    const now = this.now();
    const events = await this.db.transaction(async (tx) => {
      const due = (await tx.execute(sql`
        select p.rule_id, p.subject, p.machine_id, p.since, p.value
        from alert_pending p join alert_rules r on r.id = p.rule_id
        where not p.fired and r.enabled and p.since + make_interval(secs => r.for_seconds) <= ${now.toISOString()}::timestamptz
        order by p.since
        limit 1000
        for update of p skip locked`)) as unknown as { rows?: Record<string, unknown>[] } | Record<string, unknown>[];
      const rows = (Array.isArray(due) ? due : (due.rows ?? [])) as { rule_id: number; subject: string; machine_id: number | null; since: string | Date; value: number | null }[];
      if (rows.length === 0) return [];
      const ruleIds = [...new Set(rows.map((r) => Number(r.rule_id)))];
      const rules = new Map((await tx.select().from(alertRules).where(inArray(alertRules.id, ruleIds))).map((r) => [r.id, r]));
      const names = await this.names.load(
        [...new Set(rows.map((r) => r.machine_id).filter((x): x is number => x !== null).map(Number))],
        tx as unknown as Db,
      );
      const breaches: Breach[] = [];
      for (const r of rows) {
        const rule = rules.get(Number(r.rule_id))!;
        const since = new Date(r.since);
        const machineId = r.machine_id === null ? null : Number(r.machine_id);
        if (rule.kind === 'MACHINE_STATE' && machineId !== null) breaches.push(this.stateBreach(rule, machineId, names.get(machineId), since));
        else
          breaches.push({
            rule,
            subject: r.subject,
            machineId,
            orderId: null,
            value: r.value,
            at: now,
            message: `${rule.name}: ${rule.metric} on ${machineId !== null ? (names.get(machineId) ?? `machine ${machineId}`) : 'plant'} is ${r.value} (${OPS[rule.comparator ?? 'GT']} ${rule.threshold} for ${rule.forSeconds} s)`,
          });
      }
      const raised = await raiseAlerts(tx as unknown as Db, breaches);
      await tx
        .update(alertPending)
        .set({ fired: true })
        .where(sql`(${alertPending.ruleId}, ${alertPending.subject}) in (${sql.join(rows.map((r) => sql`(${Number(r.rule_id)}, ${r.subject})`), sql`, `)})`);
      return raised;
    });
    if (events.length > 0) await this.publish(events);
    return events;
  }

  private stateBreach(rule: AlertRule, machineId: number, name: string | undefined, since: Date): Breach {
    return {
      rule,
      subject: machineSubject(machineId),
      machineId,
      orderId: null,
      value: null,
      at: since,
      message: `${rule.name}: ${name ?? `machine ${machineId}`} is ${rule.status}${rule.forSeconds ? ` for more than ${rule.forSeconds} s` : ''} (since ${since.toISOString()})`,
    };
  }

  private async loadPending(pairs: { ruleId: number; subject: string }[], db: Db = this.db): Promise<Map<string, PendingRow>> {
    const ruleIds = [...new Set(pairs.map((p) => p.ruleId))];
    const subjects = [...new Set(pairs.map((p) => p.subject))];
    const rows = await db
      .select()
      .from(alertPending)
      .where(and(inArray(alertPending.ruleId, ruleIds), inArray(alertPending.subject, subjects)));
    return new Map(rows.map((r) => [keyOf(r.ruleId, r.subject), r]));
  }

  /**
   * Writes the outcome of one evaluation in a single transaction (one commit), then publishes the events; within
   * the caller's transaction (`inTransaction`) it writes there and leaves publishing to the caller.
   */
  private async apply(
    breaches: Breach[],
    upserts: (typeof alertPending.$inferInsert)[],
    deletes: { ruleId: number; subject: string }[],
    clears: { ruleId: number; subject: string }[],
    inTransaction?: Db,
  ): Promise<AlertEvent[]> {
    const statements = (upserts.length > 0 ? 1 : 0) + (deletes.length > 0 ? 1 : 0) + (breaches.length > 0 ? 1 : 0) + (clears.length > 0 ? 1 : 0);
    if (statements === 0) return [];
    const write = async (db: Db): Promise<AlertEvent[]> => {
      if (upserts.length > 0) {
        await db
          .insert(alertPending)
          .values(upserts)
          .onConflictDoUpdate({
            target: [alertPending.ruleId, alertPending.subject],
            set: { since: sql`excluded.since`, value: sql`excluded.value`, fired: sql`excluded.fired` },
          });
      }
      if (deletes.length > 0) {
        await db
          .delete(alertPending)
          .where(sql`(${alertPending.ruleId}, ${alertPending.subject}) in (${sql.join(deletes.map((d) => sql`(${d.ruleId}, ${d.subject})`), sql`, `)})`);
      }
      return [...(await raiseAlerts(db, breaches)), ...(await autoResolve(db, clears, this.now()))];
    };
    if (inTransaction) return write(inTransaction);
    const events = statements === 1 ? await write(this.db) : await this.db.transaction((tx) => write(tx as unknown as Db));
    if (events.length > 0) await this.publish(events);
    return events;
  }
}

/** Runs `sweep` every `intervalMs` until stopped; errors are logged, never thrown. */
export function startSweeper(evaluator: AlertEvaluator, logger: Logger, intervalMs = 1_000): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    evaluator
      .sweep()
      .catch((err) => logger.error({ err: (err as Error).message }, 'alert sweep failed'))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

