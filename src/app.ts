import type { Config } from './config.ts';
import { migrateDatabase, openDatabase } from './db/client.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import type { Services } from './services.ts';
import { seedDemo } from './twin/seed.ts';

/** Opens the database, applies migrations, seeds if asked, and wires the services. */
export async function createServices(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<Services> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateDatabase(database);
    if (config.seed === 'demo' && (await seedDemo(database.db))) logger.info('loaded the demo plant into the empty database');
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
  const metrics = createMetrics(database.sql);
  return { config, database, logger, metrics };
}

export async function closeServices(services: Services): Promise<void> {
  await services.database.close();
}
