import { RowIdentityBatcher } from './twin/identity.ts';
import { AlertService } from './alerts/service.ts';
import { AuthService, type BootstrapKey, bootstrapAdminKey } from './auth/service.ts';
import type { Config } from './config.ts';
import { type Clock, systemClock } from './core/clock.ts';
import { type Database, migrateDatabase, openDatabase } from './db/client.ts';
import { EventHub } from './events/hub.ts';
import { decodeId } from './core/ids.ts';
import { JobService } from './jobs/service.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, persistedOperationNames } from './metrics.ts';
import { LocalPubSub, PgPubSub, type PubSub } from './pubsub/index.ts';
import type { Services } from './services.ts';
import { seedDemoHistory } from './sim/demo-history.ts';
import { seedDemo } from './sim/seed.ts';
import { maintainTelemetry } from './telemetry/partitions.ts';
import { PredictionService } from './predict/service.ts';
import { registerTrainingJob } from './predict/training.ts';
import { PredictionWatcher } from './predict/watch.ts';
import { MachineDirectory } from './twin/directory.ts';
import { ScheduleService } from './optimize/schedules.ts';
import { ScenarioService } from './scenario/service.ts';

/** Opens the database, applies migrations, seeds if asked, and wires the services. */
export async function createServices(
  config: Config,
  logger: Logger = createLogger(config.logLevel, config.logFormat),
  clock: Clock = systemClock,
  /** The database, when start-up already began opening it (in parallel with loading the GraphQL modules). */
  opening?: Promise<Database>,
): Promise<Services & { bootstrapKey: BootstrapKey | null }> {
  const database = await (opening ?? openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, sharedBuffersMb: config.pgliteSharedBuffersMb }));
  let bootstrapKey: BootstrapKey | null = null;
  let demoPlantId: number | null = null;
  try {
    await migrateDatabase(database);
    if (config.seed === 'demo') demoPlantId = await seedDemo(database, clock.now());
    bootstrapKey = await bootstrapAdminKey(database.db, config.adminKey !== undefined);
    // Telemetry partitions for the days around today, and retention, before the first request.
    await maintainTelemetry(database, config.telemetry, clock.now());
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
  // With PostgreSQL, the events of shared topics (alerts, machine status) reach subscribers of every server process.
  let pubsub: PubSub | undefined;
  if (database.kind === 'postgres') {
    try {
      pubsub = await PgPubSub.connect({ url: config.databaseUrl!, pool: database.pool!, onError: (msg) => logger.warn(msg) });
    } catch (err) {
      await database.close().catch(() => {});
      throw err;
    }
  }
  const services = wireServices(config, database, logger, pubsub, clock);
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

/** A Plant ID as a JWT `plants` claim carries it: a global ID, a numeric string or a number. */
function decodePlantClaim(raw: string | number): number | null {
  if (typeof raw === 'number') return Number.isInteger(raw) && raw > 0 ? raw : null;
  return decodeId('Plant', raw) ?? (/^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : null);
}

/** Services over an open, migrated database. */
export function wireServices(config: Config, database: Database, logger: Logger, pubsub: PubSub = new LocalPubSub(), clock: Clock = systemClock): Services {
  const metrics = createMetrics(database.sql, {
    operationNames: config.metrics.operationNames,
    knownOperations: persistedOperationNames(config.persistedOperationsFile),
  });
  const events = new EventHub(logger);
  const machineNames = new MachineDirectory(database, clock);
  const auth = new AuthService(database, config, decodePlantClaim, clock, logger);
  const alerts = new AlertService({ database, pubsub, metrics, logger, events, clock, machineNames });
  const predictions = new PredictionService({ database, pubsub, metrics, logger, clock, config: config.predict });
  predictions.start();
  const predictionRules = new PredictionWatcher({ database, events, predictions, clock, logger });
  predictionRules.start();
  const jobs = new JobService({ database, pubsub, logger, config: config.jobs });
  registerTrainingJob(jobs, { database, predictions });
  const schedules = new ScheduleService({ database, alerts });
  schedules.register(jobs);
  const scenarios = new ScenarioService({ database, jobs, schedules, alerts, events, pubsub, clock, logger });
  scenarios.register(jobs);
  scenarios.start();
  const identities = new RowIdentityBatcher(database);
  return {
    config,
    database,
    clock,
    logger,
    metrics,
    auth,
    events,
    pubsub,
    machineNames,
    identities,
    alerts,
    predictions,
    predictionRules,
    jobs,
    schedules,
    scenarios,
  };
}

export async function closeServices(services: Services): Promise<void> {
  // Running jobs go back to the queue (within the runner's abort grace) while the database is still open.
  services.scenarios.stop();
  await Promise.allSettled([...services.scenarios.replanning]);
  await services.jobs.stop();
  await services.predictionRules.stop();
  await services.predictions.stop();
  await services.alerts.stop();
  await services.pubsub.close();
  await services.database.close();
}
