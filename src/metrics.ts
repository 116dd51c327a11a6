import fs from 'node:fs';
import { Kind, parse } from 'graphql';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { SqlCounter } from './db/client.ts';

/** The `operation` label of every name that is not known (see OperationCounter). */
export const OTHER_OPERATION = 'other';
/** Longer operation names are never labels. */
export const MAX_OPERATION_NAME_LENGTH = 100;
const OPERATION_TYPES = new Set(['query', 'mutation', 'subscription']);

type Series = Map<string, number>;

/**
 * plantgraph_graphql_operations_total with a bounded label set. Operation names come from clients, so only known
 * names become labels: `anonymous`, the names of the persisted operations, and the `maxNames` most recently used
 * other names of at most MAX_OPERATION_NAME_LENGTH characters. Everything else counts as `other`. A name that falls
 * out of the most recent ones moves its counts to `other`, so the sum over all labels never goes down (the name's own
 * series starts again from 0 if it comes back).
 */
export class OperationCounter {
  private pinned = new Map<string, Series>();
  private recent = new Map<string, Series>();
  private other: Series = new Map();

  constructor(
    private maxNames: number,
    known: Iterable<string> = [],
  ) {
    for (const name of ['anonymous', ...known]) if (name.length <= MAX_OPERATION_NAME_LENGTH) this.pinned.set(name, new Map());
  }

  inc(labels: { operation: string; type: string; outcome: string }): void {
    const series = this.series(labels.operation);
    const key = `${OPERATION_TYPES.has(labels.type) ? labels.type : 'unknown'}\u0000${labels.outcome === 'ok' ? 'ok' : 'error'}`;
    series.set(key, (series.get(key) ?? 0) + 1);
  }

  /** The label values and counts, for the registry. */
  *entries(): Generator<[{ operation: string; type: string; outcome: string }, number]> {
    const all: [string, Series][] = [...this.pinned, ...this.recent, [OTHER_OPERATION, this.other]];
    for (const [operation, series] of all) {
      for (const [key, n] of series) {
        const [type, outcome] = key.split('\u0000');
        yield [{ operation, type, outcome }, n];
      }
    }
  }

  /** Distinct operation labels in use (other included). */
  get labelCount(): number {
    return this.pinned.size + this.recent.size + 1;
  }

  private series(name: string): Series {
    const pinned = this.pinned.get(name);
    if (pinned) return pinned;
    if (name.length > MAX_OPERATION_NAME_LENGTH || name === OTHER_OPERATION || this.maxNames === 0) return this.other;
    let s = this.recent.get(name);
    if (s) {
      // Most recently used last.
      this.recent.delete(name);
      this.recent.set(name, s);
      return s;
    }
    if (this.recent.size >= this.maxNames) {
      const [oldest, counts] = this.recent.entries().next().value as [string, Series];
      this.recent.delete(oldest);
      for (const [key, n] of counts) this.other.set(key, (this.other.get(key) ?? 0) + n);
    }
    s = new Map();
    this.recent.set(name, s);
    return s;
  }
}

/** The names of the operations in a persisted-operations file ({ "<id>": "<query>" }); none when it cannot be read. */
export function persistedOperationNames(file: string | undefined): string[] {
  if (!file) return [];
  try {
    const store = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    const names: string[] = [];
    for (const text of Object.values(store)) {
      if (typeof text !== 'string') continue;
      try {
        for (const d of parse(text).definitions) if (d.kind === Kind.OPERATION_DEFINITION && d.name) names.push(d.name.value);
      } catch {
        // An operation that does not parse never runs; it has no label to keep.
      }
    }
    return names;
  } catch {
    return [];
  }
}

export interface MetricsOptions {
  /** Most recent distinct operation names kept as labels (PLANTGRAPH_METRICS_OPERATION_NAMES). */
  operationNames?: number;
  /** Operation names that are always labels (the persisted operations). */
  knownOperations?: Iterable<string>;
}

/** One registry per server instance, so tests can run several in one process. */
export function createMetrics(sql: SqlCounter, opts: MetricsOptions = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpRequests = new Counter({
    name: 'plantgraph_http_requests_total',
    help: 'HTTP requests by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const operations = new OperationCounter(opts.operationNames ?? 200, opts.knownOperations);
  new Counter({
    name: 'plantgraph_graphql_operations_total',
    help: 'GraphQL operations by name (known names; the rest as "other"), type and outcome (ok, error)',
    labelNames: ['operation', 'type', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, n] of operations.entries()) this.inc(labels, n);
    },
  });
  const operationSeconds = new Histogram({
    name: 'plantgraph_graphql_operation_seconds',
    help: 'GraphQL operation execution time',
    labelNames: ['type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const sqlStatements = new Counter({
    name: 'plantgraph_sql_statements_total',
    help: 'SQL statements sent to the database',
    registers: [registry],
  });
  sql.onStatement(() => sqlStatements.inc());
  const wsConnections = new Gauge({
    name: 'plantgraph_websocket_connections',
    help: 'Open GraphQL WebSocket connections',
    registers: [registry],
  });
  const subscriptions = new Gauge({
    name: 'plantgraph_subscriptions',
    help: 'Active GraphQL subscriptions (WebSocket and SSE)',
    registers: [registry],
  });
  const alerts = new Counter({
    name: 'plantgraph_alert_events_total',
    help: 'Alert events by kind (OPENED, UPDATED, ACKNOWLEDGED, RESOLVED) and severity',
    labelNames: ['kind', 'severity'] as const,
    registers: [registry],
  });
  // Per model version: label values are registered model names and versions (ENGINEER-managed, bounded by the registry).
  const predictions = new Counter({
    name: 'plantgraph_predictions_total',
    help: 'Rows scored, by model name and version',
    labelNames: ['model', 'version'] as const,
    registers: [registry],
  });
  const modelRuns = new Counter({
    name: 'plantgraph_model_runs_total',
    help: 'onnxruntime session.run calls (one per merged batch), by model name and version',
    labelNames: ['model', 'version'] as const,
    registers: [registry],
  });
  const modelRunSeconds = new Histogram({
    name: 'plantgraph_model_run_seconds',
    help: 'Duration of one session.run (a merged batch), by model name and version',
    labelNames: ['model', 'version'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  return {
    registry,
    alerts,
    httpRequests,
    operations,
    operationSeconds,
    sqlStatements,
    wsConnections,
    subscriptions,
    predictions,
    modelRuns,
    modelRunSeconds,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Exposes the MQTT bridge's counters (received, accepted, duplicates, rejected, failed, flushes) on /metrics. */
export function registerMqttMetrics(metrics: Metrics, stats: () => Record<string, number>): void {
  new Counter({
    name: 'plantgraph_mqtt_messages_total',
    help: 'MQTT bridge messages and points by outcome (received, accepted, duplicates, rejected, failed, flushes)',
    labelNames: ['outcome'] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const [outcome, value] of Object.entries(stats())) this.inc({ outcome }, value);
    },
  });
}
