// Maintenance windows: PLANNER creates and deletes them, Machine.maintenanceWindows reads them (batched for a list of
// machines), bad input and overlaps are typed errors that change nothing, plant scopes hold.
import assert from 'node:assert/strict';
import { encodeId } from '../src/core/ids.ts';
import { importPlant } from '../src/twin/import.ts';
import { after, AUDITED, as, before, createTestApp, describe, it, makeKey, type TestApp, testBackends, unchanged } from './helpers.ts';

const CREATE = `mutation($input: CreateMaintenanceWindowInput!) { createMaintenanceWindow(input: $input) {
  __typename
  ... on CreateMaintenanceWindowSuccess { window { id start end reason createdBy machine { name } } }
  ... on Error { code message }
  ... on ValidationError { fieldErrors { path message } }
} }`;
const DELETE = `mutation($id: ID!) { deleteMaintenanceWindow(id: $id) { __typename ... on DeleteMaintenanceWindowSuccess { deletedId } ... on Error { code } } }`;
const WINDOWS = `query($id: ID!, $from: DateTime, $to: DateTime) { node(id: $id) { ... on Machine { maintenanceWindows(from: $from, to: $to) { start end reason } } } }`;

let counter = 0;
const unique = (base: string) => `${base}-${process.pid}-${++counter}`;

