import type { TelemetryConfig } from '../config.ts';

export const DAY_MS = 86_400_000;

/** How far ahead of the server clock a timestamp may be. */
export const MAX_FUTURE_MS = DAY_MS;

export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** The first UTC day whose raw points are kept; older ones are refused at ingest and dropped by retention. */
export function retentionCutoffDay(config: TelemetryConfig, now: Date): number {
  return dayOf(now.getTime()) - config.retentionDays;
}

/**
 * The one timestamp rule for everything recorded (telemetry points, machine states, production counts, MQTT
 * messages): a real instant, at most a day ahead of the server clock and, with `retention`, not older than the raw
 * telemetry retention. Returns why `ms` is refused, or null.
 */
export function timestampProblem(ms: number, now: Date, retention?: TelemetryConfig): string | null {
  if (!Number.isFinite(ms)) return 'not a valid timestamp';
  if (ms > now.getTime() + MAX_FUTURE_MS) return 'is more than a day in the future';
  if (retention && ms < retentionCutoffDay(retention, now) * DAY_MS) return `is older than the telemetry retention of ${retention.retentionDays} days`;
  return null;
}
