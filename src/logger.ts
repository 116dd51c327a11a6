import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    // Never log credentials, even if a caller passes a request or config object.
    redact: { paths: ['*.authorization', '*.headers.authorization', '*.password', '*.key', '*.adminKey', '*.token'], censor: '[redacted]' },
  });
}
