// Shared subscription execution (useSharedSubscriptionExecution, src/graphql/plugins.ts) runs a subscription's
// selection once per event for all subscribers with the same operation, variables, role and plants. The key must
// contain the role and the plants: an execution's result is computed under one principal's access checks, and handing
// it to a principal with other access would leak (or hide) data.
//
// Design. Each execution loads the alert's machine with its own SQL statement (the event row does not carry it), so
// executions can be counted by statements. A calibration event with one subscriber measures the statements of one
// execution, k. With two unscoped VIEWERs (different keys), a VIEWER scoped to plant A and an unscoped OPERATOR all
// subscribed to plant A's alerts, an event must cost exactly 3k: the two unscoped VIEWERs share (not 4k), and the
// plants and the role each split (not 2k or k). (Which rows a scoped key may see is checked where a query enters the
// plant, so the results here are equal; sharing across scopes would still be a leak the moment a selection reached
// anything scope-dependent, and this count catches it.)
import assert from 'node:assert/strict';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { AlertEvent } from '../src/alerts/lifecycle.ts';
import { alertTopic } from '../src/alerts/service.ts';
import { startServer, type RunningServer } from '../src/graphql/server.ts';
import { after, before, createTestApp, describe, it, makeKey, type TestApp, testBackends, statementsDuring } from './helpers.ts';

const SUBSCRIPTION = `subscription($p: ID!) { alerts(plantId: $p) { kind alert { id machine { name } } } }`;
const gid = (type: string, id: number) => Buffer.from(`${type}:${id}`).toString('base64');

async function waitFor(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const backend of testBackends()) {
  describe(`shared subscription execution is keyed by role and plants [${backend}]`, () => {
    let app: TestApp;
    let server: RunningServer;
    let plantA: number;
    let ruleA: number;
    let machineOfA: { id: number; name: string };
    const clients: Client[] = [];

    before(async () => {
      app = await createTestApp(backend);
      server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
      plantA = (await app.database.query<{ id: number }>('select id from plants order by id limit 1'))[0].id;
      const [m] = await app.database.query<{ id: number; name: string }>('select id, name from machines where plant_id = $1 order by id limit 1', [plantA]);
      machineOfA = m;
      const rule = await app.gql(`mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { ... on CreateAlertRuleSuccess { rule { id } } } }`, {
        input: { plantId: gid('Plant', plantA), name: 'probe', kind: 'MACHINE_STATE', severity: 'WARNING' },
      });
      ruleA = Number(Buffer.from(rule.body.data.createAlertRule.rule.id, 'base64').toString().split(':')[1]);
    });
    after(async () => {
      for (const c of clients) await c.dispose();
      await server.close();
      await app.close();
    });

    /** An alert of plant A about one of its machines, stored and published as an alert event on plant A's topic. */
    async function publishAlert(subject: string): Promise<number> {
      const now = new Date().toISOString();
      const [row] = await app.database.query<{ id: number }>(
        `insert into alerts (plant_id, rule_id, subject, machine_id, severity, message, opened_at, last_seen_at) values ($1, $2, $3, $4, 'WARNING', 'probe', $5, $5) returning id`,
        [plantA, ruleA, subject, machineOfA.id, now],
      );
      const alert = await app.database.db.query.alerts.findFirst({ where: { id: row.id } });
      await app.services.pubsub.publish(alertTopic, plantA, { kind: 'OPENED', alert: alert! } as AlertEvent);
      return row.id;
    }

    function subscribe(key: string): { results: any[]; stop(): void } {
      const client = createClient({
        url: `${server.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${key}` },
      });
      clients.push(client);
      const results: any[] = [];
      const stop = client.subscribe(
        { query: SUBSCRIPTION, variables: { p: gid('Plant', plantA) } },
        { next: (r) => results.push(r), error: (e) => results.push({ error: e }), complete: () => {} },
      );
      return { results, stop };
    }

    const subscribers = () => app.services.pubsub.subscriberCount(alertTopic.channel(plantA));

    const statementsWhile = (fn: () => Promise<void>) => statementsDuring(app.database, fn);

    it('identical access shares one execution; another role or other plants never do', async () => {
      const viewer1 = (await makeKey(app, 'viewer-1', 'VIEWER')).key;
      const viewer2 = (await makeKey(app, 'viewer-2', 'VIEWER')).key;
      const viewerOfA = (await makeKey(app, 'viewer-a', 'VIEWER', [gid('Plant', plantA)])).key;
      const operator = (await makeKey(app, 'operator', 'OPERATOR')).key;

      // Calibration: the statements of one execution, with a single subscriber.
      const alone = subscribe(viewer1);
      await waitFor('the calibration subscription', () => subscribers() === 1);
      const oneExecution = await statementsWhile(async () => {
        await publishAlert('calibration');
        await waitFor('the calibration event', () => alone.results.length === 1);
      });
      // Storing and publishing the alert sends two statements of its own (insert, read back); the rest is the execution.
      const k = oneExecution.length - 2;
      assert.ok(k >= 1, `an execution sends SQL: ${JSON.stringify(oneExecution)}`);
      assert.deepEqual(alone.results[0].data?.alerts.alert.machine, { name: machineOfA.name });
      alone.stop();
      await waitFor('the calibration subscription to end', () => subscribers() === 0);

      const subs = { viewer1: subscribe(viewer1), viewer2: subscribe(viewer2), viewerOfA: subscribe(viewerOfA), operator: subscribe(operator) };
      await waitFor('four subscriptions', () => subscribers() === 4);
      let alertId = 0;
      const statements = await statementsWhile(async () => {
        alertId = await publishAlert('shared');
        await waitFor('every subscriber to get the event', () => Object.values(subs).every((s) => s.results.length === 1));
      });

      for (const name of ['viewer1', 'viewer2', 'viewerOfA', 'operator'] as const) {
        const r = subs[name].results[0];
        assert.equal(r.errors, undefined, `${name}: ${JSON.stringify(r)}`);
        assert.deepEqual(r.data.alerts, { kind: 'OPENED', alert: { id: gid('Alert', alertId), machine: { name: machineOfA.name } } }, name);
      }

      assert.equal(
        statements.length - 2,
        3 * k,
        `expected 3 executions of ${k} statements (the two unscoped VIEWERs share; plants and role split), got: ${JSON.stringify(statements)}`,
      );
      for (const s of Object.values(subs)) s.stop();
    });
  });
}
