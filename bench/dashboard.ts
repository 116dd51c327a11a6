// Read-path benchmark: the dashboard query (one plant -> lines -> machines with two latest values and an open-alert
// summary each) and a machine detail query through GraphQL, next to a hand-written node:http handler that answers
// the same JSON from one prepared statement, both on the same pool of 20 connections, in one run with the rounds
// interleaved (GraphQL, handler, GraphQL, handler ...). autocannon runs in a second process. Per round: requests per
// second, p50/p99 latency, this (server) process's CPU ms and GC ms per request, and SQL statements per request.
// Usage: npm run bench:dashboard [-- --duration 10 --rounds 2 --connections 20 --warmup 2 --only dashboard|detail
//   --target graphql|handler|viewer]
// `viewer` is the same GraphQL query with a VIEWER key scoped to the plant (authorization's cost; goal at most 10%).
// Ends with a `RESULT {...}` line (bench/result.ts) for bench/run.ts.
// Needs PostgreSQL at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), like the tests.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { insertAlertRule } from '../src/alerts/rules.ts';
import { wireServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/client.ts';
import { encodeId } from '../src/core/ids.ts';
import { startServer } from '../src/graphql/server.ts';
import { createLogger } from '../src/logger.ts';
import { ingestTelemetry } from '../src/telemetry/ingest.ts';
import { machineKpis } from '../src/telemetry/kpis.ts';
import { recordMachineStates, recordProduction } from '../src/telemetry/states.ts';
import { importPlant } from '../src/twin/import.ts';
import { createTestDatabase } from '../test/helpers.ts';
import { emitResult, type Figures, median, withSpread } from './result.ts';
import { createApiKey } from '../src/auth/keys.ts';

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '2' },
    only: { type: 'string' },
    /** Load only one side (e.g. graphql while profiling with --cpu-prof). */
    target: { type: 'string' },
  },
});
const duration = Number(opts.duration);
const rounds = Number(opts.rounds);
const connections = Number(opts.connections);
const warmup = Number(opts.warmup);
const KEY = 'bench-dashboard-admin-key-0123456789';
const LINES = 10;
const PER_LINE = 50;
const here = path.dirname(fileURLToPath(import.meta.url));

/* ---------- data ---------- */

const t = await createTestDatabase('postgres');
await t.database.close();
const database = await openDatabase({ databaseUrl: t.url, poolSize: 20 });
const config = {
  ...loadConfig({ PLANTGRAPH_ADMIN_KEY: KEY, PLANTGRAPH_RATE_LIMIT_PER_MINUTE: '0', NODE_ENV: process.env.NODE_ENV }),
  databaseUrl: t.url,
  logLevel: 'silent',
};
const services = wireServices(config, database, createLogger('silent'));
const everyPlant = { plantIds: null };

const { id: plantId } = await importPlant(database.db, {
  name: 'Bench Plant',
  lines: Array.from({ length: LINES }, (_, l) => ({
    name: `L${l}`,
    machines: Array.from({ length: PER_LINE }, (_, m) => ({ name: `M${l}-${m}`, kind: m % 2 ? 'cnc' : 'press', idealCycleSeconds: 30 })),
  })),
});
const ids = (await database.query<{ id: number }>('select id from machines order by id')).map((r) => r.id);
const detailId = ids[7];
await insertAlertRule(database, {
  plantId,
  name: 'Hot',
  kind: 'THRESHOLD',
  severity: 'WARNING',
  metric: 'temperature',
  comparator: 'GT',
  threshold: 90,
  autoResolve: false,
});
await insertAlertRule(database, {
  plantId,
  name: 'Shaking',
  kind: 'THRESHOLD',
  severity: 'CRITICAL',
  metric: 'vibration',
  comparator: 'GT',
  threshold: 9,
  autoResolve: false,
});

