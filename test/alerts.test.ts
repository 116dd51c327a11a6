import assert from 'node:assert/strict';
import { after, before, beforeEach } from 'node:test';
import type { AlertEvent } from '../src/alerts/lifecycle.ts';
import { alertTopic } from '../src/alerts/service.ts';
import { ManualClock } from '../src/core/clock.ts';
import type { MachineStatus } from '../src/db/schema/index.ts';
import { startServer, type RunningServer } from '../src/graphql/server.ts';
import { ingestTelemetry, type TelemetryPointIn } from '../src/telemetry/ingest.ts';
import { recordMachineStates } from '../src/telemetry/states.ts';
import { as, createTestApp, describe, it, makeKey, subscribe, type TestApp, testBackends, waitFor } from './helpers.ts';

/** Published by the test after the events it waits for (see settled()). */
type Marker = { marker: number };
const decode = (id: string) => Number(Buffer.from(id, 'base64').toString().split(':')[1]);
const RULE = `mutation($input: AlertRuleInput!) { createAlertRule(input: $input) { __typename ... on CreateAlertRuleSuccess { rule { id name } } ... on Error { code message } ... on ValidationError { fieldErrors { path message } } } }`;

for (const backend of testBackends()) {
  describe(`alerts [${backend}]`, () => {
    let app: TestApp;
    let plantId: string;
    let plantNum: number;
    let machines: { id: string; num: number; name: string }[];
    let events: AlertEvent[];
    let stopListening: () => void;
    let markersSent = 0;
    let markersSeen = 0;

    before(async () => {
      app = await createTestApp(backend);
      const r = await app.gql(`{ plants { edges { node { id machines { id name } } } } }`);
      const p = r.body.data.plants.edges[0].node;
      plantId = p.id;
      plantNum = decode(plantId);
      machines = p.machines.map((m: any) => ({ id: m.id, num: decode(m.id), name: m.name }));
    });
    after(() => app.close());
    beforeEach(async () => {
      stopListening?.();
      const sink: AlertEvent[] = [];
      events = sink;
      const it = app.services.pubsub.subscribe(alertTopic, plantNum) as AsyncIterableIterator<AlertEvent | Marker>;
      let stopped = false;
      void (async () => {
        for await (const e of it) {
          if ('marker' in e) markersSeen = e.marker;
          else sink.push(e);
        }
      })();
      stopListening = () => {
        if (!stopped) void it.return?.();
        stopped = true;
      };
      for (const t of ['alerts', 'alert_pending', 'alert_rules']) await app.database.query(`delete from ${t}`);
      app.services.alerts.rules.invalidate();
    });

    async function rule(input: Record<string, unknown>) {
      const r = await app.gql(RULE, { input: { plantId, severity: 'WARNING', ...input } });
      assert.equal(r.body.data.createAlertRule.__typename, 'CreateAlertRuleSuccess', JSON.stringify(r.body));
      return r.body.data.createAlertRule.rule;
    }
    const at = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000);
    const point = (m: number, metric: string, value: number, secondsAgo: number): TelemetryPointIn => ({
      machineId: machines[m].num,
      metric,
      ts: at(secondsAgo),
      value,
    });
    // The production paths: the evaluator runs inside the writer's transaction, events are published after commit.
    async function ingest(points: TelemetryPointIn[]) {
      assert.deepEqual(await ingestTelemetry({ ...app.services, clock: new ManualClock() }, { plantIds: null }, { points }), {
        accepted: points.length,
        duplicates: 0,
      });
    }
    async function state(m: number, status: MachineStatus, secondsAgo: number) {
      const [recorded] = await recordMachineStates({ ...app.services, clock: new ManualClock() }, { plantIds: null }, [
        { machineId: machines[m].num, status, at: at(secondsAgo) },
      ]);
      assert.equal(recorded.current, true);
    }
    const kinds = () => events.map((e) => e.kind);
    /** Waits until everything published so far has reached `events`: a marker published now arrives after it. */
    async function settled() {
      const marker = ++markersSent;
      await app.services.pubsub.publish(alertTopic, plantNum, { marker } satisfies Marker as never);
      await waitFor(() => markersSeen >= marker, { message: 'the alert events published so far' });
    }
    /** The sweep of a process whose clock is `aheadMs` ahead of this one. */
    const sweepAhead = (aheadMs: number) => app.services.alerts.sweep(new Date(Date.now() + aheadMs));

    it('a breach raises exactly one OPENED event; further breaches give UPDATED on the same alert', async () => {
      await rule({ name: 'Spindle hot', kind: 'THRESHOLD', metric: 'temperature', comparator: 'GT', threshold: 80 });
      await ingest([point(0, 'temperature', 70, 30), point(0, 'temperature', 85, 20), point(0, 'temperature', 86, 10)]);
      await ingest([point(0, 'temperature', 90, 5)]);
      await ingest([point(0, 'temperature', 91, 4), point(1, 'temperature', 50, 4)]);
      await settled();
      assert.deepEqual(kinds(), ['OPENED', 'UPDATED', 'UPDATED']);
      assert.ok(events.every((e) => e.alert.id === events[0].alert.id));
      const r = await app.gql(
        `query($p: ID!) { alerts(plantId: $p) { totalCount: edges { node { status severity value occurrences message machine { name } rule { name } } } } }`,
        { p: plantId },
      );
      const list = r.body.data.alerts.totalCount;
      assert.equal(list.length, 1);
      assert.deepEqual(
        { ...list[0].node, message: undefined },
        {
          status: 'OPEN',
          severity: 'WARNING',
          value: 91,
          occurrences: 3,
          message: undefined,
          machine: { name: machines[0].name },
          rule: { name: 'Spindle hot' },
        },
      );
      assert.match(list[0].node.message, /temperature on CNC-1 is 91 \(> 80\)/);
    });

    it('acknowledge and resolve produce their events and stored timestamps; repeating them is a ConflictError', async () => {
      await rule({ name: 'Vibration', kind: 'THRESHOLD', metric: 'vibration', comparator: 'GTE', threshold: 5, autoResolve: false });
      await ingest([point(2, 'vibration', 7, 1)]);
      await settled();
      const alertId = (await app.gql(`query($p: ID!) { alerts(plantId: $p, status: [OPEN]) { edges { node { id } } } }`, { p: plantId })).body.data.alerts
        .edges[0].node.id;
      const operator = (await makeKey(app, 'shift-lead', 'OPERATOR')).key;
      const ACK = `mutation($id: ID!, $note: String) { acknowledgeAlert(id: $id, note: $note) { __typename ... on AlertSuccess { alert { status acknowledgedAt acknowledgedBy acknowledgeNote } } ... on Error { code } } }`;
      const RES = `mutation($id: ID!, $note: String) { resolveAlert(id: $id, note: $note) { __typename ... on ResolveAlertResult { __typename } ... on AlertSuccess { alert { status resolvedAt resolvedBy resolveNote acknowledgedAt } } ... on Error { code } } }`;
      const ack = await as(app, operator)(ACK, { id: alertId, note: 'looking at it' });
      const a = ack.body.data.acknowledgeAlert.alert;
      assert.equal(a.status, 'ACKNOWLEDGED');
      assert.equal(a.acknowledgedBy, 'shift-lead');
      assert.equal(a.acknowledgeNote, 'looking at it');
      assert.ok(Math.abs(Date.parse(a.acknowledgedAt) - Date.now()) < 60_000);
      assert.equal((await as(app, operator)(ACK, { id: alertId })).body.data.acknowledgeAlert.code, 'CONFLICT');
      // A repeated breach while acknowledged updates the alert and keeps it acknowledged.
      await ingest([point(2, 'vibration', 8, 0)]);
      const res = await as(app, operator)(RES, { id: alertId, note: 'bearing replaced' });
      const b = res.body.data.resolveAlert.alert;
      assert.equal(b.status, 'RESOLVED');
      assert.equal(b.resolvedBy, 'shift-lead');
      assert.equal(b.resolveNote, 'bearing replaced');
      assert.ok(b.resolvedAt >= b.acknowledgedAt);
      assert.equal((await as(app, operator)(RES, { id: alertId })).body.data.resolveAlert.code, 'CONFLICT');
      await settled();
      assert.deepEqual(kinds(), ['OPENED', 'ACKNOWLEDGED', 'UPDATED', 'RESOLVED']);
      const viewer = (await makeKey(app, 'viewer', 'VIEWER')).key;
      const forbidden = await as(app, viewer)(ACK, { id: alertId });
      assert.equal(forbidden.body.errors[0].extensions.code, 'FORBIDDEN');
      const unknown = await as(app, operator)(ACK, { id: Buffer.from('Alert:99999').toString('base64') });
      assert.equal(unknown.body.data.acknowledgeAlert.code, 'NOT_FOUND');
      const longNote = await as(app, operator)(ACK, { id: alertId, note: 'x'.repeat(3000) });
      assert.equal(longNote.body.data.acknowledgeAlert.__typename, 'ValidationError');
    });

    it('auto-resolves when the condition clears, and a new breach opens a new alert', async () => {
      await rule({ name: 'Pressure low', kind: 'THRESHOLD', metric: 'pressure', comparator: 'LT', threshold: 2, severity: 'CRITICAL' });
      await ingest([point(3, 'pressure', 1.5, 30)]);
      await ingest([point(3, 'pressure', 2.5, 20)]);
      await ingest([point(3, 'pressure', 1.0, 10)]);
      await settled();
      assert.deepEqual(kinds(), ['OPENED', 'RESOLVED', 'OPENED']);
      assert.equal(events[1].alert.resolvedBy, 'auto');
      assert.notEqual(events[2].alert.id, events[0].alert.id);
    });

    it('a forSeconds rule does not fire on a short spike, fires on a sustained breach, and the sweep raises a breach that went quiet', async () => {
      await rule({ name: 'Motor current', kind: 'THRESHOLD', metric: 'current', comparator: 'GT', threshold: 10, forSeconds: 60 });
      // A 20-second spike.
      await ingest([point(0, 'current', 12, 200), point(0, 'current', 14, 190), point(0, 'current', 9, 180)]);
      await app.services.alerts.sweep();
      await settled();
      assert.deepEqual(kinds(), []);
      // Sustained for 70 s on machine 1.
      await ingest([point(1, 'current', 11, 170), point(1, 'current', 12, 130), point(1, 'current', 12, 100)]);
      await settled();
      assert.deepEqual(kinds(), ['OPENED']);
      // Machine 2 breaches once, 90 s ago, and reports nothing after: the sweep raises it.
      await ingest([point(2, 'current', 15, 90)]);
      await settled();
      assert.deepEqual(kinds(), ['OPENED']);
      const swept = await app.services.alerts.sweep();
      assert.equal(swept.length, 1);
      assert.equal(swept[0].alert.machineId, machines[2].num);
      assert.deepEqual(await app.services.alerts.sweep(), [], 'a swept breach is raised once');
      await settled();
      assert.deepEqual(kinds(), ['OPENED', 'OPENED']);
    });

    it('MACHINE_STATE rules: DOWN raises at once or after forSeconds, and leaving DOWN resolves', async () => {
      await rule({ name: 'Down', kind: 'MACHINE_STATE', status: 'DOWN', severity: 'CRITICAL' });
      await rule({ name: 'Long maintenance', kind: 'MACHINE_STATE', status: 'MAINTENANCE', forSeconds: 300, machineId: machines[5].id });
      await state(4, 'DOWN', 5);
      await settled();
      assert.deepEqual(kinds(), ['OPENED']);
      assert.match(events[0].alert.message, /Hob-1 is DOWN/);
      await state(4, 'RUNNING', 1);
      await state(5, 'MAINTENANCE', 100);
      await settled();
      assert.deepEqual(kinds(), ['OPENED', 'RESOLVED']);
      assert.deepEqual(await app.services.alerts.sweep(), []);
      await state(6, 'MAINTENANCE', 1000);
      await settled();
      assert.deepEqual(kinds(), ['OPENED', 'RESOLVED'], 'the maintenance rule is limited to one machine');
      // 250 s later (a sweeper with a clock ahead), the maintenance has lasted 350 s: the sweep raises it, once.
      const swept = await sweepAhead(250_000);
      assert.equal(swept.length, 1);
      assert.deepEqual(await sweepAhead(250_000), []);
      assert.match(swept[0].alert.message, /Assembly-1 is MAINTENANCE for more than 300 s/);
    });

    it('validates rules: missing fields, unknown or foreign machines and plants, duplicates, roles', async () => {
      const bad = await app.gql(RULE, { input: { plantId, name: 'x', kind: 'THRESHOLD', severity: 'INFO', forSeconds: -1, threshold: 1 } });
      assert.equal(bad.body.data.createAlertRule.__typename, 'ValidationError');
      assert.deepEqual(bad.body.data.createAlertRule.fieldErrors.map((e: any) => e.path).sort(), ['comparator', 'forSeconds', 'metric']);
      const other = await app.gql(
        `mutation($input: PlantImportInput!) { importPlant(input: $input) { ... on ImportPlantSuccess { plant { id machines { id } } } } }`,
        {
          input: { name: 'Alert Other', lines: [{ name: 'L', machines: [{ name: 'Z' }] }] },
        },
      );
      const foreignMachine = other.body.data.importPlant.plant.machines[0].id;
      const fm = await app.gql(RULE, { input: { plantId, name: 'y', kind: 'MACHINE_STATE', severity: 'INFO', machineId: foreignMachine } });
      assert.deepEqual(fm.body.data.createAlertRule.fieldErrors, [{ path: 'machineId', message: 'unknown machine in this plant' }]);
      const scoped = (await makeKey(app, 'eng-a', 'ENGINEER', [plantId])).key;
      const fp = await as(app, scoped)(RULE, { input: { plantId: other.body.data.importPlant.plant.id, name: 'z', kind: 'ORDER_LATE', severity: 'INFO' } });
      assert.equal(fp.body.data.createAlertRule.code, 'NOT_FOUND');
      await rule({ name: 'Twice', kind: 'ORDER_LATE' });
      const dup = await app.gql(RULE, { input: { plantId, name: 'Twice', kind: 'ORDER_LATE', severity: 'INFO' } });
      assert.equal(dup.body.data.createAlertRule.code, 'CONFLICT');
      const operator = (await makeKey(app, 'op', 'OPERATOR')).key;
      const f = await as(app, operator)(RULE, { input: { plantId, name: 'w', kind: 'ORDER_LATE', severity: 'INFO' } });
      assert.equal(f.body.errors[0].extensions.code, 'FORBIDDEN');
      const rules = await app.gql(`query($p: ID!) { alertRules(plantId: $p) { edges { node { name kind } } } }`, { p: plantId });
      assert.deepEqual(
        rules.body.data.alertRules.edges.map((e: any) => e.node.name),
        ['Twice'],
      );
    });

    it('updates and disables rules; a disabled rule raises nothing', async () => {
      const r = await rule({ name: 'Oil temp', kind: 'THRESHOLD', metric: 'oil', comparator: 'GT', threshold: 100 });
      const up = await app.gql(
        `mutation($id: ID!) { updateAlertRule(id: $id, input: { threshold: 50, severity: CRITICAL }) { ... on UpdateAlertRuleSuccess { rule { threshold severity enabled } } } }`,
        { id: r.id },
      );
      assert.deepEqual(up.body.data.updateAlertRule.rule, { threshold: 50, severity: 'CRITICAL', enabled: true });
      await ingest([point(0, 'oil', 60, 3)]);
      await settled();
      assert.deepEqual(kinds(), ['OPENED']);
      assert.equal(events[0].alert.severity, 'CRITICAL');
      const dis = await app.gql(`mutation($id: ID!) { disableAlertRule(id: $id) { ... on UpdateAlertRuleSuccess { rule { enabled } } } }`, { id: r.id });
      assert.equal(dis.body.data.disableAlertRule.rule.enabled, false);
      await ingest([point(1, 'oil', 70, 2)]);
      await settled();
      assert.deepEqual(kinds(), ['OPENED']);
    });

    it('Query.alerts resumes from a cursor and misses nothing; event cursors match the connection', async () => {
      await rule({ name: 'Flow', kind: 'THRESHOLD', metric: 'flow', comparator: 'GT', threshold: 1, autoResolve: false });
      await ingest([point(0, 'flow', 2, 9), point(1, 'flow', 2, 9)]);
      const Q = `query($p: ID!, $after: String) { alerts(plantId: $p, first: 10, after: $after) { edges { cursor node { id status occurrences } } pageInfo { endCursor } } }`;
      const first = await app.gql(Q, { p: plantId });
      assert.equal(first.body.data.alerts.edges.length, 2);
      const cursor = first.body.data.alerts.pageInfo.endCursor;
      // Changes after the client went away: machine 0 again, and a new alert on machine 2.
      await ingest([point(0, 'flow', 3, 5), point(2, 'flow', 3, 5)]);
      const resumed = await app.gql(Q, { p: plantId, after: cursor });
      const nodes = resumed.body.data.alerts.edges.map((e: any) => e.node);
      assert.equal(nodes.length, 2);
      assert.ok(nodes.some((n: any) => n.occurrences === 2));
      await settled();
      const last = events[events.length - 1];
      const conn = resumed.body.data.alerts.edges.find((e: any) => decode(e.node.id) === last.alert.id);
      const r = await app.gql(`query($p: ID!) { alerts(plantId: $p, last: 1) { edges { cursor } } }`, { p: plantId });
      assert.equal(conn.cursor, r.body.data.alerts.edges[0].cursor);
      const empty = await app.gql(Q, { p: plantId, after: resumed.body.data.alerts.pageInfo.endCursor });
      assert.deepEqual(empty.body.data.alerts.edges, []);
    });

    it('subscriptions over graphql-ws: filtered by severity on the server, plant-scoped at subscribe time', async () => {
      await rule({ name: 'Info temp', kind: 'THRESHOLD', metric: 'temp2', comparator: 'GT', threshold: 0, severity: 'INFO' });
      await rule({ name: 'Crit temp', kind: 'THRESHOLD', metric: 'temp2', comparator: 'GT', threshold: 100, severity: 'CRITICAL' });
      const server: RunningServer = await startServer(app.services, { port: 0, host: '127.0.0.1' });
      const url = `${server.url.replace('http', 'ws')}/graphql`;
      try {
        const viewer = (await makeKey(app, 'scoped-viewer', 'VIEWER', [plantId])).key;
        const live = { pubsub: app.services.pubsub, topic: `alerts:${plantNum}` };
        const sub = await subscribe(
          url,
          viewer,
          `subscription($p: ID!) { alerts(plantId: $p, minSeverity: WARNING) { kind cursor alert { severity value message machine { name } } } }`,
          { p: plantId },
          { live },
        );
        await ingest([point(0, 'temp2', 50, 3)]);
        await ingest([point(0, 'temp2', 150, 2)]);
        await ingest([point(0, 'temp2', 160, 1)]);
        // Events reach a subscriber in order, so once the second CRITICAL one is there every INFO one has been filtered.
        const got = await sub.waitFor(2);
        assert.deepEqual(sub.errors, []);
        assert.deepEqual(
          got.map((e) => [e.data.alerts.kind, e.data.alerts.alert.severity, e.data.alerts.alert.value]),
          [
            ['OPENED', 'CRITICAL', 150],
            ['UPDATED', 'CRITICAL', 160],
          ],
        );
        assert.equal(got[0].data.alerts.alert.machine.name, machines[0].name);
        await sub.dispose();

        const other = await app.gql(
          `mutation { importPlant(input: { name: "Subscription Other", lines: [{ name: "L", machines: [{ name: "S" }] }] }) { ... on ImportPlantSuccess { plant { id } } } }`,
        );
        const foreignPlant = other.body.data.importPlant.plant.id;
        const refused = await subscribe(url, viewer, `subscription($p: ID!) { alerts(plantId: $p) { kind } }`, { p: foreignPlant });
        await waitFor(() => refused.completed, { message: 'the refusal' });
        await refused.dispose();
        // The refusal arrives as the operation's errors (graphql-ws `next` with errors, then `complete`), with no data.
        const result: any = refused.errors[0] ?? refused.events[refused.events.length - 1] ?? null;
        const errors = Array.isArray(result) ? result : result?.errors;
        assert.ok(Array.isArray(errors), JSON.stringify(result));
        assert.equal(errors[0].extensions.code, 'NOT_FOUND');
        assert.equal(result?.data ?? null, null);
      } finally {
        await server.close();
      }
    });

    after(() => stopListening?.());
  });
}
