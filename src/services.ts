import type { RowIdentityBatcher } from './twin/identity.ts';
import type { AlertService } from './alerts/service.ts';
import type { AuthService } from './auth/service.ts';
import type { Config } from './config.ts';
import type { Clock } from './core/clock.ts';
import type { Database } from './db/client.ts';
import type { EventHub } from './events/hub.ts';
import type { JobService } from './jobs/service.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { PredictionService } from './predict/service.ts';
import type { PredictionWatcher } from './predict/watch.ts';
import type { PubSub } from './pubsub/index.ts';
import type { MachineDirectory } from './twin/directory.ts';
import type { ScheduleService } from './optimize/schedules.ts';
import type { ScenarioService } from './scenario/service.ts';

/** Everything a request or a background task may need, built once at start-up and passed down explicitly. */
export interface Services {
  config: Config;
  database: Database;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  auth: AuthService;
  /** Write events, raised inside the writers' transactions (telemetry stored, machine states recorded). */
  events: EventHub;
  /** Topics for GraphQL subscriptions. */
  pubsub: PubSub;
  /** Machine names, cached for every capability that needs them. */
  machineNames: MachineDirectory;
  /** Existence and plant of twin rows for node(id), concurrent requests merged. */
  identities: RowIdentityBatcher;
  alerts: AlertService;
  /** Model registry and serving. */
  predictions: PredictionService;
  /** Scores the models PREDICTION alert rules name and raises predictionsMade events. */
  predictionRules: PredictionWatcher;
  /** The job queue, this process's runner and its worker threads. */
  jobs: JobService;
  /** Production schedules: the optimizeSchedule job, storage, the current schedule. */
  schedules: ScheduleService;
  /** What-if scenarios: changes, runs, comparisons, promote; alarm-triggered re-planning. */
  scenarios: ScenarioService;
}