const now = Date.now();
const hourAgo = Math.floor(now / 60_000) * 60_000 - 3_600_000;
const statuses = ['RUNNING', 'IDLE', 'DOWN', 'RUNNING', 'MAINTENANCE'] as const;
// The detail machine: a state change every half hour and production counts over the last 8 hours.
await recordMachineStates(
  services,
  everyPlant,
  Array.from({ length: 17 }, (_, k) => ({ machineId: detailId, status: statuses[k % statuses.length], at: new Date(now - 8 * 3_600_000 + k * 1_800_000) })),
);
await recordProduction(
  services,
  everyPlant,
  Array.from({ length: 16 }, (_, k) => ({ machineId: detailId, at: new Date(now - 8 * 3_600_000 + k * 1_800_000 + 60_000), good: 50 + k, scrap: k % 3 })),
);
await recordMachineStates(
  services,
  everyPlant,
  ids.filter((id) => id !== detailId).map((id, i) => ({ machineId: id, status: statuses[i % statuses.length], at: new Date(now - 3_600_000) })),
);
// The detail machine's temperature every 10 s over the last hour, then the two latest values of every machine:
// 70 machines over the temperature threshold and 30 over the vibration threshold, so 100 open alerts.
await ingestTelemetry(services, everyPlant, {
  points: Array.from({ length: 360 }, (_, k) => ({ machineId: detailId, metric: 'temperature', ts: new Date(hourAgo + k * 10_000), value: 60 + (k % 25) })),
});
await ingestTelemetry(services, everyPlant, {
  points: ids.flatMap((id, i) => [
    { machineId: id, metric: 'temperature', ts: new Date(now - 1000), value: i < 70 ? 95 + (i % 5) : 50 + (i % 30) },
    { machineId: id, metric: 'vibration', ts: new Date(now - 1000), value: i >= 60 && i < 90 ? 10.5 : 1 + (i % 7) / 4 },
  ]),
});
const openAlerts = (await database.query<{ n: number }>(`select count(*)::int as n from alerts where status = 'OPEN'`))[0].n;
assert.equal(openAlerts, 100);

/* ---------- the two servers on the same pool ---------- */

