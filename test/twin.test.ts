import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { createTestApp, describe, it, type TestApp, testBackends } from './helpers.ts';

const DASHBOARD = /* GraphQL */ `
  query Dashboard($first: Int, $orders: Int) {
    plants(first: $first) {
      totalCount
      edges { cursor node {
        id name timezone
        lines { id name machines { id name kind status line { name } } }
        products { id name routing { index minutesPerUnit setupMinutes machines { id name } } }
        orders(first: $orders) { totalCount edges { node { id code quantity releaseAt dueAt priority status product { name } } } pageInfo { hasNextPage endCursor } }
      } }
      pageInfo { hasNextPage endCursor }
    }
  }`;

for (const backend of testBackends()) {
  describe(`twin reads [${backend}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp(backend);
    });
    after(() => app.close());

    it('serves the demo plant: 3 lines, 10 machines, 6 products with multi-step routings, 36 orders in the coming week', async () => {
      const { status, body } = await app.gql(DASHBOARD, { first: 10, orders: 100 });
      assert.equal(status, 200);
      assert.equal(body.errors, undefined);
      const plant = body.data.plants.edges[0].node;
      assert.equal(body.data.plants.totalCount, 1);
      assert.equal(plant.name, 'Riverside Works');
      assert.equal(plant.lines.length, 3);
      const machines = plant.lines.flatMap((l: any) => l.machines);
      assert.equal(machines.length, 10);
      assert.ok(machines.every((m: any) => typeof m.kind === 'string'));
      assert.equal(plant.products.length, 6);
      for (const p of plant.products) {
        assert.ok(p.routing.length >= 2);
        assert.deepEqual(
          p.routing.map((s: any) => s.index),
          p.routing.map((_: any, i: number) => i + 1),
        );
        for (const s of p.routing) assert.ok(s.machines.length >= 1);
      }
      assert.equal(plant.orders.totalCount, 36);
      const dues = plant.orders.edges.map((e: any) => Date.parse(e.node.dueAt));
      assert.deepEqual(
        [...dues].sort((a, b) => a - b),
        dues,
        'orders come by due date',
      );
      const week = Date.now() + 8 * 24 * 3600 * 1000;
      for (const e of plant.orders.edges) {
        assert.ok(Date.parse(e.node.releaseAt) < Date.parse(e.node.dueAt));
        assert.ok(Date.parse(e.node.releaseAt) < week);
      }
    });

    it('pages orders with cursors and no repeats', async () => {
      const q = `query($id: ID!, $after: String) { plant(id: $id) { orders(first: 7, after: $after) { edges { node { code } } pageInfo { hasNextPage endCursor } } } }`;
      const plants = await app.gql(`{ plants { edges { node { id } } } }`);
      const id = plants.body.data.plants.edges[0].node.id;
      const seen: string[] = [];
      let after: string | null = null;
      for (let i = 0; i < 10; i++) {
        const r: any = await app.gql(q, { id, after });
        const page = r.body.data.plant.orders;
        seen.push(...page.edges.map((e: any) => e.node.code));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      assert.equal(seen.length, 36);
      assert.equal(new Set(seen).size, 36);
    });

    it('filters orders by status', async () => {
      const r = await app.gql(`{ plants { edges { node { a: orders(status: [PLANNED]) { totalCount } b: orders(status: [DONE]) { totalCount } } } } }`);
      assert.equal(r.body.errors, undefined);
      const n = r.body.data.plants.edges[0].node;
      assert.equal(n.a.totalCount, 36);
      assert.equal(n.b.totalCount, 0);
    });

    it('refetches every node type through node(id) and returns null for unknown or malformed IDs', async () => {
      const r = await app.gql(`{ plants { edges { node { id lines { id machines { id } } products { id } orders(first: 1) { edges { node { id } } } } } } }`);
      const p = r.body.data.plants.edges[0].node;
      const ids = { Plant: p.id, Line: p.lines[0].id, Machine: p.lines[0].machines[0].id, Product: p.products[0].id, Order: p.orders.edges[0].node.id };
      for (const [type, id] of Object.entries(ids)) {
        const n = await app.gql(`query($id: ID!) { node(id: $id) { __typename id } }`, { id });
        assert.equal(n.body.errors, undefined, JSON.stringify(n.body.errors));
        assert.deepEqual(n.body.data.node, { __typename: type, id });
      }
      const unknown = Buffer.from('Machine:99999').toString('base64');
      const u = await app.gql(`query($id: ID!) { node(id: $id) { id } plant(id: $id) { id } }`, { id: unknown });
      assert.equal(u.body.data.node, null);
      assert.equal(u.body.data.plant, null);
      const bad = await app.gql(`query($id: ID!) { plant(id: $id) { id } exportPlant(id: $id) }`, { id: 'not-an-id' });
      assert.deepEqual(bad.body, { data: { plant: null, exportPlant: null } });
      // As the README says: node(id:) reads a string that is not a global ID as null and says so in errors.
      const badNode = await app.gql(`query($id: ID!) { node(id: $id) { id } }`, { id: 'not-an-id' });
      assert.equal(badNode.body.data.node, null);
      assert.deepEqual(
        badNode.body.errors.map((e: { message: string }) => e.message),
        ['Invalid global ID: "not-an-id"'],
      );
      const alerts = await app.gql(`query($id: ID!) { alerts(plantId: $id, first: 5) { edges { node { id } } } }`, { id: 'not-an-id' });
      assert.deepEqual(alerts.body, { data: { alerts: { edges: [] } } });
      const del = await app.gql(`mutation($id: ID!) { deleteMachine(id: $id) { __typename ... on Error { code message } } }`, { id: 'not-an-id' });
      assert.deepEqual(del.body.data.deleteMachine, { __typename: 'NotFoundError', code: 'NOT_FOUND', message: 'Machine "not-an-id" not found' });
      const wrongType = await app.gql(`query($id: ID!) { plant(id: $id) { id } }`, { id: ids.Machine });
      assert.equal(wrongType.body.data.plant, null);
    });
  });
}
