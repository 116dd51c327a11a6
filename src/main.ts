import { closeServices, createServices } from './app.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { startMetricsServer } from './graphql/endpoints.ts';
import { markBootstrapKeyShown } from './auth/service.ts';
import { StartupError } from './db/dir-lock.ts';
import { bindPort, GRAPHQL_PATH, PortError, startServer } from './graphql/server.ts';
import { createLogger } from './logger.ts';
import { startMqttBridge } from './telemetry/mqtt.ts';
import { registerMqttMetrics } from './metrics.ts';
import { startTelemetryMaintenance } from './telemetry/partitions.ts';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`plantgraph: configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  // The port first: a clash fails at once, before seeding and before a bootstrap key is created that nobody sees.
  const listener = await bindPort(config.port, config.host);
  const metricsListener =
    config.metrics.port === undefined
      ? null
      : await bindPort(config.metrics.port, config.metrics.host, { port: 'PLANTGRAPH_METRICS_PORT', host: 'PLANTGRAPH_METRICS_HOST' });
  const services = await createServices(config, logger);
  const server = await startServer(services, { port: config.port, host: config.host, listener });
  const metricsServer =
    config.metrics.port === undefined || !metricsListener
      ? null
      : await startMetricsServer(services, { port: config.metrics.port, host: config.metrics.host, listener: metricsListener });
  if (config.production && !metricsServer && !config.metrics.key)
    logger.warn('/metrics is open to anyone who can reach the server: set PLANTGRAPH_METRICS_KEY or PLANTGRAPH_METRICS_PORT');
  services.alerts.start();
  services.jobs.start();
  const telemetryMaintenance = startTelemetryMaintenance(services.database, config.telemetry, services.clock, logger);
  const mqttBridge = config.mqttUrl ? startMqttBridge({ ...services, logger }, { url: config.mqttUrl }) : null;
  if (mqttBridge) registerMqttMetrics(services.metrics, () => ({ ...mqttBridge.stats }));

  // Signal handlers before the start-up lines: whoever has read that the server listens may stop it at once.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining and shutting down');
    const hardStop = setTimeout(() => {
      logger.error('shutdown took longer than 20 s; exiting');
      process.exit(1);
    }, 20_000);
    hardStop.unref();
    try {
      await server.close();
      await metricsServer?.close();
      await mqttBridge?.close();
      await telemetryMaintenance.stop();
      await closeServices(services);
      logger.info('stopped');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const db = services.database;
  logger.info({ url: `${server.url}${GRAPHQL_PATH}`, database: db.kind, location: db.location }, 'PlantGraph listening');
  console.log(`PlantGraph listening on ${server.url}${GRAPHQL_PATH}`);
  console.log(`  database: ${db.kind === 'pglite' ? `embedded PGlite at ${db.location}` : `PostgreSQL ${db.location}`}`);
  if (!config.production) console.log(`  GraphiQL: ${server.url}${GRAPHQL_PATH}`);
  const bootstrap = services.bootstrapKey;
  const shown = bootstrap !== null && (await markBootstrapKeyShown(db.db, bootstrap.id));
  if (bootstrap && !shown) console.log('  The ADMIN key this start created was replaced by a process that started at the same time: use the key it printed.');
  if (bootstrap && shown) {
    console.log('');
    if (bootstrap.replaced > 0)
      console.log(
        `  An earlier start created an ADMIN key but stopped before showing it; that key (${bootstrap.replaced === 1 ? 'one key' : `${bootstrap.replaced} keys`}) is revoked and a new one was created.`,
      );
    console.log('  No API key was configured, so an ADMIN key was created. It is shown only this once; store it now:');
    console.log(`    ${bootstrap.key}`);
    console.log('  Send it as "Authorization: Bearer <key>". Create narrower keys with createApiKey; set PLANTGRAPH_ADMIN_KEY to bring your own.');
    console.log('');
  }
  if (mqttBridge) console.log(`  MQTT bridge: ${mqttBridge.prefix}/<plant>/<machine>/<metric> on ${config.mqttUrl!.replace(/\/\/[^@/]*@/, '//***@')}`);
  console.log(`  health: ${server.url}/health  ready: ${server.url}/ready  metrics: ${metricsServer?.url ?? `${server.url}/metrics`}`);
}

main().catch((err) => {
  // A problem the user can fix is one line; anything else keeps its stack for the bug report.
  if (err instanceof PortError || err instanceof StartupError) console.error(`plantgraph: ${err.message}`);
  else console.error('plantgraph: failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
