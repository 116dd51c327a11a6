import path from 'node:path';

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  seed: 'demo' | 'none';
  adminKey: string | undefined;
  logLevel: string;
  mqttUrl: string | undefined;
  production: boolean;
}

export class ConfigError extends Error {}

function intInRange(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
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
  return {
    port: intInRange('PORT', env.PORT, 4000, 0, 65535),
    host: env.HOST?.trim() || '127.0.0.1',
    databaseUrl,
    dataDir: path.resolve(env.PLANTGRAPH_DATA_DIR?.trim() || './data'),
    seed,
    adminKey: env.PLANTGRAPH_ADMIN_KEY?.trim() || undefined,
    logLevel,
    mqttUrl: env.MQTT_URL?.trim() || undefined,
    production: env.NODE_ENV === 'production',
  };
}
