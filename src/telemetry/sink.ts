import { ALL_PLANTS, type PlantScope } from '../core/scope.ts';
import { ValidationError } from '../core/errors.ts';
import type { Logger } from '../logger.ts';
import { ingestTelemetry, INGEST_LIMITS, type TelemetryDeps } from './ingest.ts';

/** A point as protocol bridges hand it over: already checked one by one, the machine resolved. */
export interface SinkPoint {
  machineId: number;
  metric: string;
  ms: number;
  value: number;
}

export interface SinkStats {
  /** Points stored. */
  accepted: number;
  /** Points already stored before (redelivered messages). */
  duplicates: number;
  /** Points refused at flush (something changed since they were checked: a machine deleted, the clock moved). */
  rejected: number;
  /** Points lost because a flush failed (database unavailable). */
  failed: number;
  flushes: number;
}

export interface SinkOptions {
  /** Flush every this many ms (default 200) or when `maxBatch` points are buffered (default 5,000). */
  flushMs?: number;
  maxBatch?: number;
  scope?: PlantScope;
  /** Told about every point refused at flush. */
  onRejected?: (reason: string) => void;
}

/**
 * Protocol-independent batching in front of `ingestTelemetry`, for the MQTT bridge, the simulator and the bridges to
 * come: points are buffered and stored every `flushMs` or `maxBatch` points, one flush at a time. If a flush is
 * refused, the points the ValidationError names are dropped (and counted) and the rest are stored; a flush that fails
 * otherwise drops its points, counted and logged.
 */
export class TelemetrySink {
  readonly stats: SinkStats = { accepted: 0, duplicates: 0, rejected: 0, failed: 0, flushes: 0 };
  private buffer: SinkPoint[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private deps: TelemetryDeps & { logger: Logger },
    private opts: SinkOptions = {},
  ) {
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 200);
    this.timer.unref();
  }

  get buffered(): number {
    return this.buffer.length;
  }

  add(p: SinkPoint): void {
    if (this.closed) throw new Error('the telemetry sink is closed');
    this.buffer.push(p);
    if (this.buffer.length >= (this.opts.maxBatch ?? 5_000)) void this.flush();
  }

  /** Stores what is buffered (flushes run one at a time). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  /** Stops the timer and stores what is buffered. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
  }

  private async flushNow(): Promise<void> {
    while (this.buffer.length > 0) await this.store(this.buffer.splice(0, INGEST_LIMITS.points));
  }

  private async store(points: SinkPoint[]): Promise<void> {
    let batch = points;
    for (let attempt = 0; attempt < 2 && batch.length > 0; attempt++) {
      try {
        const r = await ingestTelemetry(this.deps, this.opts.scope ?? ALL_PLANTS, {
          columns: {
            machineIds: batch.map((p) => p.machineId),
            metrics: batch.map((p) => p.metric),
            ts: batch.map((p) => p.ms),
            values: batch.map((p) => p.value),
          },
        });
        this.stats.flushes++;
        this.stats.accepted += r.accepted;
        this.stats.duplicates += r.duplicates;
        return;
      } catch (err) {
        if (err instanceof ValidationError && attempt === 0) {
          const bad = new Map<number, string>();
          for (const e of err.fieldErrors) {
            const i = Number(/\[(\d+)\]$/.exec(e.path)?.[1]);
            if (Number.isInteger(i) && !bad.has(i)) bad.set(i, e.message);
          }
          if (bad.size === 0) break; // not about single points: nothing to retry without
          for (const reason of bad.values()) {
            this.stats.rejected++;
            this.opts.onRejected?.(reason);
          }
          batch = batch.filter((_, i) => !bad.has(i));
          continue;
        }
        this.stats.failed += batch.length;
        this.deps.logger.error({ err: (err as Error).message, points: batch.length }, 'telemetry sink: flush failed; points dropped');
        return;
      }
    }
    if (batch.length > 0) {
      this.stats.failed += batch.length;
      this.deps.logger.error({ points: batch.length }, 'telemetry sink: batch refused as a whole; points dropped');
    }
  }
}
