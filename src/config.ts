import os from 'node:os';
import path from 'node:path';
import { LOG_FORMATS, type LogFormat } from './logger.ts';

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  /** PLANTGRAPH_PGLITE_SHARED_BUFFERS_MB: embedded PGlite's buffer pool (see OpenOptions.sharedBuffersMb). */
  pgliteSharedBuffersMb: number;
  seed: 'demo' | 'none';
  adminKey: string | undefined;
  logLevel: string;
  /** LOG_FORMAT: pretty (lines for people, the default) or json (one object per line). */
  logFormat: LogFormat;
  mqttUrl: string | undefined;
  telemetry: TelemetryConfig;
  /** Model serving: batching window and size, model and request size limits. */
  predict: {
    batchWindowMs: number;
    batchMaxRows: number;
    maxModelBytes: number;
    maxRows: number;
  };
  production: boolean;
  introspection: boolean;
  graphiql: boolean;
  jwt: { secret?: string; publicKeyPem?: string; issuer?: string; audience?: string };
  limits: Limits;
  persistedOperationsFile: string | undefined;
  /** Take the client address from X-Forwarded-For (its last entry) instead of the socket: PLANTGRAPH_TRUST_PROXY. */
  trustProxy: boolean;
  metrics: MetricsConfig;
  jobs: JobsConfig;
}

export interface JobsConfig {
  /** Jobs this process runs at once (0: it only queues them, for processes that serve the API alone). */
  concurrency: number;
  /** Worker threads for CPU-heavy job code (started when first needed). */
  workerThreads: number;
  /** A running job's lease: renewed while it runs; once it expires (its process died) the job is queued again or failed. */
  leaseSeconds: number;
}

export interface MetricsConfig {
  /** When set, /metrics needs `Authorization: Bearer <key>`. */
  key: string | undefined;
  /** When set, /metrics is served only on its own listener at host:port (0 picks a free port). */
  port: number | undefined;
  host: string;
  /** Distinct operation names kept as labels (the most recent ones); the others count as "other". */
  operationNames: number;
}

export interface TelemetryConfig {
  /** Raw points older than this many days (UTC day granularity) are dropped and refused at ingest. */
  retentionDays: number;
  /** One-minute rollups are kept this long (at least retentionDays). */
  rollupRetentionDays: number;
}

export interface Limits {
  maxBodyBytes: number;
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
  /** Estimated cost of a subscription's selection, which runs on every event. */
  maxSubscriptionCost: number;
  /** Subscription executions (one per event and distinct selection) running at once, per server process. */
  subscriptionConcurrency: number;
  maxBatch: number;
  rateLimitPerMinute: number;
  rateLimitBurst: number;
  maxSubscriptionsPerConnection: number;
  /** Open WebSocket connections (past connection_init) of one credential in one server process. */
  maxWsConnectionsPerKey: number;
  wsInitTimeoutMs: number;
  /** Failed authentications per client address within the window before that address gets 429 (0 = off). */
  authFailureLimit: number;
  authFailureWindowSeconds: number;
  /** A query's execution is cut off (EXECUTION_TIMEOUT) after this long; its database work is cancelled. */
  maxExecutionMs: number;
  /** A result larger than this (as JSON) is answered with RESPONSE_TOO_LARGE instead. */
  maxResponseBytes: number;
  /** A file uploaded in a multipart request (a CSV dataset, an ONNX model) at most; enforced while it streams. */
  maxUploadBytes: number;
}