for (const backend of testBackends()) {
  describe(`maintenance windows [${backend}]`, () => {
    let app: TestApp;
    let planner: ReturnType<typeof as>;
    before(async () => {
      app = await createTestApp(backend, { seed: false, env: { PLANTGRAPH_RATE_LIMIT_BURST: '0' } });
      planner = as(app, (await makeKey(app, unique('planner'), 'PLANNER')).key);
    });
    after(async () => app.close());

    async function plantWith(n: number): Promise<{ plantId: number; machines: string[] }> {
      const name = unique('P');
      const { id } = await importPlant(app.database.db, { name, lines: [{ name: 'L', machines: Array.from({ length: n }, (_, i) => ({ name: `M${i}` })) }] });
      const rows = await app.database.query<{ id: number }>('select id from machines where plant_id = $1 order by id', [id]);
      return { plantId: id, machines: rows.map((r) => encodeId('Machine', r.id)) };
    }

    it('create, read in a time range, delete; the window names its machine and who created it', async () => {
      const { machines } = await plantWith(1);
      const w = { machineId: machines[0], start: '2027-01-10T06:00:00Z', end: '2027-01-10T10:00:00Z', reason: 'spindle bearing' };
      const r = await planner(CREATE, { input: w });
      assert.equal(r.body.data.createMaintenanceWindow.__typename, 'CreateMaintenanceWindowSuccess', JSON.stringify(r.body));
      const created = r.body.data.createMaintenanceWindow.window;
      assert.deepEqual(
        { start: created.start, end: created.end, reason: created.reason, machine: created.machine.name },
        { start: '2027-01-10T06:00:00.000Z', end: '2027-01-10T10:00:00.000Z', reason: 'spindle bearing', machine: 'M0' },
      );
      assert.match(created.createdBy, /^planner-/);
      await planner(CREATE, { input: { ...w, start: '2027-02-01T00:00:00Z', end: '2027-02-01T01:00:00Z', reason: null } });
      const all = (await app.gql(WINDOWS, { id: machines[0] })).body.data.node.maintenanceWindows;
      assert.equal(all.length, 2);
      const january = (await app.gql(WINDOWS, { id: machines[0], from: '2027-01-01T00:00:00Z', to: '2027-01-31T00:00:00Z' })).body.data.node.maintenanceWindows;
      assert.deepEqual(january, [{ start: '2027-01-10T06:00:00.000Z', end: '2027-01-10T10:00:00.000Z', reason: 'spindle bearing' }]);
      const d = await planner(DELETE, { id: created.id });
      assert.deepEqual(d.body.data.deleteMaintenanceWindow, { __typename: 'DeleteMaintenanceWindowSuccess', deletedId: created.id });
      assert.equal((await app.gql(WINDOWS, { id: machines[0] })).body.data.node.maintenanceWindows.length, 1);
      const again = await planner(DELETE, { id: created.id });
      assert.equal(again.body.data.deleteMaintenanceWindow.code, 'NOT_FOUND');
    });

    it('attack: end before start, too long, an overlap, an unknown machine: typed errors, nothing stored but the audit entry', async () => {
      const { machines } = await plantWith(1);
      await planner(CREATE, { input: { machineId: machines[0], start: '2027-03-01T08:00:00Z', end: '2027-03-01T12:00:00Z' } });
      const cases: [Record<string, unknown>, string, string | null][] = [
        [{ machineId: machines[0], start: '2027-03-02T08:00:00Z', end: '2027-03-02T07:00:00Z' }, 'ValidationError', 'end'],
        [{ machineId: machines[0], start: '2027-03-02T08:00:00Z', end: '2028-04-02T08:00:00Z' }, 'ValidationError', 'end'],
        [{ machineId: machines[0], start: '2027-03-01T11:00:00Z', end: '2027-03-01T13:00:00Z' }, 'ConflictError', null],
        [{ machineId: encodeId('Machine', 999_999_999), start: '2027-03-02T08:00:00Z', end: '2027-03-02T09:00:00Z' }, 'NotFoundError', null],
        [{ machineId: 'not-an-id', start: '2027-03-02T08:00:00Z', end: '2027-03-02T09:00:00Z' }, 'NotFoundError', null],
      ];
      for (const [input, typename, path] of cases) {
        const r = await unchanged(app.database, () => planner(CREATE, { input }), AUDITED);
        const result = r.body.data.createMaintenanceWindow;
        assert.equal(result.__typename, typename, JSON.stringify(r.body));
        if (path)
          assert.deepEqual(
            result.fieldErrors.map((e: { path: string }) => e.path),
            [path],
          );
        if (typename === 'ConflictError') assert.match(result.message, /already has maintenance window .* from 2027-03-01T08:00:00.000Z/);
      }
    });

    it('roles and plant scopes: VIEWER and OPERATOR may not create; a key of another plant cannot see or touch it', async () => {
      const { machines } = await plantWith(1);
      const other = await plantWith(1);
      const input = { machineId: machines[0], start: '2027-05-01T00:00:00Z', end: '2027-05-01T02:00:00Z' };
      for (const role of ['VIEWER', 'OPERATOR']) {
        const key = await makeKey(app, unique(role), role);
        const r = await unchanged(app.database, () => as(app, key.key)(CREATE, { input }), AUDITED);
        assert.equal(r.body.errors[0].extensions.code, 'FORBIDDEN', role);
      }
      const elsewhere = as(app, (await makeKey(app, unique('scoped'), 'PLANNER', [encodeId('Plant', other.plantId)])).key);
      const r = await unchanged(app.database, () => elsewhere(CREATE, { input }), AUDITED);
      assert.equal(r.body.data.createMaintenanceWindow.__typename, 'NotFoundError');
      const mine = (await planner(CREATE, { input })).body.data.createMaintenanceWindow.window;
      assert.equal((await elsewhere(`query($id: ID!) { node(id: $id) { id } }`, { id: mine.id })).body.data.node, null);
      assert.equal((await elsewhere(DELETE, { id: mine.id })).body.data.deleteMaintenanceWindow.code, 'NOT_FOUND');
    });

    it('Machine.maintenanceWindows for a plant of machines costs the same statements at 3 and at 40 machines', async () => {
      const count = async (n: number) => {
        const { plantId, machines } = await plantWith(n);
        for (const m of machines) await planner(CREATE, { input: { machineId: m, start: '2027-06-01T00:00:00Z', end: '2027-06-01T01:00:00Z' } });
        const q = `query($id: ID!) { plant(id: $id) { lines { machines { name maintenanceWindows { start } } } } }`;
        await app.gql(q, { id: encodeId('Plant', plantId) });
        const start = app.database.sql.count;
        const r = await app.gql(q, { id: encodeId('Plant', plantId) });
        assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
        for (const m of r.body.data.plant.lines[0].machines) assert.equal(m.maintenanceWindows.length, 1);
        return app.database.sql.count - start;
      };
      const small = await count(3);
      const large = await count(40);
      assert.equal(large, small, `3 machines: ${small} statements, 40: ${large}`);
    });
  });
}
