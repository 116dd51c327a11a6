// Soak: the server as its own process (src/main.ts on a fresh embedded data directory) under mixed load for a while
// (default 10 minutes): small queries, dashboard reads, telemetry ingest with a breaching point now and then (alerts
// raised and fanned out), alert subscribers on WebSockets, a scheduling job every 30 s. Counts every request and
// every error (anything that is not a success or a typed answer), and reads the server's RSS from /proc after the
// warm-up (the first 10% of the run, at least 30 s) and at the end: growth = end / warm-up − 1 (goal: under 10%,
// zero errors). Before the load it measures memory per idle WebSocket: RSS with 500 idle connections open, minus
// RSS before, over 500.
// Usage: npm run bench:soak [-- --minutes 10 --subscribers 50]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startServerProcess } from '../test/process.ts';
import { emitResult } from './result.ts';

const { values: opts } = parseArgs({
  options: { minutes: { type: 'string', default: '10' }, subscribers: { type: 'string', default: '50' }, idle: { type: 'string', default: '500' } },
});
const minutes = Number(opts.minutes);
const KEY = 'soak-admin-key-0123456789abcdef0';
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-soak-'));
const server = await startServerProcess({
  PLANTGRAPH_DATA_DIR: dataDir,
  DATABASE_URL: '',
  PLANTGRAPH_ADMIN_KEY: KEY,
  PLANTGRAPH_RATE_LIMIT_BURST: '0',
  // The idle sockets and the subscribers all connect with the admin key.
  PLANTGRAPH_MAX_WS_CONNECTIONS_PER_KEY: String(Number(opts.idle) + Number(opts.subscribers) + 10),
  NODE_ENV: 'production',
});
const pid = server.child.pid!;
const rssMb = () => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};
const wsUrl = `${server.url.replace('http', 'ws')}/graphql`;
const counts = { requests: 0, errors: 0, events: 0 };
const errorSamples: string[] = [];
async function gql(query: string, variables?: unknown): Promise<any> {
  counts.requests++;
  try {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as any;
    if (res.status >= 400 || body.errors) {
      counts.errors++;
      if (errorSamples.length < 5) errorSamples.push(`${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    }
    return body;
  } catch (err) {
    counts.errors++;
    if (errorSamples.length < 5) errorSamples.push((err as Error).message);
    return null;
  }
}
function socket(subscribe: ((ws: WebSocket) => void) | null): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, 'graphql-transport-ws');
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${KEY}` } })));
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw));
      if (m.type === 'connection_ack') {
        subscribe?.(ws);
        resolve(ws);
      } else if (m.type === 'next') counts.events++;
      else if (m.type === 'error') counts.errors++;
    });
    ws.on('error', reject);
  });
}

const plants = await gql('{ plants(first: 1) { edges { node { id machines { id } } } } }');
const plant = plants.data.plants.edges[0].node;
const machines: string[] = plant.machines.map((m: { id: string }) => m.id);
await gql(`mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { __typename } }`, {
  input: { plantId: plant.id, name: 'soak hot', kind: 'THRESHOLD', severity: 'WARNING', metric: 'soak_temp', comparator: 'GT', threshold: 90 },
});

// Memory per idle WebSocket.
await new Promise((r) => setTimeout(r, 2_000));
const beforeIdle = rssMb();
const idle = await Promise.all(Array.from({ length: Number(opts.idle) }, () => socket(null)));
await new Promise((r) => setTimeout(r, 2_000));
const withIdle = rssMb();
for (const ws of idle) ws.close();
const perIdleKb = ((withIdle - beforeIdle) * 1024) / idle.length;

// Subscribers for the whole run.
const subscribers = await Promise.all(
  Array.from({ length: Number(opts.subscribers) }, () =>
    socket((ws) =>
      ws.send(
        JSON.stringify({
          id: '1',
          type: 'subscribe',
          payload: { query: `subscription($p: ID!) { alerts(plantId: $p) { alert { id status } } }`, variables: { p: plant.id } },
        }),
      ),
    ),
  ),
);

const started = Date.now();
const end = started + minutes * 60_000;
const warmupEnd = started + Math.max(30_000, minutes * 6_000);
let warmRss = Number.NaN;
let batch = 0;
const loops = [
  // small queries
  (async () => {
    while (Date.now() < end) {
      await gql(`query($id: ID!) { node(id: $id) { ... on Plant { name machines { name status } } } }`, { id: plant.id });
      await new Promise((r) => setTimeout(r, 50));
    }
  })(),
  // dashboard reads
  (async () => {
    while (Date.now() < end) {
      await gql(`query($id: ID!) { plant(id: $id) { lines { machines { name status latest(metric: "temperature") { value } openAlerts { count } } } } }`, {
        id: plant.id,
      });
      await new Promise((r) => setTimeout(r, 200));
    }
  })(),
  // ingest, a breaching point every 20th batch
  (async () => {
    while (Date.now() < end) {
      const i = batch++;
      const now = Date.now();
      await gql(`mutation($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename } }`, {
        input: {
          batchId: `soak-${i}`,
          points: machines.map((m, k) => ({
            machineId: m,
            metric: 'soak_temp',
            ts: new Date(now - k).toISOString(),
            value: i % 20 === 0 && k === 0 ? 95 : 50 + (i % 7),
          })),
        },
      });
      await new Promise((r) => setTimeout(r, 100));
    }
  })(),
  // a scheduling job every 30 s
  (async () => {
    while (Date.now() < end) {
      await gql(`mutation($p: ID!) { optimizeSchedule(input: { plantId: $p, timeLimitSeconds: 2 }) { __typename } }`, { p: plant.id });
      await new Promise((r) => setTimeout(r, 30_000));
    }
  })(),
  // RSS after the warm-up
  (async () => {
    await new Promise((r) => setTimeout(r, warmupEnd - Date.now()));
    warmRss = rssMb();
  })(),
];
await Promise.all(loops);
const endRss = rssMb();
for (const ws of subscribers) ws.close();
const result = {
  minutes,
  load: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  requests: counts.requests,
  errors: counts.errors,
  errorSamples,
  alertEventsDelivered: counts.events,
  subscribers: subscribers.length,
  rss_mb_idle: Math.round(beforeIdle),
  ws_idle_kb_per_connection: Math.round(perIdleKb * 10) / 10,
  rss_mb_after_warmup: Math.round(warmRss),
  rss_mb_end: Math.round(endRss),
  rss_growth_after_warmup: Math.round((endRss / warmRss - 1) * 1000) / 1000,
  goals: { errors: 0, rss_growth_after_warmup: 0.1 },
};
console.log(JSON.stringify(result, null, 2));
emitResult({
  soak_errors: result.errors,
  soak_requests: result.requests,
  soak_rss_growth_after_warmup: result.rss_growth_after_warmup,
  soak_rss_mb_end: result.rss_mb_end,
  ws_idle_kb_per_connection: result.ws_idle_kb_per_connection,
});
await server.stop();
fs.rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
