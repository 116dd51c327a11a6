import type { Clock } from '../core/clock.ts';
import { type PeriodicTask, startPeriodic } from '../core/periodic.ts';
import type { Database, Queryable } from '../db/client.ts';
import type { Db } from '../db/client.ts';
import type { EventHub } from '../events/hub.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { defineTopic, type PubSub, reviveDates } from '../pubsub/index.ts';
import type { MachineDirectory } from '../twin/directory.ts';
import { AlertEvaluator } from './evaluator.ts';
import { type AlertRule, type AlertRuleInput, RULE_KINDS } from './kinds/index.ts';
import { type AlertEvent, type AlertRow, acknowledgeAlert, autoResolve, type Breach, raiseAlerts, resolveAlert } from './lifecycle.ts';
import { changeAlertRule, insertAlertRule, RuleCache } from './rules.ts';

/** The subject of an order's alerts. */
export const orderSubject = (orderId: number) => `order:${orderId}`;

const formatMinutes = (m: number) => (m >= 120 ? `${(m / 60).toFixed(1)} h` : `${Math.round(m)} min`);

const ALERT_DATES = ['openedAt', 'lastSeenAt', 'acknowledgedAt', 'resolvedAt'] as const satisfies readonly (keyof AlertRow)[];

/** Alert events of a plant (key: plant ID); reaches every server process. */
export const alertTopic = defineTopic<AlertEvent>('alerts', {
  shared: true,
  revive: (e: AlertEvent) => ({ ...e, alert: reviveDates(e.alert, ALERT_DATES) }),
});

export interface AlertServiceDeps {
  database: Database;
  pubsub: PubSub;
  metrics: Metrics;
  logger: Logger;
  events: EventHub;
  clock: Clock;
  machineNames: MachineDirectory;
}

/**
 * Alerts as a service: rules (changes invalidate the rule cache at once), evaluation inside the transactions that
 * store telemetry and machine states (registered on the EventHub, so the writers know nothing of alerts), the
 * lifecycle (acknowledge, resolve), the sweeper, and publishing every alert event once it is committed. Every caller
 * (GraphQL, the demo seed, tests) goes through here, so none can skip a side effect.
 */
export class AlertService {
  readonly rules: RuleCache;
  readonly evaluator: AlertEvaluator;
  private sweeper: PeriodicTask | null = null;

  constructor(private deps: AlertServiceDeps) {
    this.rules = new RuleCache(deps.clock);
    this.evaluator = new AlertEvaluator(deps.database, this.rules, deps.machineNames, deps.clock);
    // One listener per write event that some rule kind reacts to.
    const events = new Set(Object.values(RULE_KINDS).flatMap((k) => (k.trigger ? [k.trigger.event] : [])));
    for (const event of events) {
      deps.events.on(event, async (payload, tx) => {
        const plantIds = [...new Set((payload as { plantId: number }[]).map((x) => x.plantId))];
        const raised = await this.evaluator.evaluate(event, payload, plantIds, tx);
        return raised.length > 0 ? () => this.publish(raised) : undefined;
      });
    }
  }

  async createRule(input: AlertRuleInput): Promise<AlertRule> {
    const rule = await insertAlertRule(this.deps.database, input);
    this.rules.invalidate();
    return rule;
  }

  async updateRule(id: number, patch: Partial<Omit<AlertRuleInput, 'plantId'>>): Promise<AlertRule> {
    const rule = await changeAlertRule(this.deps.database, id, patch, this.deps.clock.now());
    this.rules.invalidate();
    return rule;
  }

  disableRule(id: number): Promise<AlertRule> {
    return this.updateRule(id, { enabled: false });
  }

  async acknowledge(id: number, by: string, note?: string | null): Promise<AlertEvent> {
    const event = await acknowledgeAlert(this.deps.database.db, id, by, note, this.deps.clock.now());
    await this.publish([event]);
    return event;
  }

  async resolve(id: number, by: string, note?: string | null): Promise<AlertEvent> {
    const event = await resolveAlert(this.deps.database.db, id, by, note, this.deps.clock.now());
    await this.publish([event]);
    return event;
  }

  /**
   * ORDER_LATE rules, evaluated when a plant's current schedule changes (inside that transaction): one alert per order
   * the schedule finishes after its due date (value: minutes late), updated while it stays late, and resolved (when
   * the rule says autoResolve) for every order of the rule that is on time again or no longer planned. Returns what to
   * publish once the transaction has committed.
   */
  async evaluateOrderLateness(
    tx: Queryable,
    plantId: number,
    late: readonly { orderId: number; code: string; minutesLate: number; plannedEnd: Date }[],
  ): Promise<() => Promise<void>> {
    const rules = (await this.rules.forPlants(tx, [plantId])).filter((r) => r.kind === 'ORDER_LATE');
    if (rules.length === 0) return async () => {};
    const now = this.deps.clock.now();
    const breaches: Breach[] = [];
    for (const rule of rules)
      for (const o of late)
        breaches.push({
          rule,
          subject: orderSubject(o.orderId),
          machineId: null,
          orderId: o.orderId,
          value: Math.round(o.minutesLate * 100) / 100,
          at: now,
          message: `${rule.name}: order ${o.code} is planned to finish ${formatMinutes(o.minutesLate)} late (${o.plannedEnd.toISOString()})`,
        });
    const raised = await raiseAlerts(tx.db as Db, breaches);
    const lateSubjects = new Set(late.map((o) => orderSubject(o.orderId)));
    const active = await tx.query<{ rule_id: number; subject: string }>(
      `select rule_id, subject from alerts where plant_id = $1 and status <> 'RESOLVED' and rule_id = any($2::text::int[])`,
      [
        plantId,
        `{${rules
          .filter((r) => r.autoResolve)
          .map((r) => r.id)
          .join(',')}}`,
      ],
    );
    const stale = active.filter((a) => !lateSubjects.has(a.subject)).map((a) => ({ ruleId: Number(a.rule_id), subject: a.subject }));
    const resolved = await autoResolve(tx.db as Db, stale, now);
    const events = [...raised, ...resolved];
    return () => this.publish(events);
  }

  /** Raises the forSeconds breaches that are due (by the clock, or at `now`), and publishes them. */
  async sweep(now?: Date): Promise<AlertEvent[]> {
    const events = await this.evaluator.sweep(now);
    await this.publish(events);
    return events;
  }

  private async publish(events: AlertEvent[]): Promise<void> {
    for (const e of events) {
      this.deps.metrics.alerts.inc({ kind: e.kind, severity: e.alert.severity });
      try {
        await this.deps.pubsub.publish(alertTopic, e.alert.plantId, e);
      } catch (err) {
        // The alert is stored; subscribers that miss the event catch up through Query.alerts.
        this.deps.logger.error({ err: (err as Error).message }, 'could not publish alert event');
      }
    }
  }

  /** Raises forSeconds breaches when due, every second, until stop(). */
  start(intervalMs = 1_000): void {
    this.sweeper ??= startPeriodic(
      () => this.sweep(),
      intervalMs,
      (err) => this.deps.logger.error({ err: (err as Error).message }, 'alert sweep failed'),
    );
  }

  async stop(): Promise<void> {
    await this.sweeper?.stop();
    this.sweeper = null;
  }
}
