import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { type PeriodicTask, startPeriodic } from '../core/periodic.ts';
import type { Logger } from '../logger.ts';
import type { MachineDirectory } from '../twin/directory.ts';
import type { TelemetryDeps } from './ingest.ts';
import { metricProblem } from './input.ts';
import { type SinkPoint, type SinkStats, TelemetrySink } from './sink.ts';
import { RefusalSummary } from './refusals.ts';
import { timestampProblem } from './timestamps.ts';

/**
 * MQTT telemetry bridge. Subscribes to `<prefix>/<plant>/<machine>/<metric>` (plant and machine by name; segments
 * are percent-decoded, so a name with "/" or "+" can be sent as %2F, %2B; the metric is the rest of the topic and
 * may contain "/"), with JSON payloads `{"ts": ..., "value": ...}` (ts: ISO-8601 with offset or epoch milliseconds;
 * omitted means the time of receipt). Good messages go to a TelemetrySink, which batches them (every `flushMs` or
 * `maxBatch` points) into the same ingest function as the GraphQL API. Bad messages are counted and logged (every 10 s, each distinct reason with its count) and never
 * stop the bridge; each message is checked before it is batched so one bad message cannot sink a batch.
 */

export interface MqttBridgeOptions {
  url: string;
  prefix?: string;
  flushMs?: number;
  maxBatch?: number;
  clientId?: string;
  /** How often the summary of refused messages is logged (ms; default 10 s). */
  summaryMs?: number;
}

export interface MqttBridgeStats extends SinkStats {
  /** Messages received. */
  received: number;
  /** Messages refused (bad topic, bad payload, unknown plant or machine, bad timestamp) and points refused at flush. */
  rejected: number;
}

export type MqttBridgeDeps = TelemetryDeps & { logger: Logger; machineNames: MachineDirectory };

interface ParsedMessage {
  plant: string;
  machine: string;
  point: Omit<SinkPoint, 'machineId'>;
}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

export class MqttBridge {
  readonly prefix: string;
  private received = 0;
  private refused = 0;
  private client: MqttClient;
  private sink: TelemetrySink;
  private resolving = new Set<Promise<void>>();
  private subscribed: Promise<void>;
  private refusals = new RefusalSummary();
  private summaryTask: PeriodicTask;
  private closed = false;

  constructor(
    private deps: MqttBridgeDeps,
    opts: MqttBridgeOptions,
  ) {
    this.prefix = (opts.prefix ?? 'plantgraph').replace(/\/+$/, '');
    this.sink = new TelemetrySink(deps, { flushMs: opts.flushMs, maxBatch: opts.maxBatch, onRejected: (reason) => this.log(reason, `${this.prefix}/#`) });
    this.summaryTask = startPeriodic(
      async () => this.logRefusals(),
      opts.summaryMs ?? 10_000,
      () => {},
    );
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
  }

  get stats(): MqttBridgeStats {
    const s = this.sink.stats;
    return { ...s, received: this.received, rejected: this.refused + s.rejected };
  }

  /** Resolves once the bridge is subscribed (it keeps reconnecting in the background until then). */
  ready(): Promise<void> {
    return this.subscribed;
  }

  private reject(reason: string, topic: string): void {
    this.refused++;
    this.log(reason, topic);
  }

  private log(reason: string, topic: string): void {
    this.refusals.add(reason, topic);
    this.deps.logger.debug({ topic, reason }, 'MQTT bridge: message refused');
  }

  /** One warning per period with every distinct reason refused in it and its count (see RefusalSummary). */
  private logRefusals(): void {
    const summary = this.refusals.take();
    if (summary) this.deps.logger.warn(summary, 'MQTT bridge: refused bad messages');
  }

  private onMessage(topic: string, payload: Buffer): void {
    this.received++;
    let parsed: ParsedMessage | string;
    try {
      parsed = this.parse(topic, payload);
    } catch (err) {
      parsed = `unexpected: ${(err as Error).message}`;
    }
    if (typeof parsed === 'string') {
      this.reject(parsed, topic);
      return;
    }
    const { plant, machine, point } = parsed;
    const known = this.deps.machineNames.cachedId(plant, machine);
    if (known !== undefined) {
      this.add({ machineId: known, ...point });
      return;
    }
    // Unknown here: the directory reloads (at most every few seconds) in case the machine is new.
    const pending = this.deps.machineNames.idByName(plant, machine).then(
      (machineId) => (machineId === undefined ? this.reject(`unknown plant or machine "${plant}/${machine}"`, topic) : this.add({ machineId, ...point })),
      (err) => this.reject(`could not resolve the machine: ${(err as Error).message}`, topic),
    );
    this.resolving.add(pending);
    void pending.finally(() => this.resolving.delete(pending));
  }

  /** The plant, machine and point of a message, or why it is refused. */
  private parse(topic: string, payload: Buffer): ParsedMessage | string {
    const parts = topic.split('/');
    const prefixParts = this.prefix.split('/').length;
    if (parts.length < prefixParts + 3) return 'topic must be <prefix>/<plant>/<machine>/<metric>';
    let plant: string, machine: string, metric: string;
    try {
      plant = decodeURIComponent(parts[prefixParts]);
      machine = decodeURIComponent(parts[prefixParts + 1]);
      metric = parts
        .slice(prefixParts + 2)
        .map(decodeURIComponent)
        .join('/');
    } catch {
      return 'bad percent-encoding in topic';
    }
    const metricErr = metricProblem(metric);
    if (metricErr) return metricErr;
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      return 'payload is not JSON';
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) return 'payload must be a JSON object {"ts", "value"}';
    const { ts, value } = body as { ts?: unknown; value?: unknown };
    if (typeof value !== 'number' || !Number.isFinite(value)) return 'value must be a finite number';
    const now = this.deps.clock.now();
    let ms: number;
    if (ts === undefined || ts === null) ms = now.getTime();
    else if (typeof ts === 'number' && Number.isFinite(ts)) ms = Math.round(ts);
    else if (typeof ts === 'string' && ISO_WITH_OFFSET.test(ts)) ms = new Date(ts).getTime();
    else return 'ts must be an ISO-8601 date-time with offset or epoch milliseconds';
    const tsErr = timestampProblem(ms, now, this.deps.config.telemetry);
    if (tsErr) return `ts ${tsErr}`;
    return { plant, machine, point: { metric, ms, value } };
  }

  private add(p: SinkPoint): void {
    if (!this.closed) this.sink.add(p);
  }

  /** Stores what is buffered. */
  flush(): Promise<void> {
    return this.sink.flush();
  }

  /** Stops receiving, stores what is buffered, disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.client.endAsync().catch(() => {});
    await Promise.all([...this.resolving]);
    this.closed = true;
    await this.sink.close();
    await this.summaryTask.stop();
    this.logRefusals();
  }
}

export function startMqttBridge(deps: MqttBridgeDeps, opts: MqttBridgeOptions): MqttBridge {
  return new MqttBridge(deps, opts);
}
