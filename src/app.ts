import { AuthService, bootstrapAdminKey } from './auth/service.ts';
import type { Config } from './config.ts';
import { EventHub } from './events.ts';
import { LocalPubSub, PgPubSub, type PubSub } from './pubsub.ts';
import { AlertService } from './alerts/service.ts';
import { decodeId } from './graphql/ids.ts';
import { type Database, migrateDatabase, openDatabase } from './db/client.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import type { Services } from './services.ts';
import { seedDemo } from './twin/seed.ts';
import { seedDemoHistory } from './twin/demo-history.ts';
import { maintainTelemetry } from './telemetry/partitions.ts';

/** Opens the database, applies migrations, seeds if asked, and wires the services. */
export async function createServices(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
): Promise<Services & { bootstrapKey: string | null }> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  let bootstrapKey: string | null = null;
  let demoPlantId: number | null = null;
  try {
    await migrateDatabase(database);
    if (config.seed === 'demo') demoPlantId = await seedDemo(database.db);
    bootstrapKey = await bootstrapAdminKey(database.db, config.adminKey !== undefined);
    // Telemetry partitions for the days around today, and retention, before the first request.
    await maintainTelemetry(database, config.telemetry);
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
  // With PostgreSQL, alert and machine-status events reach subscribers of every server process on the database.
  let pubsub: PubSub | undefined;
  if (database.kind === 'postgres') {
    try {
      pubsub = await PgPubSub.connect({
        url: config.databaseUrl!,
        pool: database.pool!,
        shared: (topic) => topic.startsWith('alerts:') || topic.startsWith('machineStatus:'),
        onError: (msg) => logger.warn(msg),
      });
    } catch (err) {
      await database.close().catch(() => {});
      throw err;
    }
  }
  const services = wireServices(config, database, logger, pubsub);
  if (demoPlantId !== null) {
    try {
      await seedDemoHistory(services, demoPlantId);
      logger.info('loaded the demo plant and its last 24 hours (states, production, telemetry, alerts) into the empty database');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'the demo plant is loaded but its history could not be');
    }
  }
  return { ...services, bootstrapKey };
}

/** Services over an open, migrated database. */
export function wireServices(config: Config, database: Database, logger: Logger, pubsub: PubSub = new LocalPubSub()): Services {
  const metrics = createMetrics(database.sql);
  const events = new EventHub(logger);
  const auth = new AuthService(database.db, config, (raw) => (typeof raw === 'number' ? (Number.isInteger(raw) && raw > 0 ? raw : null) : decodeId('Plant', raw) ?? (/^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : null)));
  const alerts = new AlertService(database.db, pubsub, metrics, logger, events);
  return { config, database, logger, metrics, auth, events, pubsub, alerts };
}

export async function closeServices(services: Services): Promise<void> {
  services.alerts.stop();
  await services.pubsub.close();
  await services.database.close();
}
