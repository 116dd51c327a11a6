import type { AlertService } from './alerts/service.ts';
import type { AuthService } from './auth/service.ts';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import type { EventHub } from './events.ts';
import type { PubSub } from './pubsub.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

/** Everything a request or a background task may need, built once at start-up and passed down explicitly. */
export interface Services {
  config: Config;
  database: Database;
  logger: Logger;
  metrics: Metrics;
  auth: AuthService;
  /** After-commit hooks (telemetry stored, machine states recorded). */
  events: EventHub;
  /** Topics for GraphQL subscriptions. */
  pubsub: PubSub;
  alerts: AlertService;
}
