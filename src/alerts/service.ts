import type { Db } from '../db/client.ts';
import type { EventHub } from '../events.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { PubSub } from '../pubsub.ts';
import { AlertEvaluator, startSweeper } from './evaluator.ts';
import type { AlertEvent } from './lifecycle.ts';

export const alertTopic = (plantId: number) => `alerts:${plantId}`;

/** Alert evaluation wired to the after-commit hooks, and delivery of alert events to subscribers. */
export class AlertService {
  readonly evaluator: AlertEvaluator;
  private stopSweeper: (() => void) | null = null;

  constructor(
    db: Db,
    private pubsub: PubSub,
    private metrics: Metrics,
    private logger: Logger,
    events: EventHub,
  ) {
    this.evaluator = new AlertEvaluator(db, (e) => this.publish(e), logger);
    // Telemetry is evaluated inside the ingest transaction: the points and the alerts they raise commit together, in
    // one commit, and the events are published once it has.
    events.onTelemetryInTransaction(async (rows, db) => {
      const raised = await this.evaluator.onTelemetry(rows, db);
      return raised.length > 0 ? () => this.publish(raised) : undefined;
    });
    events.onMachineStatesInTransaction(async (changes, db) => {
      const raised = await this.evaluator.onMachineStates(changes, db);
      return raised.length > 0 ? () => this.publish(raised) : undefined;
    });
  }

  async publish(events: AlertEvent[]): Promise<void> {
    for (const e of events) {
      this.metrics.alerts.inc({ kind: e.kind, severity: e.alert.severity });
      try {
        await this.pubsub.publish(alertTopic(e.alert.plantId), e);
      } catch (err) {
        // The alert is stored; subscribers that miss the event catch up through Query.alerts.
        this.logger.error({ err: (err as Error).message }, 'could not publish alert event');
      }
    }
  }

  /** Raises forSeconds breaches when due, every second, until stop(). */
  start(intervalMs = 1_000): void {
    this.stopSweeper ??= startSweeper(this.evaluator, this.logger, intervalMs);
  }

  stop(): void {
    this.stopSweeper?.();
    this.stopSweeper = null;
  }
}
