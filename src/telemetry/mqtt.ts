import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { ValidationError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { INGEST_LIMITS, ingestTelemetry, metricProblem, type TelemetryDeps } from './ingest.ts';
import { retentionCutoffDay } from './partitions.ts';
import { DAY_MS } from './sql.ts';

/**
 * MQTT telemetry bridge. Subscribes to `<prefix>/<plant>/<machine>/<metric>` (plant and machine by name; segments
 * are percent-decoded, so a name with "/" or "+" can be sent as %2F, %2B; the metric is the rest of the topic and
 * may contain "/"), with JSON payloads `{"ts": ..., "value": ...}` (ts: ISO-8601 with offset or epoch milliseconds;
 * omitted means the time of receipt). Good messages are batched (every `flushMs` or `maxBatch` points) into the same
 * ingest function as the GraphQL API. Bad messages are counted and logged (a summary at most every 10 s) and never
 * stop the bridge; each message is checked before it is batched so one bad message cannot sink a batch.
 */

export interface MqttBridgeOptions {
  url: string;
  prefix?: string;
  flushMs?: number;
  maxBatch?: number;
  clientId?: string;
}

export interface MqttBridgeStats {
  /** Messages received. */
  received: number;
  /** Points stored. */
  accepted: number;
  /** Points already stored before (redelivered messages). */
  duplicates: number;
  /** Messages refused: bad topic, bad payload, unknown plant or machine, bad timestamp. */
  rejected: number;
  /** Points lost because a flush failed (database unavailable). */
  failed: number;
  flushes: number;
}

interface Point {
  machineId: number;
  metric: string;
  ms: number;
  value: number;
}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;
const NAME_REFRESH_MS = 5_000;

export class MqttBridge {
  readonly stats: MqttBridgeStats = { received: 0, accepted: 0, duplicates: 0, rejected: 0, failed: 0, flushes: 0 };
  readonly prefix: string;
  private client: MqttClient;
  private buffer: Point[] = [];
  private names = new Map<string, number>();
  private namesLoadedAt = 0;
  private namesLoading: Promise<void> | null = null;
  private unresolved: { key: string; point: Omit<Point, 'machineId'> }[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout;
  private subscribed: Promise<void>;
  private lastReason = '';
  private rejectedSinceLog = 0;
  private lastLog = 0;
  private closed = false;

  constructor(
    private deps: TelemetryDeps & { logger: Logger },
    private opts: MqttBridgeOptions,
  ) {
    this.prefix = (opts.prefix ?? 'plantgraph').replace(/\/+$/, '');
    this.client = mqtt.connect(opts.url, {
      clientId: opts.clientId ?? `plantgraph-${randomBytes(4).toString('hex')}`,
      reconnectPeriod: 2_000,
      connectTimeout: 10_000,
    });
    this.client.on('error', (err) => deps.logger.warn({ err: err.message }, 'MQTT bridge: connection error'));
    this.client.on('message', (topic, payload) => this.onMessage(topic, payload));
    this.subscribed = new Promise<void>((resolve) => {
      this.client.on('connect', () => {
        this.client.subscribe(`${this.prefix}/#`, { qos: 1 }, (err) => {
          if (err) deps.logger.error({ err: err.message }, 'MQTT bridge: subscribe failed');
          else {
            deps.logger.info({ topic: `${this.prefix}/#` }, 'MQTT bridge subscribed');
            resolve();
          }
        });
      });
    });
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 200);
    this.timer.unref();
  }

  /** Resolves once the bridge is subscribed (it keeps reconnecting in the background until then). */
  ready(): Promise<void> {
    return this.subscribed;
  }

  private reject(reason: string, topic: string): void {
    this.stats.rejected++;
    this.rejectedSinceLog++;
    this.lastReason = `${topic}: ${reason}`;
    this.deps.logger.debug({ topic, reason }, 'MQTT bridge: message refused');
    const now = Date.now();
    if (now - this.lastLog >= 10_000) {
      this.lastLog = now;
      this.deps.logger.warn({ refused: this.rejectedSinceLog, last: this.lastReason }, 'MQTT bridge: refused bad messages');
      this.rejectedSinceLog = 0;
    }
  }

  private onMessage(topic: string, payload: Buffer): void {
    this.stats.received++;
    try {
      const parts = topic.split('/');
      const prefixParts = this.prefix.split('/').length;
      if (parts.length < prefixParts + 3) return this.reject('topic must be <prefix>/<plant>/<machine>/<metric>', topic);
      let plant: string, machine: string, metric: string;
      try {
        plant = decodeURIComponent(parts[prefixParts]);
        machine = decodeURIComponent(parts[prefixParts + 1]);
        metric = parts.slice(prefixParts + 2).map(decodeURIComponent).join('/');
      } catch {
        return this.reject('bad percent-encoding in topic', topic);
      }
      const metricErr = metricProblem(metric);
      if (metricErr) return this.reject(metricErr, topic);
      let body: unknown;
      try {
        body = JSON.parse(payload.toString('utf8'));
      } catch {
        return this.reject('payload is not JSON', topic);
      }
      if (!body || typeof body !== 'object' || Array.isArray(body)) return this.reject('payload must be a JSON object {"ts", "value"}', topic);
      const { ts, value } = body as { ts?: unknown; value?: unknown };
      if (typeof value !== 'number' || !Number.isFinite(value)) return this.reject('value must be a finite number', topic);
      const now = Date.now();
      let ms: number;
      if (ts === undefined || ts === null) ms = now;
      else if (typeof ts === 'number' && Number.isFinite(ts)) ms = Math.round(ts);
      else if (typeof ts === 'string' && ISO_WITH_OFFSET.test(ts)) ms = new Date(ts).getTime();
      else return this.reject('ts must be an ISO-8601 date-time with offset or epoch milliseconds', topic);
      if (!Number.isFinite(ms)) return this.reject('ts is not a real date', topic);
      if (ms > now + INGEST_LIMITS.futureMs) return this.reject('ts is more than a day in the future', topic);
      if (ms < retentionCutoffDay(this.deps.config.telemetry, new Date(now)) * DAY_MS) return this.reject('ts is older than the telemetry retention', topic);
      const key = `${plant}\u0000${machine}`;
      const machineId = this.names.get(key);
      if (machineId !== undefined) return this.add({ machineId, metric, ms, value });
      if (now - this.namesLoadedAt < NAME_REFRESH_MS && !this.namesLoading) return this.reject(`unknown plant or machine "${plant}/${machine}"`, topic);
      this.unresolved.push({ key, point: { metric, ms, value } });
      void this.loadNames();
    } catch (err) {
      this.reject(`unexpected: ${(err as Error).message}`, topic);
    }
  }

  /** Reloads plant/machine names (at most every 5 s), then settles the messages that waited for it. */
  private loadNames(): Promise<void> {
    if (this.namesLoading) return this.namesLoading;
    const wait = Math.max(0, this.namesLoadedAt + NAME_REFRESH_MS - Date.now());
    this.namesLoading = new Promise<void>((r) => setTimeout(r, wait))
      .then(async () => {
        const rows = await this.deps.database.query<{ id: number; machine: string; plant: string }>(
          'select m.id, m.name as machine, p.name as plant from machines m join plants p on p.id = m.plant_id',
        );
        this.names = new Map(rows.map((r) => [`${r.plant}\u0000${r.machine}`, r.id]));
      })
      .catch((err) => this.deps.logger.error({ err: (err as Error).message }, 'MQTT bridge: could not load machine names'))
      .finally(() => {
        this.namesLoadedAt = Date.now();
        this.namesLoading = null;
        const waiting = this.unresolved;
        this.unresolved = [];
        for (const { key, point } of waiting) {
          const machineId = this.names.get(key);
          if (machineId === undefined) this.reject(`unknown plant or machine "${key.replace('\u0000', '/')}"`, `${this.prefix}/${key.replace('\u0000', '/')}/${point.metric}`);
          else this.add({ machineId, ...point });
        }
      });
    return this.namesLoading;
  }

  private add(p: Point): void {
    this.buffer.push(p);
    if (this.buffer.length >= (this.opts.maxBatch ?? 5_000)) void this.flush();
  }

  /** Stores what is buffered (flushes run one at a time). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    if (this.buffer.length === 0) return;
    let batch = this.buffer.splice(0, INGEST_LIMITS.points);
    for (let attempt = 0; attempt < 2 && batch.length > 0; attempt++) {
      try {
        const r = await ingestTelemetry(this.deps, { plantIds: null }, {
          columns: { machineIds: batch.map((p) => p.machineId), metrics: batch.map((p) => p.metric), ts: batch.map((p) => p.ms), values: batch.map((p) => p.value) },
        });
        this.stats.flushes++;
        this.stats.accepted += r.accepted;
        this.stats.duplicates += r.duplicates;
        break;
      } catch (err) {
        if (err instanceof ValidationError && attempt === 0) {
          // Something changed since the message was checked (a machine deleted, the clock moved): drop those points.
          const bad = new Set(err.fieldErrors.map((e) => Number(/\[(\d+)\]$/.exec(e.path)?.[1])).filter((i) => Number.isInteger(i)));
          for (const i of bad) this.reject(err.fieldErrors.find((e) => e.path.endsWith(`[${i}]`))?.message ?? 'invalid', `${this.prefix}/#`);
          batch = batch.filter((_, i) => !bad.has(i));
          if (bad.size === 0) batch = [];
          continue;
        }
        this.stats.failed += batch.length;
        this.deps.logger.error({ err: (err as Error).message, points: batch.length }, 'MQTT bridge: flush failed; points dropped');
        break;
      }
    }
    if (this.buffer.length > 0) await this.flushNow();
  }

  /** Stops receiving, stores what is buffered, disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.client.endAsync().catch(() => {});
    await this.namesLoading;
    await this.flush();
  }
}

export function startMqttBridge(deps: TelemetryDeps & { logger: Logger }, opts: MqttBridgeOptions): MqttBridge {
  return new MqttBridge(deps, opts);
}