const server = await startServer(services, { port: 0, host: '127.0.0.1' });
const globalId = (type: string, col: string) => `encode(convert_to('${type}:' || ${col}, 'UTF8'), 'base64')`;
const iso = (col: string) => `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const point = (metric: string) =>
  `(select json_build_object('value', t.value, 'ts', ${iso('t.ts')}) from telemetry_latest t where t.machine_id = m.id and t.metric = '${metric}')`;

const DASHBOARD_SQL = `
select json_build_object('data', json_build_object('plant', (
  select json_build_object('id', ${globalId('Plant', 'p.id')}, 'name', p.name, 'lines', coalesce((
    select json_agg(json_build_object('id', ${globalId('Line', 'l.id')}, 'name', l.name, 'machines', coalesce((
      select json_agg(json_build_object(
        'id', ${globalId('Machine', 'm.id')}, 'name', m.name, 'status', m.status, 'statusSince', ${iso('m.status_since')}, 'kind', m.kind,
        'temperature', ${point('temperature')}, 'vibration', ${point('vibration')},
        'openAlerts', (select json_build_object('count', count(*), 'highestSeverity', max(a.severity)) from alerts a where a.machine_id = m.id and a.status <> 'RESOLVED')
      ) order by m.id) from machines m where m.line_id = l.id), '[]'::json)) order by l.id) from lines l where l.plant_id = p.id), '[]'::json))
  from plants p where p.id = $1)))::text as body`;

const DETAIL_SQL = `
select json_build_object('id', ${globalId('Machine', 'm.id')}, 'name', m.name, 'status', m.status, 'statusSince', ${iso('m.status_since')}, 'kind', m.kind,
  'line', (select json_build_object('name', l.name) from lines l where l.id = m.line_id),
  'temperature', ${point('temperature')}, 'vibration', ${point('vibration')},
  'telemetry', (select json_agg(json_build_object('start', ${iso('g')}, 'count', coalesce(r.count, 0), 'avg', r.sum / r.count, 'min', r.min, 'max', r.max) order by g)
    from generate_series($2::timestamptz, $3::timestamptz - interval '1 minute', interval '1 minute') g
    left join telemetry_1m r on r.machine_id = m.id and r.metric = 'temperature' and r.minute = g)
)::text as body from machines m where m.id = $1`;

const pool = database.pool!;
async function prepared(name: string, text: string, values: unknown[]): Promise<string> {
  database.sql.record(text);
  const r = await pool.query<{ body: string }>({ name, text, values });
  return r.rows[0].body;
}

const to = new Date(Math.floor(now / 60_000) * 60_000);
const from = new Date(to.getTime() - 3_600_000);
const oeeFrom = new Date(to.getTime() - 8 * 3_600_000);

const handler = http.createServer(async (req, res) => {
  try {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const auth = await services.auth.authenticate(req.headers.authorization);
    if (!auth.ok) {
      res.writeHead(401).end();
      return;
    }
    const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: 'dashboard' | 'detail'; id: number };
    let body: string;
    if (input.query === 'dashboard') {
      body = await prepared('bench_dashboard', DASHBOARD_SQL, [input.id]);
    } else {
      const [machine, kpis] = await Promise.all([
        prepared('bench_detail', DETAIL_SQL, [input.id, from.toISOString(), to.toISOString()]),
        machineKpis(database, [{ id: input.id, idealCycleSeconds: 30 }], oeeFrom, to, new Date()),
      ]);
      const k = kpis.get(input.id)!;
      body = `{"data":{"node":${machine.slice(0, -1)},"oee":${JSON.stringify({ availability: k.availability, performance: k.performance, quality: k.quality, oee: k.oee })}}}}`; // oee goes inside node
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
  } catch (err) {
    res.writeHead(500).end(String(err));
  }
});
await new Promise<void>((resolve) => handler.listen(0, '127.0.0.1', resolve));
const handlerUrl = `http://127.0.0.1:${(handler.address() as AddressInfo).port}/`;

const DASHBOARD_GQL = `query Dashboard($id: ID!) { plant(id: $id) { id name lines { id name machines {
  id name status statusSince kind
  temperature: latest(metric: "temperature") { value ts } vibration: latest(metric: "vibration") { value ts }
  openAlerts { count highestSeverity } } } } }`;
const DETAIL_GQL = `query Detail($id: ID!, $from: DateTime!, $to: DateTime!, $oeeFrom: DateTime!) { node(id: $id) { id ... on Machine {
  name status statusSince kind line { name }
  temperature: latest(metric: "temperature") { value ts } vibration: latest(metric: "vibration") { value ts }
  telemetry(metric: "temperature", from: $from, to: $to, bucketSeconds: 60) { start count avg min max }
  oee(from: $oeeFrom, to: $to) { availability performance quality oee } } } }`;

interface Target {
  url: string;
  body: string;
  headers?: Record<string, string>;
}
const headers = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };
const viewerKey = (await createApiKey(database.db, { name: 'bench-viewer', role: 'VIEWER', plantIds: [plantId] })).key;
const viewerHeaders = { ...headers, authorization: `Bearer ${viewerKey}` };
const queries: Record<string, { graphql: Target; handler: Target; viewer: Target }> = {
  dashboard: {
    graphql: { url: `${server.url}/graphql`, body: JSON.stringify({ query: DASHBOARD_GQL, variables: { id: encodeId('Plant', plantId) } }) },
    viewer: {
      url: `${server.url}/graphql`,
      body: JSON.stringify({ query: DASHBOARD_GQL, variables: { id: encodeId('Plant', plantId) } }),
      headers: viewerHeaders,
    },
    handler: { url: handlerUrl, body: JSON.stringify({ query: 'dashboard', id: plantId }) },
  },
  detail: {
    graphql: { url: `${server.url}/graphql`, body: JSON.stringify({ query: DETAIL_GQL, variables: { id: encodeId('Machine', detailId), from, to, oeeFrom } }) },
    viewer: {
      url: `${server.url}/graphql`,
      body: JSON.stringify({ query: DETAIL_GQL, variables: { id: encodeId('Machine', detailId), from, to, oeeFrom } }),
      headers: viewerHeaders,
    },
    handler: { url: handlerUrl, body: JSON.stringify({ query: 'detail', id: detailId }) },
  },
};

