import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { sql } from 'drizzle-orm';
import { createTestApp, createTestDatabase, describe, it, type TestApp, testBackends } from './helpers.ts';
import { type ServerProcess, startServerProcess } from './process.ts';

const INGEST = `mutation($input: TelemetryBatchInput!) { ingestTelemetry(input: $input) { __typename ... on IngestTelemetrySuccess { accepted } ... on Error { message } } }`;
const RULE = `mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { __typename ... on Error { message } } }`;

for (const backend of testBackends()) {
  describe(`alerts end to end through ingestTelemetry and recordMachineState [${backend}]`, () => {
    let app: TestApp;
    let plantId: string;
    let machineId: string;
    before(async () => {
      app = await createTestApp(backend);
      const p = (await app.gql(`{ plants { edges { node { id machines { id } } } } }`)).body.data.plants.edges[0].node;
      plantId = p.id;
      machineId = p.machines[0].id;
    });
    after(() => app.close());

    it('an ingested breach opens one alert, repeated breaches update it, a recorded DOWN state raises another', async () => {
      assert.equal((await app.gql(RULE, { input: { plantId, name: 'Hot', kind: 'THRESHOLD', severity: 'CRITICAL', metric: 'temp', comparator: 'GT', threshold: 80 } })).body.data.createAlertRule.__typename, 'CreateAlertRuleSuccess');
      assert.equal((await app.gql(RULE, { input: { plantId, name: 'Down', kind: 'MACHINE_STATE', severity: 'WARNING' } })).body.data.createAlertRule.__typename, 'CreateAlertRuleSuccess');
      const ts = (s: number) => new Date(Date.now() - s * 1000).toISOString();
      for (const [v, s] of [[70, 30], [85, 20], [90, 10]] as const) {
        const r = await app.gql(INGEST, { input: { points: [{ machineId, metric: 'temp', ts: ts(s), value: v }] } });
        assert.equal(r.body.data.ingestTelemetry.__typename, 'IngestTelemetrySuccess', JSON.stringify(r.body));
      }
      const st = await app.gql(`mutation($input: MachineStateInput!) { recordMachineState(input: $input) { __typename } }`, { input: { machineId, status: 'DOWN', at: ts(5) } });
      assert.equal(st.body.data.recordMachineState.__typename, 'RecordMachineStateSuccess');
      const r = await app.gql(`query($p: ID!) { alerts(plantId: $p) { edges { node { status severity occurrences value rule { name } } } } }`, { p: plantId });
      const nodes = r.body.data.alerts.edges.map((e: any) => e.node);
      assert.deepEqual(nodes, [
        { status: 'OPEN', severity: 'CRITICAL', occurrences: 2, value: 90, rule: { name: 'Hot' } },
        { status: 'OPEN', severity: 'WARNING', occurrences: 1, value: null, rule: { name: 'Down' } },
      ]);
    });

    it('alerts commit with the telemetry that raised them; a failing listener is rolled back and the points are kept', async () => {
      const count = async (sql: string) => Number((await app.database.query<{ n: number }>(sql))[0].n);
      const off = app.services.events.onTelemetryInTransaction(async (_rows, db) => {
        await db.execute(sql`update alert_rules set name = 'tampered'`);
        throw new Error('listener broke');
      });
      try {
        const before = await count(`select count(*)::int as n from telemetry where metric = 'temp'`);
        const r = await app.gql(INGEST, { input: { points: [{ machineId, metric: 'temp', ts: new Date(Date.now() - 1000).toISOString(), value: 95 }] } });
        assert.equal(r.body.data.ingestTelemetry.__typename, 'IngestTelemetrySuccess');
        assert.equal(await count(`select count(*)::int as n from telemetry where metric = 'temp'`), before + 1);
        assert.equal(await count(`select count(*)::int as n from alert_rules where name = 'tampered'`), 0, 'the failing listener\'s write was rolled back');
        assert.equal(await count(`select occurrences as n from alerts where status = 'OPEN' and value = 95`), 3, 'the evaluator (registered first) still raised the update');
      } finally {
        off();
      }
    });
  });
}

// Two real server processes on one PostgreSQL database: an alert raised through A reaches a subscriber on B.
if (testBackends().includes('postgres')) {
  describe('alerts across server processes [postgres]', () => {
    const KEY = 'cross-process-admin-key-0123456789';
    let a: ServerProcess;
    let b: ServerProcess;
    let drop: () => Promise<void>;
    let dataDir: string;
    before(async () => {
      const t = await createTestDatabase('postgres');
      await t.database.query('drop schema public cascade');
      await t.database.query('create schema public');
      await t.database.query('drop schema if exists drizzle cascade');
      await t.database.close();
      drop = t.drop;
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-'));
      const env = { DATABASE_URL: t.url!, PLANTGRAPH_ADMIN_KEY: KEY, PLANTGRAPH_DATA_DIR: dataDir };
      [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    });
    after(async () => {
      await a?.stop('SIGKILL');
      await b?.stop('SIGKILL');
      await drop?.();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('a subscriber on process B receives an alert raised through process A', async () => {
      const gqlA = async (query: string, variables?: unknown) =>
        (await (await fetch(`${a.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify({ query, variables }) })).json()) as any;
      const p = (await gqlA(`{ plants { edges { node { id machines { id } } } } }`)).data.plants.edges[0].node;
      assert.equal((await gqlA(RULE, { input: { plantId: p.id, name: 'Cross', kind: 'THRESHOLD', severity: 'WARNING', metric: 'pressure', comparator: 'GT', threshold: 5 } })).data.createAlertRule.__typename, 'CreateAlertRuleSuccess');

      const client = createClient({ url: `${b.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${KEY}` } });
      const got: any[] = [];
      client.subscribe({ query: `subscription($p: ID!) { alerts(plantId: $p) { kind alert { message value machine { name } } } }`, variables: { p: p.id } }, { next: (v) => got.push(v), error: (e) => got.push({ error: e }), complete: () => {} });
      await new Promise((r) => setTimeout(r, 500));
      const sent = Date.now();
      const r = await gqlA(INGEST, { input: { points: [{ machineId: p.machines[0].id, metric: 'pressure', ts: new Date().toISOString(), value: 7.5 }] } });
      assert.equal(r.data.ingestTelemetry.__typename, 'IngestTelemetrySuccess');
      const deadline = Date.now() + 10_000;
      while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const latency = Date.now() - sent;
      await client.dispose();
      assert.equal(got.length, 1, JSON.stringify(got));
      assert.equal(got[0].data.alerts.kind, 'OPENED');
      assert.equal(got[0].data.alerts.alert.value, 7.5);
      assert.equal(got[0].data.alerts.alert.machine.name, 'CNC-1');
      assert.ok(latency < 5_000, `took ${latency} ms`);
    });
  });
}
