import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { SqlCounter } from './db/client.ts';

/** One registry per server instance, so tests can run several in one process. */
export function createMetrics(sql: SqlCounter) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpRequests = new Counter({
    name: 'plantgraph_http_requests_total',
    help: 'HTTP requests by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const operations = new Counter({
    name: 'plantgraph_graphql_operations_total',
    help: 'GraphQL operations by name, type and outcome (ok, error)',
    labelNames: ['operation', 'type', 'outcome'] as const,
    registers: [registry],
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
  return { registry, alerts, httpRequests, operations, operationSeconds, sqlStatements, wsConnections, subscriptions };
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
