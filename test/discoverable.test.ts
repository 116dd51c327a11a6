import { readdirSync, readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { raiseAlerts, resolveAlert } from '../src/alerts/lifecycle.ts';
import { insertAlertRule } from '../src/alerts/rules.ts';
import { ValidationError } from '../src/core/errors.ts';
import { encodeId } from '../src/core/ids.ts';
import { machines, type Severity } from '../src/db/schema/index.ts';
import { ingestTelemetry } from '../src/telemetry/ingest.ts';
import { importPlant, type PlantImport } from '../src/twin/import.ts';
import { after, before, createTestApp, describe, it, makeKey, as, type TestApp, testBackends, unchanged } from './helpers.ts';

/** A plant of `lines` lines of `perLine` machines. */
function plantOfSize(name: string, lines: number, perLine: number): PlantImport {
  return {
    name,
    lines: Array.from({ length: lines }, (_, i) => ({
      name: `L${i}`,
      machines: Array.from({ length: perLine }, (_, j) => ({ name: `${name}-M${i}-${j}`, kind: 'cnc' })),
    })),
  };
}

async function machinesOf(app: TestApp, plantId: number): Promise<{ id: number; name: string }[]> {
  const all = await app.database.db.select({ id: machines.id, name: machines.name, plantId: machines.plantId }).from(machines).orderBy(machines.id);
  return all.filter((m) => m.plantId === plantId);
}

const iso = (ms: number) => new Date(ms).toISOString();

for (const backend of testBackends()) {
  describe(`discoverable data: Machine.metrics and Plant.metrics [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend, { seed: false });
    });
    after(async () => {
      await app.close();
    });

    it('lists each metric a machine reported with its first and last time and point count, and the plant the union', async () => {
      const { id: plantId } = await importPlant(app.database.db, plantOfSize('Metrics', 1, 3));
      const [a, b, c] = await machinesOf(app, plantId);
      const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
      const at = (s: number) => new Date(base + s * 1000);
      // Out of order within the batch: the oldest point of a series is not its first point.
      await ingestTelemetry(
        app.services,
        { plantIds: null },
        {
          points: [
            { machineId: a.id, metric: 'temperature', ts: at(30), value: 1 },
            { machineId: a.id, metric: 'temperature', ts: at(10), value: 2 },
            { machineId: a.id, metric: 'temperature', ts: at(20), value: 3 },
            { machineId: a.id, metric: 'vibration', ts: at(15), value: 0.1 },
            { machineId: b.id, metric: 'temperature', ts: at(5), value: 4 },
          ],
        },
      );
      // A second batch with a point already stored goes the careful path: only new points count.
      await ingestTelemetry(
        app.services,
        { plantIds: null },
        {
          points: [
            { machineId: a.id, metric: 'temperature', ts: at(30), value: 1 },
            { machineId: a.id, metric: 'temperature', ts: at(400), value: 5 },
            { machineId: b.id, metric: 'spindle_load', ts: at(2), value: 40 },
          ],
        },
      );
      if (backend === 'postgres') {
        // COPY (the path of large batches) maintains the summary too.
        await ingestTelemetry(
          app.services,
          { plantIds: null },
          { points: [{ machineId: b.id, metric: 'temperature', ts: at(1), value: 9 }] },
          { method: 'copy' },
        );
      }
      const r = await app.gql(
        `query Metrics($plant: ID!) { plant(id: $plant) {
          metrics { metric firstAt lastAt count machineCount }
          machines { name metrics { metric firstAt lastAt count } } } }`,
        { plant: encodeId('Plant', plantId) },
      );
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      const bFirst = backend === 'postgres' ? 1 : 5;
      const bCount = backend === 'postgres' ? 2 : 1;
      assert.deepEqual(r.body.data.plant.machines, [
        {
          name: a.name,
          metrics: [
            { metric: 'temperature', firstAt: iso(base + 10_000), lastAt: iso(base + 400_000), count: 4 },
            { metric: 'vibration', firstAt: iso(base + 15_000), lastAt: iso(base + 15_000), count: 1 },
          ],
        },
        {
          name: b.name,
          metrics: [
            { metric: 'spindle_load', firstAt: iso(base + 2_000), lastAt: iso(base + 2_000), count: 1 },
            { metric: 'temperature', firstAt: iso(base + bFirst * 1000), lastAt: iso(base + 5_000), count: bCount },
          ],
        },
        { name: c.name, metrics: [] },
      ]);
      // Reached through another object (a point's machine, node(id)): the same list.
      const viaPoint = await app.gql(
        `query ViaPoint($id: ID!) { node(id: $id) { ... on Machine { latest(metric: "vibration") { machine { metrics { metric count } } } } } }`,
        {
          id: encodeId('Machine', a.id),
        },
      );
      assert.equal(viaPoint.body.errors, undefined, JSON.stringify(viaPoint.body.errors));
      assert.deepEqual(viaPoint.body.data.node.latest.machine.metrics, [
        { metric: 'temperature', count: 4 },
        { metric: 'vibration', count: 1 },
      ]);
      assert.deepEqual(r.body.data.plant.metrics, [
        { metric: 'spindle_load', firstAt: iso(base + 2_000), lastAt: iso(base + 2_000), count: 1, machineCount: 1 },
        { metric: 'temperature', firstAt: iso(base + bFirst * 1000), lastAt: iso(base + 400_000), count: 4 + bCount, machineCount: 2 },
        { metric: 'vibration', firstAt: iso(base + 15_000), lastAt: iso(base + 15_000), count: 1, machineCount: 1 },
      ]);
    });

    it('the migration fills telemetry_series from the points stored before it', async () => {
      const { id: plantId } = await importPlant(app.database.db, plantOfSize('Backfill', 1, 2));
      const [a, b] = await machinesOf(app, plantId);
      const base = Math.floor(Date.now() / 60_000) * 60_000 - 7_200_000;
      await ingestTelemetry(
        app.services,
        { plantIds: null },
        {
          points: [
            { machineId: a.id, metric: 'temperature', ts: new Date(base + 5_000), value: 1 },
            { machineId: a.id, metric: 'temperature', ts: new Date(base + 65_000), value: 2 },
            { machineId: b.id, metric: 'vibration', ts: new Date(base), value: 3 },
          ],
        },
      );
      const read = () =>
        app.database.query<{ machine_id: number; metric: string; first_ts: Date; last_ts: Date; count: string | number }>(
          'select machine_id, metric, first_ts, last_ts, count from telemetry_series where machine_id = any($1::int[]) order by machine_id, metric',
          [[a.id, b.id]],
        );
      const maintained = await read();
      assert.equal(maintained.length, 2);
      // As before the migration: no summary rows for these machines; then the migration's own backfill statement.
      await app.database.query('delete from telemetry_series where machine_id = any($1::int[])', [[a.id, b.id]]);
      const dir = new URL('../migrations/', import.meta.url);
      const migration = readdirSync(dir).find((d) => d.endsWith('_telemetry_series'));
      assert.ok(migration, 'the telemetry_series migration exists');
      const backfill = readFileSync(new URL(`${migration}/migration.sql`, dir), 'utf8')
        .split('--> statement-breakpoint')
        .map((x) => x.trim())
        .find((x) => x.startsWith('INSERT INTO "telemetry_series"'));
      assert.ok(backfill, 'the migration backfills');
      await app.database.query(`${backfill.replace(/;$/, '')} ON CONFLICT DO NOTHING`);
      assert.deepEqual(await read(), maintained);
      assert.equal(Number(maintained[0].count), 2);
      assert.equal(new Date(maintained[0].first_ts).getTime(), base + 5_000);
    });

    it('a refused batch (one bad point) adds no metric', async () => {
      const { id: plantId } = await importPlant(app.database.db, plantOfSize('Refused', 1, 1));
      const [m] = await machinesOf(app, plantId);
      const ts = new Date(Date.now() - 60_000);
      await unchanged(app.database, async () => {
        await assert.rejects(
          ingestTelemetry(
            app.services,
            { plantIds: null },
            {
              points: [
                { machineId: m.id, metric: 'temperature', ts, value: 1 },
                { machineId: m.id, metric: 'temperature', ts, value: Number.NaN },
              ],
            },
          ),
          ValidationError,
        );
      });
      const r = await app.gql(`query M($id: ID!) { node(id: $id) { ... on Machine { metrics { metric } } } }`, { id: encodeId('Machine', m.id) });
      assert.deepEqual(r.body.data.node.metrics, []);
    });
  });

  describe(`discoverable data: statements at two sizes [${backend}]`, () => {
    let small: TestApp;
    let large: TestApp;
    before(async () => {
      // Huge queries on purpose: the query limits are raised as in test/statements.test.ts.
      const env = { PLANTGRAPH_MAX_COST: '10000000', PLANTGRAPH_MAX_ALIASES: '500' };
      small = await createTestApp(backend, { seed: false, env });
      large = await createTestApp(backend, { seed: false, env });
      await importPlant(small.database.db, plantOfSize('Small', 2, 3));
      for (let p = 0; p < 3; p++) await importPlant(large.database.db, plantOfSize(`Large${p}`, 12, 25));
      for (const app of [small, large]) {
        const all = await app.database.db.select({ id: machines.id }).from(machines);
        const ts = new Date(Date.now() - 120_000);
        await ingestTelemetry(
          app.services,
          { plantIds: null },
          {
            points: all.flatMap((m) => [
              { machineId: m.id, metric: 'temperature', ts, value: m.id },
              { machineId: m.id, metric: 'vibration', ts, value: 1 },
            ]),
          },
        );
      }
    });
    after(async () => {
      await small.close();
      await large.close();
    });

    it('Plant.metrics, Machine.metrics and Machine.openAlerts of every machine cost the same statements at 6 and 900 machines', async (t) => {
      const q = `query Dashboard { plants(first: 50) { edges { node { metrics { metric machineCount count }
        lines { machines { name metrics { metric count } openAlerts { count highestSeverity } } } } } } }`;
      const run = async (app: TestApp) => {
        const start = app.database.sql.count;
        const r = await app.gql(q);
        assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
        return { n: app.database.sql.count - start, body: r.body };
      };
      const s = await run(small);
      const l = await run(large);
      for (const [r, n, perPlant] of [
        [s, 6, 6],
        [l, 900, 300],
      ] as const) {
        const plants = r.body.data.plants.edges.map((e: any) => e.node);
        const list = plants.flatMap((p: any) => p.lines.flatMap((x: any) => x.machines));
        assert.equal(list.length, n);
        for (const m of list) {
          assert.deepEqual(m.metrics, [
            { metric: 'temperature', count: 1 },
            { metric: 'vibration', count: 1 },
          ]);
        }
        for (const p of plants) {
          assert.deepEqual(p.metrics, [
            { metric: 'temperature', machineCount: perPlant, count: perPlant },
            { metric: 'vibration', machineCount: perPlant, count: perPlant },
          ]);
        }
      }
      // One statement for the rows and everything computed with them, plus the cost estimate measuring the twin on first use.
      t.diagnostic(`statements: 6 machines ${s.n}, 900 machines ${l.n}`);
      assert.equal(l.n, s.n, `statements: small ${s.n}, large ${l.n}`);
      assert.ok(s.n <= 3, `small plant took ${s.n} statements`);
    });
  });

  describe(`AlertConnection.totalCount [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend, { seed: false });
    });
    after(async () => {
      await app.close();
    });

    it('counts the alerts the filter selects, not just the page, and 0 for a plant the caller cannot see', async () => {
      const { id: plantId } = await importPlant(app.database.db, plantOfSize('Counted', 1, 3));
      const { id: otherId } = await importPlant(app.database.db, plantOfSize('Other', 1, 1));
      const [a, b, c] = await machinesOf(app, plantId);
      const rule = (name: string, severity: Severity) =>
        insertAlertRule(app.database, { plantId, name, kind: 'THRESHOLD', severity, metric: 'x', comparator: 'GT', threshold: 1 });
      const [warn, crit, info] = [await rule('w', 'WARNING'), await rule('c', 'CRITICAL'), await rule('i', 'INFO')];
      const breach = (r: typeof warn, machineId: number) => ({
        rule: r,
        subject: `machine:${machineId}`,
        machineId,
        orderId: null,
        value: 2,
        at: new Date(),
        message: 'm',
      });
      const raised = await raiseAlerts(app.database.db, [breach(warn, a.id), breach(crit, a.id), breach(info, b.id), breach(crit, c.id)]);
      await resolveAlert(app.database.db, raised.find((e) => e.alert.machineId === c.id)!.alert.id, 'test', null, new Date());
      const q = `query Alerts($plant: ID!, $status: [AlertStatus!], $min: AlertSeverity) {
        alerts(plantId: $plant, first: 1, status: $status, minSeverity: $min) { totalCount edges { node { severity } } } }`;
      const plant = encodeId('Plant', plantId);
      const count = async (vars: Record<string, unknown>, key?: string) => {
        const r = key ? await as(app, key)(q, { plant, ...vars }) : await app.gql(q, { plant, ...vars });
        assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
        return [r.body.data.alerts.totalCount, r.body.data.alerts.edges.length];
      };
      assert.deepEqual(await count({}), [4, 1]);
      assert.deepEqual(await count({ status: ['OPEN', 'OPEN', 'ACKNOWLEDGED'] }), [3, 1]);
      assert.deepEqual(await count({ min: 'WARNING' }), [3, 1]);
      assert.deepEqual(await count({ min: 'CRITICAL', status: ['OPEN'] }), [1, 1]);
      assert.deepEqual(await count({ status: ['RESOLVED'], min: 'CRITICAL' }), [1, 1]);
      const { key } = await makeKey(app, 'other-viewer', 'VIEWER', [encodeId('Plant', otherId)]);
      assert.deepEqual(await count({}, key), [0, 0]);
    });
  });

  describe(`AlertRule.evaluated [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend, { seed: false });
    });
    after(async () => {
      await app.close();
    });

    it('says which rules raise alerts: every kind does (ORDER_LATE when the current schedule changes)', async () => {
      const { id: plantId } = await importPlant(app.database.db, plantOfSize('Rules', 1, 1));
      const plant = encodeId('Plant', plantId);
      const create = `mutation Create($input: AlertRuleInput!) { createAlertRule(input: $input) {
        __typename ... on CreateAlertRuleSuccess { rule { kind enabled evaluated evaluationNote } } } }`;
      const inputs = [
        { kind: 'THRESHOLD', metric: 'temperature', comparator: 'GT', threshold: 80 },
        { kind: 'MACHINE_STATE', status: 'DOWN', forSeconds: 60 },
        { kind: 'PREDICTION', model: 'wear', comparator: 'GT', threshold: 0.9 },
        { kind: 'ORDER_LATE' },
      ];
      const got = [];
      for (const input of inputs) {
        const r = await app.gql(create, { input: { plantId: plant, name: input.kind, severity: 'WARNING', ...input } });
        assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
        got.push(r.body.data.createAlertRule.rule);
      }
      assert.deepEqual(got, [
        { kind: 'THRESHOLD', enabled: true, evaluated: true, evaluationNote: null },
        { kind: 'MACHINE_STATE', enabled: true, evaluated: true, evaluationNote: null },
        { kind: 'PREDICTION', enabled: true, evaluated: true, evaluationNote: null },
        {
          kind: 'ORDER_LATE',
          enabled: true,
          evaluated: true,
          evaluationNote: null,
        },
      ]);
      const list = await app.gql(`query Rules($plant: ID!) { alertRules(plantId: $plant) { edges { node { kind evaluated } } } }`, { plant });
      assert.deepEqual(
        list.body.data.alertRules.edges.map((e: any) => e.node),
        got.map((g) => ({ kind: g.kind, evaluated: g.evaluated })),
      );
    });
  });
}