async function post(target: Target): Promise<any> {
  const r = await fetch(target.url, { method: 'POST', headers: target.headers ?? headers, body: target.body });
  assert.equal(r.status, 200, await r.clone().text());
  return r.json();
}

// Both answer the same JSON.
const gqlDashboard = await post(queries.dashboard.graphql);
assert.equal(gqlDashboard.errors, undefined, JSON.stringify(gqlDashboard.errors));
assert.deepEqual(await post(queries.dashboard.handler), gqlDashboard);
assert.deepEqual(await post(queries.dashboard.viewer), gqlDashboard);
assert.equal(gqlDashboard.data.plant.lines.flatMap((l: any) => l.machines).length, LINES * PER_LINE);
const gqlDetail = await post(queries.detail.graphql);
assert.equal(gqlDetail.errors, undefined, JSON.stringify(gqlDetail.errors));
assert.deepEqual(await post(queries.detail.handler), gqlDetail);
assert.deepEqual(await post(queries.detail.viewer), gqlDetail);
assert.equal(gqlDetail.data.node.telemetry.length, 60);

/* ---------- load ---------- */

const client = fork(path.join(here, 'dashboard-client.ts'), [], { execArgv: ['--import', 'tsx'] });
await new Promise<void>((resolve) => client.once('message', () => resolve()));

// Requests taken on, and those not yet answered: a round ends when autocannon stops and every request it sent has
// been answered (or its connection closed), so no work spills into the next round.
let started = 0;
let inFlight = 0;
const track = (_q: http.IncomingMessage, res: http.ServerResponse) => {
  started++;
  inFlight++;
  res.once('close', () => inFlight--);
};
server.httpServer.on('request', track);
handler.on('request', track);
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

interface Round {
  rps: number;
  p50: number;
  p99: number;
  cpuMs: number;
  gcMs: number;
  statements: number;
  failures: number;
}

async function round(target: Target, seconds: number): Promise<Round> {
  const cpu0 = process.cpuUsage();
  const sql0 = database.sql.count;
  const started0 = started;
  const gc0 = gcMs;
  client.send({ type: 'run', url: target.url, body: target.body, headers: target.headers ?? headers, connections, duration: seconds });
  const r: any = await new Promise((resolve) => client.once('message', resolve));
  if (r.type !== 'result') throw new Error(r.error);
  while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const cpu = process.cpuUsage(cpu0);
  const n = Math.max(1, started - started0);
  return {
    rps: r.requests / r.seconds,
    p50: r.p50,
    p99: r.p99,
    cpuMs: (cpu.user + cpu.system) / 1000 / n,
    gcMs: (gcMs - gc0) / n,
    statements: (database.sql.count - sql0) / n,
    failures: r.non2xx + r.errors + r.timeouts,
  };
}

const fmt = (xs: number[], digits: number) => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo.toFixed(digits) === hi.toFixed(digits) ? lo.toFixed(digits) : `${lo.toFixed(digits)}-${hi.toFixed(digits)}`;
};

