// Start-up in two steps: the configuration and the port with light modules only, so a mistake or a port clash is
// reported at once; then the rest of the server (GraphQL schema, database, services), with the database opening
// while the GraphQL modules load.
import { ConfigError, type Config, loadConfig } from './config.ts';
import { StartupError } from './db/dir-lock.ts';
import { bindPort, PortError } from './graphql/listen.ts';
import { createLogger, logFormatFromEnv, type StartupOutput, startupOutput } from './logger.ts';

/** PLANTGRAPH_TRACE_STARTUP=1: each start-up step's time since the process started, on stderr. */
function startupMarks(): (step: string) => void {
  if (process.env.PLANTGRAPH_TRACE_STARTUP !== '1') return () => {};
  return (step) => process.stderr.write(`startup: ${step} at ${Math.round(performance.now())} ms\n`);
}

let out: StartupOutput = startupOutput(logFormatFromEnv());

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      out.error(`plantgraph: configuration error: ${err.message}`, `configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  out = startupOutput(config.logFormat);
  const logger = createLogger(config.logLevel, config.logFormat);
  // The port first: a clash fails at once, before seeding and before a bootstrap key is created that nobody sees.
  const listener = await bindPort(config.port, config.host);
  const metricsListener =
    config.metrics.port === undefined
      ? null
      : await bindPort(config.metrics.port, config.metrics.host, { port: 'PLANTGRAPH_METRICS_PORT', host: 'PLANTGRAPH_METRICS_HOST' });
  const mark = startupMarks();
  mark('port bound');
  // The database opens (PGlite compiles its WebAssembly and reads its files) while the server's modules load.
  const { openDatabase } = await import('./db/client.ts');
  const opening = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, sharedBuffersMb: config.pgliteSharedBuffersMb });
  opening.catch(() => {}); // its error is reported where it is awaited, in createServices
  const [{ closeServices, createServices }, { startMetricsServer }, { markBootstrapKeyShown }, { GRAPHQL_PATH, startServer }, mqtt, metricsModule, partitions] =
    await Promise.all([
      import('./app.ts'),
      import('./graphql/endpoints.ts'),
      import('./auth/service.ts'),
      import('./graphql/server.ts'),
      // The MQTT client library only when a broker is configured.
      config.mqttUrl ? import('./telemetry/mqtt.ts') : null,
      import('./metrics.ts'),
      import('./telemetry/partitions.ts'),
    ]);
  mark('modules loaded');
  await opening.catch(() => {});
  mark('database open');
  const services = await createServices(config, logger, undefined, opening);
  mark('services ready');
  const server = await startServer(services, { port: config.port, host: config.host, listener });
  const metricsServer =
    config.metrics.port === undefined || !metricsListener
      ? null
      : await startMetricsServer(services, { port: config.metrics.port, host: config.metrics.host, listener: metricsListener });
  if (config.production && !metricsServer && !config.metrics.key)
    logger.warn('/metrics is open to anyone who can reach the server: set PLANTGRAPH_METRICS_KEY or PLANTGRAPH_METRICS_PORT');
  services.alerts.start();
  services.jobs.start();
  const telemetryMaintenance = partitions.startTelemetryMaintenance(services.database, config.telemetry, services.clock, logger);
  const mqttBridge = config.mqttUrl ? mqtt!.startMqttBridge({ ...services, logger }, { url: config.mqttUrl }) : null;
  if (mqttBridge) metricsModule.registerMqttMetrics(services.metrics, () => ({ ...mqttBridge.stats }));

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

  mark('serving');
  const db = services.database;
  const url = `${server.url}${GRAPHQL_PATH}`;
  const graphiql = config.production ? undefined : url;
  out.info(
    [
      `PlantGraph listening on ${url}`,
      `  database: ${db.kind === 'pglite' ? `embedded PGlite at ${db.location}` : `PostgreSQL ${db.location}`}`,
      ...(graphiql ? [`  GraphiQL: ${graphiql}`] : []),
    ],
    'PlantGraph listening',
    { url, database: db.kind, location: db.location, graphiql },
  );
  const bootstrap = services.bootstrapKey;
  const shown = bootstrap !== null && (await markBootstrapKeyShown(db.db, bootstrap.id));
  if (bootstrap && !shown) {
    const text = 'The ADMIN key this start created was replaced by a process that started at the same time: use the key it printed.';
    out.info(`  ${text}`, text);
  }
  if (bootstrap && shown) {
    const replaced =
      bootstrap.replaced > 0
        ? `An earlier start created an ADMIN key but stopped before showing it; that key (${bootstrap.replaced === 1 ? 'one key' : `${bootstrap.replaced} keys`}) is revoked and a new one was created.`
        : undefined;
    const usage = 'Send it as "Authorization: Bearer <key>". Create narrower keys with createApiKey; set PLANTGRAPH_ADMIN_KEY to bring your own.';
    out.info(
      [
        '',
        ...(replaced ? [`  ${replaced}`] : []),
        '  No API key was configured, so an ADMIN key was created. It is shown only this once; store it now:',
        `    ${bootstrap.key}`,
        `  ${usage}`,
        '',
      ],
      'No API key was configured, so an ADMIN key was created. It is shown only this once; store it now.',
      { adminKey: bootstrap.key, replacedKeys: bootstrap.replaced, ...(replaced ? { replaced } : {}), usage },
    );
  }
  if (mqttBridge) {
    const broker = config.mqttUrl!.replace(/\/\/[^@/]*@/, '//***@');
    out.info(`  MQTT bridge: ${mqttBridge.prefix}/<plant>/<machine>/<metric> on ${broker}`, 'MQTT bridge', {
      topics: `${mqttBridge.prefix}/<plant>/<machine>/<metric>`,
      broker,
    });
  }
  const endpoints = { health: `${server.url}/health`, ready: `${server.url}/ready`, metrics: metricsServer?.url ?? `${server.url}/metrics` };
  out.info(`  health: ${endpoints.health}  ready: ${endpoints.ready}  metrics: ${endpoints.metrics}`, 'endpoints', endpoints);
}

main().catch((err) => {
  // A problem the user can fix is one line; anything else keeps its stack for the bug report.
  if (err instanceof PortError || err instanceof StartupError) out.error(`plantgraph: ${err.message}`, err.message);
  else
    out.error(`plantgraph: failed to start: ${err instanceof Error ? err.message : String(err)}`, 'failed to start', {
      err: err instanceof Error ? err.stack : String(err),
    });
  process.exit(1);
});
