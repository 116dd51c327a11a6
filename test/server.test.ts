import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { emptyPostgresDatabase, describe, it, testBackends } from './helpers.ts';
import { type ServerProcess, startServerProcess } from './process.ts';

const KEY = 'server-test-admin-key-0123456789';
const json = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };

for (const backend of testBackends()) {
  describe(`server process [${backend}]`, () => {
    let server: ServerProcess;
    let env: Record<string, string>;
    let dropDb: (() => Promise<void>) | undefined;
    let dataDir: string;
    before(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-'));
      env = { PLANTGRAPH_DATA_DIR: dataDir, DATABASE_URL: '', PLANTGRAPH_ADMIN_KEY: KEY };
      if (backend === 'postgres') {
        // An empty database: the server applies the migrations itself.
        const t = await emptyPostgresDatabase();
        env.DATABASE_URL = t.url;
        dropDb = t.drop;
      }
      server = await startServerProcess(env);
    });
    after(async () => {
      await server?.stop('SIGKILL');
      await dropDb?.();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('prints where it listens, which database it uses and the GraphiQL URL', () => {
      const out = server.output();
      assert.match(out, /PlantGraph listening on http:\/\/127\.0\.0\.1:\d+\/graphql/);
      assert.match(out, backend === 'pglite' ? /database: embedded PGlite at \// : /database: PostgreSQL postgres:\/\//);
      assert.match(out, /GraphiQL: http:\/\/127\.0\.0\.1:\d+\/graphql/);
    });

    it('answers /health, /ready and serves GraphiQL to a browser', async () => {
      const h = await fetch(`${server.url}/health`);
      assert.equal(h.status, 200);
      const r = await fetch(`${server.url}/ready`);
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { status: 'ready', database: backend });
      const g = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
      assert.equal(g.status, 200);
      assert.match(await g.text(), /graphiql/i);
    });

    it('serves the demo plant over HTTP, graphql-ws and SSE on /graphql', async () => {
      const query = '{ plants { totalCount edges { node { name machines { name } } } } }';
      const http = await fetch(`${server.url}/graphql`, { method: 'POST', headers: json, body: JSON.stringify({ query }) });
      const body: any = await http.json();
      assert.equal(body.data.plants.totalCount, 1);
      assert.equal(body.data.plants.edges[0].node.machines.length, 10);

      const client = createClient({
        url: server.url.replace('http', 'ws') + '/graphql',
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${KEY}` },
      });
      const viaWs: any = await new Promise((resolve, reject) => {
        let result: unknown;
        client.subscribe({ query }, { next: (v) => (result = v), error: reject, complete: () => resolve(result) });
      });
      await client.dispose();
      assert.deepEqual(viaWs.data, body.data);

      const sse = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { ...json, accept: 'text/event-stream' }, body: JSON.stringify({ query }) });
      assert.match(sse.headers.get('content-type') ?? '', /text\/event-stream/);
      const text = await sse.text();
      const data = text.split('\n').find((l) => l.startsWith('data: {'));
      assert.ok(data, text);
      assert.deepEqual(JSON.parse(data!.slice(6)).data, body.data);
    });

    it('the demo plant comes with 24 hours of history: states, telemetry, production, alerts', async () => {
      const post = async (query: string) =>
        (await (await fetch(`${server.url}/graphql`, { method: 'POST', headers: json, body: JSON.stringify({ query }) })).json()) as any;
      const from = new Date(Date.now() - 24 * 3600_000).toISOString();
      const to = new Date().toISOString();
      const r = await post(
        `{ plants { edges { node { id kpis(from: "${from}", to: "${to}") { availability performance quality oee } machines { status latest(metric: "temperature") { value } } } } } }`,
      );
      const plant = r.body ?? r.data.plants.edges[0].node;
      assert.ok(
        plant.machines.every((m: any) => typeof m.latest?.value === 'number'),
        JSON.stringify(plant.machines),
      );
      assert.ok(plant.machines.some((m: any) => m.status === 'DOWN'));
      for (const k of ['availability', 'performance', 'quality', 'oee']) assert.ok(plant.kpis[k] > 0.5 && plant.kpis[k] <= 1, `${k} = ${plant.kpis[k]}`);
      const alerts = await post(`{ alerts(plantId: "${plant.id}", first: 100) { edges { node { status rule { name } } } } }`);
      const nodes = alerts.data.alerts.edges.map((e: any) => e.node);
      assert.ok(nodes.some((n: any) => n.status === 'OPEN' && n.rule.name === 'Machine down'));
      assert.ok(nodes.some((n: any) => n.status === 'RESOLVED'));
    });

    it('exposes Prometheus metrics for requests, operations and SQL statements', async () => {
      await fetch(`${server.url}/graphql`, { method: 'POST', headers: json, body: JSON.stringify({ query: 'query MetricsProbe { plants { totalCount } }' }) });
      await fetch(`${server.url}/graphql`, { method: 'POST', headers: json, body: JSON.stringify({ query: 'query Broken { plants { nope } }' }) });
      const m = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(m, /plantgraph_http_requests_total\{method="POST",route="\/graphql",status="200"\} \d+/);
      assert.match(m, /plantgraph_graphql_operations_total\{operation="MetricsProbe",type="query",outcome="ok"\} 1/);
      const sql = /plantgraph_sql_statements_total (\d+)/.exec(m);
      assert.ok(sql && Number(sql[1]) > 0);
      assert.match(m, /plantgraph_websocket_connections \d+/);
    });

    it('drains on SIGTERM, exits 0, and does not seed twice on restart', async () => {
      const code = await server.stop('SIGTERM');
      assert.equal(code, 0, server.output());
      server = await startServerProcess(env);
      const r: any = await (
        await fetch(`${server.url}/graphql`, { method: 'POST', headers: json, body: JSON.stringify({ query: '{ plants { totalCount } }' }) })
      ).json();
      assert.equal(r.data.plants.totalCount, 1);
      // The restarted server stays up for the other tests (any order); `after` stops it.
    });
  });
}

describe('first start without any key', () => {
  it('creates an ADMIN key, prints it once, and accepts it; a second start prints none', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-'));
    try {
      const env = { PLANTGRAPH_DATA_DIR: dataDir, DATABASE_URL: '', PLANTGRAPH_ADMIN_KEY: '', PLANTGRAPH_SEED: 'none' };
      let s = await startServerProcess(env);
      const key = /^\s+(pgk_\S+)$/m.exec(s.output())?.[1];
      assert.ok(key, s.output());
      const anon = await fetch(`${s.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ me { role } }' }),
      });
      assert.equal(anon.status, 401);
      const me: any = await (
        await fetch(`${s.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query: '{ me { name role } }' }),
        })
      ).json();
      assert.deepEqual(me.data.me, { name: 'bootstrap-admin', role: 'ADMIN' });
      assert.equal(await s.stop(), 0);
      s = await startServerProcess(env);
      assert.doesNotMatch(s.output(), /pgk_/);
      assert.equal(await s.stop(), 0);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('configuration errors', () => {
  it('refuses a bad DATABASE_URL or PORT with a clear message and exit code 2', async () => {
    await assert.rejects(startServerProcess({ DATABASE_URL: 'mysql://x' }, 30_000), /exited with 2[\s\S]*DATABASE_URL must be a postgres/);
    await assert.rejects(startServerProcess({ PORT: 'abc' }, 30_000), /exited with 2[\s\S]*PORT must be an integer/);
  });
});