const figures: Figures = {};
try {
  console.log(
    `${LINES * PER_LINE} machines, ${openAlerts} open alerts, ${connections} connections, ${rounds} rounds of ${duration} s per target (interleaved), NODE_ENV=${process.env.NODE_ENV ?? ''}`,
  );
  for (const [name, q] of Object.entries(queries)) {
    if (opts.only && opts.only !== name) continue;
    const sides = (['graphql', 'handler', 'viewer'] as const).filter((k) => !opts.target || opts.target === k);
    if (warmup > 0) for (const k of sides) await round(q[k], warmup);
    const results: { graphql: Round[]; handler: Round[]; viewer: Round[] } = { graphql: [], handler: [], viewer: [] };
    for (let i = 0; i < rounds; i++) for (const k of sides) results[k].push(await round(q[k], duration));
    console.log(`\n${name}`);
    console.log('target    req/s          p50 ms      p99 ms      CPU ms/req    GC ms/req    statements/req  failures');
    for (const k of sides) {
      const rs = results[k];
      console.log(
        [
          k.padEnd(9),
          fmt(
            rs.map((r) => r.rps),
            1,
          ).padEnd(14),
          fmt(
            rs.map((r) => r.p50),
            0,
          ).padEnd(11),
          fmt(
            rs.map((r) => r.p99),
            0,
          ).padEnd(11),
          fmt(
            rs.map((r) => r.cpuMs),
            2,
          ).padEnd(13),
          fmt(
            rs.map((r) => r.gcMs),
            2,
          ).padEnd(12),
          fmt(
            rs.map((r) => r.statements),
            2,
          ).padEnd(15),
          rs.reduce((a, r) => a + r.failures, 0),
        ].join(' '),
      );
    }
    const ratios = results.graphql.map((g, i) => g.rps / results.handler[i]?.rps);
    if (results.handler.length > 0 && results.graphql.length > 0)
      console.log(`GraphQL / handler req/s per round: ${ratios.map((r) => r.toFixed(3)).join(', ')}`);
    const viewerRatios = results.viewer.map((v, i) => v.rps / results.handler[i]?.rps);
    const viewerCost = results.viewer.map((v, i) => results.graphql[i]?.rps / v.rps);
    if (results.handler.length > 0 && results.viewer.length > 0)
      console.log(`GraphQL with a plant-scoped VIEWER key / handler req/s per round: ${viewerRatios.map((r) => r.toFixed(3)).join(', ')}`);
    Object.assign(
      figures,
      withSpread(`${name}_vs_sql_ratio`, ratios.filter(Number.isFinite)),
      withSpread(`${name}_vs_sql_ratio_viewer`, viewerRatios.filter(Number.isFinite)),
      withSpread(`${name}_viewer_over_admin_ratio`, viewerCost.filter(Number.isFinite)),
    );
    for (const k of sides) {
      const rs = results[k];
      figures[`${name}_${k}_rps`] = median(rs.map((r) => r.rps));
      Object.assign(
        figures,
        withSpread(
          `${name}_${k}_p50_ms`,
          rs.map((r) => r.p50),
        ),
        withSpread(
          `${name}_${k}_p99_ms`,
          rs.map((r) => r.p99),
        ),
      );
      figures[`${name}_${k}_statements_per_request`] = median(rs.map((r) => r.statements));
      figures[`${name}_${k}_failures`] = rs.reduce((a, r) => a + r.failures, 0);
    }
    if (name === 'dashboard' && results.graphql.length > 0) {
      Object.assign(
        figures,
        withSpread(
          'sql_statements_per_dashboard_query',
          results.graphql.map((r) => r.statements),
        ),
      );
      if (results.viewer.length > 0) figures.sql_statements_per_dashboard_query_viewer = median(results.viewer.map((r) => r.statements));
    }
  }
  figures.dashboard_machines = LINES * PER_LINE;
  figures.dashboard_connections = connections;
  figures.dashboard_rounds = rounds;
  figures.dashboard_round_seconds = duration;
  emitResult(figures);
} finally {
  client.send({ type: 'exit' });
  await new Promise<void>((resolve) => handler.close(() => resolve()));
  handler.closeAllConnections();
  await server.close();
  services.alerts.stop();
  await services.pubsub.close();
  // Close the pool before dropping the database: dropping it terminates open connections, and an idle pool client's
  // 'error' event (57P01) would end the process with 1 after the figures were printed.
  await database.close();
  await t.drop();
}
process.exit(0);
