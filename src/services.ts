import type { AuthService } from './auth/service.ts';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

/** Everything a request or a background task may need, built once at start-up and passed down explicitly. */
export interface Services {
  config: Config;
  database: Database;
  logger: Logger;
  metrics: Metrics;
  auth: AuthService;
}
