import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { createTestApp, emptyPostgresDatabase, describe, it, subscribe, type TestApp, testBackends, waitFor } from './helpers.ts';
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
      assert.equal(
        (await app.gql(RULE, { input: { plantId, name: 'Hot', kind: 'THRESHOLD', severity: 'CRITICAL', metric: 'temp', comparator: 'GT', threshold: 80 } }))
          .body.data.createAlertRule.__typename,
        'CreateAlertRuleSuccess',
      );
      assert.equal(
        (await app.gql(RULE, { input: { plantId, name: 'Down', kind: 'MACHINE_STATE', severity: 'WARNING' } })).body.data.createAlertRule.__typename,
        'CreateAlertRuleSuccess',
      );
      const ts = (s: number) => new Date(Date.now() - s * 1000).toISOString();
      for (const [v, s] of [
        [70, 30],
        [85, 20],
        [90, 10],
      ] as const) {
        const r = await app.gql(INGEST, { input: { points: [{ machineId, metric: 'temp', ts: ts(s), value: v }] } });
        assert.equal(r.body.data.ingestTelemetry.__typename, 'IngestTelemetrySuccess', JSON.stringify(r.body));
      }
      const st = await app.gql(`mutation($input: MachineStateInput!) { recordMachineState(input: $input) { __typename } }`, {
        input: { machineId, status: 'DOWN', at: ts(5) },
      });
      assert.equal(st.body.data.recordMachineState.__typename, 'RecordMachineStateSuccess');
      const r = await app.gql(`query($p: ID!) { alerts(plantId: $p) { edges { node { status severity occurrences value rule { name } } } } }`, { p: plantId });
      const nodes = r.body.data.alerts.edges.map((e: any) => e.node).filter((n: any) => ['Hot', 'Down'].includes(n.rule.name));
      assert.deepEqual(nodes, [
        { status: 'OPEN', severity: 'CRITICAL', occurrences: 2, value: 90, rule: { name: 'Hot' } },
        { status: 'OPEN', severity: 'WARNING', occurrences: 1, value: null, rule: { name: 'Down' } },
      ]);
    });

    it('alerts commit with the telemetry that raised them; a failing listener is rolled back and the points are kept', async () => {
      const count = async (sql: string) => Number((await app.database.query<{ n: number }>(sql))[0].n);
      assert.equal(
        (
          await app.gql(RULE, {
            input: { plantId, name: 'Hot in tx', kind: 'THRESHOLD', severity: 'CRITICAL', metric: 'temp-tx', comparator: 'GT', threshold: 80 },
          })
        ).body.data.createAlertRule.__typename,
        'CreateAlertRuleSuccess',
      );
      const off = app.services.events.on('telemetryStored', async (_rows, tx) => {
        await tx.query(`update alert_rules set name = 'tampered'`);
        throw new Error('listener broke');
      });
      try {
        const before = await count(`select count(*)::int as n from telemetry where metric = 'temp-tx'`);
        const r = await app.gql(INGEST, { input: { points: [{ machineId, metric: 'temp-tx', ts: new Date(Date.now() - 1000).toISOString(), value: 95 }] } });
        assert.equal(r.body.data.ingestTelemetry.__typename, 'IngestTelemetrySuccess');
        assert.equal(await count(`select count(*)::int as n from telemetry where metric = 'temp-tx'`), before + 1);
        assert.equal(await count(`select count(*)::int as n from alert_rules where name = 'tampered'`), 0, "the failing listener's write was rolled back");
        const raised = await app.database.query<{ status: string; value: number; occurrences: number }>(
          `select a.status, a.value, a.occurrences from alerts a join alert_rules r on r.id = a.rule_id where r.name = 'Hot in tx'`,
        );
        assert.deepEqual(
          raised.map((a) => ({ ...a, value: Number(a.value) })),
          [{ status: 'OPEN', value: 95, occurrences: 1 }],
          'the evaluator (registered first) still raised the alert',
        );
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
      const t = await emptyPostgresDatabase();
      drop = t.drop;
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-'));
      const env = { DATABASE_URL: t.url, PLANTGRAPH_ADMIN_KEY: KEY, PLANTGRAPH_DATA_DIR: dataDir };
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
        (await (
          await fetch(`${a.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
            body: JSON.stringify({ query, variables }),
          })
        ).json()) as any;
      const p = (await gqlA(`{ plants { edges { node { id machines { id } } } } }`)).data.plants.edges[0].node;
      assert.equal(
        (
          await gqlA(RULE, {
            input: { plantId: p.id, name: 'Cross', kind: 'THRESHOLD', severity: 'WARNING', metric: 'pressure', comparator: 'GT', threshold: 5 },
          })
        ).data.createAlertRule.__typename,
        'CreateAlertRuleSuccess',
      );

      // B's pub/sub is in another process: a probe rule shows when the subscription is live (B delivers a probe alert).
      assert.equal(
        (await gqlA(RULE, { input: { plantId: p.id, name: 'Probe', kind: 'THRESHOLD', severity: 'INFO', metric: 'probe', comparator: 'GT', threshold: 0 } }))
          .data.createAlertRule.__typename,
        'CreateAlertRuleSuccess',
      );
      const sub = await subscribe(b.url, KEY, `subscription($p: ID!) { alerts(plantId: $p) { kind alert { message value rule { name } machine { name } } } }`, {
        p: p.id,
      });
      const ruleEvents = (name: string) => sub.events.filter((e) => e.data?.alerts.alert.rule.name === name);
      try {
        let probe = 0;
        await waitFor(
          async () => {
            if (ruleEvents('Probe').length > 0) return true;
            // Alternating 1, 0 opens and resolves the probe alert, so every round raises an event.
            await gqlA(INGEST, {
              input: { points: [{ machineId: p.machines[1].id, metric: 'probe', ts: new Date().toISOString(), value: (probe = 1 - probe) }] },
            });
            return false;
          },
          { intervalMs: 300, message: () => `a probe alert on B (errors ${JSON.stringify(sub.errors)})` },
        );
        const sent = Date.now();
        const r = await gqlA(INGEST, { input: { points: [{ machineId: p.machines[0].id, metric: 'pressure', ts: new Date().toISOString(), value: 7.5 }] } });
        assert.equal(r.data.ingestTelemetry.__typename, 'IngestTelemetrySuccess');
        await waitFor(() => ruleEvents('Cross').length > 0, { message: 'the alert on B' });
        const latency = Date.now() - sent;
        const got = ruleEvents('Cross');
        assert.equal(got.length, 1, JSON.stringify(got));
        assert.equal(got[0].data.alerts.kind, 'OPENED');
        assert.equal(got[0].data.alerts.alert.value, 7.5);
        assert.equal(got[0].data.alerts.alert.machine.name, 'CNC-1');
        assert.ok(latency < 5_000, `took ${latency} ms`);
      } finally {
        await sub.dispose();
      }
    });
  });
}
