// Fan-out latency from ingest to delivery: one server process on a fresh PostgreSQL database, N WebSocket
// subscribers (default 1,000) in a second process, and M breaching ingest calls through the GraphQL API. Each
// delivery's latency is its arrival time minus the moment the ingest request was sent.
// Ends with a `RESULT {...}` line (bench/result.ts) for bench/run.ts, with the server process's resident set size (VmRSS)
// idle (1 s after start, before the rule and subscribers) and with the N subscribers connected.
// With S server processes (5th argument, default 1) on the one database, subscriber process k connects to server
// k mod S and the breaching points go to the first server: deliveries to the others cross processes through
// PostgreSQL LISTEN/NOTIFY (issue 15's 10,000 subscribers over 4 processes).
// Usage: npm run bench:fanout [-- <subscribers> <events> <subscriber processes> <server processes>]
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../test/helpers.ts';
import { startServerProcess } from '../test/process.ts';
import { emitResult } from './result.ts';

const N = Number(process.argv[2] ?? 1000);
const M = Number(process.argv[3] ?? 40);
/** Subscriber processes (the subscribers are split evenly between them). */
const P = Number(process.argv[4] ?? 1);
/** Server processes on the same database. */
const S = Math.max(1, Number(process.argv[5] ?? 1));
const KEY = 'bench-fanout-admin-key-0123456789';
const here = path.dirname(fileURLToPath(import.meta.url));

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const db = await createTestDatabase('postgres');
await db.database.query('drop schema public cascade');
await db.database.query('create schema public');
await db.database.query('drop schema if exists drizzle cascade');
await db.database.close();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-bench-'));
const serverEnv = (k: number) => ({
  DATABASE_URL: db.url!,
  PLANTGRAPH_ADMIN_KEY: KEY,
  PLANTGRAPH_DATA_DIR: path.join(dataDir, String(k)),
  PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '0',
  PLANTGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION: '10',
  // Every subscriber connects with the same key.
  PLANTGRAPH_MAX_WS_CONNECTIONS_PER_KEY: String(N + 10),
  // The first server seeds the demo plant; the others join its database.
  ...(k > 0 ? { PLANTGRAPH_SEED: 'none' } : {}),
  LOG_LEVEL: 'error',
});
const server = await startServerProcess(serverEnv(0));
const others = [];
for (let k = 1; k < S; k++) others.push(await startServerProcess(serverEnv(k)));
const servers = [server, ...others];
/** The server process's resident set size in MB (Linux /proc). */
const rssMb = () => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${server.child.pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};
await new Promise((r) => setTimeout(r, 1_000));
const rssIdle = rssMb();
try {
  const gql = async (query: string, variables?: unknown) =>
    (await (
      await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ query, variables }),
      })
    ).json()) as any;
  const plant = (await gql(`{ plants { edges { node { id machines { id } } } } }`)).data.plants.edges[0].node;
  const rule = await gql(`mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { __typename } }`, {
    input: { plantId: plant.id, name: 'Bench', kind: 'THRESHOLD', severity: 'CRITICAL', metric: 'bench', comparator: 'GT', threshold: 100, autoResolve: false },
  });
  if (rule.data?.createAlertRule?.__typename !== 'CreateAlertRuleSuccess') throw new Error(JSON.stringify(rule));

  const t0 = Date.now();
  const errors: string[] = [];
  const procs = Array.from({ length: P }, (_, k) =>
    fork(
      path.join(here, 'fanout-clients.ts'),
      [`${servers[k % S].url.replace('http', 'ws')}/graphql`, KEY, plant.id, String(Math.floor(N / P) + (k < N % P ? 1 : 0))],
      { execArgv: ['--import', 'tsx'] },
    ),
  );
  await Promise.all(
    procs.map(
      (clients) =>
        new Promise<void>((resolve, reject) => {
          clients.on('message', (m: any) => {
            if (m.type === 'ready') resolve();
            if (m.type === 'error') errors.push(m.error);
          });
          clients.on('exit', (code) => reject(new Error(`clients exited with ${code}`)));
        }),
    ),
  );
  console.log(`${N} subscribers connected and subscribed in ${Date.now() - t0} ms (${S} server process${S > 1 ? 'es' : ''})`);
  const rssSubscribed = rssMb();
  console.log(`server RSS: ${rssIdle.toFixed(0)} MB idle, ${rssSubscribed.toFixed(0)} MB with ${N} subscribers`);

  const sentAt = new Map<string, number>();
  for (let i = 1; i <= M; i++) {
    const value = 100 + i;
    sentAt.set(String(value), Date.now());
    const r = await gql(`mutation($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename } }`, {
      input: { points: [{ machineId: plant.machines[0].id, metric: 'bench', ts: new Date().toISOString(), value }] },
    });
    if (r.data?.ingestTelemetry?.__typename !== 'IngestTelemetrySuccess') throw new Error(JSON.stringify(r));
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, 2_000));
  const reports: any[] = await Promise.all(
    procs.map(
      (clients) =>
        new Promise((resolve) => {
          clients.on('message', (m: any) => m.type === 'report' && resolve(m));
          clients.send({ type: 'report' });
        }),
    ),
  );
  for (const c of procs) c.send({ type: 'exit' });
  console.log(`received per subscriber process: ${reports.map((r) => r.received).join(', ')}`);
  const report = { arrivals: {} as Record<string, number[]> };
  for (const r of reports) for (const [v, times] of Object.entries(r.arrivals as Record<string, number[]>)) (report.arrivals[v] ??= []).push(...times);

  const latencies: number[] = [];
  for (const [value, times] of Object.entries(report.arrivals as Record<string, number[]>)) {
    const sent = sentAt.get(value);
    if (sent === undefined) continue;
    for (const t of times) latencies.push(t - sent);
  }
  latencies.sort((a, b) => a - b);
  const firsts: number[] = [];
  const spreads: number[] = [];
  for (const [value, times] of Object.entries(report.arrivals as Record<string, number[]>)) {
    const sent = sentAt.get(value);
    if (sent === undefined || times.length === 0) continue;
    const first = Math.min(...times) - sent;
    firsts.push(first);
    spreads.push(Math.max(...times) - sent - first);
  }
  firsts.sort((a, b) => a - b);
  spreads.sort((a, b) => a - b);
  console.log(
    `per event: first delivery p50 ${pct(firsts, 50)} ms / max ${firsts[firsts.length - 1]} ms; first-to-last spread p50 ${pct(spreads, 50)} ms / max ${spreads[spreads.length - 1]} ms`,
  );
  const expected = N * M;
  console.log(`deliveries: ${latencies.length} of ${expected} expected (${M} events x ${N} subscribers); subscription errors: ${errors.length}`);
  if (errors.length > 0) {
    const kinds = new Map<string, number>();
    for (const e of errors) kinds.set(e, (kinds.get(e) ?? 0) + 1);
    for (const [e, n] of kinds) console.log(`  ${n} x ${e.slice(0, 200)}`);
  }
  console.log(
    `fan-out latency ingest -> delivery: p50 ${pct(latencies, 50)} ms, p90 ${pct(latencies, 90)} ms, p99 ${pct(latencies, 99)} ms, max ${latencies[latencies.length - 1]} ms`,
  );
  console.log(`goal: p99 < 100 ms -> ${pct(latencies, 99) < 100 ? 'met' : 'NOT met'}`);
  if (S > 1) {
    emitResult({
      [`alert_fanout_p50_ms_${N}_${S}proc`]: pct(latencies, 50),
      [`alert_fanout_p99_ms_${N}_${S}proc`]: pct(latencies, 99),
      [`alert_fanout_delivered_fraction_${N}_${S}proc`]: latencies.length / expected,
    });
  } else
    emitResult({
      alert_fanout_p50_ms: pct(latencies, 50),
      alert_fanout_p90_ms: pct(latencies, 90),
      alert_fanout_p99_ms: pct(latencies, 99),
      alert_fanout_max_ms: latencies[latencies.length - 1],
      alert_fanout_first_delivery_p50_ms: pct(firsts, 50),
      alert_fanout_subscribers: N,
      alert_fanout_events: M,
      alert_fanout_processes: P,
      alert_fanout_delivered_fraction: latencies.length / expected,
      alert_fanout_subscription_errors: errors.length,
      rss_mb_idle: rssIdle,
      [`rss_mb_after_${N}_subscribers`]: rssSubscribed,
    });
} finally {
  if (process.env.FANOUT_SERVER_LOGS) for (const [k, s] of servers.entries()) console.log(`--- server ${k}:\n${s.output().slice(-20000)}`);
  for (const s of others) await s.stop('SIGTERM');
  await server.stop('SIGTERM');
  await db.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