function bool(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

export class ConfigError extends Error {}

function intInRange(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  // Number(' ') is 0: a blank value must not silently become 0.
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

/** Reads the environment once at start-up; every problem is reported before anything opens. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL (unset it to use embedded PGlite)');
  }
  const seed = (env.PLANTGRAPH_SEED ?? 'demo').trim() || 'demo';
  if (seed !== 'demo' && seed !== 'none') {
    throw new ConfigError(`PLANTGRAPH_SEED must be "demo" or "none", got "${seed}"`);
  }
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "${logLevel}"`);
  }
  const logFormat = (env.LOG_FORMAT?.trim().toLowerCase() || 'pretty') as LogFormat;
  if (!LOG_FORMATS.includes(logFormat)) throw new ConfigError(`LOG_FORMAT must be pretty or json; got "${env.LOG_FORMAT}"`);
  const production = env.NODE_ENV === 'production';
  const retentionDays = intInRange('PLANTGRAPH_TELEMETRY_RETENTION_DAYS', env.PLANTGRAPH_TELEMETRY_RETENTION_DAYS, 90, 1, 36_500);
  const rollupRetentionDays = intInRange(
    'PLANTGRAPH_TELEMETRY_ROLLUP_RETENTION_DAYS',
    env.PLANTGRAPH_TELEMETRY_ROLLUP_RETENTION_DAYS,
    Math.max(400, retentionDays),
    1,
    36_500,
  );
  if (rollupRetentionDays < retentionDays) {
    throw new ConfigError(
      `PLANTGRAPH_TELEMETRY_ROLLUP_RETENTION_DAYS (${rollupRetentionDays}) must be at least PLANTGRAPH_TELEMETRY_RETENTION_DAYS (${retentionDays})`,
    );
  }
  const mqttUrl = env.MQTT_URL?.trim() || undefined;
  if (mqttUrl && !/^(mqtts?|wss?|tcp|ssl):\/\/[^/]/.test(mqttUrl)) {
    throw new ConfigError(`MQTT_URL must be an mqtt://, mqtts://, ws:// or wss:// URL, got "${mqttUrl}"`);
  }
  const jwtSecret = env.PLANTGRAPH_JWT_SECRET?.trim() || undefined;
  if (jwtSecret && jwtSecret.length < 32) throw new ConfigError('PLANTGRAPH_JWT_SECRET must be at least 32 characters');
  const port = intInRange('PORT', env.PORT, 4000, 0, 65535);
  const host = env.HOST?.trim() || '127.0.0.1';
  const metricsKey = env.PLANTGRAPH_METRICS_KEY?.trim() || undefined;
  if (metricsKey && (metricsKey.length < 16 || /\s/.test(metricsKey)))
    throw new ConfigError('PLANTGRAPH_METRICS_KEY must be at least 16 characters without spaces');
  const metricsPort = env.PLANTGRAPH_METRICS_PORT?.trim() ? intInRange('PLANTGRAPH_METRICS_PORT', env.PLANTGRAPH_METRICS_PORT, 0, 0, 65535) : undefined;
  const metricsHost = env.PLANTGRAPH_METRICS_HOST?.trim() || host;
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port && metricsHost === host)
    throw new ConfigError(`PLANTGRAPH_METRICS_PORT must differ from PORT (${port})`);
  return {
    production,
    introspection: bool('PLANTGRAPH_INTROSPECTION', env.PLANTGRAPH_INTROSPECTION, !production),
    graphiql: bool('PLANTGRAPH_GRAPHIQL', env.PLANTGRAPH_GRAPHIQL, !production),
    jwt: {
      secret: jwtSecret,
      publicKeyPem: env.PLANTGRAPH_JWT_PUBLIC_KEY?.trim() || undefined,
      issuer: env.PLANTGRAPH_JWT_ISSUER?.trim() || undefined,
      audience: env.PLANTGRAPH_JWT_AUDIENCE?.trim() || undefined,
    },
    persistedOperationsFile: env.PLANTGRAPH_PERSISTED_OPERATIONS?.trim() || undefined,
    trustProxy: bool('PLANTGRAPH_TRUST_PROXY', env.PLANTGRAPH_TRUST_PROXY, false),
    metrics: {
      key: metricsKey,
      port: metricsPort,
      host: metricsHost,
      operationNames: intInRange('PLANTGRAPH_METRICS_OPERATION_NAMES', env.PLANTGRAPH_METRICS_OPERATION_NAMES, 200, 0, 10_000),
    },
    jobs: {
      concurrency: intInRange('PLANTGRAPH_JOB_CONCURRENCY', env.PLANTGRAPH_JOB_CONCURRENCY, 2, 0, 1_000),
      workerThreads: intInRange('PLANTGRAPH_WORKER_THREADS', env.PLANTGRAPH_WORKER_THREADS, Math.max(1, os.availableParallelism() - 1), 1, 1_024),
      leaseSeconds: intInRange('PLANTGRAPH_JOB_LEASE_SECONDS', env.PLANTGRAPH_JOB_LEASE_SECONDS, 15, 1, 3_600),
    },
    limits: {
      maxBodyBytes: intInRange('PLANTGRAPH_MAX_BODY_BYTES', env.PLANTGRAPH_MAX_BODY_BYTES, 8 * 1024 * 1024, 1024, 512 * 1024 * 1024),
      maxDepth: intInRange('PLANTGRAPH_MAX_DEPTH', env.PLANTGRAPH_MAX_DEPTH, 15, 2, 100),
      maxAliases: intInRange('PLANTGRAPH_MAX_ALIASES', env.PLANTGRAPH_MAX_ALIASES, 30, 1, 1000),
      maxTokens: intInRange('PLANTGRAPH_MAX_TOKENS', env.PLANTGRAPH_MAX_TOKENS, 5_000, 100, 1_000_000),
      maxCost: intInRange('PLANTGRAPH_MAX_COST', env.PLANTGRAPH_MAX_COST, 100_000, 100, 100_000_000),
      maxSubscriptionCost: intInRange('PLANTGRAPH_MAX_SUBSCRIPTION_COST', env.PLANTGRAPH_MAX_SUBSCRIPTION_COST, 5_000, 10, 100_000_000),
      // Embedded PGlite runs one statement at a time on the server's own thread: a second execution would only wait.
      subscriptionConcurrency: intInRange('PLANTGRAPH_SUBSCRIPTION_CONCURRENCY', env.PLANTGRAPH_SUBSCRIPTION_CONCURRENCY, databaseUrl ? 2 : 1, 1, 1_000),
      maxBatch: intInRange('PLANTGRAPH_MAX_BATCH', env.PLANTGRAPH_MAX_BATCH, 10, 1, 1000),
      rateLimitPerMinute: intInRange('PLANTGRAPH_RATE_LIMIT_PER_MINUTE', env.PLANTGRAPH_RATE_LIMIT_PER_MINUTE, 1_200, 0, 10_000_000),
      rateLimitBurst: intInRange('PLANTGRAPH_RATE_LIMIT_BURST', env.PLANTGRAPH_RATE_LIMIT_BURST, 200, 0, 10_000_000),
      maxSubscriptionsPerConnection: intInRange('PLANTGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION', env.PLANTGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION, 50, 1, 10_000),
      maxWsConnectionsPerKey: intInRange('PLANTGRAPH_MAX_WS_CONNECTIONS_PER_KEY', env.PLANTGRAPH_MAX_WS_CONNECTIONS_PER_KEY, 1_000, 1, 1_000_000),
      wsInitTimeoutMs: intInRange('PLANTGRAPH_WS_INIT_TIMEOUT_MS', env.PLANTGRAPH_WS_INIT_TIMEOUT_MS, 5_000, 100, 600_000),
      authFailureLimit: intInRange('PLANTGRAPH_AUTH_FAILURE_LIMIT', env.PLANTGRAPH_AUTH_FAILURE_LIMIT, 20, 0, 1_000_000),
      authFailureWindowSeconds: intInRange('PLANTGRAPH_AUTH_FAILURE_WINDOW_SECONDS', env.PLANTGRAPH_AUTH_FAILURE_WINDOW_SECONDS, 60, 1, 86_400),
      maxExecutionMs: intInRange('PLANTGRAPH_MAX_EXECUTION_MS', env.PLANTGRAPH_MAX_EXECUTION_MS, 15_000, 10, 3_600_000),
      maxResponseBytes: intInRange('PLANTGRAPH_MAX_RESPONSE_BYTES', env.PLANTGRAPH_MAX_RESPONSE_BYTES, 32 * 1024 * 1024, 1024, 512 * 1024 * 1024),
      maxUploadBytes: intInRange('PLANTGRAPH_MAX_UPLOAD_BYTES', env.PLANTGRAPH_MAX_UPLOAD_BYTES, 100 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    },
    port,
    host,
    databaseUrl,
    dataDir: path.resolve(env.PLANTGRAPH_DATA_DIR?.trim() || './data'),
    pgliteSharedBuffersMb: intInRange('PLANTGRAPH_PGLITE_SHARED_BUFFERS_MB', env.PLANTGRAPH_PGLITE_SHARED_BUFFERS_MB, 32, 1, 16_384),
    seed,
    adminKey: env.PLANTGRAPH_ADMIN_KEY?.trim() || undefined,
    logLevel,
    logFormat,
    mqttUrl,
    telemetry: { retentionDays, rollupRetentionDays },
    predict: {
      batchWindowMs: intInRange('PLANTGRAPH_PREDICT_BATCH_WINDOW_MS', env.PLANTGRAPH_PREDICT_BATCH_WINDOW_MS, 2, 0, 1000),
      batchMaxRows: intInRange('PLANTGRAPH_PREDICT_BATCH_MAX_ROWS', env.PLANTGRAPH_PREDICT_BATCH_MAX_ROWS, 4096, 1, 1_000_000),
      maxModelBytes: intInRange('PLANTGRAPH_MAX_MODEL_BYTES', env.PLANTGRAPH_MAX_MODEL_BYTES, 100 * 1024 * 1024, 1024, 2 * 1024 * 1024 * 1024 - 1),
      maxRows: intInRange('PLANTGRAPH_MAX_PREDICT_ROWS', env.PLANTGRAPH_MAX_PREDICT_ROWS, 10_000, 1, 1_000_000),
    },
  };
}
