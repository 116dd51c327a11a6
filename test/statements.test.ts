import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { eq } from 'drizzle-orm';
import { acknowledgeAlert, raiseAlerts, resolveAlert } from '../src/alerts/lifecycle.ts';
import { insertAlertRule } from '../src/alerts/rules.ts';
import type { Severity } from '../src/db/schema/index.ts';
import { machines } from '../src/db/schema/index.ts';
import { ingestTelemetry } from '../src/telemetry/ingest.ts';
import { decodeId, encodeId } from '../src/core/ids.ts';
import { importPlant, type PlantImport } from '../src/twin/import.ts';
import { createTestApp, describe, it, type TestApp, testBackends } from './helpers.ts';

const DASHBOARD = /* GraphQL */ `
  query Dashboard {
    plants(first: 50) {
      edges { node {
        id name
        lines { id name machines { id name kind status line { name } } }
        products { id name routing { index minutesPerUnit machines { id name } } }
        orders(first: 500) { totalCount edges { node { id code quantity dueAt product { id name } } } }
      } }
    }
  }`;

/** A plant with `lines` lines of `perLine` machines, one product per machine pair and `orders` orders. */
function plantOfSize(name: string, lines: number, perLine: number, orders: number): PlantImport {
  const lineList = Array.from({ length: lines }, (_, i) => ({
    name: `L${i}`,
    machines: Array.from({ length: perLine }, (_, j) => ({ name: `M${i}-${j}`, kind: 'cnc' })),
  }));
  const names = lineList.flatMap((l) => l.machines.map((m) => m.name));
  const products = Array.from({ length: Math.max(1, Math.floor(names.length / 2)) }, (_, k) => ({
    name: `P${k}`,
    routing: [
      { machines: [names[(2 * k) % names.length]], minutesPerUnit: 1 },
      { machines: [names[(2 * k + 1) % names.length], names[(2 * k + 2) % names.length]], minutesPerUnit: 2, setupMinutes: 5 },
    ],
  }));
  return {
    name,
    lines: lineList,
    products,
    orders: Array.from({ length: orders }, (_, k) => ({
      code: `O${k}`,
      product: products[k % products.length].name,
      quantity: 1 + (k % 9),
      dueAt: new Date(Date.UTC(2027, 0, 1 + (k % 28))),
    })),
  };
}

