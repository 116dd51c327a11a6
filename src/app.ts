import { AuthService, bootstrapAdminKey } from './auth/service.ts';
import type { Config } from './config.ts';
import { EventHub } from './events.ts';
import { LocalPubSub } from './pubsub.ts';
import { decodeId } from './graphql/ids.ts';
import { type Database, migrateDatabase, openDatabase } from './db/client.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import type { Services } from './services.ts';
import { seedDemo } from './twin/seed.ts';

/** Opens the database, applies migrations, seeds if asked, and wires the services. */
export async function createServices(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
): Promise<Services & { bootstrapKey: string | null }> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  let bootstrapKey: string | null = null;
  try {
    await migrateDatabase(database);
    if (config.seed === 'demo' && (await seedDemo(database.db))) logger.info('loaded the demo plant into the empty database');
    bootstrapKey = await bootstrapAdminKey(database.db, config.adminKey !== undefined);
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
  return { ...wireServices(config, database, logger), bootstrapKey };
}

/** Services over an open, migrated database. */
export function wireServices(config: Config, database: Database, logger: Logger): Services {
  const metrics = createMetrics(database.sql);
  const auth = new AuthService(database.db, config, (raw) => (typeof raw === 'number' ? (Number.isInteger(raw) && raw > 0 ? raw : null) : decodeId('Plant', raw) ?? (/^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : null)));
  return { config, database, logger, metrics, auth, events: new EventHub(logger), pubsub: new LocalPubSub() };
}

export async function closeServices(services: Services): Promise<void> {
  await services.pubsub.close();
  await services.database.close();
}
