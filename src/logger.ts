import pino from 'pino';

export type Logger = pino.Logger;

/** How the process writes: lines for people (the default), or one JSON object per line (LOG_FORMAT=json). */
export type LogFormat = 'pretty' | 'json';

export const LOG_FORMATS: readonly LogFormat[] = ['pretty', 'json'];

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** One pino JSON line as a line for people: `12:00:01 WARN  message key=value ...`. */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json);
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const { level, time, msg, ...rest } = entry;
  const clock = typeof time === 'number' ? new Date(time).toISOString().slice(11, 19) : '';
  const name = (LEVEL_NAMES[level as number] ?? String(level)).padEnd(5);
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${clock} ${name} ${msg ?? ''}${fields ? ` ${fields}` : ''}\n`;
}

export function createLogger(level: string, format: LogFormat = 'json'): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: undefined,
    // Never log credentials, even if a caller passes a request or config object.
    redact: { paths: ['*.authorization', '*.headers.authorization', '*.password', '*.key', '*.adminKey', '*.token'], censor: '[redacted]' },
  };
  if (format === 'json') return pino(options);
  return pino(options, { write: (line: string) => void process.stdout.write(prettyLine(line)) });
}

/**
 * What start-up tells its user (where it listens, the bootstrap key, a reason it cannot start), in the same format
 * as the log: text lines, or one JSON object per message with the same fields. Written whatever LOG_LEVEL is.
 */
export interface StartupOutput {
  info(text: string | string[], msg: string, fields?: Record<string, unknown>): void;
  error(text: string, msg?: string, fields?: Record<string, unknown>): void;
}

export function startupOutput(format: LogFormat): StartupOutput {
  const json = (stream: NodeJS.WriteStream, level: number, msg: string, fields: Record<string, unknown>) =>
    stream.write(`${JSON.stringify({ level, time: Date.now(), msg, ...fields })}\n`);
  return {
    info(text, msg, fields = {}) {
      if (format === 'json') json(process.stdout, 30, msg, fields);
      else for (const line of Array.isArray(text) ? text : [text]) process.stdout.write(`${line}\n`);
    },
    error(text, msg = text, fields = {}) {
      if (format === 'json') json(process.stderr, 50, msg, fields);
      else process.stderr.write(`${text}\n`);
    },
  };
}

/** LOG_FORMAT as given, before the configuration is loaded (for a configuration error); pretty unless it says json. */
export function logFormatFromEnv(env: NodeJS.ProcessEnv = process.env): LogFormat {
  return env.LOG_FORMAT?.trim().toLowerCase() === 'json' ? 'json' : 'pretty';
}