for (const backend of testBackends()) {
  describe(`SQL statements per dashboard query [${backend}]`, () => {
    let small: TestApp;
    let large: TestApp;
    before(async () => {
      // This suite measures SQL statements on deliberately huge queries, so the query limits are raised here.
      const env = { PLANTGRAPH_MAX_COST: '10000000', PLANTGRAPH_MAX_ALIASES: '500' };
      small = await createTestApp(backend, { seed: false, env });
      large = await createTestApp(backend, { seed: false, env });
      await importPlant(small.database.db, plantOfSize('Small', 2, 3, 5));
      for (let p = 0; p < 3; p++) await importPlant(large.database.db, plantOfSize(`Large ${p}`, 12, 25, 400));
    });
    after(async () => {
      await small.close();
      await large.close();
    });

    /** Latest temperature (= machine id) and vibration (= id / 10) of every machine; alerts on the first three
     * machines of each plant: WARNING + CRITICAL open; INFO acknowledged; one resolved. */
    async function seedReadData(app: TestApp): Promise<void> {
      const all = await app.database.db.select({ id: machines.id, plantId: machines.plantId }).from(machines).orderBy(machines.id);
      const ts = new Date('2026-11-01T12:00:00Z');
      await ingestTelemetry(
        app.services,
        { plantIds: null },
        {
          points: all.flatMap((m) => [
            { machineId: m.id, metric: 'temperature', ts, value: m.id },
            { machineId: m.id, metric: 'vibration', ts, value: m.id / 10 },
          ]),
        },
      );
      const plantIds = [...new Set(all.map((m) => m.plantId))];
      for (const plantId of plantIds) {
        const [a, b, c] = all.filter((m) => m.plantId === plantId);
        const rule = (name: string, severity: Severity) =>
          insertAlertRule(app.database, { plantId, name, kind: 'THRESHOLD', severity, metric: 'x', comparator: 'GT', threshold: 1 });
        const [warn, crit, info, gone] = [await rule('w', 'WARNING'), await rule('c', 'CRITICAL'), await rule('i', 'INFO'), await rule('g', 'CRITICAL')];
        const breach = (r: typeof warn, machineId: number) => ({
          rule: r,
          subject: `machine:${machineId}`,
          machineId,
          orderId: null,
          value: 2,
          at: ts,
          message: 'm',
        });
        const raised = await raiseAlerts(app.database.db, [breach(warn, a.id), breach(crit, a.id), breach(info, b.id), breach(gone, c.id)]);
        await acknowledgeAlert(app.database.db, raised.find((e) => e.alert.ruleId === info.id)!.alert.id, 'test', null, new Date());
        await resolveAlert(app.database.db, raised.find((e) => e.alert.ruleId === gone.id)!.alert.id, 'test', null, new Date());
      }
    }

    async function statementsFor(app: TestApp, query: string): Promise<{ n: number; body: any }> {
      const before = app.database.sql.count;
      const r = await app.gql(query);
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      return { n: app.database.sql.count - before, body: r.body };
    }

    it('the counter counts: k direct statements add exactly k, and an N+1 loop grows with the rows', async () => {
      const before = small.database.sql.count;
      for (let i = 0; i < 5; i++) await small.database.db.select().from(machines).limit(1);
      assert.equal(small.database.sql.count - before, 5);

      async function naive(app: TestApp): Promise<number> {
        const start = app.database.sql.count;
        const all = await app.database.db.query.lines.findMany();
        for (const l of all) await app.database.db.select().from(machines).where(eq(machines.lineId, l.id));
        return app.database.sql.count - start;
      }
      const nSmall = await naive(small);
      const nLarge = await naive(large);
      assert.equal(nSmall, 1 + 2);
      assert.equal(nLarge, 1 + 36);
    });

    it('costs the same bounded number of statements at 6 and at 900 machines', async () => {
      const s = await statementsFor(small, DASHBOARD);
      const l = await statementsFor(large, DASHBOARD);
      const machinesSmall = s.body.data.plants.edges.flatMap((e: any) => e.node.lines.flatMap((x: any) => x.machines)).length;
      const machinesLarge = l.body.data.plants.edges.flatMap((e: any) => e.node.lines.flatMap((x: any) => x.machines)).length;
      const ordersLarge = l.body.data.plants.edges.reduce((a: number, e: any) => a + e.node.orders.edges.length, 0);
      assert.equal(machinesSmall, 6);
      assert.equal(machinesLarge, 900);
      assert.equal(ordersLarge, 1200);
      assert.ok(s.n >= 1, 'at least one statement is counted');
      assert.ok(s.n <= 3, `small plant took ${s.n} statements`);
      assert.equal(l.n, s.n, `statements: small ${s.n}, large ${l.n}`);
    });

    it('per-machine telemetry fields (latest, oee, buckets) are batched: the same statements at 6 and 900 machines', async () => {
      const q = `{ plants(first: 50) { edges { node { machines { name status latest(metric: "temperature") { value } oee(from: "2026-11-01T00:00:00Z", to: "2026-11-02T00:00:00Z") { availability oee } telemetry(metric: "temperature", from: "2026-11-01T00:00:00Z", to: "2026-11-01T06:00:00Z", bucketSeconds: 3600) { count } } } } } }`;
      const s1 = await statementsFor(small, q);
      const l1 = await statementsFor(large, q);
      assert.equal(s1.body.data.plants.edges.flatMap((e: any) => e.node.machines).length, 6);
      assert.equal(l1.body.data.plants.edges.flatMap((e: any) => e.node.machines).length, 900);
      assert.equal(l1.n, s1.n, `statements: small ${s1.n}, large ${l1.n}`);
      assert.ok(s1.n <= 12, `small plant took ${s1.n} statements`);
    });

    it('the dashboard (two latest values and the open-alert summary of every machine) costs the same statements at 6 and 900 machines, with the right values', async () => {
      await seedReadData(small);
      await seedReadData(large);
      const q = `{ plants(first: 50) { edges { node { lines { machines { id name status kind
        t: latest(metric: "temperature") { value ts } v: latest(metric: "vibration") { value metric machine { name } }
        none: latest(metric: "no-such-metric") { value }
        openAlerts { count highestSeverity } } } } } } }`;
      const s1 = await statementsFor(small, q);
      const l1 = await statementsFor(large, q);
      for (const [r, n] of [
        [s1, 6],
        [l1, 900],
      ] as const) {
        const perPlant = r.body.data.plants.edges.map((e: any) => e.node.lines.flatMap((l: any) => l.machines));
        const list = perPlant.flat();
        assert.equal(list.length, n);
        for (const m of list) {
          const id = decodeId('Machine', m.id)!;
          assert.deepEqual(m.t, { value: id, ts: '2026-11-01T12:00:00.000Z' });
          assert.deepEqual(m.v, { value: id / 10, metric: 'vibration', machine: { name: m.name } });
          assert.equal(m.none, null);
        }
        for (const machinesOfPlant of perPlant) {
          assert.deepEqual(
            machinesOfPlant.slice(0, 4).map((m: any) => m.openAlerts),
            [
              { count: 2, highestSeverity: 'CRITICAL' },
              { count: 1, highestSeverity: 'INFO' },
              { count: 0, highestSeverity: null },
              { count: 0, highestSeverity: null },
            ],
          );
        }
      }
      assert.equal(l1.n, s1.n, `statements: small ${s1.n}, large ${l1.n}`);
      assert.ok(s1.n <= 2, `small plant took ${s1.n} statements`);
    });

    it('node(id) refetches of many machines are batched, not one statement per ID', async () => {
      const ids = (await large.gql(`{ plants(first: 1) { edges { node { machines { id } } } } }`)).body.data.plants.edges[0].node.machines.map(
        (m: any) => m.id,
      );
      const q = (n: number) =>
        `{ ${ids
          .slice(0, n)
          .map((id: string, i: number) => `m${i}: node(id: "${id}") { id ... on Machine { name line { name } } }`)
          .join(' ')} }`;
      const few = await statementsFor(large, q(3));
      const many = await statementsFor(large, q(120));
      assert.equal(many.n, few.n, `3 nodes: ${few.n}, 120 nodes: ${many.n}`);
    });

    it("node(id) in many concurrent requests: their rows' plants are looked up together, the same statements for 3 and 60 requests", async () => {
      const ids = (await large.gql(`{ plants(first: 1) { edges { node { machines { id } } } } }`)).body.data.plants.edges[0].node.machines.map(
        (m: any) => m.id,
      );
      const concurrent = async (n: number) => {
        const before = large.services.identities.statements;
        const start = large.database.sql.count;
        const results = await Promise.all(ids.slice(0, n).map((id: string) => large.gql(`query($id: ID!) { node(id: $id) { id } }`, { id })));
        for (const [i, r] of results.entries()) assert.deepEqual(r.body, { data: { node: { id: ids[i] } } });
        return { statements: large.database.sql.count - start, lookups: large.services.identities.statements - before };
      };
      const few = await concurrent(3);
      const many = await concurrent(60);
      assert.equal(many.statements, few.statements, `3 requests: ${few.statements} statements, 60: ${many.statements}`);
      assert.equal(many.lookups, 1);
      // An unknown ID and one of a plant the key cannot see read alike: null.
      const unknown = await large.gql(`query($id: ID!) { node(id: $id) { id } }`, { id: encodeId('Machine', 999_999_999) });
      assert.deepEqual(unknown.body, { data: { node: null } });
    });
  });
}
